//! Secrets read at init from Secrets Manager (moto's protocol server on 127.0.0.1): the secrets
//! template.yaml creates, in the format it writes them, read by each function with the
//! environment the template gives it, through `lambda::init::Environment` as the binaries do.
//! Each function reads only the secrets its role may read, and gets the credential it uses.

use std::collections::BTreeMap;

use line_oa::config::{self, ConfigError, Credentials};
use line_oa::domain::secret::Secret;
use line_oa::lambda::init::Environment;
use line_oa::notify::webhook::sign;
use line_oa::notify::NotifyConfig;
use secrecy::ExposeSecret;
use serde_norway::Value;

use super::policy::{refused, resources_of_type, role_of, statements, template, text, Request};
use super::record::secrets_client;

const CHANNEL_SECRET: &str = "it-channel-secret-from-secrets-manager";
const ACCESS_TOKEN: &str = "it-access-token-from+secrets/manager=";
const NOTIFY_SECRET: &str = "it-notify-webhook-secret";

/// What the deployer typed for the NoEcho parameters (and a notification webhook URL).
fn parameter(name: &str) -> Option<&'static str> {
    Some(match name {
        "ChannelSecret" => CHANNEL_SECRET,
        "ChannelSecretNext" => "",
        "ChannelAccessToken" => ACCESS_TOKEN,
        "NotifyWebhookSecret" => NOTIFY_SECRET,
        "NotifyWebhookUrl" => "https://hooks.example.com/line-oa",
        _ => return None,
    })
}

/// `!Sub` over the parameters above, as CloudFormation renders a secret string.
fn render_sub(template_text: &str) -> String {
    let mut out = template_text.to_owned();
    while let Some(start) = out.find("${") {
        let end = start + out[start..].find('}').expect("closing brace");
        let name = &out[start + 2..end];
        let value = parameter(name).unwrap_or_else(|| panic!("a secret string uses {name}"));
        out.replace_range(start..=end, value);
    }
    out
}

/// Creates the template's secrets on the protocol server: resource name -> ARN.
async fn create_secrets(client: &aws_sdk_secretsmanager::Client, t: &Value) -> BTreeMap<String, String> {
    let mut arns = BTreeMap::new();
    let run = uuid::Uuid::new_v4().simple().to_string();
    for (name, secret) in resources_of_type(t, "AWS::SecretsManager::Secret") {
        let value = text(&secret["Properties"]["SecretString"]);
        let value = render_sub(value.strip_prefix("!Sub ").expect("a secret string is a !Sub of the parameters"));
        let created = client
            .create_secret()
            .name(format!("line-oa-{run}/{name}"))
            .secret_string(value)
            .send()
            .await
            .expect("CreateSecret on the protocol server");
        arns.insert(name, created.arn.expect("an ARN"));
    }
    arns
}

/// A function's environment as template.yaml sets it (Globals, then its own), with the secrets'
/// ARNs from the protocol server; plus what Lambda itself sets.
fn function_environment(t: &Value, function: &str, arns: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([(config::LAMBDA_FUNCTION_NAME_KEY.to_owned(), format!("line-oa-{function}"))]);
    let own = &t["Resources"][function]["Properties"]["Environment"]["Variables"];
    for vars in [&t["Globals"]["Function"]["Environment"]["Variables"], own] {
        for (key, value) in vars.as_mapping().into_iter().flatten() {
            // `!If [HasX, value, !Ref AWS::NoValue]`: the deployment above sets every X.
            let value = match value {
                Value::Tagged(tag) if tag.tag == "If" => &tag.value.as_sequence().unwrap()[1],
                other => other,
            };
            let value = text(value);
            let resolved = match value.strip_prefix("!Ref ") {
                Some(name) if arns.contains_key(name) => arns[name].clone(),
                Some(name) => match parameter(name) {
                    Some(v) => v.to_owned(),
                    None => continue,
                },
                None if value.starts_with('!') => continue,
                None => value,
            };
            env.insert(text(key), resolved);
        }
    }
    env
}

async fn load<'a>(
    client: &aws_sdk_secretsmanager::Client,
    env: &'a BTreeMap<String, String>,
) -> Result<Environment<impl Fn(&str) -> Option<String> + 'a>, ConfigError> {
    Environment::load(client, move |k: &str| env.get(k).cloned()).await
}

