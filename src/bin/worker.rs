//! Lambda entrypoint for the table's DynamoDB Stream (decide and reply for each new inbound
//! event) and for the schedule that reminds staff of unanswered conversations.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use line_oa::config::{self, notify::NotifyConfig};
use line_oa::lambda::init;
use line_oa::lambda::worker::{handle_worker_event, Worker};
use line_oa::line_api::http::RetryPolicy;
use line_oa::metrics::Metrics;
use line_oa::service::{system_clock, ServiceParts};
use line_oa::{line_api, notify};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init::init_tracing();
    let aws = aws_config::load_from_env().await;
    // The access token (and the notification webhook's secret) from Secrets Manager.
    let env = init::environment(&aws).await?;
    let config = config::from_lookup_for(env.lookup(), config::Credentials::AccessToken)?;
    let store = init::table(&aws).await?;
    let notices = NotifyConfig::from_lookup(env.lookup())?;
    let notifier = notify::from_config(&notices, Some(&aws)).await;
    let metrics = Metrics::new(config::lambda::metrics_namespace(env.lookup()), "worker");
    let model = init::model(&aws, env.lookup(), &config.settings)?;
    let service = ServiceParts {
        notifier,
        notify: notices,
        metrics: metrics.clone(),
        model,
        ..ServiceParts::new(
            config.verifier.clone(),
            Arc::new(store),
            line_api::from_config(&config, RetryPolicy::default()),
            config.settings.clone(),
            config.retention_days,
            system_clock(),
        )
    }
    .build();
    let worker = &Worker { handler: service.handler, notices: service.notices, metrics };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| handle_worker_event(worker, event.payload))).await
}
