//! Staff notifications against real receivers on 127.0.0.1: a webhook receiver that checks
//! the signature the way a customer's would, and SNS on the moto server.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use hmac::{Hmac, Mac};
use line_oa::domain::ids::ConversationId;
use line_oa::domain::notice::{reasons, RenotifyDelay, StaffNotice};
use line_oa::domain::secret::Secret;
use line_oa::notify::sns::SnsNotifier;
use line_oa::notify::webhook::{WebhookConfig, WebhookNotifier};
use line_oa::notify::{combine, from_config, FanOut, Notifier, NotifyConfig, NotifyError};
use line_oa::retry::RetryPolicy;
use serde_json::Value;
use sha2::Sha256;

use crate::support::moto_endpoint;

const SECRET: &str = "it-notify-webhook-secret";
const T0: i64 = 1_764_000_000_000;

fn notice() -> StaffNotice {
    StaffNotice::needs_attention(ConversationId::user("U0123456789abcdef0123456789abcdef"), reasons::COMPLAINT, T0)
        .with_event_id("01JNOTIFYTEST")
}

// ---------------------------------------------------------------- the published schema

fn schema() -> jsonschema::Validator {
    let path = crate::support::repo_dir().join("schemas/staff-notice-v1.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema file")).unwrap();
    jsonschema::draft7::new(&schema).expect("the schema compiles")
}

#[test]
fn every_kind_of_payload_matches_the_published_schema() {
    let schema = schema();
    let conversation = ConversationId::room("R0123456789abcdef0123456789abcdef");
    let payloads = [
        notice().with_console_url(Some("https://ops.example.com/c/{conversation}")).payload_json(),
        StaffNotice::renotify(conversation, reasons::REPLY_FAILED, T0, RenotifyDelay::default()).payload_json(),
        StaffNotice::needs_attention(ConversationId::none(), &"long reason ".repeat(20), T0).payload_json(),
    ];
    for payload in payloads {
        let value: Value = serde_json::from_str(&payload).unwrap();
        let errors: Vec<String> = schema.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{payload}: {errors:?}");
    }
}

#[test]
fn the_schema_refuses_a_payload_of_another_shape() {
    let schema = schema();
    let mut value: Value = serde_json::from_str(&notice().payload_json()).unwrap();
    value["text"] = Value::from("the user's message");
    assert!(!schema.is_valid(&value), "no undocumented field, least of all message text");
    let mut value: Value = serde_json::from_str(&notice().payload_json()).unwrap();
    value.as_object_mut().unwrap().remove("version");
    assert!(!schema.is_valid(&value), "the version is required");
}

// ---------------------------------------------------------------- webhook receiver

#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer, in order; 200 once they run out.
    script: Mutex<VecDeque<u16>>,
    /// Held before answering, to make the sender time out.
    stall: Mutex<Option<Duration>>,
}

struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        state.script.lock().unwrap().extend(script);
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind 127.0.0.1:0");
        let url = format!("http://{}/hooks/line-oa", listener.local_addr().unwrap());
        let app = Router::new().fallback(receive).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, state }
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    state.received.lock().unwrap().push(Received { headers, body });
    let stall = *state.stall.lock().unwrap();
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// What a receiver would do, written apart from the crate's signer: HMAC-SHA256 over
/// `<timestamp>.<body>`, hex, compared in constant time; a timestamp within five minutes.
fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let timestamp = header("x-lineoa-timestamp").ok_or("no timestamp")?;
    let signature = header("x-lineoa-signature").ok_or("no signature")?;
    let hex = signature.strip_prefix("sha256=").ok_or("no sha256= prefix")?;
    if hex.len() != 64 {
        return Err("not 32 bytes of hex");
    }
    let expected: Vec<u8> =
        (0..64).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16)).collect::<Result<_, _>>().map_err(|_| "not hex")?;
    let sent: i64 = timestamp.parse().map_err(|_| "timestamp not a number")?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    if (now - sent).abs() > 300 {
        return Err("timestamp too old or in the future");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| "signature mismatch")
}

fn webhook(url: &str, retry: RetryPolicy) -> WebhookNotifier {
    let mut config = WebhookConfig::new(url.to_owned(), Secret::new(SECRET).unwrap());
    config.retry = retry;
    WebhookNotifier::new(config)
}

fn quick_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy { attempts, first_backoff: Duration::from_millis(20), timeout: Duration::from_secs(2) }
}

#[tokio::test]
async fn a_notice_reaches_the_webhook_signed_over_timestamp_and_body() {
    let receiver = Receiver::start(&[]).await;
    let notice = notice();
    webhook(&receiver.url, quick_retry(3)).notify(&notice).await.expect("delivered");

    let got = receiver.received();
    assert_eq!(got.len(), 1, "delivered once");
    let Received { headers, body } = &got[0];
    verify(SECRET, headers, body).expect("the receiver accepts the signature");
    assert_eq!(verify("another-secret", headers, body), Err("signature mismatch"));
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    assert_eq!(verify(SECRET, headers, &tampered), Err("signature mismatch"));

    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-lineoa-delivery"], notice.delivery_id().to_string().as_str());
    let payload: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["version"], 1);
    assert_eq!(payload["kind"], "needs_attention");
    assert_eq!(payload["reason"], "complaint");
    assert_eq!(payload["conversation"], "user:U0123456789abcdef0123456789abcdef");
    assert_eq!(payload["delivery_id"], notice.delivery_id().to_string());
}

