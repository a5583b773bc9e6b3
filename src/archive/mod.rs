//! The compliance archive: a port for object storage (adapters: `dir` for local runs, `s3` for
//! AWS) and the archiver that appends each conversation's log to its hash chain.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::archive::{
    conversation_prefix, head_key, is_chain_object, next_object_with_media, not_yet_archived, sha256_hex, verify_chain, ChainBreak,
    ChainHead, ChainReport, MediaLine,
};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItem;
use crate::domain::media::media_meta_key;
use crate::line_api::LineApi;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

pub mod dir;
mod index;
mod media;
mod reconcile;
pub mod s3;

pub use media::MediaRetryReport;
pub use reconcile::Reconciliation;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive unavailable: {0}")]
    Unavailable(String),
    #[error("media retries not recorded: {0}")]
    Store(#[from] StoreError),
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
    /// Writes media content; stores that keep a content type (S3) keep this one.
    async fn put_media(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), ArchiveError> {
        self.put(key, bytes).await
    }
    /// A short-lived link a browser can fetch `key` from by itself (S3: a presigned GET), or
    /// None where there is no such thing (a folder: serve the bytes through the API instead).
    async fn presigned_get(&self, _key: &str, _ttl: std::time::Duration) -> Result<Option<String>, ArchiveError> {
        Ok(None)
    }
}

#[derive(Clone)]
pub struct Archiver {
    store: Arc<dyn ArchiveStore>,
    /// Where media content is fetched from; None archives transcripts only.
    line: Option<Arc<dyn LineApi>>,
    /// Where failed downloads are kept to be tried again; None: flagged only.
    retries: Option<Arc<dyn Store>>,
    metrics: Metrics,
}

impl Archiver {
    pub fn new(store: Arc<dyn ArchiveStore>) -> Self {
        Self { store, line: None, retries: None, metrics: Metrics::default() }
    }

    /// Also fetches the content of media messages from LINE and stores it beside the transcript.
    pub fn with_media(mut self, line: Arc<dyn LineApi>) -> Self {
        self.line = Some(line);
        self
    }

    /// Keeps each failed media download in `store` (`collections::MEDIA_RETRY`) for
    /// `retry_media` to try again while LINE still has the content.
    pub fn with_media_retries(mut self, store: Arc<dyn Store>) -> Self {
        self.retries = Some(store);
        self
    }

    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    async fn head(&self, conversation: &ConversationId) -> Result<ChainHead, ArchiveError> {
        let key = head_key(conversation);
        match self.store.get(&key).await? {
            None => Ok(ChainHead::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupt { key, problem: e.to_string() }),
        }
    }

    /// Appends the items not archived yet, one object per conversation, with the content of new
    /// media messages stored beside it (when fetching is on). The object is written
    /// before the head moves, so a crash in between is repaired by the retry rewriting the same
    /// object. Returns the number of objects written.
    pub async fn archive(&self, items: Vec<LogItem>) -> Result<usize, ArchiveError> {
        self.append(items, true).await
    }

    /// `archive`, with or without fetching media: items archived late (at TTL time) are long
    /// past the 1–2 weeks LINE keeps content, so a fetch would only raise a false alarm.
    async fn append(&self, items: Vec<LogItem>, fetch_media: bool) -> Result<usize, ArchiveError> {
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
            let media = if fetch_media { self.fetch_media(&not_yet_archived(&head, &items)).await? } else { BTreeMap::new() };
            if let Some(object) = next_object_with_media(&conversation, &head, &items, &media) {
                self.store.put(&object.key, object.bytes.clone()).await?;
                // Object, then index, then head: a crash in between is repaired by the retry.
                self.record_in_index(&object).await?;
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
            if !is_chain_object(conversation, &key) {
                continue;
            }
            let bytes = self.store.get(&key).await?.unwrap_or_default();
            objects.push((key, bytes));
        }
        let head = (head != ChainHead::default()).then_some(head);
        let mut report = match verify_chain(conversation, objects.iter().map(|(k, b)| (k.as_str(), b.as_slice())), head.as_ref()) {
            Ok(report) => report,
            Err(broken) => return Ok(Err(broken)),
        };
        // Media are covered by the chain: referenced content must be there with the line's
        // hash; a flagged failure may have been stored since by a retry.
        for line in &report.media_lines {
            match line {
                MediaLine::Stored(media) => {
                    let broken = |problem: &str| ChainBreak { key: media.key.clone(), problem: problem.to_owned() };
                    match self.store.get(&media.key).await? {
                        None => return Ok(Err(broken("media referenced by the transcript is missing"))),
                        Some(bytes) if sha256_hex(&bytes) != media.sha256 => {
                            return Ok(Err(broken("media content does not match the hash in the transcript")))
                        }
                        Some(_) => report.media.stored += 1,
                    }
                }
                MediaLine::Failed(message) => match self.store.get(&media_meta_key(message)).await? {
                    Some(_) => report.media.recovered += 1,
                    None => report.media.missing += 1,
                },
            }
        }
        Ok(Ok(report))
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
