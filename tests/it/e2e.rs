//! End to end, as a user runs it: the real `line-oa` binary, signed fixtures over HTTP, and
//! the LINE stand-in checking every request against LINE's OpenAPI spec.

use std::process::Command;
use std::time::{Duration, Instant};

use line_oa::domain::ids::{EventId, LineId};
use line_oa::domain::outbound::OutboundMessage;
use line_oa::line_api::http::HttpLineApi;
use line_oa::line_api::LineApi;
use secrecy::SecretString;

use crate::support::apps::{follow_body, post_webhook, test_retry, text_body, text_body_at, wait_for_requests, SETTINGS};
use crate::support::binary::Server;
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::{shared_dir, sign, wait};

const E2E_ADMIN_TOKEN: &str = "loa_e2e_admin_token_0123456789abcdef0123456789abcdef01234567";

async fn start_server(standin: &LineStandin, settings: &str) -> Server {
    let tokens = format!("alice:admin:{}", line_oa::domain::staff::hash_token(E2E_ADMIN_TOKEN));
    Server::start(standin, settings, &[("OPERATOR_TOKENS", tokens)]).await
}

/// Posts `body` signed; returns the status and how many events the server logged as new.
async fn post_signed(client: &reqwest::Client, server: &Server, body: &[u8]) -> (u16, usize) {
    let (status, answer) = post_webhook(client, &server.url, body, Some(&sign(body))).await;
    (status, answer["logged"].as_u64().unwrap_or(0) as usize)
}

#[tokio::test]
async fn a_text_message_gets_the_default_reply_and_a_follow_the_greeting() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    standin.set_profile("Ue2e", "ゆき");
    let server = start_server(&standin, SETTINGS).await;
    let client = reqwest::Client::new();
    let text = text_body("e2e-text", "Ue2e", "予約したいです", "r-e2e-text");
    let follow = follow_body("e2e-follow", "Ue2e", "r-e2e-follow");
    assert_eq!(post_signed(&client, &server, &text).await, (200, 1));
    assert_eq!(post_signed(&client, &server, &follow).await, (200, 1));
    server.wait_handled(2).await;
    let requests = standin.requests();
    standin.assert_all_valid();
    let replies: Vec<_> = requests.iter().filter(|r| r.path == "/v2/bot/message/reply").collect();
    assert_eq!(replies.len(), 2, "{requests:?}");
    let texts: Vec<String> = replies.iter().map(|r| r.body.as_ref().unwrap()["messages"][0]["text"].as_str().unwrap().to_owned()).collect();
    assert!(texts.contains(&"ただいま確認しております。".to_owned()));
    assert!(texts.contains(&"ゆきさん、友だち追加ありがとうございます。テスト歯科です。".to_owned()));
}

#[tokio::test]
async fn a_server_stopped_with_sigterm_first_handles_what_it_acknowledged() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    // Slow enough that the replies are still owed when the stop comes.
    standin.set_delay(std::time::Duration::from_millis(700));
    let server = start_server(&standin, SETTINGS).await;
    let client = reqwest::Client::new();
    for n in 0..3 {
        let body = text_body(&format!("e2e-term-{n}"), &format!("Uterm{n}"), "予約したいです", &format!("r-e2e-term-{n}"));
        assert_eq!(post_signed(&client, &server, &body).await, (200, 1));
    }
    let log_before = server.log();
    let status = server.terminate(std::time::Duration::from_secs(20)).await;
    assert!(status.success(), "a clean exit: {status:?}\n{log_before:?}");
    let replies = standin.requests().into_iter().filter(|r| r.path == "/v2/bot/message/reply").count();
    assert_eq!(replies, 3, "every acknowledged event answered before the exit");
    standin.assert_all_valid();
}

