//! Local TTL expiry, the embedded store's counterpart of DynamoDB's TTL: remove log items past
//! their `expires_at` (held items have none), after the archive has been checked for each and
//! given any it lacks, exactly as the archiver reconciles TTL removals on AWS.

use crate::service::archive::{ArchiveError, Archiver};
use crate::store::{LocalTtl, LogItem, StoreError};

/// Items examined per round; bounds memory on a large store.
const BATCH: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ExpiryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpiryReport {
    pub removed: usize,
    /// Expired items that were not in the archive (archived before removal, and reported).
    pub unarchived: Vec<LogItem>,
}

/// Removes every item expired at `now_s`, each only once the archive holds it.
pub async fn expire(store: &dyn LocalTtl, archiver: &Archiver, now_s: i64) -> Result<ExpiryReport, ExpiryError> {
    let mut report = ExpiryReport::default();
    loop {
        let expired = store.expired(now_s, BATCH).await?;
        let full = expired.len() == BATCH;
        let reconciled = archiver.reconcile_expired(expired.iter().map(|e| e.item.clone()).collect()).await?;
        report.unarchived.extend(reconciled.missing);
        let removed = store.remove_expired(expired, now_s).await?;
        report.removed += removed;
        // Items changed since they were found are kept and found again next time: stop here.
        if !full || removed == 0 {
            return Ok(report);
        }
    }
}
