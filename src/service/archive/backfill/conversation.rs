//! One conversation's check: its settled log items against the archive's day indexes (and its
//! chain, for objects from before the index), the missing ones archived into its backfill chain.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::{ms, BackfillError, SETTLE};
use crate::domain::archive::index::{index_key, sort_key_of, DayIndex};
use crate::domain::archive::{conversation_prefix, next_object_with_media, version_of, MediaOutcome};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItem;
use crate::domain::metrics::ARCHIVE_BACKFILLED;
use crate::service::archive::chain::{head_after, Chain};
use crate::service::archive::{ArchiveError, Archiver};
use crate::store::{PageRequest, Store};

/// LINE keeps media content one to two weeks: missing items younger than this get theirs.
const MEDIA_KEPT: Duration = Duration::from_secs(14 * 86_400);
/// Day indexes read at once for one conversation.
const INDEX_READS: usize = 16;
const LOG_PAGE: usize = 500;

/// When an item entered the log: what "settled" is measured from.
fn logged_ms(item: &LogItem) -> i64 {
    match item {
        LogItem::In(r) => r.timestamp_ms.max(r.received_ms),
        LogItem::Out(r) => r.timestamp_ms.max(r.created_ms),
    }
}

/// One conversation's check.
#[derive(Debug, Default)]
pub(super) struct Checked {
    pub(super) items: usize,
    pub(super) filled: Vec<LogItem>,
    pub(super) media: usize,
}

impl Archiver {
    /// Checks one conversation's settled log items against the archive and archives the
    /// missing ones into its backfill chain.
    pub(super) async fn backfill_conversation(
        &self,
        store: &dyn Store,
        conversation: &ConversationId,
        now_ms: i64,
    ) -> Result<Checked, BackfillError> {
        let settled_before = now_ms - ms(SETTLE);
        let mut items = Vec::new();
        let mut after = None;
        loop {
            let page = store.log(conversation, &PageRequest { limit: LOG_PAGE, after: after.take() }).await?;
            items.extend(page.items.into_iter().filter(|item| logged_ms(item) < settled_before));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut checked = Checked { items: items.len(), ..Default::default() };
        if items.is_empty() {
            return Ok(checked);
        }
        // One listing says which objects exist: an index entry naming a deleted object does
        // not count as archived.
        let keys: BTreeSet<String> =
            self.store.list(&conversation_prefix(conversation)).await.map_err(ArchiveError::from)?.into_iter().collect();
        self.repair_backfill_head(conversation, &keys).await?;
        let main = self.indexes(items.iter().map(|i| Chain::Main.index_key(i))).await?;
        let held = |indexes: &BTreeMap<String, DayIndex>, key: &str, item: &LogItem| {
            indexes.get(key).and_then(|d| d.object_of(item)).is_some_and(|object| keys.contains(object))
        };
        items.retain(|item| !held(&main, &Chain::Main.index_key(item), item));
        let filled = self.indexes(items.iter().map(|i| Chain::Backfill.index_key(i))).await?;
        items.retain(|item| !held(&filled, &Chain::Backfill.index_key(item), item));
        if items.is_empty() {
            return Ok(checked);
        }
        // Objects from before the day index: found by reading the chain, and noted in the
        // sweep's index so the next pass need not read the chain again.
        let chain = self.index_from_chain(conversation).await?;
        let mut noted: BTreeMap<String, Vec<LogItem>> = BTreeMap::new();
        items.retain(|item| match chain.get(&index_key(item)).and_then(|d| d.object_of(item)) {
            Some(object) => {
                noted.entry(object.to_owned()).or_default().push(item.clone());
                false
            }
            None => true,
        });
        for (object, found) in noted {
            self.record_in_index(Chain::Backfill, &object, &found).await?;
        }
        if items.is_empty() {
            return Ok(checked);
        }
        checked.media = self.fill(conversation, &items, now_ms).await?;
        for item in &items {
            tracing::error!(
                alarm = ARCHIVE_BACKFILLED,
                %conversation,
                sort_key = %sort_key_of(item),
                "log item missing from the archive; archived now by the backfill sweep"
            );
        }
        self.metrics.count(ARCHIVE_BACKFILLED, items.len() as u64);
        checked.filled = items;
        Ok(checked)
    }

    async fn indexes(&self, keys: impl Iterator<Item = String>) -> Result<BTreeMap<String, DayIndex>, ArchiveError> {
        let keys: BTreeSet<String> = keys.collect();
        let read: Vec<_> = stream::iter(keys)
            .map(|key| async move {
                let index = self.day_index(&key).await;
                index.map(|index| (key, index))
            })
            .buffer_unordered(INDEX_READS)
            .collect()
            .await;
        read.into_iter().collect()
    }

    /// Appends `missing` to the conversation's backfill chain; returns the media stored.
    async fn fill(&self, conversation: &ConversationId, missing: &[LogItem], now_ms: i64) -> Result<usize, ArchiveError> {
        let head_key = Chain::Backfill.head_key(conversation);
        let mut head = self.read_head(&head_key).await?;
        // Missing means no longer in the archive, whatever the head remembers (a deleted object).
        let versions: BTreeSet<String> = missing.iter().map(version_of).collect();
        head.recent.retain(|v| !versions.contains(v));
        let fresh: Vec<&LogItem> = missing.iter().filter(|item| item.timestamp_ms() >= now_ms - ms(MEDIA_KEPT)).collect();
        let media = self.fetch_media(&fresh).await?;
        let Some(mut object) = next_object_with_media(conversation, &head, missing, &media) else { return Ok(0) };
        object.key = Chain::Backfill.object_key(conversation, &object.key);
        object.head.key = Some(object.key.clone());
        // Object, then index, then head, as the main chain: `repair_backfill_head` mends a
        // run that stopped before the head.
        self.put(&object.key, object.bytes.clone()).await?;
        self.record_in_index(Chain::Backfill, &object.key, &object.items).await?;
        self.put(&head_key, serde_json::to_vec(&object.head).expect("heads serialise")).await?;
        Ok(media.values().filter(|m| matches!(m, MediaOutcome::Stored(_))).count())
    }

    /// Moves the backfill chain's head to its last object if a run stopped between writing
    /// the object (and its index entries) and the head.
    async fn repair_backfill_head(&self, conversation: &ConversationId, keys: &BTreeSet<String>) -> Result<(), ArchiveError> {
        let objects: Vec<&String> = keys.iter().filter(|k| Chain::Backfill.is_object(conversation, k)).collect();
        let Some(last) = objects.last().and_then(|k| Chain::Backfill.seq_of(conversation, k)) else { return Ok(()) };
        let head_key = Chain::Backfill.head_key(conversation);
        let mut head = self.read_head(&head_key).await?;
        if last <= head.seq {
            return Ok(());
        }
        for key in objects {
            if Chain::Backfill.seq_of(conversation, key).is_none_or(|seq| seq <= head.seq) {
                continue;
            }
            let bytes = self.store.get(key).await?.unwrap_or_default();
            match head_after(&head, key, &bytes) {
                Some(next) => head = next,
                // Not the next object: a broken chain, for `archive verify` to name.
                None => return Ok(()),
            }
        }
        self.put(&head_key, serde_json::to_vec(&head).expect("heads serialise")).await?;
        tracing::warn!(%conversation, seq = head.seq, "backfill chain head moved to its last object (a run stopped before writing it)");
        Ok(())
    }
}
