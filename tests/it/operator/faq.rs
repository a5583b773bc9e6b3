//! The FAQ through the operator API: an entry added there answers the next customer who asks,
//! on both stores and both entrypoints; the rest of the settings stay as the admin wrote them;
//! a stale, unauthorised or invalid change changes nothing; trying a draft saves nothing.

use serde_json::{json, Value};

use super::{now_ms, Backend, Entry, Harness, Who};

/// Smart chat all day (no hours), with comments an admin wrote by hand.
const SETTINGS: &str = "# さくら歯科の設定（手で書いたコメント）\naccount_name = \"さくら歯科\"\n\n[modes] # 終日スマートチャット\nalways = \"smart_chat\"\n\n[business]\nphone = \"03-1234-5678\"\n";

fn parking() -> Value {
    json!({
        "id": "parking",
        "questions": ["駐車場はありますか", "車で行けますか", "Is there parking?"],
        "answer": "{account_name}の裏に無料駐車場が3台分ございます。",
        "answer_en": "We have free parking for 3 cars behind the clinic."
    })
}

async fn with_settings(entry: Entry, backend: Backend) -> (Harness, u64) {
    let h = Harness::new(entry, backend).await;
    let (status, saved) = h.call(Who::Admin, "PUT", "/api/settings", Some(json!({ "toml": SETTINGS, "version": 0 }))).await;
    assert_eq!(status, 200, "{saved}");
    let (_, faq) = h.call(Who::Operator, "GET", "/api/faq", None).await;
    assert_eq!(faq["items"], json!([]));
    (h, faq["version"].as_u64().unwrap())
}

/// The texts of the replies sent to LINE so far.
fn replies(h: &Harness) -> Vec<String> {
    h.standin
        .requests()
        .iter()
        .filter(|r| r.path == "/v2/bot/message/reply")
        .flat_map(|r| r.body.as_ref().unwrap()["messages"].as_array().unwrap().clone())
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn an_faq_added_through_the_api_answers_the_next_customer(entry: Entry, backend: Backend) {
    let (h, version) = with_settings(entry, backend).await;
    // Before: nobody has taught it about parking; smart chat leaves it for staff.
    h.user_writes("U1", "駐車場はありますか？", "ev-faq-1", now_ms()).await;
    assert!(replies(&h).is_empty(), "{:?}", replies(&h));

    let (status, saved) = h.call(Who::Admin, "POST", "/api/faq", Some(json!({ "entry": parking(), "version": version }))).await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["version"].as_u64(), Some(version + 1));

    h.user_writes("U2", "駐車場ありますか？", "ev-faq-2", now_ms()).await;
    h.user_writes("U3", "Do you have parking?", "ev-faq-3", now_ms()).await;
    assert_eq!(replies(&h), ["さくら歯科の裏に無料駐車場が3台分ございます。", "We have free parking for 3 cars behind the clinic."]);

    let (_, conversation) = h.call(Who::Operator, "GET", "/api/conversations/user:U2/messages", None).await;
    let reasons: Vec<&str> = conversation["items"].as_array().unwrap().iter().filter_map(|m| m["reason"].as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("faq \"parking\"")), "the reason names the FAQ: {reasons:?}");

    let (_, settings) = h.call(Who::Admin, "GET", "/api/settings", None).await;
    let toml = settings["toml"].as_str().unwrap();
    for kept in ["# さくら歯科の設定（手で書いたコメント）", "[modes] # 終日スマートチャット", "phone = \"03-1234-5678\""]
    {
        assert!(toml.contains(kept), "{kept:?} lost:\n{toml}");
    }
    let (_, audit) = h.call(Who::Admin, "GET", "/api/audit", None).await;
    assert!(audit["items"].as_array().unwrap().iter().any(|a| a["action"] == "faq.create" && a["actor"] == "alice"), "{audit}");
    h.standin.assert_all_valid();
}

#[tokio::test]
async fn an_faq_added_through_the_local_api_answers_the_next_customer() {
    an_faq_added_through_the_api_answers_the_next_customer(Entry::Local, Backend::Embedded).await;
}

#[tokio::test]
async fn an_faq_added_through_the_lambda_api_on_dynamodb_answers_the_next_customer() {
    an_faq_added_through_the_api_answers_the_next_customer(Entry::Lambda, Backend::Dynamo).await;
}

