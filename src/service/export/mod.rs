//! Export a conversation, a set of conversations or all of them, optionally within a time
//! range, as CSV or XLSX (the file writers are `crate::export::sink`). Streams page by page:
//! memory stays flat however long the export. `jobs` runs exports asynchronously; finished
//! files go to object storage (`crate::blob`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::tz::TimeZone;

use crate::blob::BlobError;
use crate::domain::export::{row, HEADERS};
use crate::domain::export_job::{Format, Range, Scope};
use crate::domain::ids::ConversationId;
use crate::errors::{BoxError, Fault};
use crate::export::sink::{self, Sink};
use crate::store::{log_cursor_from, EventLog, PageRequest, StoreError};

pub mod jobs;

const PAGE: usize = 500;
/// Conversations listed per store request when exporting all of them.
const CONVERSATION_PAGE: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the file on scratch disk failed (CSV, XLSX, the disk itself).
    #[error("cannot write the export: {0}")]
    Write(#[source] BoxError),
    /// Where finished files go (the export bucket, the data folder) failed; `fault` says how.
    #[error("cannot store the export file: {detail}")]
    Storage {
        fault: Fault,
        detail: String,
        #[source]
        source: Option<BlobError>,
    },
    /// The job was saved but nothing will run it (the local runner stopped, the launch publish failed).
    #[error("the export job could not be launched: {detail}")]
    Launch {
        detail: String,
        #[source]
        source: Option<BoxError>,
    },
    #[error("no export job {0}")]
    UnknownJob(crate::domain::export_job::ExportJobId),
    #[error("invalid export request: {0}")]
    Request(#[from] crate::domain::export_job::RequestError),
}

impl ExportError {
    /// A failed call to the export storage, as the blob store sorts them.
    pub fn storage(fault: Fault, detail: impl Into<String>, source: Option<BoxError>) -> Self {
        BlobError::new(fault, detail, source).into()
    }

    /// A local file operation on the export storage failed (serving a finished file).
    pub fn storage_io(e: std::io::Error) -> Self {
        BlobError::io(e).into()
    }

    pub fn launch(detail: impl Into<String>, source: Option<BoxError>) -> Self {
        Self::Launch { detail: detail.into(), source }
    }
}

/// The storage failed; the blob store's error is the source, and says the same.
impl From<BlobError> for ExportError {
    fn from(e: BlobError) -> Self {
        Self::Storage { fault: e.fault, detail: e.detail.clone(), source: Some(e) }
    }
}

pub(crate) fn write_error(e: impl Into<BoxError>) -> ExportError {
    ExportError::Write(e.into())
}

/// Streams one conversation's items in `range` into `sink`; counts rows into `rows`.
async fn write_conversation(
    store: &dyn EventLog,
    conversation: &ConversationId,
    range: &Range,
    tz: &TimeZone,
    sink: &mut Sink,
    rows: &AtomicU64,
) -> Result<(), ExportError> {
    let mut after = Some(log_cursor_from(range.from_ms));
    loop {
        let page = store.log(conversation, &PageRequest { limit: PAGE, after: after.clone() }).await?;
        for item in &page.items {
            if item.timestamp_ms() >= range.to_ms {
                return Ok(());
            }
            if item.timestamp_ms() >= range.from_ms {
                sink.write(&row(item, tz).0)?;
                rows.fetch_add(1, Ordering::Relaxed);
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// Assembles the file off the async executor (an XLSX of a million rows takes a while).
async fn finish(sink: Sink, out: &Path) -> Result<(), ExportError> {
    let out: PathBuf = out.to_owned();
    tokio::task::spawn_blocking(move || sink.finish(&out)).await.map_err(write_error)?
}

/// Writes one conversation's export to `out`; returns the number of rows (without the header).
pub async fn export(
    store: &dyn EventLog,
    conversation: &ConversationId,
    range: &Range,
    tz: &TimeZone,
    format: Format,
    out: &Path,
) -> Result<usize, ExportError> {
    export_scope(store, &Scope::Conversation { id: conversation.clone() }, range, tz, format, out, &AtomicU64::new(0))
        .await
        .map(|rows| rows as usize)
}

/// Writes the export of `scope` to `out`: conversation by conversation, each oldest first.
/// `rows` counts as it goes (the job runner reports it as progress); returns the total.
pub async fn export_scope(
    store: &dyn EventLog,
    scope: &Scope,
    range: &Range,
    tz: &TimeZone,
    format: Format,
    out: &Path,
    rows: &AtomicU64,
) -> Result<u64, ExportError> {
    let mut sink = Sink::open(format, out, &HEADERS, sink::XLSX_SHEET_ROWS)?;
    match scope {
        Scope::Conversation { id } => write_conversation(store, id, range, tz, &mut sink, rows).await?,
        Scope::Conversations { ids } => {
            for id in ids {
                write_conversation(store, id, range, tz, &mut sink, rows).await?;
            }
        }
        Scope::All => {
            let mut after = None;
            loop {
                let page = store.conversation_ids(&PageRequest { limit: CONVERSATION_PAGE, after }).await?;
                for id in &page.items {
                    write_conversation(store, id, range, tz, &mut sink, rows).await?;
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
    }
    finish(sink, out).await?;
    Ok(rows.load(Ordering::Relaxed))
}
