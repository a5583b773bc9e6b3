//! The archive's objects (JSON Lines, hash-chained), as `archive verify` reads them back from a
//! folder or S3: whatever is stored there, tampered or truncated, is only ever reported.
//! Input: one or more objects separated by NUL bytes, in chain order.

use std::collections::BTreeMap;

use crate::domain::archive::index::{index_key, DayIndex};
use crate::domain::archive::{
    next_object, next_object_with_media, parse_object, sha256_hex, verify_chain, version_of, ChainHead, MediaOutcome,
};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItem;
use crate::domain::media::{media_key, media_message};

/// Any bytes: parsing and verifying never panic, and a chain that verifies accounts for every
/// object and item. The items any object holds, archived again by `next_object`, give a chain
/// that verifies and reads back to the same items; each is then found in its day index.
pub fn archive_object(data: &[u8]) {
    let objects: Vec<(String, &[u8])> = data.split(|&b| b == 0).enumerate().map(|(i, o)| (format!("{:010}.jsonl", i + 1), o)).collect();
    let parsed: Vec<_> = objects.iter().map(|(key, bytes)| parse_object(key, bytes)).collect();
    let conversation = parsed.iter().flatten().next().map_or_else(|| ConversationId::user("U1"), |(header, _)| header.conversation.clone());
    let chain = || objects.iter().map(|(key, bytes)| (key.as_str(), *bytes));
    if let Ok(report) = verify_chain(&conversation, chain(), None) {
        assert_eq!(report.objects, objects.len());
        let items: usize = parsed.iter().map(|p| p.as_ref().expect("a verified object parses").1.len()).sum();
        assert_eq!(report.items, items);
        assert_eq!(report.last_sha256, objects.last().map(|(_, bytes)| sha256_hex(bytes)));
        // The head the archiver would have stored agrees; one claiming an object more does not.
        let head = ChainHead { seq: report.objects as u64, sha256: report.last_sha256.clone(), key: None, recent: Vec::new() };
        assert!(verify_chain(&conversation, chain(), Some(&head)).is_ok());
        let ahead = ChainHead { seq: head.seq + 1, ..head };
        assert!(verify_chain(&conversation, chain(), Some(&ahead)).is_err());
    }
    for (_, lines) in parsed.into_iter().flatten() {
        let items: Vec<LogItem> = lines.into_iter().map(|l| l.item).collect();
        rearchive(&conversation, &items);
    }
}

/// Builds the next object from `items` (with every media line failed, so flagged lines are
/// covered too) and checks it the way `archive verify` would.
fn rearchive(conversation: &ConversationId, items: &[LogItem]) {
    let Some(object) = next_object(conversation, &ChainHead::default(), items) else {
        assert!(items.is_empty(), "items to archive always make an object");
        return;
    };
    let report = verify_chain(conversation, [(object.key.as_str(), object.bytes.as_slice())], Some(&object.head))
        .unwrap_or_else(|e| panic!("a fresh object verifies: {e}"));
    assert_eq!(report.items, object.items.len());
    let (_, lines) = parse_object(&object.key, &object.bytes).expect("a fresh object parses");
    let read_back: Vec<LogItem> = lines.into_iter().map(|l| l.item).collect();
    assert_eq!(read_back, object.items, "an object reads back to the items it holds");
    assert!(next_object(conversation, &object.head, items).is_none(), "a retried batch is not archived twice");

    let mut index = DayIndex::default();
    for item in &object.items {
        index.record(item, &object.key);
        assert_eq!(index.object_of(item), Some(object.key.as_str()));
        let _ = index_key(item);
    }

    let failed: BTreeMap<String, MediaOutcome> = object
        .items
        .iter()
        .filter_map(|item| media_message(item).map(|m| (version_of(item), MediaOutcome::Failed(media_key(&m)))))
        .collect();
    if let Some(flagged) = next_object_with_media(conversation, &ChainHead::default(), items, &failed) {
        let report = verify_chain(conversation, [(flagged.key.as_str(), flagged.bytes.as_slice())], Some(&flagged.head))
            .unwrap_or_else(|e| panic!("an object with flagged media verifies: {e}"));
        assert_eq!(report.media_lines.len(), failed.len(), "every flagged media line is reported");
    }
}
