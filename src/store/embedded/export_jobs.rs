//! The embedded store's part of export jobs: listing conversations and keeping job records.

use std::ops::Bound;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{corrupt, unavailable, LOG};
use crate::domain::export_job::{ExportJob, ExportJobId, JobStatus};
use crate::domain::ids::ConversationId;
use crate::store::{Page, PageRequest, StoreError};

/// job id -> ExportJob JSON.
pub(super) const EXPORT_JOBS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("export_jobs");

/// Sorts after every log sort key (they are ASCII), so a range from it skips a whole conversation.
const AFTER_EVERY_SORT_KEY: &str = "\u{10FFFF}";

/// Distinct conversations of the log, in order: one short range read per conversation, so the
/// cost follows the number of conversations, not of messages.
pub(super) fn conversation_ids(db: &Database, page: &PageRequest) -> Result<Page<ConversationId>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let log = txn.open_table(LOG).map_err(unavailable)?;
    let limit = page.limit.max(1);
    let mut after = page.after.clone();
    let mut ids = Vec::new();
    loop {
        let start = match &after {
            Some(conv) => Bound::Excluded((conv.as_str(), AFTER_EVERY_SORT_KEY)),
            None => Bound::Unbounded,
        };
        let mut range = log.range::<(&str, &str)>((start, Bound::Unbounded)).map_err(unavailable)?;
        let Some(entry) = range.next() else { return Ok(Page { items: ids, next: None }) };
        let (key, _) = entry.map_err(unavailable)?;
        let conv = key.value().0.to_owned();
        if ids.len() == limit {
            return Ok(Page { items: ids, next: after });
        }
        ids.push(ConversationId::parse(&conv).ok_or_else(|| corrupt(&conv, "not a conversation id"))?);
        after = Some(conv);
    }
}

pub(super) fn export_job(db: &Database, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let table = txn.open_table(EXPORT_JOBS).map_err(unavailable)?;
    let value = table.get(id.as_str()).map_err(unavailable)?;
    value.map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(id.as_str(), e))).transpose()
}

/// Jobs not finished yet (queued, or running when the process stopped); jobs are few, so a scan.
pub(super) fn unfinished_export_jobs(db: &Database) -> Result<Vec<ExportJob>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let table = txn.open_table(EXPORT_JOBS).map_err(unavailable)?;
    let mut jobs = Vec::new();
    for entry in table.iter().map_err(unavailable)? {
        let (key, value) = entry.map_err(unavailable)?;
        let job: ExportJob = serde_json::from_slice(value.value()).map_err(|e| corrupt(key.value(), e))?;
        if matches!(job.status, JobStatus::Queued | JobStatus::Running) {
            jobs.push(job);
        }
    }
    jobs.sort_by_key(|j| j.created_ms);
    Ok(jobs)
}