#[tokio::test]
async fn a_slow_line_api_does_not_slow_the_webhook_and_the_reply_still_arrives() {
    let standin = LineStandin::start(StandinOptions { delay: Duration::from_secs(5), ..StandinOptions::default() }).await;
    let server = start_server(&standin, SETTINGS).await;
    let client = reqwest::Client::new();
    let body = text_body("e2e-slow", "Uslow", "hello", "r-slow");
    let started = Instant::now();
    let (status, _) = post_webhook(&client, &server.url, &body, Some(&sign(&body))).await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(2), "webhook answered in {took:?}");
    let requests = wait_for_requests(&standin, 1, Duration::from_secs(12)).await;
    assert_eq!(requests.iter().filter(|r| r.path == "/v2/bot/message/reply" && r.status == 200).count(), 1);
}

#[tokio::test]
async fn redeliveries_and_duplicates_are_acknowledged_and_answered_once() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let server = start_server(&standin, SETTINGS).await;
    let client = reqwest::Client::new();
    let body = text_body("e2e-dup", "Udup2", "hello", "r-dup2");
    let redelivered = String::from_utf8(body.clone()).unwrap().replace("\"isRedelivery\":false", "\"isRedelivery\":true");
    let sig = sign(&body);
    let rsig = sign(redelivered.as_bytes());
    let (a, b, c) = tokio::join!(
        post_webhook(&client, &server.url, &body, Some(&sig)),
        post_webhook(&client, &server.url, &body, Some(&sig)),
        post_webhook(&client, &server.url, redelivered.as_bytes(), Some(&rsig)),
    );
    assert_eq!((a.0, b.0, c.0), (200, 200, 200));
    let logged: Vec<_> = [&a.1, &b.1, &c.1].iter().map(|answer| answer["logged"].as_u64()).collect();
    assert_eq!(logged.iter().flatten().sum::<u64>(), 1, "logged once: {a:?} {b:?} {c:?}");
    // Once the one event is handled, whatever it caused has been sent.
    server.wait_handled(1).await;
    assert_eq!(standin.requests().len(), 1, "one reply for one webhookEventId");
}

#[tokio::test]
async fn group_messages_are_logged_without_a_reply_and_every_fixture_is_acknowledged() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let server = start_server(&standin, SETTINGS).await;
    let client = reqwest::Client::new();
    let group = std::fs::read(shared_dir().join("line/fixtures/java/webhook-callback-text-group.json")).unwrap();
    let (status, mut logged) = post_signed(&client, &server, &group).await;
    assert_eq!((status, logged), (200, 1));
    server.wait_handled(logged).await;
    assert_eq!(standin.requests().len(), 0, "no automatic reply in groups");
    for dir in ["go", "java", "python", "docs"] {
        for entry in std::fs::read_dir(shared_dir().join("line/fixtures").join(dir)).unwrap() {
            let body = std::fs::read(entry.unwrap().path()).unwrap();
            let (status, new) = post_signed(&client, &server, &body).await;
            assert_eq!(status, 200);
            logged += new;
        }
    }
    // Whatever the fixtures made us send is valid against LINE's spec.
    server.wait_handled(logged).await;
    standin.assert_all_valid();
}

#[tokio::test]
async fn a_push_retried_after_a_server_error_keeps_its_retry_key() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let api = HttpLineApi::new(&standin.base_url(), SecretString::from("t"), test_retry());
    standin.fail_next(500, 2);
    let key = EventId::new("push-evt".into()).retry_key();
    api.push(&LineId::new("Upush"), &[OutboundMessage::text("hello")], key).await.unwrap();
    let requests = standin.requests();
    assert_eq!(requests.len(), 3);
    let keys: Vec<_> = requests.iter().map(|r| r.headers.iter().find(|(k, _)| k == "x-line-retry-key").unwrap().1.clone()).collect();
    assert!(keys.iter().all(|k| *k == key.to_string()), "{keys:?}");
    // The same key again: LINE says it was accepted already, which counts as sent once.
    let again = api.push(&LineId::new("Upush"), &[OutboundMessage::text("hello")], key).await;
    assert!(matches!(again, Err(line_oa::line_api::LineApiError::AlreadyAccepted { .. })), "{again:?}");
    standin.assert_all_valid();
}

