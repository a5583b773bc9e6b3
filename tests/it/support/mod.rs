//! Test support: paths, signing, the DynamoDB-protocol server, app builders, and waiting for events.

#![allow(dead_code)]

pub mod apps;
pub mod bedrock_standin;
pub mod binary;
pub mod captured_notices;
pub mod cognito_standin;
pub mod crash;
pub mod line_standin;
pub mod request_log;
pub mod wait;

use std::path::PathBuf;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use line_oa::domain::secret::Secret;

pub const TEST_SECRET: &str = "it-channel-secret";

/// `../shared` beside the checkout (LINE's spec and fixtures); from a `git worktree` elsewhere,
/// the one beside the main checkout (its `.git` file names `<main>/.git/worktrees/<name>`).
pub fn shared_dir() -> PathBuf {
    let repo = repo_dir();
    let beside = repo.join("../shared");
    if beside.exists() {
        return beside;
    }
    let gitdir = std::fs::read_to_string(repo.join(".git")).ok();
    let main = gitdir.as_deref().and_then(|g| g.trim().strip_prefix("gitdir: ")).and_then(|g| g.split("/.git/worktrees/").next());
    main.map_or(beside, |main| PathBuf::from(main).join("../shared"))
}

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sign(body: &[u8]) -> String {
    line_oa::domain::signature::sign(&Secret::new(TEST_SECRET).unwrap(), body)
}

/// The DynamoDB/S3-protocol server the test command started (moto in server mode).
/// A missing server is a failure, never a skip.
pub fn moto_endpoint() -> String {
    let url =
        std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT is not set: run the tests with infra/test.sh, which starts moto on 127.0.0.1");
    assert!(url.starts_with("http://127.0.0.1:"), "tests only talk to 127.0.0.1, got {url}");
    url
}

pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    let creds = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests");
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_dynamodb::config::Region::new("ap-northeast-1"))
        .credentials_provider(creds)
        .endpoint_url(moto_endpoint())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Creates a fresh table shaped like template.yaml's: TTL on `expires_at`, the sparse
/// `conversations` index.
pub async fn create_table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = format!("line-oa-{}", uuid::Uuid::new_v4().simple());
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build().unwrap();
    let attr = |n: &str| AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().unwrap();
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .attribute_definitions(attr("list"))
        .attribute_definitions(attr("activity"))
        .attribute_definitions(attr("conv_shard"))
        // As in template.yaml: the conversation list, newest activity first...
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(line_oa::store::dynamodb::ACTIVITY_INDEX)
                .key_schema(key("list", KeyType::Hash))
                .key_schema(key("activity", KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .unwrap(),
        )
        // ...and every conversation in a stable order, for exports.
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("conversations")
                .key_schema(key("conv_shard", KeyType::Hash))
                .key_schema(key("pk", KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table on the DynamoDB-protocol server");
    client
        .update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(TimeToLiveSpecification::builder().enabled(true).attribute_name("expires_at").build().unwrap())
        .send()
        .await
        .expect("enable TTL");
    name
}

pub async fn table_item_count(client: &aws_sdk_dynamodb::Client, table: &str) -> usize {
    let out = client.scan().table_name(table).send().await.expect("scan");
    out.items.unwrap_or_default().len()
}

pub async fn s3_client() -> aws_sdk_s3::Client {
    let creds = aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests");
    let config = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_s3::config::Region::new("ap-northeast-1"))
        .credentials_provider(creds)
        .endpoint_url(moto_endpoint())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A fresh bucket like template.yaml's: Object Lock on (which implies versioning).
pub async fn create_bucket(client: &aws_sdk_s3::Client) -> String {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let name = format!("line-oa-archive-{}", uuid::Uuid::new_v4().simple());
    client
        .create_bucket()
        .bucket(&name)
        .object_lock_enabled_for_bucket(true)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::ApNortheast1).build(),
        )
        .send()
        .await
        .expect("create bucket on the S3-protocol server");
    name
}
