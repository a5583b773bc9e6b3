//! `openapi/operator-api.yml` and the served routes agree: the same methods and paths, the same
//! roles, and real requests and responses valid against the document's schemas.

use std::collections::BTreeSet;

use line_oa::http::operator::routes;
use serde_json::{json, Value};

use super::{now_ms, Backend, Entry, Harness, Who};
use crate::support::repo_dir;

fn document() -> Value {
    let text = std::fs::read_to_string(repo_dir().join("openapi/operator-api.yml")).expect("openapi/operator-api.yml");
    serde_norway::from_str(&text).expect("the OpenAPI document is valid YAML")
}

#[test]
fn the_document_lists_exactly_the_served_routes_with_their_roles() {
    let doc = document();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let role = op["x-required-role"].as_str().unwrap_or_else(|| panic!("{method} {path}: no x-required-role"));
            documented.insert((method.to_uppercase(), path.clone(), role.to_owned()));
            for param in path.split('{').skip(1).map(|p| p.split('}').next().unwrap()) {
                let declared = op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == param && p["in"] == "path");
                assert!(declared, "{method} {path}: path parameter {param} not declared");
            }
        }
    }
    let served: BTreeSet<_> = routes().iter().map(|r| (r.method.to_owned(), r.path.to_owned(), r.role.as_str().to_owned())).collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(missing.is_empty() && extra.is_empty(), "served but not documented: {missing:?}\ndocumented but not served: {extra:?}");
}

/// Resolves a local `$ref` (responses only; schemas resolve inside the validator).
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling {r}")),
        None => v,
    }
}

fn check(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    let mut root = json!({ "components": doc["components"] });
    root.as_object_mut().unwrap().extend(schema.as_object().unwrap().clone());
    let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{what}: bad schema: {e}"));
    let errors: Vec<String> = validator.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{instance}");
}

struct Checker<'a> {
    h: &'a Harness,
    doc: Value,
    seen: BTreeSet<(String, String)>,
}

impl Checker<'_> {
    /// Calls `template` with `ids` filled in and checks request and response against the document.
    async fn call(
        &mut self,
        who: Who,
        method: &str,
        template: &str,
        fill: &[(&str, &str)],
        query: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let op = self.doc["paths"][template][method.to_lowercase()].clone();
        assert!(op.is_object(), "{method} {template} is not documented");
        let mut path = template.to_owned();
        for (k, v) in fill {
            path = path.replace(&format!("{{{k}}}"), v);
        }
        let (status, answer) = self.h.call(who, method, &format!("{path}{query}"), body.clone()).await;
        // What the server accepted, the document must accept too.
        if let (Some(b), true) = (&body, status < 300) {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            check(&self.doc, schema, b, &format!("request of {method} {template}"));
        }
        let response = deref(&self.doc, &op["responses"][status.to_string()]);
        assert!(response.is_object(), "{method} {template} answered {status}, which is not documented: {answer}");
        if status != 204 {
            let schema = &response["content"]["application/json"]["schema"];
            check(&self.doc, schema, &answer, &format!("{status} of {method} {template}"));
        }
        self.seen.insert((method.to_owned(), template.to_owned()));
        (status, answer)
    }
}

