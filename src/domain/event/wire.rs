//! The tolerant wire shape of an event: every field optional, mapped to the typed model.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{EventKind, Message, MessageContent, Mode, Source};

/// LINE documents ids as strings; old payloads sometimes carry numbers. Accept both.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        S(String),
        N(serde_json::Number),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::S(s) => s,
        Id::N(n) => n.to_string(),
    }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventWire {
    #[serde(rename = "type", default)]
    event_type: String,
    timestamp: Option<i64>,
    mode: Option<String>,
    webhook_event_id: Option<String>,
    delivery_context: Option<DeliveryContext>,
    source: Option<SourceWire>,
    reply_token: Option<String>,
    message: Option<MessageWire>,
    unsend: Option<Unsend>,
    follow: Option<Follow>,
    joined: Option<Members>,
    left: Option<Members>,
    postback: Option<Postback>,
    video_play_complete: Option<VideoPlayComplete>,
    beacon: Option<Beacon>,
    link: Option<Link>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryContext {
    #[serde(default)]
    is_redelivery: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SourceWire {
    #[serde(rename = "type", default)]
    source_type: String,
    user_id: Option<String>,
    group_id: Option<String>,
    room_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageWire {
    #[serde(default, deserialize_with = "string_or_number")]
    id: Option<String>,
    #[serde(rename = "type", default)]
    message_type: String,
    text: Option<String>,
    quote_token: Option<String>,
    duration: Option<i64>,
    file_name: Option<String>,
    file_size: Option<i64>,
    title: Option<String>,
    address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    #[serde(default, deserialize_with = "string_or_number")]
    package_id: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    sticker_id: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Unsend {
    #[serde(default, deserialize_with = "string_or_number")]
    message_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Follow {
    #[serde(default)]
    is_unblocked: bool,
}

#[derive(Deserialize)]
struct Members {
    #[serde(default)]
    members: Vec<SourceWire>,
}

#[derive(Deserialize)]
struct Postback {
    #[serde(default)]
    data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoPlayComplete {
    #[serde(default)]
    tracking_id: String,
}

#[derive(Deserialize)]
struct Beacon {
    #[serde(default)]
    hwid: String,
    #[serde(rename = "type", default)]
    beacon_type: String,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    result: String,
}

impl SourceWire {
    fn into_source(self) -> Source {
        match (self.source_type.as_str(), self.user_id, self.group_id, self.room_id) {
            ("user", Some(user_id), _, _) => Source::User { user_id },
            ("group", user_id, Some(group_id), _) => Source::Group { group_id, user_id },
            ("room", user_id, _, Some(room_id)) => Source::Room { room_id, user_id },
            _ => Source::Unknown { source_type: self.source_type },
        }
    }
}

impl MessageWire {
    fn into_message(self) -> Message {
        let content = match self.message_type.as_str() {
            "text" => MessageContent::Text { text: self.text.unwrap_or_default(), quote_token: self.quote_token },
            "image" => MessageContent::Image,
            "video" => MessageContent::Video { duration_ms: self.duration },
            "audio" => MessageContent::Audio { duration_ms: self.duration },
            "file" => MessageContent::File { file_name: self.file_name, file_size: self.file_size },
            "location" => MessageContent::Location {
                title: self.title,
                address: self.address,
                latitude: self.latitude.unwrap_or_default(),
                longitude: self.longitude.unwrap_or_default(),
            },
            "sticker" => MessageContent::Sticker {
                package_id: self.package_id.unwrap_or_default(),
                sticker_id: self.sticker_id.unwrap_or_default(),
                keywords: self.keywords,
                text: self.text,
            },
            _ => MessageContent::Unknown { message_type: self.message_type },
        };
        Message { id: self.id.unwrap_or_default(), content }
    }
}

fn user_ids(members: Option<Members>) -> Vec<String> {
    members.map(|m| m.members.into_iter().filter_map(|s| s.user_id).collect()).unwrap_or_default()
}

impl EventWire {
    pub(super) fn into_event(self, raw: Box<RawValue>) -> super::Event {
        let kind = match (self.event_type.as_str(), self.message) {
            ("message", Some(m)) => EventKind::Message(m.into_message()),
            ("messageEdited", Some(m)) => EventKind::MessageEdited(m.into_message()),
            ("unsend", _) => EventKind::Unsend {
                message_id: self.unsend.and_then(|u| u.message_id).unwrap_or_default(),
            },
            ("follow", _) => EventKind::Follow { is_unblocked: self.follow.is_some_and(|f| f.is_unblocked) },
            ("unfollow", _) => EventKind::Unfollow,
            ("join", _) => EventKind::Join,
            ("leave", _) => EventKind::Leave,
            ("memberJoined", _) => EventKind::MemberJoined { user_ids: user_ids(self.joined) },
            ("memberLeft", _) => EventKind::MemberLeft { user_ids: user_ids(self.left) },
            ("postback", _) => EventKind::Postback { data: self.postback.map(|p| p.data).unwrap_or_default() },
            ("videoPlayComplete", _) => EventKind::VideoPlayComplete {
                tracking_id: self.video_play_complete.map(|v| v.tracking_id).unwrap_or_default(),
            },
            ("beacon", _) => {
                let b = self.beacon.unwrap_or(Beacon { hwid: String::new(), beacon_type: String::new() });
                EventKind::Beacon { hwid: b.hwid, beacon_type: b.beacon_type }
            }
            ("accountLink", _) => EventKind::AccountLink { result: self.link.map(|l| l.result).unwrap_or_default() },
            ("membership", _) => EventKind::Membership,
            ("module", _) => EventKind::Module,
            ("activated", _) => EventKind::Activated,
            ("deactivated", _) => EventKind::Deactivated,
            ("botSuspended", _) => EventKind::BotSuspended,
            ("botResumed", _) => EventKind::BotResumed,
            ("delivery", _) => EventKind::Delivery,
            _ => EventKind::Unknown,
        };
        let mode = match self.mode.as_deref() {
            Some("active") | None => Mode::Active,
            Some("standby") => Mode::Standby,
            Some(other) => Mode::Other(other.to_owned()),
        };
        super::Event {
            event_type: self.event_type,
            kind,
            webhook_event_id: self.webhook_event_id,
            timestamp_ms: self.timestamp,
            mode,
            is_redelivery: self.delivery_context.is_some_and(|d| d.is_redelivery),
            source: self.source.map(SourceWire::into_source),
            reply_token: self.reply_token,
            raw,
        }
    }
}
