//! Lambda entrypoint for the table's DynamoDB Stream: every log item into the S3 archive,
//! well before its TTL removes it from the table; media content fetched from LINE beside it;
//! every TTL removal checked against the archive; on schedules, failed media downloads tried
//! again and the backfill sweep (what the archive lacks, archived from the table).

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use line_oa::blob::s3::S3BlobStore;
use line_oa::config::{self, lambda::ARCHIVE_BUCKET};
use line_oa::lambda::archiver::handle_archiver_event;
use line_oa::lambda::init;
use line_oa::line_api;
use line_oa::line_api::http::RetryPolicy;
use line_oa::metrics::Metrics;
use line_oa::service::archive::Archiver;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init::init_tracing();
    let bucket = config::required(config::process_env, ARCHIVE_BUCKET)?;
    let aws = aws_config::load_from_env().await;
    // The access token (media downloads) from Secrets Manager.
    let env = init::environment(&aws).await?;
    let config = config::from_lookup_for(env.lookup(), config::Credentials::AccessToken)?;
    let store: Arc<dyn line_oa::store::Store> = Arc::new(init::table(&aws).await?);
    let archiver = Archiver::new(Arc::new(S3BlobStore::new(aws_sdk_s3::Client::new(&aws), bucket)))
        .with_media(line_api::from_config(&config, RetryPolicy::default()))
        .with_media_retries(store.clone())
        .with_table(store)
        .with_metrics(Metrics::new(config::lambda::metrics_namespace(env.lookup()), "archiver"));
    let archiver = &archiver;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| handle_archiver_event(archiver, event.payload))).await
}
