//! Lambda entrypoint for export jobs: invoked by the export-job SNS topic, to which the operator
//! function publishes each job it queues; writes the file to /tmp, uploads it to the export bucket.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use line_oa::export::jobs::ExportJobs;
use line_oa::export::lambda::run_export_notifications;
use line_oa::export::output::link_ttl_from_lookup;
use line_oa::service::system_clock;
use line_oa::{config, lambda_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_env::init_tracing();
    let bucket = lambda_env::required("EXPORT_BUCKET")?;
    let settings = config::settings_from_lookup(|k| std::env::var(k).ok())?;
    let link_ttl = link_ttl_from_lookup(|k| std::env::var(k).ok())?;
    let aws = aws_config::load_from_env().await;
    let store = Arc::new(lambda_env::table(&aws).await?);
    let s3 = aws_sdk_s3::Client::new(&aws);
    let jobs = ExportJobs::on_aws(store, s3, &bucket, link_ttl, settings.rules.timezone.clone(), system_clock());
    let jobs = &jobs;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        run_export_notifications(jobs, event.payload).await.map_err(lambda_runtime::Error::from)
    }))
    .await
}
