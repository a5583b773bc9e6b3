//! Lambda entrypoint behind API Gateway: verify, log to DynamoDB, answer 200. The table's
//! stream hands each new event to the `worker` function.

use std::sync::Arc;

use line_oa::config;
use line_oa::http::{ignore_logged, router, AppState};
use line_oa::line_api::logging::LoggingLineApi;
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
    // Warm the connection during init, which is not billed against the first request's latency budget.
    if let Err(e) = store.warm().await {
        tracing::warn!(error = %e, "could not warm the DynamoDB connection");
    }
    // The webhook never calls LINE: replies are the worker's job.
    let service = Service::new(config.verifier, Arc::new(store), Arc::new(LoggingLineApi), config.settings, config.retention_days, system_clock());
    let app = router(AppState { service, on_logged: ignore_logged() });
    lambda_http::run(app).await
}
