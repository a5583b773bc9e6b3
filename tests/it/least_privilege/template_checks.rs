//! template.yaml on its own: no secret in any function's environment, each secret readable by
//! the functions that need it only, every function on its own role writing to its own log group,
//! the DynamoDB key conditions, concurrency, Cognito, the HTTP APIs' access logs, and the URL
//! parameters that refuse plain http.

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;

use super::policy::{allowed, resources_of_type, role_of, statements, template, text, Request};

pub const FUNCTIONS: [&str; 5] = ["WebhookFunction", "WorkerFunction", "OperatorFunction", "ArchiverFunction", "ExporterFunction"];
const SECRET_KEYS: [&str; 4] = ["LINE_CHANNEL_SECRET", "LINE_CHANNEL_SECRET_NEXT", "LINE_CHANNEL_ACCESS_TOKEN", "NOTIFY_WEBHOOK_SECRET"];

fn no_echo_parameters(t: &Value) -> Vec<String> {
    let params = t["Parameters"].as_mapping().unwrap();
    params.iter().filter(|(_, p)| p["NoEcho"].as_bool() == Some(true)).map(|(name, _)| text(name)).collect()
}

/// Whether `v` mentions parameter `name` anywhere: `!Ref name`, `${name}` in a `!Sub`.
fn mentions(v: &Value, name: &str) -> bool {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str() == Some(name),
        Value::Tagged(t) if t.tag == "Sub" => {
            let text = match &t.value {
                Value::Sequence(form) => form.first().and_then(Value::as_str).unwrap_or_default(),
                other => other.as_str().unwrap_or_default(),
            };
            text.contains(&format!("${{{name}}}")) || mentions(&t.value, name)
        }
        Value::Tagged(t) => mentions(&t.value, name),
        Value::Sequence(items) => items.iter().any(|i| mentions(i, name)),
        Value::Mapping(m) => m.iter().any(|(k, v)| mentions(k, name) || mentions(v, name)),
        _ => false,
    }
}

#[test]
fn no_function_has_a_secret_in_its_environment() {
    let t = template();
    let secrets = no_echo_parameters(&t);
    assert!(secrets.len() >= 4, "{secrets:?}");
    let mut environments = vec![("Globals".to_owned(), &t["Globals"]["Function"]["Environment"])];
    for (name, f) in resources_of_type(&t, "AWS::Serverless::Function") {
        environments.push((name, &f["Properties"]["Environment"]));
    }
    for (name, env) in environments {
        for (key, value) in env["Variables"].as_mapping().into_iter().flatten() {
            let key = text(key);
            assert!(!SECRET_KEYS.contains(&key.as_str()), "{name} has {key} in plain text");
            for secret in &secrets {
                assert!(!mentions(value, secret), "{name}'s {key} carries the NoEcho parameter {secret}");
            }
        }
    }
    // The NoEcho parameters feed Secrets Manager and nothing else (no output, no other resource).
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        for secret in &secrets {
            if mentions(&resource["Properties"], secret) {
                assert_eq!(resource["Type"].as_str(), Some("AWS::SecretsManager::Secret"), "{} uses {secret}", text(name));
            }
        }
    }
    for secret in &secrets {
        assert!(!mentions(&t["Outputs"], secret), "an output shows {secret}");
    }
}

/// Which roles may read each secret (secretsmanager:GetSecretValue on it).
fn secret_readers(t: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut readers = BTreeMap::new();
    for (secret, _) in resources_of_type(t, "AWS::SecretsManager::Secret") {
        let request = Request { action: "secretsmanager:GetSecretValue".into(), resource: format!("!Ref {secret}"), leading_keys: vec![] };
        let roles = resources_of_type(t, "AWS::IAM::Role").filter(|(role, _)| allowed(&statements(t, role), &request));
        readers.insert(secret, roles.map(|(role, _)| role).collect());
    }
    readers
}

