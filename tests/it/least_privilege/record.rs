//! Clients for the protocol server that note every request they send, as the IAM authorisations
//! it needs (`policy::Request`): the real adapters' traffic, checked against a role afterwards.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use serde_json::Value;

use super::policy::{index, Request, TABLE};
use crate::support::moto_endpoint;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a client sent; `take` empties it, so a test can check one phase at a time.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Request>>>);

impl Recorder {
    pub fn take(&self) -> Vec<Request> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "least-privilege-recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default().to_owned();
        let bytes = request.body().bytes().unwrap_or_default();
        if target.is_empty() {
            // The query protocol (SNS): a form body naming the action.
            let form: std::collections::HashMap<String, String> = serde_urlencoded::from_bytes(bytes).expect("a form body");
            let action = form.get("Action").expect("Action");
            let resource = form.get("TopicArn").cloned().unwrap_or_default();
            self.0.lock().unwrap().push(Request { action: format!("sns:{action}"), resource, leading_keys: vec![] });
            return Ok(());
        }
        let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
        let requests = match target.split_once('.') {
            Some((service, operation)) if service.starts_with("DynamoDB_") => dynamodb_requests(operation, &body),
            Some(("secretsmanager", operation)) => vec![Request {
                action: format!("secretsmanager:{operation}"),
                resource: body["SecretId"].as_str().unwrap_or_default().to_owned(),
                leading_keys: vec![],
            }],
            _ => panic!("an unexpected request: {target:?}"),
        };
        self.0.lock().unwrap().extend(requests);
        Ok(())
    }
}

fn pk_of(key_or_item: &Value) -> Vec<String> {
    key_or_item["pk"]["S"].as_str().map(|pk| vec![pk.to_owned()]).unwrap_or_default()
}

/// The IAM authorisations of one DynamoDB request. A transaction needs each of its items'
/// actions (there is no `TransactWriteItems` permission); a Query's leading key is the value
/// its key condition binds to the partition key.
fn dynamodb_requests(operation: &str, body: &Value) -> Vec<Request> {
    let on = |action: &str, keys: Vec<String>| Request { action: format!("dynamodb:{action}"), resource: TABLE.into(), leading_keys: keys };
    match operation {
        "PutItem" => vec![on("PutItem", pk_of(&body["Item"]))],
        "GetItem" | "UpdateItem" | "DeleteItem" => vec![on(operation, pk_of(&body["Key"]))],
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .expect("TransactItems")
            .iter()
            .map(|item| {
                let (kind, spec) = item.as_object().and_then(|o| o.iter().next()).expect("one action per item");
                match kind.as_str() {
                    "Put" => on("PutItem", pk_of(&spec["Item"])),
                    "Update" => on("UpdateItem", pk_of(&spec["Key"])),
                    "Delete" => on("DeleteItem", pk_of(&spec["Key"])),
                    "ConditionCheck" => on("ConditionCheckItem", pk_of(&spec["Key"])),
                    other => panic!("unknown transaction action {other}"),
                }
            })
            .collect(),
        "Query" => {
            let condition = body["KeyConditionExpression"].as_str().expect("a key condition");
            let (name, placeholder) = condition.split(" AND ").next().and_then(|c| c.split_once('=')).expect("partition key = :value");
            let (name, placeholder) = (name.trim(), placeholder.trim());
            let name = body["ExpressionAttributeNames"][name].as_str().unwrap_or(name);
            let value = body["ExpressionAttributeValues"][placeholder]["S"].as_str().unwrap_or_default().to_owned();
            let resource = match body["IndexName"].as_str() {
                Some(name) => index(name),
                None => {
                    assert_eq!(name, "pk", "a table query binds the partition key first: {condition}");
                    TABLE.to_owned()
                }
            };
            vec![Request { action: "dynamodb:Query".into(), resource, leading_keys: vec![value] }]
        }
        // Reads without a key, listed with none so a policy must allow them outright.
        other => vec![Request {
            action: format!("dynamodb:{other}"),
            resource: body["IndexName"].as_str().map_or(TABLE.to_owned(), index),
            leading_keys: vec![],
        }],
    }
}

/// A DynamoDB client for the protocol server that records what it sends.
pub fn dynamo_client() -> (aws_sdk_dynamodb::Client, Recorder) {
    let recorder = Recorder::default();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_dynamodb::config::Region::new("ap-northeast-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(moto_endpoint())
        .interceptor(recorder.clone())
        .build();
    (aws_sdk_dynamodb::Client::from_conf(config), recorder)
}

/// An SNS client for the protocol server that records what it sends.
pub fn sns_client() -> (aws_sdk_sns::Client, Recorder) {
    let recorder = Recorder::default();
    let config = aws_sdk_sns::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_sns::config::Region::new("ap-northeast-1"))
        .credentials_provider(aws_sdk_sns::config::Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(moto_endpoint())
        .interceptor(recorder.clone())
        .build();
    (aws_sdk_sns::Client::from_conf(config), recorder)
}

/// A Secrets Manager client for the protocol server that records what it sends.
pub fn secrets_client() -> (aws_sdk_secretsmanager::Client, Recorder) {
    let recorder = Recorder::default();
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_secretsmanager::config::Region::new("ap-northeast-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(moto_endpoint())
        .interceptor(recorder.clone())
        .build();
    (aws_sdk_secretsmanager::Client::from_conf(config), recorder)
}
