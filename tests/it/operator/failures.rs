//! Failures of what a request needs answer with the code of what failed (src/http/error.rs is
//! the table): an export whose file storage fails is not a store outage.

use std::time::Duration;

use line_oa::domain::export_job::{ExportJobId, JobStatus};
use serde_json::{json, Value};

use super::{now_ms, Backend, Entry, Harness, Who};
use crate::support::repo_dir;

/// Waits for the job to finish; fails loudly if it does not within `within`.
async fn wait_done(h: &Harness, id: &ExportJobId, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let view = h.exports.status(id).await.unwrap().expect("the job exists");
        match view.job.status {
            JobStatus::Done => return,
            JobStatus::Failed { error } => panic!("the export failed: {error}"),
            _ => {}
        }
        assert!(tokio::time::Instant::now() < deadline, "the export job did not finish within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn document() -> Value {
    serde_norway::from_str(&std::fs::read_to_string(repo_dir().join("openapi/operator-api.yml")).unwrap()).unwrap()
}

#[tokio::test]
async fn an_export_whose_file_storage_fails_answers_export_storage_unavailable_not_store_unavailable() {
    let h = Harness::new(Entry::Local, Backend::Embedded).await;
    let conv = h.user_writes("Ustorage", "予約の確認をお願いします", "ev-storage-1", now_ms()).await.to_string();
    let body = json!({ "scope": { "kind": "conversation", "id": conv }, "format": "csv" });
    let (status, job) = h.call(Who::Operator, "POST", "/api/exports", Some(body)).await;
    assert_eq!(status, 202, "{job}");
    let id = ExportJobId::parse(job["id"].as_str().unwrap()).unwrap();
    wait_done(&h, &id, Duration::from_secs(30)).await;
    // The export folder loses the finished file (a disk replaced, a clean-up run by hand).
    let file = h.exports.local_file(&id).await.unwrap().expect("a local file once done");
    std::fs::remove_file(&file).unwrap();

    let doc = document();
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"].as_array().unwrap().clone();
    for (route, path) in
        [("/api/exports/{job_id}", format!("/api/exports/{id}")), ("/api/exports/{job_id}/file", format!("/api/exports/{id}/file"))]
    {
        let (status, answer) = h.call(Who::Operator, "GET", &path, None).await;
        assert_eq!((status, answer["error"].as_str()), (503, Some("export_storage_unavailable")), "{path}: {answer}");
        assert_eq!(answer["message"], "temporarily unavailable; try again", "opaque: no path or detail in the answer");
        assert!(doc["paths"][route]["get"]["responses"]["503"].is_object(), "{route}: 503 is documented");
        assert!(codes.contains(&answer["error"]), "the code is documented");
    }
    // The store is fine and says so: the job is recorded as done.
    assert_eq!(h.store.export_job(&id).await.unwrap().expect("the job is stored").status, JobStatus::Done);
}
