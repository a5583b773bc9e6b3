//! The compliance archive's format, pure: JSON Lines objects per conversation, each naming the
//! SHA-256 of the one before it (a hash chain), and the check that walks a chain.
//!
//! An object is a header line then one line per log item:
//! `{"schema":"line-oa/archive/v1","conversation":"user:U…","seq":3,"prev_sha256":"…","count":2,"first_ms":…,"last_ms":…}`
//! `{"version":"<sha256 of the item, 16 bytes hex>","item":{"dir":"in",…}}`

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ids::ConversationId;
use super::log::LogItem;
use super::media::{media_message, MediaMessage, MediaRef};

pub mod index;

pub const SCHEMA: &str = "line-oa/archive/v1";
/// Item versions a chain head remembers, so a retried batch is not archived twice.
const RECENT_VERSIONS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub schema: String,
    pub conversation: ConversationId,
    pub seq: u64,
    pub prev_sha256: Option<String>,
    pub count: usize,
    pub first_ms: i64,
    pub last_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub version: String,
    pub item: LogItem,
    /// The message's image, video, audio or file, stored beside the transcript (inbound media
    /// messages whose content LINE hosts). Covered by the object's hash, so by the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaRef>,
    /// Why the media could not be fetched (after retries): flagged, not silently missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_error: Option<String>,
}

/// What became of a media message's content when its line was archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaOutcome {
    Stored(MediaRef),
    Failed(String),
}

/// Where a conversation's chain ends: stored beside the objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub sha256: Option<String>,
    pub key: Option<String>,
    pub recent: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveObject {
    pub key: String,
    pub bytes: Vec<u8>,
    pub head: ChainHead,
    /// The items it holds, for the day index.
    pub items: Vec<LogItem>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An item's version: the same item in the same state always has the same version.
pub fn version_of(item: &LogItem) -> String {
    let json = serde_json::to_vec(item).expect("log items serialise");
    sha256_hex(&json)[..32].to_owned()
}

pub fn conversation_prefix(conversation: &ConversationId) -> String {
    format!("transcripts/{conversation}/")
}

/// Whether a key under `conversation_prefix` is one of the chain's objects (not media).
pub fn is_chain_object(conversation: &ConversationId, key: &str) -> bool {
    key.strip_prefix(&conversation_prefix(conversation)).is_some_and(|rest| !rest.contains('/') && rest.ends_with(".jsonl"))
}

pub fn head_key(conversation: &ConversationId) -> String {
    format!("heads/{conversation}.json")
}

/// The next object of a conversation's chain holding the items not archived yet, or None.
/// Deterministic: a retry of the same batch after the same head gives the same bytes and key.
pub fn next_object(conversation: &ConversationId, head: &ChainHead, items: &[LogItem]) -> Option<ArchiveObject> {
    next_object_with_media(conversation, head, items, &BTreeMap::new())
}

/// Items not archived yet: what the archiver fetches media for before building the object.
pub fn not_yet_archived<'a>(head: &ChainHead, items: &'a [LogItem]) -> Vec<&'a LogItem> {
    items.iter().filter(|item| !head.recent.contains(&version_of(item))).collect()
}