#[tokio::test]
async fn real_requests_and_responses_match_the_document() {
    let h = Harness::new(Entry::Local, Backend::Embedded).await;
    let conv = h.user_writes("U1", "予約の変更をしたいです", "ev-doc-1", now_ms()).await.to_string();
    let mut c = Checker { h: &h, doc: document(), seen: BTreeSet::new() };
    let id = [("id", conv.as_str())];
    c.call(Who::Operator, "GET", "/api/me", &[], "", None).await;
    c.call(Who::Operator, "GET", "/api/conversations", &[], "?limit=10", None).await;
    c.call(Who::Operator, "GET", "/api/conversations/{id}", &id, "", None).await;
    c.call(Who::Operator, "GET", "/api/conversations/{id}", &[("id", "user:Unknown")], "", None).await;
    c.call(Who::Operator, "PUT", "/api/conversations/{id}/pin", &id, "", Some(json!({ "mode": "chat", "minutes": 30 }))).await;
    c.call(
        Who::Operator,
        "POST",
        "/api/conversations/{id}/messages",
        &id,
        "",
        Some(json!({ "messages": [{ "type": "text", "text": "はい" }], "client_id": "k1" })),
    )
    .await;
    c.call(
        Who::Operator,
        "POST",
        "/api/conversations/{id}/messages",
        &id,
        "",
        Some(json!({ "messages": [{ "type": "image", "original_content_url": "https://example.com/a.jpg" }] })),
    )
    .await;
    c.call(Who::Operator, "POST", "/api/conversations/{id}/messages", &id, "", Some(json!({ "messages": [] }))).await;
    c.call(Who::Operator, "GET", "/api/conversations/{id}/messages", &id, "", None).await;
    let (_, newest) = c.call(Who::Operator, "GET", "/api/conversations/{id}/messages", &id, "?order=newest&limit=1", None).await;
    let before = format!("?order=newest&before={}", newest["next"].as_str().unwrap());
    c.call(Who::Operator, "GET", "/api/conversations/{id}/messages", &id, &before, None).await;
    c.call(Who::Operator, "GET", "/api/conversations/{id}/messages", &id, "?order=sideways", None).await;
    c.call(Who::Operator, "GET", "/api/inbox", &[], "", None).await;
    c.call(Who::Operator, "PUT", "/api/conversations/{id}/name", &id, "", Some(json!({ "name": "山田様" }))).await;
    c.call(Who::Operator, "PUT", "/api/conversations/{id}/name", &id, "", Some(json!({ "name": "x".repeat(51) }))).await;
    h.archive_media(&conv, "4687", "image/jpeg", b"\xff\xd8jpeg").await;
    let media = [("id", conv.as_str()), ("message_id", "4687")];
    let (_, copy) = c.call(Who::Operator, "GET", "/api/conversations/{id}/media/{message_id}", &media, "", None).await;
    c.call(Who::Operator, "GET", "/api/conversations/{id}/media/{message_id}", &[("id", &conv), ("message_id", "9999")], "", None).await;
    c.call(Who::Operator, "GET", "/api/conversations/{id}/media/{message_id}", &[("id", &conv), ("message_id", "..")], "", None).await;
    let (status, bytes) = h.download(copy["url"].as_str().unwrap()).await;
    assert_eq!((status, bytes.as_slice()), (200, b"\xff\xd8jpeg".as_slice()));
    c.seen.insert(("GET".into(), "/api/conversations/{id}/media/{message_id}/content".into()));
    c.call(Who::Operator, "POST", "/api/conversations/{id}/read", &id, "", None).await;
    c.call(Who::Operator, "PUT", "/api/conversations/{id}/status", &id, "", Some(json!({ "status": "resolved" }))).await;
    c.call(Who::Operator, "DELETE", "/api/conversations/{id}/pin", &id, "", None).await;
    c.call(Who::Operator, "PUT", "/api/conversations/{id}/spam", &id, "", None).await;
    c.call(Who::Operator, "DELETE", "/api/conversations/{id}/spam", &id, "", None).await;
    let (_, note) = c.call(Who::Operator, "POST", "/api/conversations/{id}/notes", &id, "", Some(json!({ "text": "メモ" }))).await;
    c.call(Who::Operator, "GET", "/api/conversations/{id}/notes", &id, "", None).await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    c.call(Who::Operator, "DELETE", "/api/conversations/{id}/notes/{note_id}", &[("id", &conv), ("note_id", &note_id)], "", None).await;
    let (_, tag) = c.call(Who::Operator, "POST", "/api/tags", &[], "", Some(json!({ "name": "VIP" }))).await;
    let tag_id = tag["id"].as_str().unwrap().to_owned();
    let both = [("id", conv.as_str()), ("tag_id", tag_id.as_str())];
    c.call(Who::Operator, "PATCH", "/api/tags/{tag_id}", &both, "", Some(json!({ "name": "常連" }))).await;
    c.call(Who::Operator, "PUT", "/api/conversations/{id}/tags/{tag_id}", &both, "", None).await;
    c.call(Who::Operator, "GET", "/api/tags", &[], "", None).await;
    c.call(Who::Operator, "GET", "/api/tags/{tag_id}/conversations", &both, "", None).await;
    c.call(Who::Operator, "DELETE", "/api/conversations/{id}/tags/{tag_id}", &both, "", None).await;
    c.call(Who::Operator, "DELETE", "/api/tags/{tag_id}", &both, "", None).await;
    let (_, canned) =
        c.call(Who::Operator, "POST", "/api/canned-replies", &[], "", Some(json!({ "name": "住所", "text": "東京都…" }))).await;
    let canned_id = canned["id"].as_str().unwrap().to_owned();
    let cid = [("canned_id", canned_id.as_str())];
    c.call(Who::Operator, "GET", "/api/canned-replies", &[], "?q=住所", None).await;
    c.call(Who::Operator, "GET", "/api/canned-replies/{canned_id}", &cid, "", None).await;
    c.call(Who::Operator, "PUT", "/api/canned-replies/{canned_id}", &cid, "", Some(json!({ "name": "住所", "text": "東京都世田谷区" })))
        .await;
    c.call(Who::Operator, "DELETE", "/api/canned-replies/{canned_id}", &cid, "", None).await;
    c.call(Who::Operator, "GET", "/api/search", &[], "?q=%E4%BA%88%E7%B4%84", None).await;
    let (_, job) = c
        .call(
            Who::Operator,
            "POST",
            "/api/exports",
            &[],
            "",
            Some(json!({ "scope": { "kind": "conversation", "id": conv }, "format": "xlsx" })),
        )
        .await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    // Each answer on the way (queued, running, done) is checked against the document.
    let (what, deadline) = (format!("export {job_id} to be done"), crate::support::wait::deadline(std::time::Duration::from_secs(10)));
    loop {
        let (_, view) = c.call(Who::Operator, "GET", "/api/exports/{job_id}", &[("job_id", &job_id)], "", None).await;
        if view["status"]["state"] == "done" {
            break;
        }
        crate::support::wait::poll_again(deadline, &what, &view).await;
    }
    c.call(Who::Operator, "POST", "/api/exports", &[], "", Some(json!({ "scope": { "kind": "tag", "tag_id": "nope" }, "format": "csv" })))
        .await;
    c.call(Who::Operator, "GET", "/api/exports/{job_id}", &[("job_id", "0123456789abcdef0123456789abcdef")], "", None).await;
    let (status, _) = h.download(&format!("/api/exports/{job_id}/file")).await;
    assert_eq!(status, 200);
    c.seen.insert(("GET".into(), "/api/exports/{job_id}/file".into()));
    c.call(Who::Nobody, "GET", "/api/search", &[], "?q=x", None).await;
    c.call(Who::Operator, "GET", "/api/settings", &[], "", None).await;
    c.call(Who::Admin, "GET", "/api/settings", &[], "", None).await;
    c.call(Who::Admin, "PUT", "/api/settings", &[], "", Some(json!({ "toml": "account_name = \"x\"\n", "version": 0 }))).await;
    let (_, faq) = c.call(Who::Operator, "GET", "/api/faq", &[], "", None).await;
    let parking = json!({ "id": "parking", "questions": ["駐車場はありますか"], "answer": "裏に3台", "answer_en": "3 cars behind" });
    let v = faq["version"].clone();
    let (_, saved) = c.call(Who::Admin, "POST", "/api/faq", &[], "", Some(json!({ "entry": parking, "version": v }))).await;
    c.call(Who::Admin, "POST", "/api/faq", &[], "", Some(json!({ "entry": parking, "version": v }))).await;
    c.call(Who::Operator, "POST", "/api/faq", &[], "", Some(json!({ "entry": parking, "version": saved["version"] }))).await;
    let fid = [("faq_id", "parking")];
    let changed = json!({ "id": "parking", "questions": ["車で行けますか"], "answer": "5台", "answer_en": null });
    let (_, saved) =
        c.call(Who::Admin, "PUT", "/api/faq/{faq_id}", &fid, "", Some(json!({ "entry": changed, "version": saved["version"] }))).await;
    c.call(
        Who::Admin,
        "PUT",
        "/api/faq/{faq_id}",
        &[("faq_id", "nope")],
        "",
        Some(json!({ "entry": changed, "version": saved["version"] })),
    )
    .await;
    c.call(
        Who::Admin,
        "PUT",
        "/api/faq/{faq_id}",
        &fid,
        "",
        Some(json!({ "entry": { "id": "", "questions": [], "answer": "" }, "version": 2 })),
    )
    .await;
    c.call(Who::Operator, "GET", "/api/faq", &[], "", None).await;
    c.call(Who::Operator, "POST", "/api/faq-trial", &[], "", Some(json!({ "text": "車で行けますか" }))).await;
    let draft = json!({ "entry": { "id": "card", "questions": ["カードは使えますか"], "answer": "使えます" }, "replacing": null });
    c.call(Who::Operator, "POST", "/api/faq-trial", &[], "", Some(json!({ "text": "カード使える？", "draft": draft }))).await;
    c.call(Who::Operator, "POST", "/api/faq-trial", &[], "", Some(json!({ "text": " " }))).await;
    let version = saved["version"].as_u64().unwrap();
    c.call(Who::Admin, "DELETE", "/api/faq/{faq_id}", &fid, &format!("?version={}", version - 1), None).await;
    c.call(Who::Admin, "DELETE", "/api/faq/{faq_id}", &fid, &format!("?version={version}"), None).await;
    c.call(Who::Admin, "PUT", "/api/conversations/{id}/hold", &id, "", Some(json!({ "reason": "case 42" }))).await;
    c.call(Who::Admin, "PUT", "/api/conversations/{id}/hold", &id, "", Some(json!({ "reason": "" }))).await;
    c.call(Who::Admin, "GET", "/api/holds", &[], "", None).await;
    c.call(Who::Admin, "GET", "/api/audit", &[], "?limit=5&action=note", None).await;
    c.call(Who::Operator, "GET", "/api/audit", &[], "", None).await;
    c.call(Who::Admin, "GET", "/api/audit", &[], "?from=yesterday", None).await;
    c.call(Who::Admin, "DELETE", "/api/conversations/{id}/hold", &id, "", None).await;
    let all: BTreeSet<_> = routes().iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    let unchecked: Vec<_> = all.difference(&c.seen).collect();
    assert!(unchecked.is_empty(), "routes not exercised against the document: {unchecked:?}");
}
