//! Lambda entrypoint of the operator API (`/api/...`) behind an HTTP API whose JWT authorizer
//! (the Cognito user pool in template.yaml) has verified the caller before we run.

use std::sync::Arc;

use line_oa::export::jobs::ExportJobs;
use line_oa::export::output::link_ttl_from_lookup;
use line_oa::http::operator::{router, Authenticator};
use line_oa::line_api::http::RetryPolicy;
use line_oa::local::line_api;
use line_oa::service::{system_clock, Service};
use line_oa::{config, lambda_env};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_env::init_tracing();
    let config = config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let bucket = lambda_env::required("EXPORT_BUCKET")?;
    let link_ttl = link_ttl_from_lookup(|k| std::env::var(k).ok())?;
    let store = Arc::new(lambda_env::table(&aws).await?);
    // Starting a job only saves it (its stream record launches the exporter); a status call
    // presigns the link with this function's role.
    let exports = ExportJobs::on_aws(
        store.clone(),
        aws_sdk_s3::Client::new(&aws),
        &bucket,
        link_ttl,
        config.settings.rules.timezone.clone(),
        system_clock(),
    );
    let service = Service::new(
        config.verifier.clone(),
        store,
        line_api(&config, RetryPolicy::default()),
        config.settings.clone(),
        config.retention_days,
        system_clock(),
    );
    lambda_http::run(router(service, Authenticator::ApiGatewayJwt, exports)).await
}