/// `next_object`, with each media message's outcome (by the item's version) on its line.
pub fn next_object_with_media(
    conversation: &ConversationId,
    head: &ChainHead,
    items: &[LogItem],
    media: &BTreeMap<String, MediaOutcome>,
) -> Option<ArchiveObject> {
    let mut lines: Vec<Line> = items
        .iter()
        .map(|item| {
            let version = version_of(item);
            let (media, media_error) = match media.get(&version) {
                Some(MediaOutcome::Stored(m)) => (Some(m.clone()), None),
                Some(MediaOutcome::Failed(e)) => (None, Some(e.clone())),
                None => (None, None),
            };
            Line { version, item: item.clone(), media, media_error }
        })
        .filter(|l| !head.recent.contains(&l.version))
        .collect();
    lines.sort_by(|a, b| (a.item.timestamp_ms(), &a.version).cmp(&(b.item.timestamp_ms(), &b.version)));
    lines.dedup_by(|a, b| a.version == b.version);
    let first_ms = lines.first()?.item.timestamp_ms();
    let header = Header {
        schema: SCHEMA.to_owned(),
        conversation: conversation.clone(),
        seq: head.seq + 1,
        prev_sha256: head.sha256.clone(),
        count: lines.len(),
        first_ms,
        last_ms: lines.last()?.item.timestamp_ms(),
    };
    let mut bytes = serde_json::to_vec(&header).expect("headers serialise");
    for line in &lines {
        bytes.push(b'\n');
        bytes.extend(serde_json::to_vec(line).expect("lines serialise"));
    }
    bytes.push(b'\n');
    let date = jiff::Timestamp::from_millisecond(first_ms).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default();
    let key = format!("{}{:010}-{date}.jsonl", conversation_prefix(conversation), header.seq);
    let mut recent = head.recent.clone();
    recent.extend(lines.iter().map(|l| l.version.clone()));
    let overflow = recent.len().saturating_sub(RECENT_VERSIONS);
    recent.drain(..overflow);
    let head = ChainHead { seq: header.seq, sha256: Some(sha256_hex(&bytes)), key: Some(key.clone()), recent };
    let items = lines.into_iter().map(|l| l.item).collect();
    Some(ArchiveObject { key, bytes, head, items })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain broken at {key}: {problem}")]
pub struct ChainBreak {
    pub key: String,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub objects: usize,
    pub items: usize,
    pub last_sha256: Option<String>,
    /// The media the chain's lines reference, in chain order: what the archiver then checks
    /// in the store (`verify_chain` itself does no I/O).
    pub media_lines: Vec<MediaLine>,
    /// Media as found in the store (filled by the archiver, which reads the content).
    pub media: MediaCheck,
}

/// A transcript line's media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaLine {
    /// Stored at first download: the content must match this reference's hash.
    Stored(MediaRef),
    /// Flagged failed on its line: a later try may have stored it since.
    Failed(MediaMessage),
}

/// The media a chain references, as found in the archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaCheck {
    /// Stored at first download, content matching the line's hash.
    pub stored: usize,
    /// Flagged failed on its line, stored since by a later try.
    pub recovered: usize,
    /// Flagged failed on its line, still not stored.
    pub missing: usize,
}

pub fn parse_object(key: &str, bytes: &[u8]) -> Result<(Header, Vec<Line>), ChainBreak> {
    let broken = |problem: String| ChainBreak { key: key.to_owned(), problem };
    let text = std::str::from_utf8(bytes).map_err(|_| broken("not UTF-8".into()))?;
    let mut lines = text.lines();
    let header: Header = serde_json::from_str(lines.next().unwrap_or_default()).map_err(|e| broken(format!("bad header: {e}")))?;
    let items: Vec<Line> = lines
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| broken(format!("line {}: {e}", i + 2))))
        .collect::<Result<_, _>>()?;
    Ok((header, items))
}

/// Walks one conversation's objects in key order and reports the first break: a missing or
/// repeated sequence number, a previous-hash mismatch, a bad header, or an item whose content
/// no longer matches its recorded version (an edited object).
pub fn verify_chain<'a>(
    conversation: &ConversationId,
    objects: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    head: Option<&ChainHead>,
) -> Result<ChainReport, ChainBreak> {
    let mut prev: Option<String> = None;
    let mut report = ChainReport { objects: 0, items: 0, last_sha256: None, media_lines: Vec::new(), media: MediaCheck::default() };
    for (key, bytes) in objects {
        let broken = |problem: String| ChainBreak { key: key.to_owned(), problem };
        let (header, lines) = parse_object(key, bytes)?;
        if header.schema != SCHEMA || &header.conversation != conversation {
            return Err(broken(format!("header is for {} / {}", header.schema, header.conversation)));
        }
        if header.seq != report.objects as u64 + 1 {
            return Err(broken(format!("sequence {} where {} was expected", header.seq, report.objects + 1)));
        }
        if header.prev_sha256 != prev {
            return Err(broken("previous-object hash does not match the previous object".into()));
        }
        if header.count != lines.len() {
            return Err(broken(format!("header says {} items, found {}", header.count, lines.len())));
        }
        if let Some(bad) = lines.iter().find(|l| version_of(&l.item) != l.version) {
            return Err(broken(format!("item {} was altered", bad.version)));
        }
        report.media_lines.extend(lines.iter().filter_map(|line| match (&line.media, &line.media_error) {
            (Some(media), _) => Some(MediaLine::Stored(media.clone())),
            (None, Some(_)) => media_message(&line.item).map(MediaLine::Failed),
            (None, None) => None,
        }));
        let sha = sha256_hex(bytes);
        report.objects += 1;
        report.items += lines.len();
        prev = Some(sha.clone());
        report.last_sha256 = Some(sha);
    }
    if let Some(head) = head {
        if head.sha256 != report.last_sha256 || head.seq != report.objects as u64 {
            let key = head.key.clone().unwrap_or_else(|| head_key(conversation));
            return Err(ChainBreak { key, problem: "the chain head does not match the last object (an object is missing)".into() });
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
