//! Lambda entrypoint behind API Gateway: verify, log to DynamoDB, answer 200. The table's
//! stream hands each new event to the `worker` function.

use std::sync::Arc;

use line_oa::config;
use line_oa::http::{ignore_logged, router, AppState};
use line_oa::lambda::init;
use line_oa::metrics::Metrics;
use line_oa::service::{system_clock, Ingest, Retention};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init::init_tracing();
    let aws = aws_config::load_from_env().await;
    // The channel secret from Secrets Manager (this function holds no access token), read while
    // the table's connection warms up: one round trip of cold start, not two.
    let (env, store) = tokio::join!(init::environment(&aws), init::table(&aws));
    let env = env?;
    let config = config::from_lookup_for(env.lookup(), config::Credentials::ChannelSecret)?;
    let store = store?;
    // The webhook only logs (it never calls LINE: replies are the worker's job).
    let ingest = Ingest::new(config.verifier, Arc::new(store), Retention::new(system_clock(), config.retention_days))
        .with_bot_user_id(config.bot_user_id)
        .with_replay_window_days(Some(config.replay_window_days))
        .with_metrics(Metrics::new(config::lambda::metrics_namespace(env.lookup()), "webhook"));
    let app = router(AppState { ingest, on_logged: ignore_logged() });
    lambda_http::run(app).await
}
