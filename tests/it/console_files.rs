//! The console's files as the local server serves them: no credential, a strict CSP, ETags;
//! and a check over the sources that no data can become HTML.

use std::path::Path;

use crate::support::apps::{LocalTestApp, SETTINGS};
use crate::support::repo_dir;

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy_and_revalidated_by_etag() {
    let app = LocalTestApp::start(SETTINGS).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect = client.get(format!("{}/console", app.url)).send().await.unwrap();
    assert_eq!((redirect.status().as_u16(), redirect.headers()["location"].to_str().unwrap()), (308, "/console/"));

    let page = client.get(format!("{}/console/", app.url)).send().await.unwrap();
    assert_eq!(page.status(), 200, "served without a credential");
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for directive in ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    let etag = page.headers()["etag"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains("<script type=\"module\""), "the shell loads its modules: {html}");
    assert!(!html.contains("<script>") && !html.contains(" style=\""), "no inline script or style in the shell");

    let again = client.get(format!("{}/console/", app.url)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304, "unchanged: not sent again");

    let module = client.get(format!("{}/console/js/main.js", app.url)).send().await.unwrap();
    assert_eq!((module.status().as_u16(), module.headers()["content-type"].to_str().unwrap()), (200, "text/javascript; charset=utf-8"));
    let config: serde_json::Value = client.get(format!("{}/console/config.json", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(config, serde_json::json!({ "auth": "token" }));
    let missing = client.get(format!("{}/console/js/nope.js", app.url)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let readme = client.get(format!("{}/console/README.md", app.url)).send().await.unwrap();
    assert_eq!(readme.status(), 404, "the developer notes are not served");
    // The API stays behind its credential.
    assert_eq!(client.get(format!("{}/api/me", app.url)).send().await.unwrap().status(), 401);
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "js" || e == "html") {
            out.push(path);
        }
    }
}

/// Message text is untrusted: the console builds every node with `dom.js`'s `h()`, which only
/// makes text nodes. Nothing else may parse HTML or run strings as code.
#[test]
fn no_console_source_turns_data_into_html_or_code() {
    let mut files = Vec::new();
    sources(&repo_dir().join("console"), &mut files);
    assert!(files.len() > 5, "the console's sources: {files:?}");
    let forbidden =
        ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", "DOMParser"];
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            // dom.js names them to refuse them.
            if file.ends_with("js/dom.js") && line.contains("is not allowed") || line.contains("key === 'style' || key === 'innerHTML'") {
                continue;
            }
            for f in forbidden {
                if line.contains(f) {
                    found.push(format!("{}:{}: {f}", file.display(), n + 1));
                }
            }
            if file.extension().is_some_and(|e| e == "html")
                && (line.contains("<script>") || line.contains(" style=\"") || line.contains(" on"))
            {
                let inline_handler = line.split_whitespace().any(|w| w.starts_with("on") && w.contains("=\""));
                if line.contains("<script>") || line.contains(" style=\"") || inline_handler {
                    found.push(format!("{}:{}: inline script or style", file.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