#[test]
fn each_secret_is_readable_by_the_functions_that_use_it_only() {
    let t = template();
    let set = |roles: &[&str]| roles.iter().map(|r| r.to_string()).collect::<BTreeSet<_>>();
    let expected = BTreeMap::from([
        ("ChannelSecrets".to_owned(), set(&["WebhookRole"])),
        ("AccessTokenSecret".to_owned(), set(&["ArchiverRole", "OperatorRole", "WorkerRole"])),
        ("NotifyWebhookSecretSecret".to_owned(), set(&["WorkerRole"])),
    ]);
    assert_eq!(secret_readers(&t), expected);
    // And each of those functions is told where its secret is (and no other one is).
    let arn_keys = |function: &str| -> BTreeSet<String> {
        let vars = &t["Resources"][function]["Properties"]["Environment"]["Variables"];
        let keys = line_oa::config::lambda::SECRET_SOURCES.iter().map(|(k, _)| *k).filter(|k| !vars[*k].is_null());
        keys.map(str::to_owned).collect()
    };
    assert_eq!(arn_keys("WebhookFunction"), set(&["LINE_CHANNEL_SECRET_ARN"]));
    assert_eq!(arn_keys("WorkerFunction"), set(&["LINE_CHANNEL_ACCESS_TOKEN_ARN", "NOTIFY_WEBHOOK_SECRET_ARN"]));
    assert_eq!(arn_keys("OperatorFunction"), set(&["LINE_CHANNEL_ACCESS_TOKEN_ARN"]));
    assert_eq!(arn_keys("ArchiverFunction"), set(&["LINE_CHANNEL_ACCESS_TOKEN_ARN"]));
    assert_eq!(arn_keys("ExporterFunction"), set(&[]));
    // No role can read secrets in general.
    for (role, _) in resources_of_type(&t, "AWS::IAM::Role") {
        for s in statements(&t, &role) {
            if s.actions.iter().any(|a| a.starts_with("secretsmanager:")) {
                assert_eq!(s.actions, ["secretsmanager:GetSecretValue"], "{role}/{}", s.sid);
                assert!(s.resources.iter().all(|r| r.starts_with("!Ref ")), "{role}/{}: named secrets only", s.sid);
            }
        }
    }
}

#[test]
fn every_function_has_its_own_role_that_writes_to_its_own_log_group_only() {
    let t = template();
    let functions: Vec<String> = resources_of_type(&t, "AWS::Serverless::Function").map(|(name, _)| name).collect();
    assert_eq!(functions.iter().map(String::as_str).collect::<BTreeSet<_>>(), FUNCTIONS.into_iter().collect());
    let mut roles = BTreeSet::new();
    for function in &functions {
        let props = &t["Resources"][function.as_str()]["Properties"];
        assert!(props["Policies"].is_null(), "{function}: SAM's generated role would add logs in every group");
        let role = role_of(&t, function);
        assert!(roles.insert(role.clone()), "{role} is shared");
        let group = text(&props["LoggingConfig"]["LogGroup"]);
        let group = group.strip_prefix("!Ref ").unwrap_or_else(|| panic!("{function} logs to a group of this stack"));
        assert_eq!(t["Resources"][group]["Type"].as_str(), Some("AWS::Logs::LogGroup"));
        assert!(!t["Resources"][group]["Properties"]["RetentionInDays"].is_null(), "{group} has a retention");
        let logs: Vec<_> = statements(&t, &role).into_iter().filter(|s| s.actions.iter().any(|a| a.starts_with("logs:"))).collect();
        assert_eq!(logs.len(), 1, "{role}: one logs statement");
        let mut actions = logs[0].actions.clone();
        actions.sort();
        assert_eq!(actions, ["logs:CreateLogStream", "logs:PutLogEvents"], "{role}: streams and events, not groups");
        assert_eq!(logs[0].resources, [format!("!GetAtt {group}.Arn")], "{role} writes to {group} only");
    }
    // Nothing else in the stack is a role a function could be given.
    let all_roles: BTreeSet<String> = resources_of_type(&t, "AWS::IAM::Role").map(|(name, _)| name).collect();
    assert_eq!(all_roles, roles);
    // "*" only where IAM knows no resource (dynamodb:ListStreams).
    for role in &roles {
        for s in statements(&t, role) {
            if s.resources.iter().any(|r| r == "*") {
                assert_eq!(s.actions, ["dynamodb:ListStreams"], "{role}/{}", s.sid);
            }
            assert!(s.actions.iter().all(|a| !a.ends_with(":*") && a != "*"), "{role}/{}: no wildcard actions", s.sid);
        }
    }
}

