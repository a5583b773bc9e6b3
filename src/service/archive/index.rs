//! The archiver's day index (format in `domain::archive::index`): written with each object,
//! read to check that an item is archived. Objects written before the index existed are found
//! by reading the conversation's chain instead. Each chain keeps its own index objects
//! (`chain::Chain::index_key`), so every index object has one writer.

use std::collections::BTreeMap;

use super::chain::Chain;
use super::{ArchiveError, Archiver};
use crate::domain::archive::index::{content_version, conversation_of, index_key, sort_key_of, DayIndex};
use crate::domain::archive::{conversation_prefix, is_chain_object, parse_object};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItem;

impl Archiver {
    pub(super) async fn day_index(&self, key: &str) -> Result<DayIndex, ArchiveError> {
        self.read_json(key).await
    }

    /// Lists `items` as held by `object` in `chain`'s day indexes; rewrites only indexes that
    /// changed. The main chain keeps the first object that archived an item; the backfill
    /// index is the sweep's record of where it found or put an item, so its newest word counts
    /// (an object it named may be gone, which is why the item was archived again).
    pub(super) async fn record_in_index(&self, chain: Chain, object: &str, items: &[LogItem]) -> Result<(), ArchiveError> {
        let mut by_day: BTreeMap<String, Vec<&LogItem>> = BTreeMap::new();
        for item in items {
            by_day.entry(chain.index_key(item)).or_default().push(item);
        }
        for (key, items) in by_day {
            let mut index = self.day_index(&key).await?;
            let mut changed = false;
            for item in items {
                changed |= match chain {
                    Chain::Main => index.record(item, object),
                    Chain::Backfill => {
                        let versions = index.items.entry(sort_key_of(item)).or_default();
                        versions.insert(content_version(item), object.to_owned()).as_deref() != Some(object)
                    }
                };
            }
            if changed {
                self.put(&key, serde_json::to_vec(&index).expect("indexes serialise")).await?;
            }
        }
        Ok(())
    }

    /// Every item in a conversation's main chain, indexed as the day index would have it: the
    /// slow path, for objects archived before the index existed.
    pub(super) async fn index_from_chain(&self, conversation: &ConversationId) -> Result<BTreeMap<String, DayIndex>, ArchiveError> {
        let mut indexes: BTreeMap<String, DayIndex> = BTreeMap::new();
        for key in self.store.list(&conversation_prefix(conversation)).await? {
            if !is_chain_object(conversation, &key) {
                continue;
            }
            let bytes = self.store.get(&key).await?.unwrap_or_default();
            let (_, lines) =
                parse_object(&key, &bytes).map_err(|b| ArchiveError::Corrupt { key: b.key, problem: b.problem, source: None })?;
            for line in lines {
                if conversation_of(&line.item) == conversation {
                    indexes.entry(index_key(&line.item)).or_default().record(&line.item, &key);
                }
            }
        }
        Ok(indexes)
    }
}
