//! Export jobs: what to export (scope, time range, format) and where a job stands. Pure: the
//! clock is an argument; the runner is `crate::service::export`, the job store `crate::store`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::ConversationId;

/// A running job that has not reported progress for this long has died (a Lambda timeout, a
/// crash, a restart): it is shown as failed. The runner reports at least every page.
pub const STALE_AFTER_MS: i64 = 5 * 60_000;

/// Identifies one export job (a random UUID, so it cannot be guessed from another).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExportJobId(String);

impl ExportJobId {
    /// The id for 128 random bits drawn by the caller (the domain draws no randomness).
    pub fn from_random(bits: u128) -> Self {
        Self(format!("{bits:032x}"))
    }
    /// Accepts only what `from_random` makes, so an id is safe in a storage key or a path.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(s.to_ascii_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExportJobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Which conversations. A tag is resolved to `Conversations` by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    Conversation {
        id: ConversationId,
    },
    Conversations {
        ids: Vec<ConversationId>,
    },
    /// Every conversation in the store; with a time range, that is "a date range".
    All,
}

/// Items with `from_ms <= time < to_ms`; either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl TimeRange {
    pub fn start_ms(&self) -> i64 {
        self.from_ms.unwrap_or(0)
    }
    pub fn end_ms(&self) -> i64 {
        self.to_ms.unwrap_or(i64::MAX)
    }
}

