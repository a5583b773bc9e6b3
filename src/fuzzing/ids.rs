//! Conversation ids as staff, the CLI and the stores hand them in (`user:U…`, `group:C…`,
//! `room:R…`, `other:…`, `none`), and the archive keys built from them.

use crate::domain::archive::{conversation_prefix, head_key, is_chain_object};
use crate::domain::ids::{ConversationId, EventId};

/// Any text: parsing never panics; an id it accepts renders as the same text, round-trips
/// through `Display` and serde, names its LINE id after the first colon, and keys its archive
/// objects under its own prefix. An id built from a source's id (as ingest does) parses back to
/// itself and addresses that id, whatever its characters, unless that id is empty.
pub fn conversation_id(data: &[u8]) {
    let text = super::text(data);
    if let Some(id) = ConversationId::parse(&text) {
        assert_eq!(id.to_string(), text);
        assert_eq!(ConversationId::parse(&id.to_string()).as_ref(), Some(&id));
        let json = serde_json::to_string(&id).expect("ids serialise");
        assert_eq!(serde_json::from_str::<ConversationId>(&json).expect("ids deserialise"), id);
        assert_eq!(ConversationId::from_stored(id.as_str()), id);
        assert_eq!(id.is_user(), text.starts_with("user:"));
        match id.line_id() {
            Some(line_id) => assert!(!line_id.is_empty() && text.ends_with(line_id)),
            None => assert_eq!(id, ConversationId::none()),
        }
        let object = format!("{}0000000001-2026-01-01.jsonl", conversation_prefix(&id));
        assert!(is_chain_object(&id, &object), "{object}");
        assert!(!is_chain_object(&id, &format!("{}media/1", conversation_prefix(&id))));
        assert!(head_key(&id).starts_with("heads/"));
    }
    let source_id = text.as_ref();
    for id in [ConversationId::user(source_id), ConversationId::group(source_id), ConversationId::room(source_id)] {
        assert_eq!(id.line_id(), Some(source_id));
        assert_eq!(ConversationId::parse(id.as_str()).is_some(), !source_id.is_empty(), "{id}");
    }
    let event = EventId::from_raw_digest(data);
    assert_eq!(event, EventId::from_raw_digest(data));
    assert_eq!(event.retry_key(), EventId::new(event.to_string()).retry_key(), "retry keys are stable");
}
