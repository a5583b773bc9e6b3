//! A conversation's two hash chains and their keys. The **main** chain is written by the
//! archiver from the log as it happens (the stream on AWS, the archive task locally); the
//! **backfill** chain only by the backfill sweep, with items it found missing. Each chain has
//! exactly one writer, so neither needs a conditional write: the sweep never races the stream
//! archiver for a sequence number (object keys carry the date of their first item, so two
//! writers could both create "object 7" under different keys, and Object Lock would keep both).

use super::{ArchiveError, Archiver};
use crate::domain::archive::index::index_key;
use crate::domain::archive::{conversation_prefix, head_key, is_chain_object, parse_object, sha256_hex, verify_chain};
use crate::domain::archive::{ChainBreak, ChainHead, ChainReport};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItem;

/// Folder (under the conversation's transcripts, and under `heads/` and `index/`) of the
/// backfill chain.
const BACKFILL: &str = "backfill";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chain {
    Main,
    Backfill,
}

impl Chain {
    pub(crate) fn head_key(self, conversation: &ConversationId) -> String {
        match self {
            Chain::Main => head_key(conversation),
            Chain::Backfill => format!("heads/{BACKFILL}/{conversation}.json"),
        }
    }

    fn prefix(self, conversation: &ConversationId) -> String {
        match self {
            Chain::Main => conversation_prefix(conversation),
            Chain::Backfill => format!("{}{BACKFILL}/", conversation_prefix(conversation)),
        }
    }

    pub(crate) fn is_object(self, conversation: &ConversationId, key: &str) -> bool {
        match self {
            Chain::Main => is_chain_object(conversation, key),
            Chain::Backfill => {
                key.strip_prefix(&self.prefix(conversation)).is_some_and(|rest| !rest.contains('/') && rest.ends_with(".jsonl"))
            }
        }
    }

    /// This chain's key for an object `next_object` named (it names main-chain objects).
    pub(crate) fn object_key(self, conversation: &ConversationId, main_key: &str) -> String {
        match self {
            Chain::Main => main_key.to_owned(),
            Chain::Backfill => {
                let name = main_key.strip_prefix(&conversation_prefix(conversation)).unwrap_or(main_key);
                format!("{}{name}", self.prefix(conversation))
            }
        }
    }

    /// The day index object listing this chain's copy of `item` (the main chain's is the
    /// format's own; the sweep keeps its own, so each index object has one writer too).
    pub(crate) fn index_key(self, item: &LogItem) -> String {
        let key = index_key(item);
        match self {
            Chain::Main => key,
            Chain::Backfill => format!("index/{BACKFILL}/{}", key.strip_prefix("index/").unwrap_or(&key)),
        }
    }

    /// The sequence number in an object key of this chain (`…/<seq, 10 digits>-<date>.jsonl`).
    pub(crate) fn seq_of(self, conversation: &ConversationId, key: &str) -> Option<u64> {
        key.strip_prefix(&self.prefix(conversation))?.get(..10)?.parse().ok()
    }
}

/// The head after `head` once `bytes` (object `key`, the next of the chain) is part of it; None
/// if the object does not follow `head` (a broken chain is for `verify` to name, not to extend).
pub(crate) fn head_after(head: &ChainHead, key: &str, bytes: &[u8]) -> Option<ChainHead> {
    let (header, lines) = parse_object(key, bytes).ok()?;
    if header.seq != head.seq + 1 || header.prev_sha256 != head.sha256 {
        return None;
    }
    let mut recent = head.recent.clone();
    recent.extend(lines.into_iter().map(|l| l.version));
    Some(ChainHead { seq: header.seq, sha256: Some(sha256_hex(bytes)), key: Some(key.to_owned()), recent })
}

impl Archiver {
    pub(crate) async fn read_head(&self, key: &str) -> Result<ChainHead, ArchiveError> {
        self.read_json(key).await
    }

    /// Checks one chain of a conversation end to end (an absent chain is an empty report).
    pub(crate) async fn verify_one(
        &self,
        conversation: &ConversationId,
        chain: Chain,
    ) -> Result<Result<ChainReport, ChainBreak>, ArchiveError> {
        let head = self.read_head(&chain.head_key(conversation)).await?;
        let mut objects = Vec::new();
        for key in self.store.list(&chain.prefix(conversation)).await? {
            if chain.is_object(conversation, &key) {
                let bytes = self.store.get(&key).await?.unwrap_or_default();
                objects.push((key, bytes));
            }
        }
        let head = (head != ChainHead::default()).then_some(head);
        Ok(verify_chain(conversation, objects.iter().map(|(k, b)| (k.as_str(), b.as_slice())), head.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backfill_chain_has_its_own_keys_which_the_main_chain_does_not_claim() {
        let c = ConversationId::user("U1");
        let main = "transcripts/user:U1/0000000003-2026-01-02.jsonl";
        let fill = Chain::Backfill.object_key(&c, main);
        assert_eq!(fill, "transcripts/user:U1/backfill/0000000003-2026-01-02.jsonl");
        assert!(Chain::Backfill.is_object(&c, &fill) && !Chain::Main.is_object(&c, &fill));
        assert!(Chain::Main.is_object(&c, main) && !Chain::Backfill.is_object(&c, main));
        assert_eq!((Chain::Backfill.seq_of(&c, &fill), Chain::Main.seq_of(&c, main)), (Some(3), Some(3)));
        assert_eq!(Chain::Backfill.head_key(&c), "heads/backfill/user:U1.json");
        assert!(!Chain::Backfill.is_object(&c, "transcripts/user:U1/media/1"));
    }
}
