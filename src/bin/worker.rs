//! Lambda entrypoint for the table's DynamoDB Stream (decide and reply for each new inbound
//! event) and for the schedule that reminds staff of unanswered conversations.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use line_oa::config;
use line_oa::line_api::http::RetryPolicy;
use line_oa::local::line_api;
use line_oa::service::{system_clock, Service};
use line_oa::store::dynamodb::DynamoStore;
use line_oa::notify::{self, NotifyConfig};
use line_oa::worker::handle_worker_event;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
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
    let notices = NotifyConfig::from_env()?;
    let notifier = notify::from_config(&notices, Some(&aws)).await;
    let service = Service::new(
        config.verifier.clone(),
        Arc::new(store),
        line_api(&config, RetryPolicy::default()),
        config.settings.clone(),
        config.retention_days,
        system_clock(),
    )
    .with_notices(notifier, &notices);
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        handle_worker_event(service, event.payload).await.map_err(lambda_runtime::Error::from)
    }))
    .await
}
