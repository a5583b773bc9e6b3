use super::*;
use crate::domain::event::Mode;
use crate::domain::ids::EventId;
use crate::domain::log::{InboundRecord, OutboundRecord, OutboundStatus, SendMethod};

fn conv() -> ConversationId {
    ConversationId::user("U1")
}

fn inbound(id: &str, ts: i64) -> LogItem {
    LogItem::In(InboundRecord {
        conversation: conv(),
        event_id: EventId::new(id.into()),
        timestamp_ms: ts,
        received_ms: ts,
        event_type: "message".into(),
        message_type: Some("text".into()),
        user_id: Some("U1".into()),
        mode: Mode::Active,
        is_redelivery: false,
        raw: format!(r#"{{"id":"{id}","text":"こんにちは"}}"#),
        expires_at: None,
    })
}

fn reply(id: &str, ts: i64, status: OutboundStatus) -> LogItem {
    LogItem::Out(OutboundRecord {
        conversation: conv(),
        id: id.into(),
        timestamp_ms: ts,
        created_ms: ts,
        method: SendMethod::Reply,
        messages: "[]".into(),
        status,
        reason: "r".into(),
        expires_at: None,
    })
}

fn chain(batches: &[Vec<LogItem>]) -> (Vec<ArchiveObject>, ChainHead) {
    let mut head = ChainHead::default();
    let mut objects = Vec::new();
    for batch in batches {
        if let Some(o) = next_object(&conv(), &head, batch) {
            head = o.head.clone();
            objects.push(o);
        }
    }
    (objects, head)
}

fn verify(objects: &[ArchiveObject], head: &ChainHead) -> Result<ChainReport, ChainBreak> {
    verify_chain(&conv(), objects.iter().map(|o| (o.key.as_str(), o.bytes.as_slice())), Some(head))
}

#[test]
fn a_chain_links_each_object_to_the_one_before_and_verifies() {
    let (objects, head) = chain(&[
        vec![inbound("a", 1_764_000_000_000), reply("a", 1_764_000_000_000, OutboundStatus::Sending)],
        vec![reply("a", 1_764_000_000_000, OutboundStatus::Sent), inbound("b", 1_764_000_100_000)],
    ]);
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0].key, "transcripts/user:U1/0000000001-2025-11-24.jsonl");
    let report = verify(&objects, &head).unwrap();
    assert_eq!((report.objects, report.items), (2, 4), "both versions of the reply are kept");
    let (h2, _) = parse_object(&objects[1].key, &objects[1].bytes).unwrap();
    assert_eq!(h2.prev_sha256, Some(sha256_hex(&objects[0].bytes)));
}

#[test]
fn a_retried_batch_is_not_archived_twice_and_rebuilds_the_same_bytes() {
    let batch = vec![inbound("a", 1), inbound("b", 2)];
    let first = next_object(&conv(), &ChainHead::default(), &batch).unwrap();
    assert_eq!(next_object(&conv(), &ChainHead::default(), &batch).unwrap(), first, "deterministic");
    assert!(next_object(&conv(), &first.head, &batch).is_none(), "already archived");
    let more = next_object(&conv(), &first.head, &[inbound("b", 2), inbound("c", 3)]).unwrap();
    assert_eq!(parse_object(&more.key, &more.bytes).unwrap().1.len(), 1, "only the new item");
}

#[test]
fn tampering_missing_objects_and_reordering_are_reported_with_the_first_break() {
    let (objects, head) = chain(&[vec![inbound("a", 1)], vec![inbound("b", 2)], vec![inbound("c", 3)]]);
    let mut edited = objects.clone();
    let text = String::from_utf8(edited[1].bytes.clone()).unwrap().replace("こんにちは", "さようなら");
    edited[1].bytes = text.into_bytes();
    let err = verify(&edited, &head).unwrap_err();
    assert_eq!(err.key, objects[1].key);
    assert!(err.problem.contains("altered"), "{err}");

    let missing = vec![objects[0].clone(), objects[2].clone()];
    assert!(verify(&missing, &head).unwrap_err().problem.contains("sequence"));
    let truncated = &objects[..2];
    assert!(verify(truncated, &head).unwrap_err().problem.contains("head"));
    let mut relinked = objects.clone();
    let (mut h, lines) = parse_object(&relinked[2].key, &relinked[2].bytes).unwrap();
    h.prev_sha256 = Some("0".repeat(64));
    let mut bytes = serde_json::to_vec(&h).unwrap();
    for l in lines {
        bytes.push(b'\n');
        bytes.extend(serde_json::to_vec(&l).unwrap());
    }
    relinked[2].bytes = bytes;
    assert!(verify(&relinked, &head).unwrap_err().problem.contains("previous-object hash"));
}
