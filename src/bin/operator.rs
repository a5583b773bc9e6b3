//! Lambda entrypoint of the operator API (`/api/...`) behind an HTTP API whose JWT authorizer
//! (the Cognito user pool in template.yaml) has verified the caller before we run.

use std::sync::Arc;

use line_oa::config;
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
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    if let Err(e) = store.warm().await {
        tracing::warn!(error = %e, "could not warm the DynamoDB connection");
    }
    let service = Service::new(
        config.verifier.clone(),
        Arc::new(store),
        line_api(&config, RetryPolicy::default()),
        config.settings.clone(),
        config.retention_days,
        system_clock(),
    );
    lambda_http::run(router(service, Authenticator::ApiGatewayJwt)).await
}