#[tokio::test]
async fn each_function_reads_only_its_own_secrets_and_gets_its_credential() {
    let t = template();
    let (client, recorder) = secrets_client();
    let arns = create_secrets(&client, &t).await;
    let resource_of = |arn: &str| arns.iter().find(|(_, a)| a.as_str() == arn).map(|(name, _)| format!("!Ref {name}")).unwrap();
    recorder.take();
    let body = br#"{"destination":"U1","events":[]}"#;
    let signature = line_oa::domain::signature::sign(&Secret::new(CHANNEL_SECRET).unwrap(), body);

    let mut read = BTreeMap::new();
    for function in super::template_checks::FUNCTIONS {
        let env = function_environment(&t, function, &arns);
        assert!(env.keys().all(|k| !["LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"].contains(&k.as_str())));
        let environment = load(&client, &env).await.unwrap_or_else(|e| panic!("{function}: {e}"));
        // What the function's init asked Secrets Manager for, as its role must allow.
        let requests: Vec<Request> = recorder.take().into_iter().map(|r| Request { resource: resource_of(&r.resource), ..r }).collect();
        let role = statements(&t, &role_of(&t, function));
        assert!(refused(&role, &requests).is_empty(), "{function} reads a secret its role may not: {requests:?}");
        read.insert(function, requests.into_iter().map(|r| r.resource).collect::<Vec<_>>());

        match function {
            "WebhookFunction" => {
                let config = config::from_lookup_for(environment.lookup(), Credentials::ChannelSecret).unwrap();
                assert_eq!(config.verifier.verify(body, Some(&signature)), Ok(()), "the webhook verifies with the stored secret");
                assert!(config.access_token.is_none());
            }
            "ExporterFunction" => assert!(environment.get("LINE_CHANNEL_ACCESS_TOKEN").is_none()),
            _ => {
                let config = config::from_lookup_for(environment.lookup(), Credentials::AccessToken).unwrap();
                assert_eq!(config.access_token.as_ref().map(|t| t.expose_secret().to_owned()).as_deref(), Some(ACCESS_TOKEN));
                assert!(config.verifier.verify(body, Some(&signature)).is_err(), "{function} cannot verify webhooks");
                assert!(environment.get("LINE_CHANNEL_SECRET").is_none(), "{function} never sees the channel secret");
            }
        }
        if function == "WorkerFunction" {
            let notices = NotifyConfig::from_lookup(environment.lookup()).expect("the worker's notification settings");
            let webhook = notices.webhook.expect("the signed webhook is configured");
            let expected = Secret::new(NOTIFY_SECRET).unwrap();
            assert_eq!(sign(&webhook.secret, 1, b"{}"), sign(&expected, 1, b"{}"), "signed with the stored secret");
        }
    }
    let expected = BTreeMap::from([
        ("WebhookFunction", vec!["!Ref ChannelSecrets".to_owned()]),
        ("WorkerFunction", vec!["!Ref AccessTokenSecret".to_owned(), "!Ref NotifyWebhookSecretSecret".to_owned()]),
        ("OperatorFunction", vec!["!Ref AccessTokenSecret".to_owned()]),
        ("ArchiverFunction", vec!["!Ref AccessTokenSecret".to_owned()]),
        ("ExporterFunction", vec![]),
    ]);
    assert_eq!(read, expected, "one GetSecretValue per secret, at init");
}

#[tokio::test]
async fn a_missing_or_malformed_secret_stops_init_naming_the_key_and_never_the_value() {
    let (client, _) = secrets_client();
    let missing = BTreeMap::from([(
        "LINE_CHANNEL_SECRET_ARN".to_owned(),
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:no-such-secret-AbCdEf".to_owned(),
    )]);
    let err = load(&client, &missing).await.unwrap_err().to_string();
    assert!(err.contains("LINE_CHANNEL_SECRET_ARN") && err.contains("could not be read"), "{err}");

    let name = format!("line-oa-{}/bad", uuid::Uuid::new_v4().simple());
    for (value, problem) in [
        ("plain-s3cret-value", "not a JSON object"),
        (r#"{"LINE_CHANNEL_SECRET": 5}"#, "not a JSON object"),
        (r#"{"LINE_API_BASE_URL": "http://evil.example.com"}"#, "may not set"),
    ] {
        let arn = match client.create_secret().name(&name).secret_string(value).send().await {
            Ok(created) => created.arn.unwrap(),
            Err(_) => {
                client.put_secret_value().secret_id(&name).secret_string(value).send().await.expect("PutSecretValue");
                client.describe_secret().secret_id(&name).send().await.unwrap().arn.unwrap()
            }
        };
        let env = BTreeMap::from([("LINE_CHANNEL_SECRET_ARN".to_owned(), arn)]);
        let err = load(&client, &env).await.unwrap_err().to_string();
        assert!(err.contains("LINE_CHANNEL_SECRET_ARN") && err.contains(problem), "{value}: {err}");
        assert!(!err.contains("s3cret") && !err.contains("evil"), "the value never shows: {err}");
    }
}

#[tokio::test]
async fn locally_no_secret_is_named_and_the_plain_environment_is_used_without_a_request() {
    let (client, recorder) = secrets_client();
    let env = BTreeMap::from([("LINE_CHANNEL_SECRET".to_owned(), "local-secret".to_owned())]);
    let environment = load(&client, &env).await.unwrap();
    assert_eq!(environment.get("LINE_CHANNEL_SECRET").as_deref(), Some("local-secret"));
    assert!(recorder.take().is_empty(), "nothing asked of Secrets Manager");
    assert!(!format!("{environment:?}").contains("local-secret"));
}