#[tokio::test]
async fn the_signature_is_dated_by_the_injected_clock_and_a_receiver_refuses_an_old_one() {
    let receiver = Receiver::start(&[]).await;
    // An hour ago: a receiver checking freshness must refuse it, whatever the system clock says.
    let an_hour_ago = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64 - 3_600_000;
    let notifier = webhook(&receiver.url, quick_retry(1)).with_clock(std::sync::Arc::new(move || an_hour_ago));
    notifier.notify(&notice()).await.expect("delivered");
    let got = receiver.received();
    assert_eq!(got[0].headers["x-lineoa-timestamp"], (an_hour_ago / 1000).to_string().as_str());
    assert_eq!(verify(SECRET, &got[0].headers, &got[0].body), Err("timestamp too old or in the future"));
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_body_and_delivery_id() {
    let receiver = Receiver::start(&[500, 503]).await;
    webhook(&receiver.url, quick_retry(3)).notify(&notice()).await.expect("delivered on the third attempt");

    let got = receiver.received();
    assert_eq!(got.len(), 3);
    for r in &got {
        verify(SECRET, &r.headers, &r.body).expect("every attempt is signed");
        assert_eq!(r.body, got[0].body, "the same bytes each time");
        assert_eq!(r.headers["x-lineoa-delivery"], got[0].headers["x-lineoa-delivery"]);
    }
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let receiver = Receiver::start(&[400, 200]).await;
    let err = webhook(&receiver.url, quick_retry(3)).notify(&notice()).await.unwrap_err();
    assert!(matches!(err, NotifyError::WebhookRejected { status: 400 }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(receiver.received().len(), 1, "a 4xx is final");
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_given_up_after_the_configured_attempts() {
    let receiver = Receiver::start(&[500, 500, 500, 500]).await;
    let err = webhook(&receiver.url, quick_retry(3)).notify(&notice()).await.unwrap_err();
    assert!(matches!(&err, NotifyError::WebhookUnavailable { attempts: 3, last } if last.contains("500")), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_times_out_and_is_retried() {
    let receiver = Receiver::start(&[]).await;
    *receiver.state.stall.lock().unwrap() = Some(Duration::from_secs(5));
    let retry = RetryPolicy { attempts: 2, first_backoff: Duration::from_millis(10), timeout: Duration::from_millis(300) };
    let started = std::time::Instant::now();
    let err = webhook(&receiver.url, retry).notify(&notice()).await.unwrap_err();
    assert!(matches!(err, NotifyError::WebhookUnavailable { attempts: 2, .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "the timeout bounds each attempt: {:?}", started.elapsed());
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn an_error_never_shows_the_webhook_url() {
    // A port that was just free: the connection is refused.
    let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook?token=receiver-token");
    let err = webhook(&url, quick_retry(1)).notify(&notice()).await.unwrap_err();
    assert!(matches!(err, NotifyError::WebhookUnavailable { attempts: 1, .. }), "{err:?}");
    assert!(!err.to_string().contains("receiver-token"), "{err}");
}

// ---------------------------------------------------------------- SNS on moto

fn aws() -> aws_config::SdkConfig {
    use aws_config::{BehaviorVersion, Region};
    let creds = aws_sdk_sns::config::Credentials::new("test", "test", None, None, "tests");
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("ap-northeast-1"))
        .credentials_provider(aws_sdk_sns::config::SharedCredentialsProvider::new(creds))
        .endpoint_url(moto_endpoint())
        .build()
}

async fn create_topic(client: &aws_sdk_sns::Client) -> String {
    let name = format!("line-oa-staff-{}", uuid::Uuid::new_v4().simple());
    let out = client.create_topic().name(name).send().await.expect("create topic on moto");
    out.topic_arn().expect("topic ARN").to_owned()
}

/// What moto recorded as published to the topic: (message, subject, attributes) each.
async fn published(topic_arn: &str) -> Vec<(String, String, Value)> {
    let data: Value = reqwest::get(format!("{}/moto-api/sns.json", moto_endpoint()))
        .await
        .expect("moto inspection API")
        .json()
        .await
        .expect("moto data as JSON");
    let topics = data["sns"]["Topic"].as_array().expect("moto lists SNS topics");
    let topic = topics.iter().find(|t| t["arn"] == topic_arn).expect("the topic exists on moto");
    let sent = topic["sent_notifications"].as_array().expect("sent notifications");
    // Each is [message id, message, subject, attributes, group id].
    sent.iter().map(|n| (n[1].as_str().unwrap().to_owned(), n[2].as_str().unwrap_or_default().to_owned(), n[3].clone())).collect()
}

#[tokio::test]
async fn a_notice_is_published_once_to_the_topic_with_subject_payload_and_attributes() {
    let client = aws_sdk_sns::Client::new(&aws());
    let topic = create_topic(&client).await;
    let notice = notice();
    SnsNotifier::new(client, topic.clone()).notify(&notice).await.expect("published");

    let sent = published(&topic).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (message, subject, attributes) = &sent[0];
    assert_eq!(subject, &notice.subject());
    assert_eq!(subject, "[LINE OA] Staff needed: complaint - user:U0123456789abcdef0123456789abcdef");
    assert_eq!(message, &notice.payload_json());
    assert_eq!(attributes["kind"]["Value"], "needs_attention");
    assert_eq!(attributes["reason"]["Value"], "complaint");
}

#[tokio::test]
async fn a_notice_with_an_empty_reason_is_still_published() {
    let client = aws_sdk_sns::Client::new(&aws());
    let topic = create_topic(&client).await;
    let notice = StaffNotice::needs_attention(ConversationId::group("C0123456789abcdef0123456789abcdef"), " ", T0);
    SnsNotifier::new(client, topic.clone()).notify(&notice).await.expect("published");
    let sent = published(&topic).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].2["kind"]["Value"], "needs_attention");
    assert!(sent[0].2.get("reason").is_none(), "{:?}", sent[0].2);
}

#[tokio::test]
async fn publishing_to_a_missing_topic_is_refused_not_retried() {
    let client = aws_sdk_sns::Client::new(&aws());
    let missing = "arn:aws:sns:ap-northeast-1:123456789012:no-such-topic-for-line-oa".to_owned();
    let err = SnsNotifier::new(client, missing).notify(&notice()).await.unwrap_err();
    assert!(matches!(err, NotifyError::SnsRejected { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

// ---------------------------------------------------------------- fan-out and configuration

#[tokio::test]
async fn fan_out_reaches_every_channel_even_when_one_refuses() {
    let client = aws_sdk_sns::Client::new(&aws());
    let topic = create_topic(&client).await;
    let receiver = Receiver::start(&[400]).await;
    let fan_out = FanOut::new(vec![Arc::new(webhook(&receiver.url, quick_retry(2))), Arc::new(SnsNotifier::new(client, topic.clone()))]);
    let err = fan_out.notify(&notice()).await.unwrap_err();
    assert!(matches!(err, NotifyError::WebhookRejected { status: 400 }), "{err:?}");
    assert_eq!(published(&topic).await.len(), 1, "SNS still got the notice");
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn fan_out_reports_every_failure() {
    let client = aws_sdk_sns::Client::new(&aws());
    let missing = "arn:aws:sns:ap-northeast-1:123456789012:no-such-topic-for-line-oa".to_owned();
    let receiver = Receiver::start(&[500, 500]).await;
    let fan_out = combine(vec![Arc::new(SnsNotifier::new(client, missing)), Arc::new(webhook(&receiver.url, quick_retry(2)))]);
    let err = fan_out.notify(&notice()).await.unwrap_err();
    let NotifyError::Several(all) = &err else { panic!("both failures are reported: {err:?}") };
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|e| matches!(e, NotifyError::SnsRejected { .. })), "{err}");
    assert!(all.iter().any(|e| matches!(e, NotifyError::WebhookUnavailable { .. })), "{err}");
    assert!(err.is_retryable(), "the webhook part may succeed later");
}

#[tokio::test]
async fn the_configured_channels_both_receive_a_renotify() {
    let client = aws_sdk_sns::Client::new(&aws());
    let topic = create_topic(&client).await;
    let receiver = Receiver::start(&[]).await;
    let pairs = [
        ("NOTIFY_TOPIC_ARN", topic.clone()),
        ("NOTIFY_WEBHOOK_URL", receiver.url.clone()),
        ("NOTIFY_WEBHOOK_SECRET", SECRET.to_owned()),
        ("NOTIFY_RENOTIFY_MINUTES", "15".to_owned()),
        ("NOTIFY_CONSOLE_URL", "https://ops.example.com/c/{conversation}".to_owned()),
    ];
    let config = NotifyConfig::from_lookup(|k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone())).unwrap();
    let notifier = from_config(&config, Some(&aws())).await;

    let conversation = ConversationId::user("U0123456789abcdef0123456789abcdef");
    let renotify =
        StaffNotice::renotify(conversation, reasons::CHAT_HOURS, T0, config.renotify).with_console_url(config.console_url.as_deref());
    notifier.notify(&renotify).await.expect("both channels");

    assert_eq!(config.renotify, RenotifyDelay::After { minutes: 15 });
    let sent = published(&topic).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1.starts_with("[LINE OA] Still unanswered: chat_hours"), "{}", sent[0].1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    verify(SECRET, &got[0].headers, &got[0].body).unwrap();
    let payload: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(payload["kind"], "renotify");
    assert_eq!(payload["at_ms"], T0 + 15 * 60_000);
    assert_eq!(payload["console_url"], "https://ops.example.com/c/user:U0123456789abcdef0123456789abcdef");
    assert_eq!(sent[0].0, String::from_utf8(got[0].body.to_vec()).unwrap(), "one payload on every channel");
}
