//! Lambda entrypoint for the table's DynamoDB Stream (decide and reply for each new inbound
//! event) and for the schedule that reminds staff of unanswered conversations.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use line_oa::line_api::http::RetryPolicy;
use line_oa::local::line_api;
use line_oa::notify::{self, NotifyConfig};
use line_oa::service::{system_clock, Service};
use line_oa::worker::handle_worker_event;
use line_oa::{config, lambda_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_env::init_tracing();
    let aws = aws_config::load_from_env().await;
    // The access token (and the notification webhook's secret) from Secrets Manager.
    let env = lambda_env::environment(&aws).await?;
    let config = config::from_lookup_for(env.lookup(), config::Credentials::AccessToken)?;
    let store = lambda_env::table(&aws).await?;
    let notices = NotifyConfig::from_lookup(env.lookup())?;
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
