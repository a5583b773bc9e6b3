//! The backfill sweep's state document (`collections::ARCHIVE_BACKFILL`): the scheduled pass's
//! cursor, and the lease that keeps two runs from sweeping at once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ms, timestamp, BackfillError};
use crate::store::{collections, Doc, Store, StoreError};

/// How long a run's claim on the sweep holds unless renewed (after every page): longer than
/// a page takes, short enough that a crashed run does not hold up the next one for long.
pub(super) const LEASE: Duration = Duration::from_secs(15 * 60);
const STATE_ID: &str = "state";

/// The sweep's state document: the scheduled pass's cursor and the lease.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct SweepState {
    /// Where the scheduled pass goes on (a `conversation_ids` cursor); None: at the start.
    #[serde(default)]
    pub(super) after: Option<String>,
    #[serde(default)]
    pub(super) pass_started_ms: i64,
    #[serde(default)]
    pub(super) pass_complete: bool,
    #[serde(default)]
    pub(super) pass_checked: u64,
    #[serde(default)]
    pub(super) pass_filled: u64,
    /// Until when a run holds the sweep (0: nobody).
    #[serde(default)]
    pub(super) lease_until_ms: i64,
    #[serde(default)]
    pub(super) lease_owner: String,
}

/// The sweep, claimed by one run: every write is versioned, so a run that lost its lease
/// (it stalled past `LEASE` and another took over) finds out at its next write and stops.
pub(super) struct Lease<'a> {
    store: &'a dyn Store,
    pub(super) state: SweepState,
    version: u64,
}

impl<'a> Lease<'a> {
    pub(super) async fn claim(store: &'a dyn Store, now_ms: i64, owner: &str) -> Result<Lease<'a>, BackfillError> {
        let (state, version) = match store.doc(collections::ARCHIVE_BACKFILL, STATE_ID).await? {
            None => (SweepState::default(), 0),
            Some(doc) => {
                let state = serde_json::from_str(&doc.body)
                    .map_err(|e| StoreError::corrupt(format!("{}/{STATE_ID}", collections::ARCHIVE_BACKFILL), e))?;
                (state, doc.version)
            }
        };
        let busy = |state: &SweepState| BackfillError::Busy { owner: state.lease_owner.clone(), until: timestamp(state.lease_until_ms) };
        if state.lease_until_ms > now_ms {
            return Err(busy(&state));
        }
        let mut lease = Lease { store, state, version };
        lease.state.lease_owner = owner.to_owned();
        match lease.save(now_ms + ms(LEASE)).await {
            // Someone wrote the state since we read it: another run claimed the sweep first.
            Err(BackfillError::Store(StoreError::Conflict(_))) => {
                Err(BackfillError::Busy { owner: "another run, just now".into(), until: timestamp(now_ms + ms(LEASE)) })
            }
            other => other.map(|()| lease),
        }
    }

    /// Saves the state with the lease held until `lease_until_ms` (0 lets go).
    pub(super) async fn save(&mut self, lease_until_ms: i64) -> Result<(), BackfillError> {
        self.state.lease_until_ms = lease_until_ms;
        let body = serde_json::to_string(&self.state).expect("sweep state serialises");
        self.store.put_doc(collections::ARCHIVE_BACKFILL, &Doc { id: STATE_ID.into(), body, version: self.version }).await?;
        self.version += 1;
        Ok(())
    }
}
