//! The harness checks itself on a tiny page of its own: Japanese typing, a real Enter against an
//! Enter during IME composition, the browser log (an unexpected console error is caught), and
//! axe-core (a page with a violation fails). If these break, the console scenarios would pass
//! vacuously or fail for the wrong reason.

use std::panic::AssertUnwindSafe;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use futures::FutureExt;
use serde_json::json;

use super::browser::open;

const PAGE: &str = r#"<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>harness</title></head>
<body><main>
<h1>ハーネス</h1>
<label for="t">メッセージ</label><textarea id="t"></textarea>
<button id="send" type="button">送信</button>
<ol id="out" aria-label="送信済み"></ol>
<img id="bad" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" hidden>
</main>
<script>
const t = document.getElementById('t');
const send = () => { const li = document.createElement('li'); li.textContent = t.value; document.getElementById('out').append(li); t.value = ''; };
t.addEventListener('keydown', e => { if (e.key === 'Enter' && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); send(); } });
document.getElementById('send').addEventListener('click', send);
window.oops = () => console.error('harness: deliberate console error');
</script></body></html>"#;

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = Router::new().route("/", get(|| async { Html(PAGE) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn harness_self_check() {
    let url = serve().await;
    let b = open(&url, "harness").await;
    b.run(async {
        b.find("#t").await;
        let t = b.find("#t").await;
        b.type_keys(&t, "明日の10時に予約できますか？", "#t").await;
        b.press_enter(&t, "#t").await;
        b.wait_text("#out li", "明日の10時に予約できますか？").await;

        // Enter while an IME is composing: the page must ignore it.
        b.type_keys(&t, "へんかんちゅう", "#t").await;
        b.js(super::IME_ENTER, vec![json!("#t")]).await;
        b.click_named("送信").await;
        b.wait_text("#out li:nth-child(2)", "へんかんちゅう").await;
        let items = b.js("return [...document.querySelectorAll('#out li')].map(li => li.textContent)", vec![]).await;
        assert_eq!(items, json!(["明日の10時に予約できますか？", "へんかんちゅう"]), "the composing Enter sent nothing");

        b.check_accessibility("harness").await;
        b.screenshot("").await;

        // ...and a page with unlabelled controls fails it, naming the rule.
        b.js(
            "document.getElementById('t').labels[0].remove(); document.querySelector('main').append(document.createElement('input'));",
            vec![],
        )
        .await;
        let caught = AssertUnwindSafe(b.check_accessibility("broken")).catch_unwind().await;
        let report = caught.expect_err("axe must fail on unlabelled controls");
        let report = report.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(report.contains("label"), "the report names the rule: {report}");

        // The log check sees console errors: one expected here...
        b.expect_console_error("deliberate console error");
        b.js("window.oops()", vec![]).await;
        let log = b.browser_log().await;
        assert!(log.iter().any(|e| e.level == "SEVERE" && e.message.contains("deliberate")), "console.error reaches the log: {log:?}");
    })
    .await;
}
