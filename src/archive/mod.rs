//! The compliance archive: a port for object storage (adapters: `dir` for local runs, `s3` for
//! AWS) and the archiver that appends each conversation's log to its hash chain.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::archive::{head_key, next_object, verify_chain, ChainBreak, ChainHead, ChainReport, conversation_prefix};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItem;

pub mod dir;
pub mod s3;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt archive object {key}: {problem}")]
    Corrupt { key: String, problem: String },
}

#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// Writes the whole object; writing the same key again replaces it (a retry).
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ArchiveError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArchiveError>;
    /// Every key under `prefix`, in lexicographic order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArchiveError>;
}

#[derive(Clone)]
pub struct Archiver {
    store: Arc<dyn ArchiveStore>,
}

impl Archiver {
    pub fn new(store: Arc<dyn ArchiveStore>) -> Self {
        Self { store }
    }

    async fn head(&self, conversation: &ConversationId) -> Result<ChainHead, ArchiveError> {
        let key = head_key(conversation);
        match self.store.get(&key).await? {
            None => Ok(ChainHead::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupt { key, problem: e.to_string() }),
        }
    }

    /// Appends the items not archived yet, one object per conversation. The object is written
    /// before the head moves, so a crash in between is repaired by the retry rewriting the same
    /// object. Returns the number of objects written.
    pub async fn archive(&self, items: Vec<LogItem>) -> Result<usize, ArchiveError> {
        let mut by_conversation: BTreeMap<ConversationId, Vec<LogItem>> = BTreeMap::new();
        for item in items {
            let conversation = match &item {
                LogItem::In(r) => r.conversation.clone(),
                LogItem::Out(r) => r.conversation.clone(),
            };
            by_conversation.entry(conversation).or_default().push(item);
        }
        let mut written = 0;
        for (conversation, items) in by_conversation {
            let head = self.head(&conversation).await?;
            if let Some(object) = next_object(&conversation, &head, &items) {
                self.store.put(&object.key, object.bytes).await?;
                let head = serde_json::to_vec(&object.head).expect("heads serialise");
                self.store.put(&head_key(&conversation), head).await?;
                written += 1;
            }
        }
        Ok(written)
    }

    /// Checks one conversation's chain end to end; `Ok(Err(break))` names the first break.
    pub async fn verify(&self, conversation: &ConversationId) -> Result<Result<ChainReport, ChainBreak>, ArchiveError> {
        let head = self.head(conversation).await?;
        let mut objects = Vec::new();
        for key in self.store.list(&conversation_prefix(conversation)).await? {
            let bytes = self.store.get(&key).await?.unwrap_or_default();
            objects.push((key, bytes));
        }
        let head = (head != ChainHead::default()).then_some(head);
        Ok(verify_chain(conversation, objects.iter().map(|(k, b)| (k.as_str(), b.as_slice())), head.as_ref()))
    }

    /// Every conversation with an archive chain.
    pub async fn conversations(&self) -> Result<Vec<ConversationId>, ArchiveError> {
        Ok(self
            .store
            .list("heads/")
            .await?
            .iter()
            .filter_map(|k| k.strip_prefix("heads/")?.strip_suffix(".json"))
            .filter_map(ConversationId::parse)
            .collect())
    }
}