/// Items of one conversation with `from_ms <= time < to_ms`, oldest first: what an export reads.
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl From<TimeRange> for Range {
    fn from(r: TimeRange) -> Self {
        Range { from_ms: r.start_ms(), to_ms: r.end_ms() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub scope: Scope,
    #[serde(default)]
    pub range: TimeRange,
    pub format: Format,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("the conversation set is empty")]
    NoConversations,
    #[error("the range ends ({to_ms}) before it starts ({from_ms})")]
    EmptyRange { from_ms: i64, to_ms: i64 },
}

impl ExportRequest {
    pub fn validate(&self) -> Result<(), RequestError> {
        if matches!(&self.scope, Scope::Conversations { ids } if ids.is_empty()) {
            return Err(RequestError::NoConversations);
        }
        if let (Some(from_ms), Some(to_ms)) = (self.range.from_ms, self.range.to_ms) {
            if to_ms < from_ms {
                return Err(RequestError::EmptyRange { from_ms, to_ms });
            }
        }
        Ok(())
    }

    /// The file's name: what was exported, so a downloaded file explains itself.
    pub fn file_name(&self) -> String {
        let what = match &self.scope {
            Scope::Conversation { id } => id.as_str().replace(':', "_"),
            Scope::Conversations { ids } => format!("{}-conversations", ids.len()),
            Scope::All => "all".to_owned(),
        };
        format!("line-oa-{what}.{}", self.format.extension())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed { error: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportJob {
    pub id: ExportJobId,
    pub request: ExportRequest,
    pub status: JobStatus,
    /// Rows written so far (all of them once done), without the header.
    pub rows: u64,
    pub created_ms: i64,
    /// Last sign of life from the runner.
    pub updated_ms: i64,
    pub finished_ms: Option<i64>,
    /// Storage key of the file once done: `exports/<id>/<name>`.
    pub output_key: Option<String>,
    /// The member of staff who started it (jobs from before this field: unknown).
    #[serde(default)]
    pub started_by: Option<String>,
}

impl ExportJob {
    pub fn queued(id: ExportJobId, request: ExportRequest, now_ms: i64) -> Self {
        Self {
            id,
            request,
            status: JobStatus::Queued,
            rows: 0,
            created_ms: now_ms,
            updated_ms: now_ms,
            finished_ms: None,
            output_key: None,
            started_by: None,
        }
    }

    /// As `queued`, naming who started it.
    pub fn by(mut self, staff: &str) -> Self {
        self.started_by = Some(staff.to_owned());
        self
    }

    /// Where the finished file goes.
    pub fn key(&self) -> String {
        format!("exports/{}/{}", self.id, self.request.file_name())
    }

    /// Only a queued job may start: a redelivered trigger does not run it twice.
    pub fn start(&mut self, now_ms: i64) -> bool {
        if self.status != JobStatus::Queued {
            return false;
        }
        self.status = JobStatus::Running;
        self.updated_ms = now_ms;
        true
    }

    pub fn progress(&mut self, rows: u64, now_ms: i64) {
        self.rows = rows;
        self.updated_ms = now_ms;
    }

    pub fn finish(&mut self, rows: u64, now_ms: i64) {
        self.status = JobStatus::Done;
        self.rows = rows;
        self.output_key = Some(self.key());
        self.updated_ms = now_ms;
        self.finished_ms = Some(now_ms);
    }

    pub fn fail(&mut self, error: impl Into<String>, now_ms: i64) {
        self.status = JobStatus::Failed { error: error.into() };
        self.updated_ms = now_ms;
        self.finished_ms = Some(now_ms);
    }

    /// After a restart of the process that runs jobs (local runs): a queued job is still owed,
    /// and one that was running died with the process, so it goes back to the queue and
    /// starts over. Returns whether the job is to be run.
    pub fn resume_after_restart(&mut self, now_ms: i64) -> bool {
        match self.status {
            JobStatus::Queued => true,
            JobStatus::Running => {
                self.status = JobStatus::Queued;
                self.rows = 0;
                self.updated_ms = now_ms;
                true
            }
            JobStatus::Done | JobStatus::Failed { .. } => false,
        }
    }

    /// The job as a reader should see it: one running without a sign of life for
    /// `STALE_AFTER_MS` died, and is reported failed. (A queued job may rightly wait behind
    /// another one: it is left alone.)
    pub fn observed(mut self, now_ms: i64) -> Self {
        if self.status == JobStatus::Running && now_ms - self.updated_ms > STALE_AFTER_MS {
            let error = format!("the export stopped without finishing (no progress since {} ms)", self.updated_ms);
            self.status = JobStatus::Failed { error };
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(scope: Scope) -> ExportRequest {
        ExportRequest { scope, range: TimeRange::default(), format: Format::Csv }
    }

    #[test]
    fn a_job_starts_once_and_finishes_with_its_key() {
        let mut job = ExportJob::queued(ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()), request(Scope::All), 1_000);
        assert!(job.start(2_000));
        assert!(!job.start(3_000), "a redelivered trigger must not run the job again");
        job.finish(42, 4_000);
        assert_eq!(job.status, JobStatus::Done);
        assert_eq!(job.output_key.as_deref(), Some(format!("exports/{}/line-oa-all.csv", job.id).as_str()));
        assert_eq!((job.rows, job.finished_ms), (42, Some(4_000)));
    }

    #[test]
    fn a_silent_running_job_is_reported_failed_but_a_lively_one_is_not() {
        let mut job = ExportJob::queued(ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()), request(Scope::All), 0);
        assert_eq!(job.clone().observed(i64::MAX).status, JobStatus::Queued, "waiting behind another job is fine");
        job.start(0);
        assert_eq!(job.clone().observed(STALE_AFTER_MS).status, JobStatus::Running);
        assert!(matches!(job.clone().observed(STALE_AFTER_MS + 1).status, JobStatus::Failed { .. }));
        job.finish(1, 10);
        assert_eq!(job.observed(i64::MAX).status, JobStatus::Done, "a finished job never goes stale");
    }

    #[test]
    fn after_a_restart_queued_and_interrupted_jobs_run_again_finished_ones_do_not() {
        let mut queued = ExportJob::queued(ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()), request(Scope::All), 0);
        assert!(queued.resume_after_restart(5));
        assert_eq!(queued.status, JobStatus::Queued);
        let mut running = queued.clone();
        running.start(1);
        running.progress(700, 2);
        assert!(running.resume_after_restart(5));
        assert_eq!((running.status.clone(), running.rows, running.updated_ms), (JobStatus::Queued, 0, 5), "starts over");
        assert!(running.start(6), "and can start again");
        let mut done = queued.clone();
        done.start(1);
        done.finish(3, 2);
        assert!(!done.resume_after_restart(5));
        let mut failed = queued;
        failed.fail("no", 2);
        assert!(!failed.resume_after_restart(5));
        assert!(matches!(failed.status, JobStatus::Failed { .. }));
    }

    #[test]
    fn requests_are_checked() {
        assert_eq!(request(Scope::Conversations { ids: vec![] }).validate(), Err(RequestError::NoConversations));
        let backwards = ExportRequest { range: TimeRange { from_ms: Some(5), to_ms: Some(4) }, ..request(Scope::All) };
        assert_eq!(backwards.validate(), Err(RequestError::EmptyRange { from_ms: 5, to_ms: 4 }));
        assert_eq!(request(Scope::All).validate(), Ok(()));
    }

    #[test]
    fn file_names_say_what_was_exported_and_ids_are_strict() {
        let one = ExportRequest { format: Format::Xlsx, ..request(Scope::Conversation { id: ConversationId::user("U1") }) };
        assert_eq!(one.file_name(), "line-oa-user_U1.xlsx");
        let id = ExportJobId::from_random(uuid::Uuid::new_v4().as_u128());
        assert_eq!(ExportJobId::parse(id.as_str()), Some(id));
        assert_eq!(ExportJobId::parse("../../etc/passwd"), None);
    }

    #[test]
    fn jobs_round_trip_through_json() {
        let mut job = ExportJob::queued(
            ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()),
            request(Scope::Conversations { ids: vec![ConversationId::group("C1")] }),
            7,
        );
        job.fail("boom", 8);
        let back: ExportJob = serde_json::from_str(&serde_json::to_string(&job).unwrap()).unwrap();
        assert_eq!(back, job);
    }
}
