//! Every route without a credential, with a wrong one, and with too small a role: 401/403, and
//! nothing changes. Requests carry valid bodies and real ids, so a hole would show as a change.

use line_oa::domain::staff::Role;
use line_oa::http::operator::routes;
use serde_json::{json, Value};

use super::{now_ms, snapshot, Backend, Entry, Harness, Who};

/// A valid body for each route that takes one.
fn body_for(method: &str, path: &str) -> Option<Value> {
    Some(match (method, path) {
        ("POST", "/api/conversations/{id}/messages") => json!({ "messages": [{ "type": "text", "text": "hi" }] }),
        ("PUT", "/api/conversations/{id}/status") => json!({ "status": "resolved" }),
        ("PUT", "/api/conversations/{id}/pin") => json!({ "mode": "chat" }),
        ("POST", "/api/conversations/{id}/notes") => json!({ "text": "note" }),
        ("POST" | "PATCH", p) if p.starts_with("/api/tags") => json!({ "name": "new tag" }),
        ("POST" | "PUT", p) if p.starts_with("/api/canned-replies") => json!({ "name": "n", "text": "t" }),
        ("PUT", "/api/settings") => json!({ "toml": "account_name = \"changed\"\n", "version": 0 }),
        ("PUT", "/api/conversations/{id}/hold") => json!({ "reason": "case 42" }),
        ("POST", "/api/exports") => json!({ "scope": { "kind": "all" }, "format": "csv" }),
        _ => return None,
    })
}

async fn walk(entry: Entry, backend: Backend) {
    let h = Harness::new(entry, backend).await;
    let conv = h.user_writes("U1", "こんにちは", "ev-access-1", now_ms()).await.to_string();
    let tag = h.call(Who::Admin, "POST", "/api/tags", Some(json!({ "name": "VIP" }))).await.1["id"].as_str().unwrap().to_owned();
    h.call(Who::Admin, "PUT", &format!("/api/conversations/{conv}/tags/{tag}"), None).await;
    let canned = h.call(Who::Admin, "POST", "/api/canned-replies", Some(json!({ "name": "a", "text": "b" }))).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let note = h.call(Who::Admin, "POST", &format!("/api/conversations/{conv}/notes"), Some(json!({ "text": "x" }))).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = h.call(Who::Admin, "POST", "/api/exports", Some(json!({ "scope": { "kind": "all" }, "format": "csv" }))).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent_before = h.standin.requests().len();
    let before = snapshot(&h, &[&conv]).await;

    let mut checked = 0;
    for route in routes() {
        let path = route
            .path
            .replace("{id}", &conv)
            .replace("{tag_id}", &tag)
            .replace("{canned_id}", &canned)
            .replace("{note_id}", &note)
            .replace("{job_id}", &job);
        let body = body_for(route.method, route.path);
        for who in [Who::Nobody, Who::Wrong] {
            let (status, answer) = h.call(who, route.method, &path, body.clone()).await;
            let expected: &[u16] = match (entry, who) {
                // API Gateway refuses bad tokens before us; valid claims without a staff group are 403.
                (Entry::Lambda, Who::Wrong) => &[403],
                _ => &[401],
            };
            assert!(expected.contains(&status), "{who:?} {} {path}: {status} {answer}", route.method);
            assert!(answer["error"].is_string(), "a JSON error: {answer}");
        }
        if route.role == Role::Admin {
            let (status, answer) = h.call(Who::Operator, route.method, &path, body.clone()).await;
            assert_eq!(status, 403, "operator on admin route {} {path}: {answer}", route.method);
        }
        checked += 1;
    }
    assert!(checked >= 25, "walked {checked} routes");
    // Unknown paths under /api need a credential too.
    assert_eq!(h.call(Who::Nobody, "GET", "/api/nothing-here", None).await.0, 401);
    assert_eq!(h.call(Who::Admin, "GET", "/api/nothing-here", None).await.0, 404);
    assert_eq!(h.call(Who::Admin, "PATCH", "/api/me", None).await.0, 405);
    assert_eq!(snapshot(&h, &[&conv]).await, before, "refused requests changed nothing");
    assert_eq!(h.standin.requests().len(), sent_before, "and sent nothing to LINE");
}

#[tokio::test]
async fn every_route_refuses_without_the_right_credential_locally() {
    walk(Entry::Local, Backend::Embedded).await;
}

#[tokio::test]
async fn every_route_refuses_without_the_right_credential_on_lambda() {
    walk(Entry::Lambda, Backend::Dynamo).await;
}
