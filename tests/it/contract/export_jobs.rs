//! `ExportJobStore`: a job reads back as saved, a save replaces it, an unknown id is none;
//! the local store also lists what a restart resumes.

use std::sync::Arc;

use line_oa::domain::export_job::{ExportJob, ExportJobId, ExportRequest, Format, JobStatus, Scope, TimeRange};
use line_oa::domain::ids::ConversationId;
use line_oa::store::ExportJobStore;

fn job(created_ms: i64) -> ExportJob {
    let request = ExportRequest {
        scope: Scope::Conversations { ids: vec![ConversationId::user("Ujob1"), ConversationId::group("Cjob2")] },
        range: TimeRange { from_ms: Some(1_700_000_000_000), to_ms: None },
        format: Format::Xlsx,
    };
    ExportJob::queued(ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()), request, created_ms).by("alice")
}

async fn an_export_job_round_trips_and_a_save_replaces_it(store: Arc<dyn ExportJobStore>) {
    let mut queued = job(1_700_000_000_000);
    assert_eq!(store.export_job(&queued.id).await.unwrap(), None, "unknown before it is saved");
    store.save_export_job(&queued).await.unwrap();
    assert_eq!(store.export_job(&queued.id).await.unwrap(), Some(queued.clone()));

    assert!(queued.start(1_700_000_001_000));
    queued.progress(1_234, 1_700_000_002_000);
    store.save_export_job(&queued).await.unwrap();
    queued.finish(5_000, 1_700_000_003_000);
    store.save_export_job(&queued).await.unwrap();
    let back = store.export_job(&queued.id).await.unwrap().unwrap();
    assert_eq!(back, queued);
    assert_eq!((back.status, back.rows, back.started_by.as_deref()), (JobStatus::Done, 5_000, Some("alice")));

    let other = job(1_700_000_000_000);
    assert_eq!(store.export_job(&other.id).await.unwrap(), None, "one job's record is not another's");
}

for_every_adapter!(an_export_job_round_trips_and_a_save_replaces_it);

#[tokio::test]
async fn the_local_store_resumes_queued_and_running_jobs_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = line_oa::store::embedded::EmbeddedStore::open(dir.path()).unwrap();
    let (queued, mut running, mut done, mut failed) = (job(3_000), job(1_000), job(2_000), job(500));
    assert!(running.start(1_500));
    assert!(done.start(2_500));
    done.finish(1, 2_600);
    assert!(failed.start(600));
    failed.fail("disk full", 700);
    for j in [&queued, &running, &done, &failed] {
        store.save_export_job(j).await.unwrap();
    }
    let resumed: Vec<_> = store.unfinished_export_jobs().await.unwrap().into_iter().map(|j| j.id).collect();
    assert_eq!(resumed, vec![running.id, queued.id]);
}
