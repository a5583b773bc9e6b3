//! One export row per log item: what a person reading a transcript in Excel needs, in the
//! account's timezone. Pure; the CSV and XLSX writers are in `crate::export`.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value;

use super::event::{Event, MessageContent, Mode};
use super::log::LogItem;

pub const HEADERS: [&str; 9] = ["time", "direction", "conversation", "sender", "event", "type", "text", "reference", "status"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow(pub [String; 9]);

fn local_time(ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms).map(|t| t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

fn inbound_content(raw: &str) -> (String, String) {
    let Ok(event) = Event::from_raw_json(raw) else { return (String::new(), String::new()) };
    match event.message().map(|m| (&m.id, &m.content)) {
        Some((_, MessageContent::Text { text, .. })) => (text.clone(), String::new()),
        Some((_, MessageContent::Sticker { package_id, sticker_id, text, .. })) => {
            (text.clone().unwrap_or_default(), format!("sticker {package_id}/{sticker_id}"))
        }
        Some((_, MessageContent::Location { title, address, latitude, longitude })) => (
            [title.as_deref(), address.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" "),
            format!("geo:{latitude},{longitude}"),
        ),
        Some((_, MessageContent::File { file_name, .. })) => {
            (file_name.clone().unwrap_or_default(), format!("message {} content", event.message().map_or("", |m| m.id.as_str())))
        }
        Some((id, _)) => (String::new(), format!("message {id} content")),
        None => (String::new(), String::new()),
    }
}

fn outbound_content(messages: &str) -> (String, String, String) {
    let messages: Vec<Value> = serde_json::from_str(messages).unwrap_or_default();
    let field = |m: &Value, k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let types: Vec<String> = messages.iter().map(|m| field(m, "type")).collect();
    let texts: Vec<String> = messages.iter().filter(|m| m["type"] == "text").map(|m| field(m, "text")).collect();
    let refs: Vec<String> = messages
        .iter()
        .filter_map(|m| match m["type"].as_str() {
            Some("sticker") => Some(format!("sticker {}/{}", field(m, "packageId"), field(m, "stickerId"))),
            Some("image") => Some(field(m, "originalContentUrl")),
            _ => None,
        })
        .collect();
    (types.join(","), texts.join("\n"), refs.join("\n"))
}

/// The readable text of a log item (message text, sticker text, file name...): what search looks at.
pub fn text_of(item: &LogItem) -> String {
    match item {
        LogItem::In(r) => inbound_content(&r.raw).0,
        LogItem::Out(r) => outbound_content(&r.messages).1,
    }
}

pub fn row(item: &LogItem, tz: &TimeZone) -> ExportRow {
    match item {
        LogItem::In(r) => {
            let (text, reference) = inbound_content(&r.raw);
            ExportRow([
                local_time(r.timestamp_ms, tz),
                "in".into(),
                r.conversation.to_string(),
                r.user_id.clone().unwrap_or_default(),
                r.event_type.clone(),
                r.message_type.clone().unwrap_or_default(),
                text,
                reference,
                if r.mode == Mode::Standby { "standby".into() } else { String::new() },
            ])
        }
        LogItem::Out(r) => {
            let (types, text, reference) = outbound_content(&r.messages);
            ExportRow([
                local_time(r.created_ms, tz),
                "out".into(),
                r.conversation.to_string(),
                "account".into(),
                r.method.as_str().into(),
                types,
                text,
                reference,
                r.status.as_str().into(),
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ConversationId, EventId};
    use crate::domain::log::{InboundRecord, OutboundRecord, OutboundStatus, SendMethod};

    #[test]
    fn the_event_column_names_the_send_method_and_the_status_column_marks_standby() {
        let out = |method| {
            let r = OutboundRecord {
                conversation: ConversationId::user("U1"),
                id: "e1".into(),
                timestamp_ms: 0,
                created_ms: 0,
                method,
                messages: "[]".into(),
                status: OutboundStatus::Sent,
                reason: String::new(),
                expires_at: None,
            };
            row(&LogItem::Out(r), &TimeZone::UTC).0[4].clone()
        };
        assert_eq!(
            [SendMethod::Reply, SendMethod::Push, SendMethod::Log, SendMethod::Other("fax".into())].map(out),
            ["reply", "push", "log", "fax"]
        );
        let inbound = |mode| {
            let r = InboundRecord {
                conversation: ConversationId::user("U1"),
                event_id: EventId::new("e1".into()),
                timestamp_ms: 0,
                received_ms: 0,
                event_type: "follow".into(),
                message_type: None,
                user_id: None,
                mode,
                is_redelivery: false,
                raw: "{}".into(),
                expires_at: None,
            };
            row(&LogItem::In(r), &TimeZone::UTC).0[8].clone()
        };
        assert_eq!([Mode::Active, Mode::Standby, Mode::Other("dormant".into())].map(inbound), ["", "standby", ""]);
    }
}