/// Actions whose request always names its item's key: only those may be limited by LeadingKeys
/// (`ForAllValues` over a request without a key, a Scan, is true).
const KEYED_ACTIONS: [&str; 6] =
    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"];

#[test]
fn key_conditions_limit_only_requests_that_name_a_key() {
    let t = template();
    for (role, _) in resources_of_type(&t, "AWS::IAM::Role") {
        for s in statements(&t, &role).into_iter().filter(|s| s.leading_keys.is_some()) {
            assert!(s.actions.iter().all(|a| KEYED_ACTIONS.contains(&a.as_str())), "{role}/{}: {:?}", s.sid, s.actions);
            assert_eq!(s.resources, [super::policy::TABLE], "{role}/{}: the table's own keys", s.sid);
        }
    }
}

#[test]
fn the_webhook_writes_conversation_items_only_and_the_exporter_export_jobs_only() {
    let t = template();
    let webhook = statements(&t, &role_of(&t, "WebhookFunction"));
    for pk in ["CONV#user:U1", "CONV#group:C1"] {
        for action in ["PutItem", "GetItem", "UpdateItem"] {
            assert!(allowed(&webhook, &Request::on_table(action, pk)), "webhook {action} {pk}");
        }
    }
    for pk in ["DOC#meta", "DOC#canned", "JOB#1", "HOLDS", "AUDIT", "INBOX", "WARMUP"] {
        for action in ["PutItem", "UpdateItem", "DeleteItem"] {
            assert!(!allowed(&webhook, &Request::on_table(action, pk)), "the webhook may not {action} {pk}");
        }
    }
    assert!(!allowed(&webhook, &Request::on_table("DeleteItem", "CONV#user:U1")));
    assert!(!allowed(&webhook, &Request { action: "dynamodb:Scan".into(), resource: super::policy::TABLE.into(), leading_keys: vec![] }));

    let exporter = statements(&t, &role_of(&t, "ExporterFunction"));
    assert!(allowed(&exporter, &Request::on_table("PutItem", "JOB#0f8e")));
    for pk in ["CONV#user:U1", "DOC#meta", "HOLDS", "AUDIT", "INBOX"] {
        assert!(!allowed(&exporter, &Request::on_table("PutItem", pk)), "the exporter may not write {pk}");
    }
    for action in ["UpdateItem", "DeleteItem"] {
        assert!(!allowed(&exporter, &Request::on_table(action, "JOB#0f8e")), "the exporter may not {action}");
    }

    // Staff delete documents and hold registry entries, never anything in a conversation's partition.
    let operator = statements(&t, &role_of(&t, "OperatorFunction"));
    assert!(!allowed(&operator, &Request::on_table("DeleteItem", "CONV#user:U1")));
    for pk in ["DOC#notes:user:U1", "DOC#canned", "HOLDS"] {
        assert!(allowed(&operator, &Request::on_table("DeleteItem", pk)), "operator DeleteItem {pk}");
    }
    for pk in ["AUDIT", "JOB#1"] {
        assert!(!allowed(&operator, &Request::on_table("DeleteItem", pk)), "the audit trail and export jobs are not deleted");
        assert!(!allowed(&operator, &Request::on_table("UpdateItem", pk)));
    }
}

fn param_default(t: &Value, name: &str) -> i64 {
    t["Parameters"][name]["Default"].as_i64().unwrap_or_else(|| panic!("{name} has a numeric default"))
}

#[test]
fn the_webhook_has_reserved_concurrency_and_the_operator_and_exporter_are_capped() {
    let t = template();
    let mut reserved = 0;
    for (function, param) in [
        ("WebhookFunction", "WebhookReservedConcurrency"),
        ("OperatorFunction", "OperatorMaxConcurrency"),
        ("ExporterFunction", "ExporterMaxConcurrency"),
    ] {
        let setting = text(&t["Resources"][function]["Properties"]["ReservedConcurrentExecutions"]);
        let condition = setting.strip_prefix("!If ").and_then(|s| s.split(" | ").next()).expect("!If [condition, ...]").to_owned();
        assert_eq!(setting, format!("!If {condition} | !Ref {param} | !Ref AWS::NoValue"), "{function}");
        // 0 means "none" (ReservedConcurrentExecutions: 0 would stop the function altogether).
        assert_eq!(text(&t["Conditions"][condition.as_str()]), format!("!Not !Equals !Ref {param} | 0"));
        assert_eq!(t["Parameters"][param]["MinValue"].as_i64(), Some(0));
        let default = param_default(&t, param);
        assert!(default > 0, "{param} is on by default");
        reserved += default;
    }
    // Lambda keeps 100 of the account's default quota of 1,000 unreserved.
    assert!(reserved <= 900, "{reserved}");
    assert!(param_default(&t, "WebhookReservedConcurrency") >= 10, "the webhook's share outlasts a burst");
}

