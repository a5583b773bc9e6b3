//! The manual-reply request body (`POST /api/conversations/{id}/messages`): serde into the
//! service's `ManualReply`, then the checks `send_manual` runs before any I/O.
//!
//! `ManualMessage` is private to the service and its conversion sits in an async function
//! (a canned reply is looked up in the store), so the pure checks are restated here from
//! `service/operator/reply.rs`: 1 to 5 messages, texts of at most 5000 UTF-16 units, each
//! message valid, `prepare` for LINE. (The `client_id` check reads the store.)

use serde_json::Value;

use crate::domain::outbound::{prepare, utf16_len, OutboundMessage, MAX_MESSAGES_PER_REQUEST, MAX_TEXT_UTF16};
use crate::service::operator::ManualReply;

/// What a canned reply stands for here: its text was checked when it was saved.
const CANNED_TEXT: &str = "canned";

/// Any body: serde accepts it or names the problem; never a panic. An accepted body's text,
/// sticker and image messages are exactly the shapes of `OutboundMessage` (a `canned` one is
/// an id), and a body that passes the service's checks is prepared for LINE unchanged: no
/// message split, none refused, at most five.
pub fn manual_reply(data: &[u8]) {
    let reply = match serde_json::from_slice::<ManualReply>(data) {
        Ok(reply) => reply,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    // serde also reads a struct from an array of its fields (`[[…], "key"]`) and an internally
    // tagged message from an array led by its tag (`["text", "hi"]`): the same rules apply.
    let value: Value = serde_json::from_slice(data).expect("an accepted body is JSON");
    let field = |v: &Value, name: &str, index: usize| v.get(name).or_else(|| v.get(index)).cloned().unwrap_or_default();
    let elements = field(&value, "messages", 0);
    let elements = elements.as_array().expect("an accepted body has a messages array");
    assert_eq!(elements.len(), reply.messages.len());
    let messages: Vec<OutboundMessage> = elements
        .iter()
        .map(|m| match field(m, "type", 0).as_str() {
            Some("canned") => {
                assert!(field(m, "id", 1).is_string(), "a canned message names its id: {m}");
                OutboundMessage::text(CANNED_TEXT)
            }
            _ => serde_json::from_value::<OutboundMessage>(m.clone())
                .unwrap_or_else(|e| panic!("accepted as a manual message, refused as an outbound one ({e}): {m}")),
        })
        .collect();

    let checked = (1..=MAX_MESSAGES_PER_REQUEST).contains(&messages.len())
        && messages.iter().all(|m| match m {
            OutboundMessage::Text { text } => utf16_len(text) <= MAX_TEXT_UTF16 && m.validate().is_ok(),
            other => other.validate().is_ok(),
        });
    let prepared = prepare(&messages);
    if checked {
        assert_eq!(prepared.as_ref(), Ok(&messages), "a checked reply goes to LINE as written");
        for (m, json) in messages.iter().zip(prepared.iter().flatten().map(OutboundMessage::to_line_json)) {
            assert_eq!(json["type"], m.type_name());
        }
    }
}
