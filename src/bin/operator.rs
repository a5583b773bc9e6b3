//! Lambda entrypoint of the operator API (`/api/...`) behind an HTTP API whose JWT authorizer
//! (the Cognito user pool in template.yaml) has verified the caller before we run.

use std::sync::Arc;

use line_oa::config;
use line_oa::export::jobs::ExportJobs;
use line_oa::export::output::link_ttl_from_lookup;
use line_oa::http::operator::{router, Authenticator};
use line_oa::line_api::http::RetryPolicy;
use line_oa::local::line_api;
use line_oa::service::{system_clock, Service};
use line_oa::store::dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt().json().with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
    ).without_time().init();
    let config = config::from_env()?;
    let table = std::env::var("TABLE_NAME").map_err(|_| "environment variable TABLE_NAME is required")?;
    let aws = aws_config::load_from_env().await;
    let bucket = std::env::var("EXPORT_BUCKET").map_err(|_| "environment variable EXPORT_BUCKET is required")?;
    let link_ttl = link_ttl_from_lookup(|k| std::env::var(k).ok())?;
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table));
    if let Err(e) = store.warm().await {
        tracing::warn!(error = %e, "could not warm the DynamoDB connection");
    }
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
