//! Lambda entrypoint for export jobs: started by the table's stream when a job is queued
//! (`kind = export_job`), writes the file to /tmp, uploads it to the export bucket.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use line_oa::config;
use line_oa::export::jobs::ExportJobs;
use line_oa::export::lambda::run_export_batch;
use line_oa::export::output::link_ttl_from_lookup;
use line_oa::service::system_clock;
use line_oa::store::dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .without_time()
        .init();
    let table = std::env::var("TABLE_NAME").map_err(|_| "environment variable TABLE_NAME is required")?;
    let bucket = std::env::var("EXPORT_BUCKET").map_err(|_| "environment variable EXPORT_BUCKET is required")?;
    let settings = config::settings_from_lookup(|k| std::env::var(k).ok())?;
    let link_ttl = link_ttl_from_lookup(|k| std::env::var(k).ok())?;
    let aws = aws_config::load_from_env().await;
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table));
    let s3 = aws_sdk_s3::Client::new(&aws);
    let jobs = ExportJobs::on_aws(store, s3, &bucket, link_ttl, settings.rules.timezone.clone(), system_clock());
    let jobs = &jobs;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, lambda_runtime::Error>(run_export_batch(jobs, event.payload).await)
    }))
    .await
}