#[test]
fn staff_sign_in_requires_totp_and_tokens_are_short_lived() {
    let t = template();
    let pool = &t["Resources"]["OperatorUserPool"]["Properties"];
    assert_eq!(pool["MfaConfiguration"].as_str(), Some("ON"), "MFA is per pool: required of everyone, admins included");
    assert_eq!(text(&pool["EnabledMfas"]), "SOFTWARE_TOKEN_MFA");
    let client = &t["Resources"]["OperatorUserPoolClient"]["Properties"];
    let units = &client["TokenValidityUnits"];
    assert_eq!((units["IdToken"].as_str(), units["AccessToken"].as_str()), (Some("minutes"), Some("minutes")));
    assert!(client["IdTokenValidity"].as_i64().unwrap() <= 60, "removing a user takes effect within the ID token's life");
    assert!(client["AccessTokenValidity"].as_i64().unwrap() <= 60);
    assert_eq!(units["RefreshToken"].as_str(), Some("hours"));
    assert!(client["RefreshTokenValidity"].as_i64().unwrap() <= 12, "hours, not 30 days");
    assert_eq!(client["EnableTokenRevocation"].as_bool(), Some(true));
}

/// `$context` variables an access log may carry: none holds a body, a header or a query string.
const LOGGABLE: [&str; 17] = [
    "$context.requestId",
    "$context.requestTime",
    "$context.httpMethod",
    "$context.routeKey",
    "$context.path",
    "$context.status",
    "$context.protocol",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integrationLatency",
    "$context.integrationStatus",
    "$context.integrationErrorMessage",
    "$context.error.message",
    "$context.authorizer.error",
    "$context.authorizer.claims.sub",
    "$context.identity.sourceIp",
    "$context.identity.userAgent",
];

