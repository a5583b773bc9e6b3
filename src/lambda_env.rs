//! What every Lambda entrypoint does first: JSON logs, its required environment, the table.

use crate::config::ConfigError;
use crate::store::dynamodb::DynamoStore;

/// JSON lines without a timestamp (CloudWatch adds one); `RUST_LOG` filters, default info.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .without_time()
        .init();
}

pub fn required(key: &'static str) -> Result<String, ConfigError> {
    std::env::var(key).map_err(|_| ConfigError::Missing(key))
}

/// The table named by `TABLE_NAME`, its connection opened during init so the first request
/// does not pay for TLS set-up.
pub async fn table(aws: &aws_config::SdkConfig) -> Result<DynamoStore, ConfigError> {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), required("TABLE_NAME")?);
    if let Err(e) = store.warm().await {
        tracing::warn!(error = %e, "could not warm the DynamoDB connection");
    }
    Ok(store)
}
