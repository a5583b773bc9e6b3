//! Lambda entrypoint behind API Gateway: verify, log to DynamoDB, answer 200. The table's
//! stream hands each new event to the `worker` function.

use std::sync::Arc;

use line_oa::http::{ignore_logged, router, AppState};
use line_oa::line_api::logging::LoggingLineApi;
use line_oa::metrics::{Metrics, DEFAULT_NAMESPACE};
use line_oa::service::{system_clock, Service};
use line_oa::{config, lambda_env};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_env::init_tracing();
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| DEFAULT_NAMESPACE.to_owned());
    let aws = aws_config::load_from_env().await;
    // The channel secret from Secrets Manager (this function holds no access token), read while
    // the table's connection warms up: one round trip of cold start, not two.
    let (env, store) = tokio::join!(lambda_env::environment(&aws), lambda_env::table(&aws));
    let config = config::from_lookup_for(env?.lookup(), config::Credentials::ChannelSecret)?;
    let store = store?;
    // The webhook never calls LINE: replies are the worker's job.
    let service =
        Service::new(config.verifier, Arc::new(store), Arc::new(LoggingLineApi), config.settings, config.retention_days, system_clock())
            .with_bot_user_id(config.bot_user_id)
            .with_replay_window_days(config.replay_window_days)
            .with_metrics(Metrics::new(namespace, "webhook"));
    let app = router(AppState { service, on_logged: ignore_logged() });
    lambda_http::run(app).await
}