fn check_access_log(t: &Value, what: &str, settings: &Value) {
    let destination = text(&settings["DestinationArn"]);
    let group = destination.strip_prefix("!GetAtt ").and_then(|d| d.strip_suffix(".Arn")).expect("a log group of this stack");
    assert_eq!(t["Resources"][group]["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{what}");
    assert_eq!(text(&t["Resources"][group]["Properties"]["RetentionInDays"]), "!Ref LogRetentionDays", "{what}: kept for a while only");
    let format: serde_json::Value = serde_json::from_str(settings["Format"].as_str().expect("a Format")).expect("JSON lines");
    let fields = format.as_object().expect("one JSON object a line");
    assert!(fields.contains_key("requestId") && fields.contains_key("status"), "{what}: {format}");
    for (name, value) in fields {
        let value = value.as_str().unwrap_or_default();
        assert!(LOGGABLE.contains(&value), "{what}: {name} = {value} is not known to carry no message text or token");
    }
}

#[test]
fn both_http_apis_write_access_logs_without_message_text_or_tokens() {
    let t = template();
    let sam_apis: Vec<_> = resources_of_type(&t, "AWS::Serverless::HttpApi").collect();
    assert_eq!(sam_apis.len(), 1, "the webhook's API");
    for (name, api) in sam_apis {
        check_access_log(&t, &name, &api["Properties"]["AccessLogSettings"]);
    }
    let apis: Vec<String> = resources_of_type(&t, "AWS::ApiGatewayV2::Api").map(|(name, _)| name).collect();
    assert_eq!(apis, ["OperatorHttpApi"]);
    for api in apis {
        let stages: Vec<_> = resources_of_type(&t, "AWS::ApiGatewayV2::Stage")
            .filter(|(_, s)| text(&s["Properties"]["ApiId"]) == format!("!Ref {api}"))
            .collect();
        assert_eq!(stages.len(), 1, "{api}");
        check_access_log(&t, &stages[0].0, &stages[0].1["Properties"]["AccessLogSettings"]);
    }
}

#[test]
fn the_url_parameters_refuse_plain_http_except_to_the_loopback_address() {
    let t = template();
    for name in ["LineApiBaseUrl", "LineDataApiBaseUrl", "NotifyWebhookUrl"] {
        let param = &t["Parameters"][name];
        let pattern = param["AllowedPattern"].as_str().unwrap_or_else(|| panic!("{name} has a pattern"));
        let validator = jsonschema::validator_for(&serde_json::json!({ "type": "string", "pattern": pattern })).unwrap();
        let ok = |url: &str| validator.is_valid(&serde_json::json!(url));
        assert!(ok(param["Default"].as_str().unwrap()), "{name}'s default");
        for good in ["https://api.line.me", "https://hooks.example.com/line?x=1", "http://127.0.0.1:8080", "http://localhost/x"] {
            assert!(ok(good), "{name} accepts {good}");
        }
        for bad in ["http://api.line.me", "http://127.0.0.1.example.com", "http://localhost.example.com/", "ftp://api.line.me", "https://"]
        {
            assert!(!ok(bad), "{name} refuses {bad}");
        }
    }
}

#[test]
fn only_the_worker_may_call_a_model_only_the_one_named_and_none_by_default() {
    let t = template();
    for (role, _) in resources_of_type(&t, "AWS::IAM::Role") {
        let bedrock: Vec<_> = statements(&t, &role).into_iter().filter(|s| s.actions.iter().any(|a| a.starts_with("bedrock:"))).collect();
        if role != "WorkerRole" {
            assert!(bedrock.is_empty(), "{role} may call Bedrock: {bedrock:?}");
            continue;
        }
        assert_eq!(bedrock.len(), 1, "{bedrock:?}");
        assert_eq!(bedrock[0].actions, ["bedrock:InvokeModel"], "Converse's permission, nothing else");
        let sub = |arn: &str| format!("!Sub arn:${{AWS::Partition}}:bedrock:{arn}");
        assert_eq!(
            bedrock[0].resources,
            [
                sub("${AWS::Region}:${AWS::AccountId}:inference-profile/${BedrockInferenceProfile}.${BedrockModelId}"),
                sub("*::foundation-model/${BedrockModelId}"),
                sub("${AWS::Region}::foundation-model/${BedrockModelId}"),
            ]
        );
    }
    // Off unless a model is named: the statement and the worker's BEDROCK_MODEL_ID both hang on it.
    assert_eq!(t["Parameters"]["BedrockModelId"]["Default"].as_str(), Some(""));
    assert_eq!(text(&t["Conditions"]["HasBedrockModel"]), "!Not !Equals !Ref BedrockModelId | ");
    let worker = &t["Resources"]["WorkerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    let guarded = worker.as_sequence().unwrap().iter().filter(|s| text(s).contains("GroundedModel")).map(text).collect::<Vec<_>>();
    assert_eq!(guarded.len(), 1);
    assert!(guarded[0].starts_with("!If HasBedrockModel | ") && guarded[0].ends_with("!Ref AWS::NoValue"), "{}", guarded[0]);
    let env = text(&t["Resources"]["WorkerFunction"]["Properties"]["Environment"]["Variables"]["BEDROCK_MODEL_ID"]);
    assert!(env.starts_with("!If HasBedrockModel | ") && env.ends_with("!Ref AWS::NoValue"), "{env}");
    // No other function is told of a model.
    for function in FUNCTIONS.iter().filter(|f| **f != "WorkerFunction") {
        assert!(t["Resources"][*function]["Properties"]["Environment"]["Variables"]["BEDROCK_MODEL_ID"].is_null(), "{function}");
    }
    // The id goes into an ARN: no wildcard or ARN can be slipped in through it.
    let pattern = t["Parameters"]["BedrockModelId"]["AllowedPattern"].as_str().unwrap();
    let validator = jsonschema::validator_for(&serde_json::json!({ "type": "string", "pattern": pattern })).unwrap();
    for good in ["", "amazon.nova-lite-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0"] {
        assert!(validator.is_valid(&serde_json::json!(good)), "{good}");
    }
    for bad in ["*", "amazon.*", "arn:aws:bedrock:*::foundation-model/*", "amazon.nova/../x", "apac.amazon nova"] {
        assert!(!validator.is_valid(&serde_json::json!(bad)), "{bad}");
    }
}
