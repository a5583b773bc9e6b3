//! Export jobs, the use case: `start` records a queued job and launches it, `run` does the
//! work (stream to a scratch file, hand it to object storage, record the outcome), `status`
//! reports the job with a fresh link once done. Launchers: a local task, or the table's
//! stream (which starts the exporter Lambda).

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::tz::TimeZone;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::{export_scope, ExportError};
use crate::blob::dir::DirBlobStore;
use crate::blob::s3::S3BlobStore;
use crate::blob::{BlobStore, Link};
use crate::clock::Clock;
use crate::domain::export_job::{ExportJob, ExportJobId, ExportRequest, JobStatus, Range};
use crate::errors::Chain;
use crate::store::{EventLog, ExportJobStore, Store};

/// How often a running job records its row count: its sign of life (see `STALE_AFTER_MS`).
const HEARTBEAT: Duration = Duration::from_secs(30);

/// Gets a queued job run somewhere.
#[async_trait]
pub trait JobLauncher: Send + Sync {
    async fn launch(&self, id: &ExportJobId) -> Result<(), ExportError>;
}

/// On AWS: saving the queued job is the launch. Its INSERT on the table's stream starts the
/// exporter function (template.yaml), so there is nothing more to do here.
pub struct StreamLauncher;

#[async_trait]
impl JobLauncher for StreamLauncher {
    async fn launch(&self, _id: &ExportJobId) -> Result<(), ExportError> {
        Ok(())
    }
}

/// Locally: a queue drained by one background task, one job at a time.
pub struct TaskLauncher(mpsc::UnboundedSender<ExportJobId>);

#[async_trait]
impl JobLauncher for TaskLauncher {
    async fn launch(&self, id: &ExportJobId) -> Result<(), ExportError> {
        self.0.send(id.clone()).map_err(|_| ExportError::launch("the local export runner has stopped", None))
    }
}

/// The local runner's own handle: it runs what it is given and starts nothing.
struct RunnerOnly;

#[async_trait]
impl JobLauncher for RunnerOnly {
    async fn launch(&self, _id: &ExportJobId) -> Result<(), ExportError> {
        Err(ExportError::launch("the export runner does not start jobs", None))
    }
}

/// A job as the requester sees it, with a link once done.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobView {
    #[serde(flatten)]
    pub job: ExportJob,
    pub link: Option<Link>,
}

#[derive(Clone)]
pub struct ExportJobs {
    /// Where jobs are recorded.
    jobs: Arc<dyn ExportJobStore>,
    /// What an export reads.
    log: Arc<dyn EventLog>,
    /// Where finished files go.
    files: Arc<dyn BlobStore>,
    /// How long a link to a finished file works (S3's presigned GET; a folder's never expire).
    link_ttl: Duration,
    launcher: Arc<dyn JobLauncher>,
    tz: TimeZone,
    clock: Clock,
}

impl ExportJobs {
    pub fn new(
        store: Arc<dyn Store>,
        files: Arc<dyn BlobStore>,
        link_ttl: Duration,
        launcher: Arc<dyn JobLauncher>,
        tz: TimeZone,
        clock: Clock,
    ) -> Self {
        Self { jobs: store.clone(), log: store, files, link_ttl, launcher, tz, clock }
    }

    /// On AWS (the exporter function, and the operator API that starts jobs and reads their
    /// status): files in the export bucket, links presigned for `link_ttl`, jobs started by the
    /// table's stream.
    pub fn on_aws(store: Arc<dyn Store>, s3: aws_sdk_s3::Client, bucket: &str, link_ttl: Duration, tz: TimeZone, clock: Clock) -> Self {
        Self::new(store, Arc::new(S3BlobStore::new(s3, bucket)), link_ttl, Arc::new(StreamLauncher), tz, clock)
    }

    /// Local runs: files under `data_dir` (`exports/<job id>/…`), jobs run one at a time by a
    /// background task of this process.
    pub fn local(store: Arc<dyn Store>, data_dir: PathBuf, tz: TimeZone, clock: Clock) -> Self {
        let (queue, mut queued) = mpsc::unbounded_channel::<ExportJobId>();
        let files: Arc<dyn BlobStore> = Arc::new(DirBlobStore::new(data_dir));
        // A folder's links are the files themselves: they do not expire.
        let link_ttl = Duration::ZERO;
        // The runner holds no sender, so it stops once every handle that can start jobs is gone.
        let runner = Self::new(store.clone(), files.clone(), link_ttl, Arc::new(RunnerOnly), tz.clone(), clock.clone());
        let jobs = Self::new(store, files, link_ttl, Arc::new(TaskLauncher(queue)), tz, clock);
        tokio::spawn(async move {
            while let Some(id) = queued.recv().await {
                if let Err(e) = runner.run(&id).await {
                    tracing::error!(error = %Chain(&e), job = %id, "export job could not run");
                }
            }
        });
        jobs
    }

    fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Records a queued job and launches it; the job id is the handle for `status`.
    pub async fn start(&self, request: ExportRequest) -> Result<ExportJob, ExportError> {
        self.start_by(request, None).await
    }