#[tokio::test]
async fn handled_conversations_are_archived_and_the_chain_verifies_until_tampered_with() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let server = start_server(&standin, SETTINGS).await;
    let client = reqwest::Client::new();
    for (i, text) in ["予約したいです", "明日の午後は空いていますか"].iter().enumerate() {
        let body = text_body_at(&format!("arch-{i}"), "Uarch", text, &format!("r-arch-{i}"), 1_764_000_000_000 + i as i64 * 60_000);
        assert_eq!(post_webhook(&client, &server.url, &body, Some(&sign(&body))).await.0, 200);
        wait_for_requests(&standin, i + 1, Duration::from_secs(5)).await;
    }
    let archive = server.dir.path().join("data/archive");
    let verify = || Command::new(env!("CARGO_BIN_EXE_line-oa")).args(["archive", "verify", "--dir"]).arg(&archive).output().unwrap();
    // The archive is written in batches (a 2 s window) after the events are handled.
    let stdout = wait::until("`archive verify` to find 2 events + 2 replies archived", Duration::from_secs(20), || async {
        let out = verify();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && stdout.contains("ok      user:Uarch") && stdout.contains("4 items") {
            Ok(stdout)
        } else {
            Err((out.status, stdout))
        }
    })
    .await;
    assert!(stdout.contains("ok      user:Uarch") && stdout.contains("4 items"), "2 events + 2 replies: {stdout}");

    let object = std::fs::read_dir(archive.join("transcripts/user:Uarch"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read_to_string(p).unwrap().contains("予約"))
        .expect("the first message is in an object");
    let text = std::fs::read_to_string(&object).unwrap().replace("予約", "解約");
    std::fs::write(&object, text).unwrap();
    let out = verify();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(stdout.contains("BROKEN  user:Uarch") && stdout.contains("altered"), "{stdout}");
}

#[tokio::test]
async fn staff_work_the_chat_through_the_operator_api_of_the_running_server() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let server = start_server(&standin, SETTINGS).await;
    let client = reqwest::Client::new();
    let api = |method: reqwest::Method, path: &str| client.request(method, format!("{}{path}", server.url)).bearer_auth(E2E_ADMIN_TOKEN);
    let text = text_body("e2e-op-1", "Uop", "相談したいです", "r-e2e-op-1");
    assert_eq!(post_webhook(&client, &server.url, &text, Some(&sign(&text))).await.0, 200);
    wait_for_requests(&standin, 1, Duration::from_secs(5)).await;
    let anonymous = client.get(format!("{}/api/conversations", server.url)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let list: serde_json::Value = api(reqwest::Method::GET, "/api/conversations").send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"][0]["id"], "user:Uop", "{list}");
    // Settings saved through the API are used by the running server's worker at once.
    let toml = include_str!("fixtures/ping_pong.toml");
    let saved = api(reqwest::Method::PUT, "/api/settings").json(&serde_json::json!({ "toml": toml, "version": 0 })).send().await.unwrap();
    assert_eq!(saved.status(), 200);
    let ping = text_body("e2e-op-2", "Uop", "ping", "r-e2e-op-2");
    post_webhook(&client, &server.url, &ping, Some(&sign(&ping))).await;
    let requests = wait_for_requests(&standin, 2, Duration::from_secs(5)).await;
    assert_eq!(requests[1].body.as_ref().unwrap()["messages"][0]["text"], "pong");
    // A manual reply goes out (push: the token was used by the automatic reply) and is logged.
    let sent = api(reqwest::Method::POST, "/api/conversations/user:Uop/messages")
        .json(&serde_json::json!({ "messages": [{ "type": "text", "text": "担当の者です" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let requests = wait_for_requests(&standin, 3, Duration::from_secs(5)).await;
    assert_eq!(requests[2].path, "/v2/bot/message/push");
    let log: serde_json::Value =
        api(reqwest::Method::GET, "/api/conversations/user:Uop/messages").send().await.unwrap().json().await.unwrap();
    assert!(log["items"].as_array().unwrap().iter().any(|m| m["text"] == "担当の者です" && m["status"] == "sent"), "{log}");
    standin.assert_all_valid();
}
