//! Lambda entrypoint of the operator API (`/api/...`) behind an HTTP API whose JWT authorizer
//! (the Cognito user pool in template.yaml) has verified the caller before we run, and of the
//! operator console (`/console/...`, no authorizer), whose sign-in settings come from the
//! environment (`CONSOLE_AUTH=cognito`, `COGNITO_DOMAIN`, `COGNITO_CLIENT_ID`, `CONSOLE_REDIRECT_URI`).

use std::sync::Arc;

use line_oa::blob::s3::S3BlobStore;
use line_oa::config::lambda::{ARCHIVE_BUCKET, EXPORT_BUCKET, EXPORT_JOB_TOPIC_ARN};
use line_oa::export::sns::SnsLauncher;
use line_oa::http::console::ConsoleConfig;
use line_oa::http::console_config::operator_function_router;
use line_oa::lambda::init;
use line_oa::line_api::http::RetryPolicy;
use line_oa::service::audit::AuditTrail;
use line_oa::service::export::jobs::ExportJobs;
use line_oa::service::operator::MediaCopies;
use line_oa::service::{system_clock, ServiceParts};
use line_oa::{config, line_api};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init::init_tracing();
    let console = config::console::from_env()?;
    if console == ConsoleConfig::Token {
        // The API here takes Cognito ID tokens only; a token sign-in page could never succeed.
        return Err("CONSOLE_AUTH must be `cognito` on Lambda (template.yaml sets it)".into());
    }
    let aws = aws_config::load_from_env().await;
    // The access token (manual replies) from Secrets Manager.
    let env = init::environment(&aws).await?;
    let config = config::from_lookup_for(env.lookup(), config::Credentials::AccessToken)?;
    let bucket = config::required(env.lookup(), EXPORT_BUCKET)?;
    // Media users sent, from the archive's copy: presigned links, signed with this role.
    let media =
        MediaCopies::new(Arc::new(S3BlobStore::new(aws_sdk_s3::Client::new(&aws), config::required(env.lookup(), ARCHIVE_BUCKET)?)));
    let link_ttl = config::lambda::link_ttl_from_lookup(env.lookup())?;
    let store = Arc::new(init::table(&aws).await?);
    let store_for_audit = store.clone();
    // Starting a job saves it and publishes its id to the topic that invokes the exporter; a
    // status call presigns the link with this function's role.
    let exports = ExportJobs::new(
        store.clone(),
        Arc::new(S3BlobStore::new(aws_sdk_s3::Client::new(&aws), &bucket)),
        link_ttl,
        Arc::new(SnsLauncher::new(aws_sdk_sns::Client::new(&aws), config::required(env.lookup(), EXPORT_JOB_TOPIC_ARN)?)),
        config.settings.rules.timezone.clone(),
        system_clock(),
    );
    let operator = ServiceParts::new(
        config.verifier.clone(),
        store,
        line_api::from_config(&config, RetryPolicy::default()),
        config.settings.clone(),
        config.retention_days,
        system_clock(),
    )
    .build()
    .operator;
    // Every staff action, in the table beside the log (TTL like the log's).
    let trail = AuditTrail::new(store_for_audit, system_clock(), config.retention_days);
    lambda_http::run(operator_function_router(operator, exports, media, trail, console)).await
}