#[tokio::test]
async fn changes_edit_one_entry_in_place_and_refusals_change_nothing() {
    let (h, v0) = with_settings(Entry::Local, Backend::Embedded).await;
    let card = json!({ "id": "card", "questions": ["カードは使えますか"], "answer": "使えます" });
    let (_, s) = h.call(Who::Admin, "POST", "/api/faq", Some(json!({ "entry": parking(), "version": v0 }))).await;
    let (_, s) = h.call(Who::Admin, "POST", "/api/faq", Some(json!({ "entry": card, "version": s["version"] }))).await;
    let v = s["version"].as_u64().unwrap();
    let (_, before) = h.call(Who::Admin, "GET", "/api/settings", None).await;

    let refused = [
        (Who::Operator, "POST", "/api/faq".to_owned(), json!({ "entry": card, "version": v }), 403, "forbidden"),
        (Who::Admin, "POST", "/api/faq".to_owned(), json!({ "entry": card, "version": v }), 400, "invalid"),
        (
            Who::Admin,
            "POST",
            "/api/faq".to_owned(),
            json!({ "entry": { "id": "x", "questions": ["q"], "answer": "a" }, "version": v - 1 }),
            409,
            "conflict",
        ),
        (
            Who::Admin,
            "POST",
            "/api/faq".to_owned(),
            json!({ "entry": { "id": "x", "questions": [" "], "answer": "a" }, "version": v }),
            400,
            "invalid",
        ),
        (
            Who::Admin,
            "POST",
            "/api/faq".to_owned(),
            json!({ "entry": { "id": "x", "questions": ["q"], "answer": "  " }, "version": v }),
            400,
            "invalid",
        ),
        (
            Who::Admin,
            "POST",
            "/api/faq".to_owned(),
            json!({ "entry": { "id": "x", "questions": ["q"], "answer": "a".repeat(5001) }, "version": v }),
            400,
            "invalid",
        ),
        (
            Who::Admin,
            "POST",
            "/api/faq".to_owned(),
            json!({ "entry": { "id": "x", "questions": ["q"], "answer": "a", "extra": 1 }, "version": v }),
            400,
            "bad_request",
        ),
        (Who::Admin, "PUT", "/api/faq/nope".to_owned(), json!({ "entry": card, "version": v }), 404, "not_found"),
        (Who::Admin, "PUT", "/api/faq/parking".to_owned(), json!({ "entry": card, "version": v }), 400, "invalid"),
    ];
    for (who, method, path, body, status, code) in refused {
        let (got, answer) = h.call(who, method, &path, Some(body.clone())).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(code)), "{method} {path} {body}: {answer}");
    }
    let (got, answer) = h.call(Who::Admin, "DELETE", &format!("/api/faq/parking?version={}", v - 1), None).await;
    assert_eq!(got, 409, "{answer}");
    let (_, after) = h.call(Who::Admin, "GET", "/api/settings", None).await;
    assert_eq!(before, after, "nothing changed");

    // A rename keeps the entry's place; blank question lines and a blank English answer are dropped.
    let renamed = json!({ "id": "car", "questions": ["  車で行けますか ", ""], "answer": "5台", "answer_en": " " });
    let (status, s) = h.call(Who::Admin, "PUT", "/api/faq/parking", Some(json!({ "entry": renamed, "version": v }))).await;
    assert_eq!(status, 200, "{s}");
    let (_, list) = h.call(Who::Operator, "GET", "/api/faq", None).await;
    assert_eq!(list["items"], json!([{ "id": "car", "questions": ["車で行けますか"], "answer": "5台" }, card]));
    let (status, _) = h.call(Who::Admin, "DELETE", &format!("/api/faq/car?version={}", s["version"]), None).await;
    assert_eq!(status, 200);
    let (_, list) = h.call(Who::Operator, "GET", "/api/faq", None).await;
    assert_eq!(list["items"], json!([card]));
}

#[tokio::test]
async fn trying_a_message_names_the_faq_and_its_score_and_a_draft_is_tried_unsaved() {
    let (h, v) = with_settings(Entry::Local, Backend::Embedded).await;
    h.call(Who::Admin, "POST", "/api/faq", Some(json!({ "entry": parking(), "version": v }))).await;
    let (status, tried) = h.call(Who::Operator, "POST", "/api/faq-trial", Some(json!({ "text": "車で行けますか？" }))).await;
    assert_eq!(status, 200, "{tried}");
    assert_eq!((tried["outcome"].as_str(), tried["answered_by"].as_str()), (Some("answers"), Some("parking")), "{tried}");
    assert_eq!(tried["answer"], "さくら歯科の裏に無料駐車場が3台分ございます。");
    assert!(tried["candidates"][0]["score"].as_f64().unwrap() >= tried["min_score"].as_f64().unwrap());

    let (_, none) = h.call(Who::Operator, "POST", "/api/faq-trial", Some(json!({ "text": "カードは使えますか" }))).await;
    assert_ne!(none["outcome"], "answers", "{none}");
    let draft = json!({ "entry": { "id": "card", "questions": ["カードは使えますか"], "answer": "VISAが使えます" } });
    let (_, with_draft) =
        h.call(Who::Operator, "POST", "/api/faq-trial", Some(json!({ "text": "カードは使えますか", "draft": draft }))).await;
    assert_eq!((with_draft["outcome"].as_str(), with_draft["answer"].as_str()), (Some("answers"), Some("VISAが使えます")), "{with_draft}");
    let replacing =
        json!({ "entry": { "id": "parking", "questions": ["駐輪場はありますか"], "answer": "自転車は入口横へ" }, "replacing": "parking" });
    let (_, replaced) =
        h.call(Who::Operator, "POST", "/api/faq-trial", Some(json!({ "text": "車で行けますか？", "draft": replacing }))).await;
    assert_ne!(replaced["answer"], "さくら歯科の裏に無料駐車場が3台分ございます。", "the draft stands in for the saved entry: {replaced}");

    let (_, angry) = h
        .call(
            Who::Operator,
            "POST",
            "/api/faq-trial",
            Some(json!({ "text": "駐車場の案内が間違っていて30分も迷いました。どういうことですか！" })),
        )
        .await;
    assert_eq!((angry["outcome"].as_str(), &angry["answer"]), (Some("complaint"), &Value::Null), "{angry}");
    let (status, blank) = h.call(Who::Operator, "POST", "/api/faq-trial", Some(json!({ "text": "  " }))).await;
    assert_eq!((status, blank["error"].as_str()), (400, Some("invalid")));

    let (_, list) = h.call(Who::Operator, "GET", "/api/faq", None).await;
    assert_eq!(list["items"], json!([parking()]), "trying saved nothing");
}
