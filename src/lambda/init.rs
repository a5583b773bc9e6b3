//! What every Lambda entrypoint does first: JSON logs, its environment with its secrets read from
//! Secrets Manager, the table with its connection warm.
//!
//! Secrets are never in a function's environment on AWS (anyone allowed
//! `lambda:GetFunctionConfiguration` could read them there): the environment names a secret by
//! its ARN (`LINE_CHANNEL_SECRET_ARN`, ...: `config::lambda::SECRET_SOURCES`), and init reads it
//! once with the function's own role, which may read only the secrets that function needs
//! (template.yaml). A secret's value is a JSON object of the environment keys it stands for,
//! e.g. `{"LINE_CHANNEL_ACCESS_TOKEN": "..."}`. Locally nothing names a secret and the plain
//! keys are read as they are.

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};

use crate::config::lambda::{bedrock_model_id, SECRET_SOURCES, TABLE_NAME};
use crate::config::{self, ConfigError};
use crate::model::{BedrockModel, GroundedModel, Unconfigured};
use crate::settings::Settings;
use crate::store::dynamodb::DynamoStore;

/// JSON lines without a timestamp (CloudWatch adds one); `RUST_LOG` filters, default info.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .without_time()
        .init();
}

/// An environment: the secrets' keys from Secrets Manager, everything else from `base`.
pub struct Environment<G> {
    base: G,
    secrets: HashMap<&'static str, SecretString>,
}

impl<G> std::fmt::Debug for Environment<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<_> = self.secrets.keys().collect();
        keys.sort();
        write!(f, "Environment(secrets for {keys:?}, ***)")
    }
}

/// The process environment with the secrets it names, read at init.
pub async fn environment(aws: &aws_config::SdkConfig) -> Result<Environment<impl Fn(&str) -> Option<String>>, ConfigError> {
    Environment::load(&aws_sdk_secretsmanager::Client::new(aws), config::process_env).await
}

impl<G: Fn(&str) -> Option<String>> Environment<G> {
    /// Reads every secret an `..._ARN` key of `base` names (no request when none does).
    pub async fn load(client: &aws_sdk_secretsmanager::Client, base: G) -> Result<Self, ConfigError> {
        let mut secrets = HashMap::new();
        for (arn_key, allowed) in SECRET_SOURCES {
            let Some(arn) = base(arn_key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else { continue };
            let fail = |problem: String| ConfigError::Secret { key: arn_key, problem };
            let value = client
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                .map_err(|e| fail(format!("could not be read: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e))))?;
            let text = SecretString::from(value.secret_string.ok_or_else(|| fail("has no SecretString".into()))?);
            let fields: HashMap<String, String> = serde_json::from_str(text.expose_secret())
                .map_err(|e| fail(format!("is not a JSON object of strings ({})", json_problem(&e))))?;
            for (key, value) in fields {
                let Some(key) = allowed.iter().find(|k| **k == key) else {
                    return Err(fail(format!("holds {key:?}, which it may not set (only {allowed:?})")));
                };
                secrets.insert(*key, SecretString::from(value));
            }
        }
        Ok(Self { base, secrets })
    }

    /// Looks a key up: a secret's value if a secret holds it, else the base environment.
    pub fn get(&self, key: &str) -> Option<String> {
        match self.secrets.get(key) {
            Some(secret) => Some(secret.expose_secret().to_owned()),
            None => (self.base)(key),
        }
    }

    /// `get` as a lookup function, for `config::from_lookup_for` and `NotifyConfig::from_lookup`.
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |key| self.get(key)
    }
}

/// serde_json's error category only: its message could quote part of the secret.
fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "not an object of strings",
        serde_json::error::Category::Eof => "cut short",
    }
}

/// The table named by `TABLE_NAME`, its connection opened during init so the first request
/// does not pay for TLS set-up.
pub async fn table(aws: &aws_config::SdkConfig) -> Result<DynamoStore, ConfigError> {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config::required(config::process_env, TABLE_NAME)?);
    if let Err(e) = store.warm().await {
        tracing::warn!(error = %e, "could not warm the DynamoDB connection");
    }
    Ok(store)
}

/// Where the SDK would send Converse requests instead of Bedrock's own endpoint: the SDK reads
/// these itself. They carry customers' words, so plain `http://` is refused here as for LINE.
const ENDPOINT_KEYS: [&str; 2] = ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"];

/// The worker's model: the one template.yaml lets it call (`BEDROCK_MODEL_ID`), or none. A
/// mismatch with the settings is said once here; each message then goes to the rules alone.
pub fn model(
    aws: &aws_config::SdkConfig,
    get: impl Fn(&str) -> Option<String>,
    settings: &Settings,
) -> Result<std::sync::Arc<dyn GroundedModel>, ConfigError> {
    let asked = settings.rules.model.as_ref().map(|m| m.model_id.as_str());
    let Some(allowed) = bedrock_model_id(&get) else {
        if asked.is_some() {
            tracing::warn!("ai.model is enabled, but this stack names no BedrockModelId: the rules decide alone");
        }
        return Ok(std::sync::Arc::new(Unconfigured));
    };
    for key in ENDPOINT_KEYS {
        if let Some(url) = get(key).filter(|v| !v.trim().is_empty()) {
            config::checked_url(key, &url, true)?;
        }
    }
    if let Some(asked) = asked.filter(|asked| *asked != allowed) {
        tracing::warn!(%allowed, settings = %asked, "ai.model.model_id is not the model this stack may call (BedrockModelId): the rules decide alone");
    }
    Ok(std::sync::Arc::new(BedrockModel::new(aws).allowing_only(allowed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelError, ModelRequest};

    fn sdk() -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build()
    }

    fn request(model_id: &str) -> ModelRequest {
        ModelRequest { model_id: model_id.into(), system: vec!["s".into()], message: "m".into(), max_tokens: 16 }
    }

    #[tokio::test]
    async fn without_a_named_model_nothing_is_called_and_another_model_is_refused_without_a_request() {
        let settings = Settings::default();
        let none = model(&sdk(), |_| None, &settings).unwrap();
        assert_eq!(none.converse(&request("amazon.nova-lite-v1:0")).await, Err(ModelError::NotConfigured));
        let env = |key: &str| (key == "BEDROCK_MODEL_ID").then(|| "amazon.nova-lite-v1:0".to_owned());
        let named = model(&sdk(), env, &settings).unwrap();
        let other = named.converse(&request("anthropic.claude-haiku-4-5-20251001-v1:0")).await;
        assert_eq!(other, Err(ModelError::NotAllowed("anthropic.claude-haiku-4-5-20251001-v1:0".into())));
    }

    #[test]
    fn a_plain_http_model_endpoint_is_refused_except_to_the_loopback_address() {
        let settings = Settings::default();
        for key in ENDPOINT_KEYS {
            let env = |url: &'static str| {
                move |k: &str| match k {
                    "BEDROCK_MODEL_ID" => Some("amazon.nova-lite-v1:0".to_owned()),
                    k if k == key => Some(url.to_owned()),
                    _ => None,
                }
            };
            let err = model(&sdk(), env("http://bedrock.example.com"), &settings).err().expect("refused").to_string();
            assert!(err.contains(key) && err.contains("http://"), "{err}");
            assert!(model(&sdk(), env("http://127.0.0.1:9000"), &settings).is_ok());
            assert!(model(&sdk(), env("https://bedrock-runtime.ap-northeast-1.amazonaws.com"), &settings).is_ok());
        }
    }
}
