//! The webhook's edge cases through the local server: each bad input gets its status, and
//! nothing is written and nothing is sent.

use std::sync::Arc;

use line_oa::blob::dir::DirBlobStore;
use line_oa::domain::ids::ConversationId;
use line_oa::service::archive::Archiver;

use crate::support::apps::{text_body, LocalTestApp, SETTINGS};
use crate::support::sign;

/// Once the server has settled (had anything been logged, it would have been handled by then).
async fn assert_nothing_happened(app: &LocalTestApp) {
    app.settled().await;
    assert_eq!(app.store.item_count().await.unwrap(), 0, "items written");
    assert_eq!(app.standin.requests().len(), 0, "requests sent to LINE");
}

#[tokio::test]
async fn a_missing_signature_is_401_and_changes_nothing() {
    let app = LocalTestApp::start(SETTINGS).await;
    let (status, body) = app.post(&text_body("e1", "U1", "hi", "r1"), None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "signature_missing");
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn a_wrong_signature_is_401_and_changes_nothing() {
    let app = LocalTestApp::start(SETTINGS).await;
    let body = text_body("e1", "U1", "hi", "r1");
    let other = sign(b"another body");
    for sig in [other.as_str(), "not-base64!", "", "WqJD7WAIZ6plkQGkj48w="] {
        let (status, json) = app.post(&body, Some(sig)).await;
        assert_eq!(status, 401, "{sig:?}");
        assert_eq!(json["error"], "signature_invalid");
    }
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn an_oversized_body_is_413_and_changes_nothing() {
    let app = LocalTestApp::start(SETTINGS).await;
    let mut body = br#"{"events":[],"pad":""#.to_vec();
    body.resize(1024 * 1024 + 1, b'x');
    let (status, json) = app.post(&body, Some(&sign(&body))).await;
    assert_eq!(status, 413);
    assert_eq!(json["error"], "body_too_large");
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn malformed_json_with_a_valid_signature_is_400_and_changes_nothing() {
    let app = LocalTestApp::start(SETTINGS).await;
    for body in [&b"i am not jason"[..], br#"{"events":{}}"#, br#"{"events":[{"type":"message""#] {
        let (status, json) = app.post(body, Some(&sign(body))).await;
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(body));
        assert_eq!(json["error"], "malformed_body");
    }
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn the_verify_button_gets_200_and_changes_nothing() {
    let app = LocalTestApp::start(SETTINGS).await;
    let body = br#"{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}"#;
    let (status, json) = app.post(body, Some(&sign(body))).await;
    assert_eq!((status, json["logged"].as_u64()), (200, Some(0)));
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn the_signature_header_name_is_case_insensitive() {
    let app = LocalTestApp::start(SETTINGS).await;
    let body = text_body("e-case", "U1", "hi", "r-case");
    let response = app.client.post(format!("{}/webhook", app.url)).header("x-line-signature", sign(&body)).body(body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn unknown_event_types_are_logged_and_acknowledged_without_a_reply() {
    let app = LocalTestApp::start(SETTINGS).await;
    let body = br#"{"destination":"U1","events":[{"type":"greatNewFeature","webhookEventId":"unk1","timestamp":1764000000000,"source":{"type":"user","userId":"U9"},"replyToken":"r-unk","mode":"active"},{"type":"message","webhookEventId":"unk2","timestamp":1764000000001,"message":{"type":"hologram","id":"1"},"source":{"type":"spaceship","shipId":"S"},"mode":"active"}]}"#;
    let (status, json) = app.post(body, Some(&sign(body))).await;
    assert_eq!((status, json["logged"].as_u64()), (200, Some(2)));
    app.settled().await;
    assert_eq!(app.standin.requests().len(), 0);
}

#[tokio::test]
async fn standby_events_are_logged_never_answered() {
    let app = LocalTestApp::start(SETTINGS).await;
    let body = String::from_utf8(text_body("sb1", "U1", "hi", "r-sb")).unwrap().replace("\"active\"", "\"standby\"");
    let (status, _) = app.post(body.as_bytes(), Some(&sign(body.as_bytes()))).await;
    assert_eq!(status, 200);
    app.settled().await;
    assert_eq!(app.standin.requests().len(), 0);
    assert!(app.store.item_count().await.unwrap() >= 1, "the standby event is logged");
}

/// What the checks above rely on: the local server settles only once what it logged has been
/// answered and archived, so "nothing sent" after settling means nothing will be.
#[tokio::test]
async fn the_local_server_settles_once_an_event_is_answered_and_archived() {
    let app = LocalTestApp::start(SETTINGS).await;
    let body = text_body("e-settle", "Usettle", "hi", "r-settle");
    assert_eq!(app.post(&body, Some(&sign(&body))).await.0, 200);
    let backlog = app.settled().await;
    assert_eq!((backlog.pending, backlog.in_flight, backlog.archive_due, backlog.archiver_started), (0, 0, 0, true), "{backlog}");
    assert_eq!(app.standin.requests().len(), 1, "the reply went out before the server settled");
    let archive = Arc::new(DirBlobStore::new(app.data_dir().join("archive")));
    let report = Archiver::new(archive).verify(&ConversationId::user("Usettle")).await.unwrap().expect("the archive verifies");
    assert_eq!(report.items, 2, "the event and its reply are archived");
}