    /// As `start`, recording who asked for it.
    pub async fn start_by(&self, request: ExportRequest, staff: Option<&str>) -> Result<ExportJob, ExportError> {
        request.validate()?;
        let job = ExportJob::queued(ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()), request, self.now_ms());
        let job = match staff {
            Some(name) => job.by(name),
            None => job,
        };
        self.jobs.save_export_job(&job).await?;
        self.launcher.launch(&job.id).await?;
        tracing::info!(job = %job.id, scope = ?job.request.scope, "export job queued");
        Ok(job)
    }

    /// Local runs, at start: runs again what the last process left queued or running (a job
    /// that was running starts over). Returns how many were resumed.
    pub async fn resume(&self, unfinished: Vec<ExportJob>) -> Result<usize, ExportError> {
        let mut resumed = 0;
        for mut job in unfinished {
            // Only an interrupted job changes (back to queued): a queued one is launched as it is.
            let interrupted = job.status == JobStatus::Running;
            if !job.resume_after_restart(self.now_ms()) {
                continue;
            }
            if interrupted {
                self.jobs.save_export_job(&job).await?;
            }
            self.launcher.launch(&job.id).await?;
            tracing::info!(job = %job.id, "export job resumed after a restart");
            resumed += 1;
        }
        Ok(resumed)
    }

    /// The job (a silent one reported failed), with a fresh link if it is done.
    pub async fn status(&self, id: &ExportJobId) -> Result<Option<JobView>, ExportError> {
        let Some(job) = self.jobs.export_job(id).await? else { return Ok(None) };
        let job = job.observed(self.now_ms());
        let link = match (&job.status, &job.output_key) {
            (JobStatus::Done, Some(key)) => {
                // A browser saves the file under its own name (`exports/<id>/<name>`).
                let name = key.rsplit('/').next().unwrap_or(key);
                Some(self.files.link(key, self.link_ttl, Some(name)).await?)
            }
            _ => None,
        };
        Ok(Some(JobView { job, link }))
    }

    /// The finished file of a done job on this machine (local runs), for a route to serve.
    pub async fn local_file(&self, id: &ExportJobId) -> Result<Option<PathBuf>, ExportError> {
        Ok(match self.status(id).await?.and_then(|v| v.link) {
            Some(Link::File { path }) => Some(path),
            _ => None,
        })
    }

    /// Runs a queued job to its end. A job already started (a redelivered trigger) is left
    /// alone. Export failures are recorded on the job; `Err` only if the job cannot be read.
    pub async fn run(&self, id: &ExportJobId) -> Result<ExportJob, ExportError> {
        let mut job = self.jobs.export_job(id).await?.ok_or_else(|| ExportError::UnknownJob(id.clone()))?;
        if !job.start(self.now_ms()) {
            return Ok(job);
        }
        self.jobs.save_export_job(&job).await?;
        match self.produce(&job).await {
            Ok(rows) => job.finish(rows, self.now_ms()),
            Err(e) => {
                tracing::error!(error = %Chain(&e), job = %job.id, "export job failed");
                job.fail(e.to_string(), self.now_ms());
            }
        }
        self.jobs.save_export_job(&job).await?;
        tracing::info!(job = %job.id, rows = job.rows, status = ?job.status, "export job finished");
        Ok(job)
    }

    /// Writes the file to scratch, reporting progress, then hands it to object storage.
    async fn produce(&self, job: &ExportJob) -> Result<u64, ExportError> {
        let scratch = self.files.scratch_dir();
        tokio::fs::create_dir_all(&scratch).await.map_err(|e| ExportError::Write(e.into()))?;
        let file = scratch.join(format!("{}.{}", job.id, job.request.format.extension()));
        let rows = Arc::new(AtomicU64::new(0));
        let (stop, heartbeat) = self.heartbeat(job.clone(), rows.clone());
        let range = Range::from(job.request.range);
        let written = export_scope(self.log.as_ref(), &job.request.scope, &range, &self.tz, job.request.format, &file, &rows).await;
        // Stopped and awaited, so no progress write can land after the outcome.
        let _ = stop.send(());
        let _ = heartbeat.await;
        let result = match written {
            Ok(rows) => self.files.put_file(&job.key(), &file, job.request.format.content_type()).await.map(|()| rows).map_err(Into::into),
            Err(e) => Err(e),
        };
        if result.is_err() {
            let _ = tokio::fs::remove_file(&file).await;
        }
        result
    }

    fn heartbeat(&self, mut job: ExportJob, rows: Arc<AtomicU64>) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let (stop, mut stopped) = oneshot::channel();
        let (store, clock) = (self.jobs.clone(), self.clock.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tokio::time::sleep(HEARTBEAT) => {}
                }
                job.progress(rows.load(std::sync::atomic::Ordering::Relaxed), clock());
                if let Err(e) = store.save_export_job(&job).await {
                    tracing::warn!(error = %e, job = %job.id, "could not record export progress");
                }
            }
        });
        (stop, task)
    }
}
