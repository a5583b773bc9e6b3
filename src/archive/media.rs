//! Media beside the transcript: the content of each new image, video, audio or file message is
//! fetched from LINE (which drops it after a week or two) and stored once, under a key derived
//! from the conversation and message id. A fetch that fails after the API client's retries is
//! recorded on the transcript line and reported (`MediaFetchFailures`); it never holds up
//! archiving, and the reply was sent before any of this runs.

use std::collections::BTreeMap;

use super::{ArchiveError, ArchiveStore, Archiver};
use crate::domain::archive::{sha256_hex, version_of, MediaOutcome};
use crate::domain::log::LogItem;
use crate::domain::media::{media_key, media_message, media_meta_key, MediaMessage, MediaRef};
use crate::domain::metrics::MEDIA_FETCH_FAILURES;
use crate::line_api::LineApi;

impl Archiver {
    /// Outcomes by item version, for the media messages among `items`.
    pub(super) async fn fetch_media(&self, items: &[&LogItem]) -> Result<BTreeMap<String, MediaOutcome>, ArchiveError> {
        let mut outcomes = BTreeMap::new();
        let Some(line) = &self.line else { return Ok(outcomes) };
        let mut fetches = tokio::task::JoinSet::new();
        for item in items {
            if let Some(message) = media_message(item) {
                let (store, line, version) = (self.store.clone(), line.clone(), version_of(item));
                fetches.spawn(async move { (version, fetch_once(store.as_ref(), line.as_ref(), &message).await) });
            }
        }
        let mut failed = 0;
        while let Some(done) = fetches.join_next().await {
            let (version, outcome) = done.map_err(|e| ArchiveError::Unavailable(e.to_string()))?;
            let outcome = outcome?;
            if let MediaOutcome::Failed(_) = outcome {
                failed += 1;
            }
            outcomes.insert(version, outcome);
        }
        self.metrics.count(MEDIA_FETCH_FAILURES, failed);
        Ok(outcomes)
    }
}

/// Stored already (a retried batch): the stored copy. Else fetched and stored now.
async fn fetch_once(store: &dyn ArchiveStore, line: &dyn LineApi, message: &MediaMessage) -> Result<MediaOutcome, ArchiveError> {
    let meta_key = media_meta_key(message);
    if let Some(bytes) = store.get(&meta_key).await? {
        let stored: MediaRef =
            serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupt { key: meta_key, problem: e.to_string() })?;
        return Ok(MediaOutcome::Stored(stored));
    }
    let content = match line.content(&message.message_id).await {
        Ok(content) => content,
        Err(e) => {
            tracing::error!(
                alarm = MEDIA_FETCH_FAILURES,
                conversation = %message.conversation,
                message_id = %message.message_id,
                error = %e,
                "could not fetch media content from LINE; flagged on the transcript"
            );
            return Ok(MediaOutcome::Failed(e.to_string()));
        }
    };
    let stored = MediaRef {
        key: media_key(message),
        content_type: content.content_type.clone(),
        size: content.bytes.len() as u64,
        sha256: sha256_hex(&content.bytes),
    };
    store.put_media(&stored.key, content.bytes, &content.content_type).await?;
    // The reference last: once it exists, the content is there.
    store.put(&meta_key, serde_json::to_vec(&stored).expect("media refs serialise")).await?;
    tracing::info!(conversation = %message.conversation, message_id = %message.message_id, size = stored.size, "media stored");
    Ok(MediaOutcome::Stored(stored))
}
