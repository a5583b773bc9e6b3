//! Lambda entrypoint for the table's DynamoDB Stream: every log item into the S3 archive,
//! well before its TTL removes it from the table; media content fetched from LINE beside it;
//! every TTL removal checked against the archive; on schedules, failed media downloads tried
//! again and the backfill sweep (what the archive lacks, archived from the table).

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use line_oa::archive::s3::S3Archive;
use line_oa::archive::Archiver;
use line_oa::line_api::http::RetryPolicy;
use line_oa::local::line_api;
use line_oa::metrics::{Metrics, DEFAULT_NAMESPACE};
use line_oa::worker::handle_archiver_event;
use line_oa::{config, lambda_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_env::init_tracing();
    let bucket = lambda_env::required("ARCHIVE_BUCKET")?;
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| DEFAULT_NAMESPACE.to_owned());
    let aws = aws_config::load_from_env().await;
    // The access token (media downloads) from Secrets Manager.
    let env = lambda_env::environment(&aws).await?;
    let config = config::from_lookup_for(env.lookup(), config::Credentials::AccessToken)?;
    let store: Arc<dyn line_oa::store::Store> = Arc::new(lambda_env::table(&aws).await?);
    let archiver = Archiver::new(Arc::new(S3Archive::new(aws_sdk_s3::Client::new(&aws), bucket)))
        .with_media(line_api(&config, RetryPolicy::default()))
        .with_media_retries(store.clone())
        .with_table(store)
        .with_metrics(Metrics::new(namespace, "archiver"));
    let archiver = &archiver;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        handle_archiver_event(archiver, event.payload).await.map_err(lambda_runtime::Error::from)
    }))
    .await
}
