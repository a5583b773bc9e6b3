//! TTL reconciliation: every log item the table's TTL removed must be in the archive. One that
//! is not is archived now, from the removed item's last image, and reported: an ERROR log per
//! item and the `UnarchivedTtlRemovals` metric, which has an alarm.

use std::collections::BTreeMap;

use super::chain::Chain;
use super::{ArchiveError, Archiver};
use crate::domain::archive::index::{conversation_of, index_key, sort_key_of, DayIndex};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItem;
use crate::domain::metrics::UNARCHIVED_TTL_REMOVALS;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reconciliation {
    pub checked: usize,
    /// Removed items that were not in the archive; archived now.
    pub missing: Vec<LogItem>,
}

impl Archiver {
    /// Checks items removed by TTL against the archive, archives the missing ones, reports them.
    pub async fn reconcile_expired(&self, removed: Vec<LogItem>) -> Result<Reconciliation, ArchiveError> {
        let mut days: BTreeMap<String, DayIndex> = BTreeMap::new();
        let mut chains: BTreeMap<ConversationId, BTreeMap<String, DayIndex>> = BTreeMap::new();
        let mut missing = Vec::new();
        for item in &removed {
            let key = index_key(item);
            if !days.contains_key(&key) {
                days.insert(key.clone(), self.day_index(&key).await?);
            }
            if days[&key].object_of(item).is_some() {
                continue;
            }
            // Archived late by the backfill sweep, into its own chain.
            let filled = Chain::Backfill.index_key(item);
            if !days.contains_key(&filled) {
                days.insert(filled.clone(), self.day_index(&filled).await?);
            }
            if days[&filled].object_of(item).is_some() {
                continue;
            }
            let conversation = conversation_of(item);
            if !chains.contains_key(conversation) {
                chains.insert(conversation.clone(), self.index_from_chain(conversation).await?);
            }
            if chains[conversation].get(&key).and_then(|d| d.object_of(item)).is_none() {
                missing.push(item.clone());
            }
        }
        if !missing.is_empty() {
            self.append(missing.clone(), false).await?;
            for item in &missing {
                tracing::error!(
                    alarm = UNARCHIVED_TTL_REMOVALS,
                    conversation = %conversation_of(item),
                    sort_key = %sort_key_of(item),
                    "TTL removed a log item that was never archived; archived now from its last image"
                );
            }
            self.metrics.count(UNARCHIVED_TTL_REMOVALS, missing.len() as u64);
        }
        Ok(Reconciliation { checked: removed.len(), missing })
    }
}
