//! Lambda entrypoint for export jobs: invoked by the export-job SNS topic, to which the operator
//! function publishes each job it queues; writes the file to /tmp, uploads it to the export bucket.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use line_oa::config::{self, lambda::EXPORT_BUCKET};
use line_oa::lambda::exporter::run_export_notifications;
use line_oa::lambda::init;
use line_oa::service::export::jobs::ExportJobs;
use line_oa::service::system_clock;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init::init_tracing();
    let bucket = config::required(config::process_env, EXPORT_BUCKET)?;
    let settings = config::settings_from_lookup(config::process_env)?;
    let link_ttl = config::lambda::link_ttl_from_lookup(config::process_env)?;
    let aws = aws_config::load_from_env().await;
    let store = Arc::new(init::table(&aws).await?);
    let s3 = aws_sdk_s3::Client::new(&aws);
    let jobs = ExportJobs::on_aws(store, s3, &bucket, link_ttl, settings.rules.timezone.clone(), system_clock());
    let jobs = &jobs;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| run_export_notifications(jobs, event.payload))).await
}
