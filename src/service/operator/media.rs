//! The media a user sent, from the project's own copy in the archive (never LINE's content
//! URL, which expires): a presigned link where the archive has them (S3), else the bytes
//! through the API to an authenticated operator.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::OperatorError;
use crate::blob::{BlobStore, Link};
use crate::domain::ids::ConversationId;
use crate::domain::media::{media_key, media_meta_key, MediaMessage, MediaRef};
use crate::errors::Fault;
use crate::service::archive::ArchiveError;

/// How long a presigned media link works: enough to load the page, short enough not to leak.
pub const MEDIA_LINK_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MediaLink {
    /// A presigned GET to the archive bucket, valid `expires_in_secs`.
    Presigned { url: String, expires_in_secs: u64 },
    /// No link of its own: fetch the bytes through the API with the bearer credential.
    ThroughApi,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaCopy {
    pub content_type: String,
    pub size: u64,
    pub link: MediaLink,
}

/// The use case: the archive is its only port.
#[derive(Clone)]
pub struct MediaCopies {
    archive: Arc<dyn BlobStore>,
}

fn message(conversation: &ConversationId, message_id: &str) -> Result<MediaMessage, OperatorError> {
    // LINE's message ids are digits; anything else could walk out of the conversation's folder.
    if message_id.is_empty() || message_id.len() > 64 || !message_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(OperatorError::invalid("message_id", format!("{message_id:?} is not a LINE message id")));
    }
    Ok(MediaMessage { conversation: conversation.clone(), message_id: message_id.to_owned(), message_type: String::new() })
}

impl MediaCopies {
    pub fn new(archive: Arc<dyn BlobStore>) -> Self {
        Self { archive }
    }

    /// Where the copy of a message's content is; NotFound while it is not archived (yet).
    pub async fn find(&self, conversation: &ConversationId, message_id: &str) -> Result<MediaCopy, OperatorError> {
        let m = message(conversation, message_id)?;
        let meta = self.archive.get(&media_meta_key(&m)).await.map_err(ArchiveError::from)?.ok_or_else(|| not_archived(message_id))?;
        let reference: MediaRef = serde_json::from_slice(&meta).map_err(|e| ArchiveError::corrupt(media_meta_key(&m), e))?;
        let link = match self.archive.link(&media_key(&m), MEDIA_LINK_TTL, None).await {
            Ok(Link::Url { url, expires_in_secs }) => MediaLink::Presigned { url, expires_in_secs },
            // A folder's copy has no link of its own; `content` serves it (or says it is missing).
            Ok(Link::File { .. }) => MediaLink::ThroughApi,
            Err(e) if e.fault == Fault::NotFound => MediaLink::ThroughApi,
            Err(e) => return Err(ArchiveError::from(e).into()),
        };
        Ok(MediaCopy { content_type: reference.content_type, size: reference.size, link })
    }

    /// The bytes and their content type.
    pub async fn content(&self, conversation: &ConversationId, message_id: &str) -> Result<(String, Vec<u8>), OperatorError> {
        let copy = self.find(conversation, message_id).await?;
        let m = message(conversation, message_id)?;
        let bytes = self.archive.get(&media_key(&m)).await.map_err(ArchiveError::from)?.ok_or_else(|| not_archived(message_id))?;
        Ok((copy.content_type, bytes))
    }
}

fn not_archived(message_id: &str) -> OperatorError {
    OperatorError::NotFound(format!("a stored copy of message {message_id} (media is copied within seconds of arriving; try again)"))
}
