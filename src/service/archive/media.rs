//! Media beside the transcript: the content of each new image, video, audio or file message is
//! fetched from LINE (which drops it after a week or two) and stored once, under a key derived
//! from the conversation and message id. A fetch that fails after the API client's retries is
//! recorded on the transcript line and reported (`MediaFetchFailures`); it never holds up
//! archiving, and the reply was sent before any of this runs. With a retry store, the failed
//! download is kept and `retry_media` tries it again (every 30 minutes on AWS, every 15
//! locally) until it lands or two weeks have passed (LINE has dropped the content by then).

use std::collections::BTreeMap;

use super::{content_type, ArchiveError, Archiver};
use crate::blob::BlobStore;
use crate::domain::archive::{sha256_hex, version_of, MediaOutcome};
use crate::domain::log::LogItem;
use crate::domain::media::{media_key, media_message, media_meta_key, MediaMessage, MediaRef, MediaRetry};
use crate::domain::metrics::{MEDIA_FETCH_FAILURES, MEDIA_GIVEN_UP};
use crate::errors::Fault;
use crate::line_api::LineApi;
use crate::store::{collections, Doc, PageRequest, StoreError};

/// How long one `retry_media` pass may keep trying (the archiver Lambda's timeout is 5 min);
/// what is left waits for the next pass.
const RETRY_PASS_BUDGET: std::time::Duration = std::time::Duration::from_secs(240);

/// What one `retry_media` pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MediaRetryReport {
    /// Downloaded and stored now.
    pub stored: usize,
    /// Failed again; kept for the next pass.
    pub still_failing: usize,
    /// Failed again after two weeks: dropped (ERROR log, `MediaGivenUp` metric).
    pub given_up: usize,
}

impl Archiver {
    /// Outcomes by item version, for the media messages among `items`.
    pub(super) async fn fetch_media(&self, items: &[&LogItem]) -> Result<BTreeMap<String, MediaOutcome>, ArchiveError> {
        let mut outcomes = BTreeMap::new();
        let Some(line) = &self.line else { return Ok(outcomes) };
        let mut fetches = tokio::task::JoinSet::new();
        for item in items {
            if let Some(message) = media_message(item) {
                let (store, line, version) = (self.store.clone(), line.clone(), version_of(item));
                fetches.spawn(async move {
                    let outcome = fetch_once(store.as_ref(), line.as_ref(), &message).await;
                    (version, message, outcome)
                });
            }
        }
        let mut failed = 0;
        while let Some(done) = fetches.join_next().await {
            let (version, message, outcome) =
                done.map_err(|e| ArchiveError::storage(Fault::Unavailable, format!("a media fetch did not finish: {e}"), e))?;
            let outcome = outcome?;
            if let MediaOutcome::Failed(error) = &outcome {
                failed += 1;
                // Before the transcript is written: if this cannot be kept, the batch fails
                // and its retry fetches again, so no failure goes untried.
                self.keep_for_retry(&message, error).await?;
            }
            outcomes.insert(version, outcome);
        }
        self.metrics.count(MEDIA_FETCH_FAILURES, failed);
        Ok(outcomes)
    }

    async fn keep_for_retry(&self, message: &MediaMessage, error: &str) -> Result<(), ArchiveError> {
        let Some(retries) = &self.retries else { return Ok(()) };
        let retry = MediaRetry::new(message, error, jiff::Timestamp::now().as_millisecond());
        let doc = Doc { id: retry.id(), body: serde_json::to_string(&retry).expect("retries serialise"), version: 0 };
        match retries.put_doc(collections::MEDIA_RETRY, &doc).await {
            // Kept already (a retried batch): the first failure's time stands.
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Tries every kept failed download again: stored ones leave the list, ones still failing
    /// stay until two weeks after their first failure, then are given up (ERROR log and the
    /// `MediaGivenUp` metric). Without a LINE client or a retry store there is nothing to do.
    pub async fn retry_media(&self, now_ms: i64) -> Result<MediaRetryReport, ArchiveError> {
        let mut report = MediaRetryReport::default();
        let (Some(line), Some(retries)) = (&self.line, &self.retries) else { return Ok(report) };
        let started = std::time::Instant::now();
        let mut after = None;
        'pages: loop {
            let page = retries.docs(collections::MEDIA_RETRY, &PageRequest { limit: 100, after: after.take() }).await?;
            for doc in page.items {
                if started.elapsed() > RETRY_PASS_BUDGET {
                    break 'pages;
                }
                let mut retry: MediaRetry = serde_json::from_str(&doc.body)
                    .map_err(|e| ArchiveError::corrupt(format!("{}/{}", collections::MEDIA_RETRY, doc.id), e))?;
                let outcome = fetch_once(self.store.as_ref(), line.as_ref(), &retry.message()).await?;
                let keep = match outcome {
                    MediaOutcome::Stored(_) => {
                        tracing::info!(conversation = %retry.conversation, message_id = %retry.message_id, attempts = retry.attempts + 1, "media stored on a later try");
                        report.stored += 1;
                        false
                    }
                    MediaOutcome::Failed(error) if retry.failed_again(&error, now_ms) => {
                        report.still_failing += 1;
                        true
                    }
                    MediaOutcome::Failed(_) => {
                        tracing::error!(
                            alarm = MEDIA_GIVEN_UP,
                            conversation = %retry.conversation,
                            message_id = %retry.message_id,
                            attempts = retry.attempts,
                            error = %retry.last_error,
                            "media content given up: LINE no longer has it"
                        );
                        report.given_up += 1;
                        false
                    }
                };
                let result = if keep {
                    let body = serde_json::to_string(&retry).expect("retries serialise");
                    retries.put_doc(collections::MEDIA_RETRY, &Doc { body, ..doc }).await
                } else {
                    retries.delete_doc(collections::MEDIA_RETRY, &doc.id, doc.version).await
                };
                match result {
                    // Another pass got there first: its outcome stands.
                    Ok(()) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        self.metrics.count(MEDIA_GIVEN_UP, report.given_up as u64);
        Ok(report)
    }
}

/// Stored already (a retried batch): the stored copy. Else fetched and stored now.
async fn fetch_once(store: &dyn BlobStore, line: &dyn LineApi, message: &MediaMessage) -> Result<MediaOutcome, ArchiveError> {
    let meta_key = media_meta_key(message);
    if let Some(bytes) = store.get(&meta_key).await? {
        let stored: MediaRef = serde_json::from_slice(&bytes).map_err(|e| ArchiveError::corrupt(meta_key, e))?;
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
    store.put(&stored.key, content.bytes, &content.content_type).await?;
    // The reference last: once it exists, the content is there.
    store.put(&meta_key, serde_json::to_vec(&stored).expect("media refs serialise"), content_type(&meta_key)).await?;
    tracing::info!(conversation = %message.conversation, message_id = %message.message_id, size = stored.size, "media stored");
    Ok(MediaOutcome::Stored(stored))
}
