//! The compliance archive, in object storage (`crate::blob`): the archiver appends each
//! conversation's log to its hash chain, checks TTL removals against it (`reconcile`) and fills
//! what it missed (`backfill`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::blob::{BlobError, BlobStore};
use crate::domain::archive::{next_object_with_media, not_yet_archived, sha256_hex, ChainBreak, ChainReport, MediaLine};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItem;
use crate::domain::media::media_meta_key;
use crate::errors::{BoxError, Fault};
use crate::line_api::LineApi;
use crate::metrics::Metrics;
use crate::store::{Documents, Store, StoreError};

pub mod backfill;
mod chain;
mod index;
mod media;
mod reconcile;

pub use backfill::{BackfillError, BackfillReport, BackfillRun, FilledConversation};
pub use media::MediaRetryReport;
pub use reconcile::Reconciliation;

use self::chain::Chain;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive's storage (the bucket, the folder) failed; `fault` says whether a retry may help.
    #[error("archive unavailable: {detail}")]
    Storage {
        fault: Fault,
        detail: String,
        #[source]
        source: Option<BlobError>,
    },
    #[error("media retries not recorded: {0}")]
    Store(#[from] StoreError),
    #[error("corrupt archive object {key}: {problem}")]
    Corrupt {
        key: String,
        problem: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl ArchiveError {
    /// A failure on the way to the archive's storage (a task that did not finish).
    pub fn storage(fault: Fault, detail: impl Into<String>, source: impl Into<BoxError>) -> Self {
        BlobError::new(fault, detail, Some(source.into())).into()
    }

    /// An object of ours that does not parse: `source` (a serde error) says why.
    pub fn corrupt(key: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Corrupt { key: key.into(), problem: source.to_string(), source: Some(Box::new(source)) }
    }
}

/// The storage failed; the blob store's error is the source, and says the same.
impl From<BlobError> for ArchiveError {
    fn from(e: BlobError) -> Self {
        Self::Storage { fault: e.fault, detail: e.detail.clone(), source: Some(e) }
    }
}

/// Content types of the archive's own objects: transcripts are JSON Lines, heads, indexes and
/// media references JSON.
fn content_type(key: &str) -> &'static str {
    if key.ends_with(".jsonl") {
        "application/x-ndjson"
    } else {
        "application/json"
    }
}

/// A conversation's chains as `verify_chains` found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChains {
    /// Both chains together.
    pub all: ChainReport,
    /// What of it the backfill sweep archived.
    pub backfill_objects: usize,
    pub backfill_items: usize,
}

#[derive(Clone)]
pub struct Archiver {
    store: Arc<dyn BlobStore>,
    /// Where media content is fetched from; None archives transcripts only.
    line: Option<Arc<dyn LineApi>>,
    /// Where failed downloads are kept to be tried again; None: flagged only.
    retries: Option<Arc<dyn Documents>>,
    /// The log the backfill sweep walks (`backfill`); None: the archiver has no sweep to run.
    table: Option<Arc<dyn Store>>,
    metrics: Metrics,
}

impl Archiver {
    pub fn new(store: Arc<dyn BlobStore>) -> Self {
        Self { store, line: None, retries: None, table: None, metrics: Metrics::default() }
    }

    /// Also fetches the content of media messages from LINE and stores it beside the transcript.
    pub fn with_media(mut self, line: Arc<dyn LineApi>) -> Self {
        self.line = Some(line);
        self
    }

    /// Keeps each failed media download in `store` (`collections::MEDIA_RETRY`) for
    /// `retry_media` to try again while LINE still has the content.
    pub fn with_media_retries(mut self, store: Arc<dyn Documents>) -> Self {
        self.retries = Some(store);
        self
    }

    /// The log the scheduled backfill sweep walks (`{"task": "backfill"}`, the local archive task).
    pub fn with_table(mut self, store: Arc<dyn Store>) -> Self {
        self.table = Some(store);
        self
    }

    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Writes one of the archive's own objects (a transcript, a head, an index).
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        Ok(self.store.put(key, bytes, content_type(key)).await?)
    }

    /// A small JSON object of ours (a head, a day index); absent reads as empty.
    async fn read_json<T: Default + serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, ArchiveError> {
        match self.store.get(key).await? {
            None => Ok(T::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| ArchiveError::corrupt(key, e)),
        }
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn table(&self) -> Option<&dyn Store> {
        self.table.as_deref()
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
            let head = self.read_head(&Chain::Main.head_key(&conversation)).await?;
            let media = if fetch_media { self.fetch_media(&not_yet_archived(&head, &items)).await? } else { BTreeMap::new() };
            if let Some(object) = next_object_with_media(&conversation, &head, &items, &media) {
                self.put(&object.key, object.bytes.clone()).await?;
                // Object, then index, then head: a crash in between is repaired by the retry.
                self.record_in_index(Chain::Main, &object.key, &object.items).await?;
                let head = serde_json::to_vec(&object.head).expect("heads serialise");
                self.put(&Chain::Main.head_key(&conversation), head).await?;
                written += 1;
            }
        }
        Ok(written)
    }

    /// Checks a conversation's chains end to end (the main chain, then the backfill sweep's);
    /// `Ok(Err(break))` names the first break. The report counts both.
    pub async fn verify(&self, conversation: &ConversationId) -> Result<Result<ChainReport, ChainBreak>, ArchiveError> {
        Ok(self.verify_chains(conversation).await?.map(|v| v.all))
    }

    /// `verify`, also saying what of it the backfill sweep archived.
    pub async fn verify_chains(&self, conversation: &ConversationId) -> Result<Result<VerifiedChains, ChainBreak>, ArchiveError> {
        let mut all = match self.verify_one(conversation, Chain::Main).await? {
            Ok(report) => report,
            Err(broken) => return Ok(Err(broken)),
        };
        let backfill = match self.verify_one(conversation, Chain::Backfill).await? {
            Ok(report) => report,
            Err(broken) => return Ok(Err(broken)),
        };
        all.objects += backfill.objects;
        all.items += backfill.items;
        all.media_lines.extend(backfill.media_lines.iter().cloned());
        // Media are covered by the chain: referenced content must be there with the line's
        // hash; a flagged failure may have been stored since by a retry.
        for line in &all.media_lines {
            match line {
                MediaLine::Stored(media) => {
                    let broken = |problem: &str| ChainBreak { key: media.key.clone(), problem: problem.to_owned() };
                    match self.store.get(&media.key).await? {
                        None => return Ok(Err(broken("media referenced by the transcript is missing"))),
                        Some(bytes) if sha256_hex(&bytes) != media.sha256 => {
                            return Ok(Err(broken("media content does not match the hash in the transcript")))
                        }
                        Some(_) => all.media.stored += 1,
                    }
                }
                MediaLine::Failed(message) => match self.store.get(&media_meta_key(message)).await? {
                    Some(_) => all.media.recovered += 1,
                    None => all.media.missing += 1,
                },
            }
        }
        Ok(Ok(VerifiedChains { all, backfill_objects: backfill.objects, backfill_items: backfill.items }))
    }

    /// Every conversation with an archive chain (main or backfill).
    pub async fn conversations(&self) -> Result<Vec<ConversationId>, ArchiveError> {
        let heads = self.store.list("heads/").await?;
        let ids: std::collections::BTreeSet<ConversationId> = heads
            .iter()
            .filter_map(|k| k.strip_prefix("heads/")?.strip_suffix(".json"))
            .filter_map(|name| ConversationId::parse(name.strip_prefix("backfill/").unwrap_or(name)))
            .collect();
        Ok(ids.into_iter().collect())
    }
}
