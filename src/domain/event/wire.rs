//! The tolerant wire shape of an event: every field optional, mapped to the typed model.

use std::borrow::Cow;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{EventKind, Message, MessageContent, Mode, Source};

/// LINE documents ids as strings; old payloads sometimes carry numbers. Accept both, read
/// straight from the token (an `untagged` enum would buffer every id first).
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Id;
    impl<'de> Visitor<'de> for Id {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(serde_json::Number::from_f64(v).map(|n| n.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Id)
        }
    }
    d.deserialize_any(Id)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventWire<'a> {
    #[serde(rename = "type", default)]
    event_type: String,
    timestamp: Option<i64>,
    #[serde(borrow)]
    mode: Option<Cow<'a, str>>,
    webhook_event_id: Option<String>,
    delivery_context: Option<DeliveryContext>,
    #[serde(borrow)]
    source: Option<SourceWire<'a>>,
    reply_token: Option<String>,
    #[serde(borrow)]
    message: Option<MessageWire<'a>>,
    unsend: Option<Unsend>,
    follow: Option<Follow>,
    #[serde(borrow)]
    joined: Option<Members<'a>>,
    #[serde(borrow)]
    left: Option<Members<'a>>,
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
struct SourceWire<'a> {
    #[serde(rename = "type", default, borrow)]
    source_type: Cow<'a, str>,
    user_id: Option<String>,
    group_id: Option<String>,
    room_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageWire<'a> {
    #[serde(default, deserialize_with = "string_or_number")]
    id: Option<String>,
    #[serde(rename = "type", default, borrow)]
    message_type: Cow<'a, str>,
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
struct Members<'a> {
    #[serde(default, borrow)]
    members: Vec<SourceWire<'a>>,
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

impl SourceWire<'_> {
    fn into_source(self) -> Source {
        match (&*self.source_type, self.user_id, self.group_id, self.room_id) {
            ("user", Some(user_id), _, _) => Source::User { user_id },
            ("group", user_id, Some(group_id), _) => Source::Group { group_id, user_id },
            ("room", user_id, _, Some(room_id)) => Source::Room { room_id, user_id },
            _ => Source::Unknown { source_type: self.source_type.into_owned() },
        }
    }
}

impl MessageWire<'_> {
    fn into_message(self) -> Message {
        let content = match &*self.message_type {
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
            _ => MessageContent::Unknown { message_type: self.message_type.into_owned() },
        };
        Message { id: self.id.unwrap_or_default(), content }
    }
}

fn user_ids(members: Option<Members<'_>>) -> Vec<String> {
    members.map(|m| m.members.into_iter().filter_map(|s| s.user_id).collect()).unwrap_or_default()
}

impl EventWire<'_> {
    pub(super) fn into_event(self, raw: Box<RawValue>) -> super::Event {
        let kind = match (self.event_type.as_str(), self.message) {
            ("message", Some(m)) => EventKind::Message(m.into_message()),
            ("messageEdited", Some(m)) => EventKind::MessageEdited(m.into_message()),
            ("unsend", _) => EventKind::Unsend { message_id: self.unsend.and_then(|u| u.message_id).unwrap_or_default() },
            ("follow", _) => EventKind::Follow { is_unblocked: self.follow.is_some_and(|f| f.is_unblocked) },
            ("unfollow", _) => EventKind::Unfollow,
            ("join", _) => EventKind::Join,
            ("leave", _) => EventKind::Leave,
            ("memberJoined", _) => EventKind::MemberJoined { user_ids: user_ids(self.joined) },
            ("memberLeft", _) => EventKind::MemberLeft { user_ids: user_ids(self.left) },
            ("postback", _) => EventKind::Postback { data: self.postback.map(|p| p.data).unwrap_or_default() },
            ("videoPlayComplete", _) => {
                EventKind::VideoPlayComplete { tracking_id: self.video_play_complete.map(|v| v.tracking_id).unwrap_or_default() }
            }
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
        // LINE sends `mode` on every event; one without it is taken as active.
        let mode = self.mode.as_deref().map_or(Mode::Active, Mode::from_name);
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
