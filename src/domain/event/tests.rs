use super::*;

#[test]
fn a_text_message_from_a_user_is_typed() {
    let body = br#"{"destination":"Ub","events":[{"type":"message","message":{"type":"text","id":"1","text":"hi","quoteToken":"q"},"webhookEventId":"01H","deliveryContext":{"isRedelivery":false},"timestamp":1700000000000,"source":{"type":"user","userId":"U1"},"replyToken":"r","mode":"active"}]}"#;
    let parsed = WebhookBody::parse(body).unwrap();
    let e = &parsed.events[0];
    assert_eq!(e.text(), Some("hi"));
    assert_eq!(e.id().as_str(), "01H");
    assert_eq!(e.conversation_id().as_str(), "user:U1");
    assert_eq!(e.reply_token.as_deref(), Some("r"));
    assert_eq!(e.mode, Mode::Active);
    assert_eq!(e.timestamp_ms, Some(1_700_000_000_000));
}

#[test]
fn unknown_event_source_and_message_types_are_kept_raw() {
    let body = br#"{"events":[{"type":"greatNewFeature","x":1},{"type":"message","message":{"type":"hologram","id":"9"},"source":{"type":"planet","planetId":"P"}}, 42]}"#;
    let parsed = WebhookBody::parse(body).unwrap();
    assert_eq!(parsed.events.len(), 3);
    assert_eq!(parsed.events[0].kind, EventKind::Unknown);
    assert_eq!(parsed.events[0].raw.get(), r#"{"type":"greatNewFeature","x":1}"#);
    let m = parsed.events[1].message().unwrap();
    assert_eq!(m.content, MessageContent::Unknown { message_type: "hologram".into() });
    assert_eq!(parsed.events[1].source, Some(Source::Unknown { source_type: "planet".into() }));
    assert_eq!(parsed.events[2].raw.get(), "42");
}

#[test]
fn an_event_without_webhook_event_id_gets_a_stable_digest_id() {
    let body = br#"{"events":[{"type":"unfollow","timestamp":1,"source":{"type":"user","userId":"U"}}]}"#;
    let a = WebhookBody::parse(body).unwrap().events[0].id();
    let b = WebhookBody::parse(body).unwrap().events[0].id();
    assert_eq!(a, b);
    assert!(a.as_str().starts_with("sha256-"));
}

#[test]
fn malformed_json_is_an_error_and_missing_events_is_none() {
    assert!(WebhookBody::parse(b"i am not jason").is_err());
    assert!(WebhookBody::parse(br#"{"events":{}}"#).is_err());
    assert!(WebhookBody::parse(b"{}").unwrap().events.is_empty());
}

#[test]
fn standby_and_group_sources_are_read() {
    let body = br#"{"events":[{"type":"message","mode":"standby","message":{"type":"sticker","id":"1","packageId":1,"stickerId":"2"},"source":{"type":"group","groupId":"C1","userId":"U1"}}]}"#;
    let e = &WebhookBody::parse(body).unwrap().events[0];
    assert_eq!(e.mode, Mode::Standby);
    assert_eq!(e.conversation_id().as_str(), "group:C1");
    assert!(matches!(&e.message().unwrap().content, MessageContent::Sticker { package_id, .. } if package_id == "1"));
}

#[test]
fn a_mode_line_adds_is_kept_and_an_event_without_one_is_active() {
    let body = br#"{"events":[{"type":"follow","mode":"dormant","source":{"type":"user","userId":"U1"}},{"type":"follow","source":{"type":"user","userId":"U1"}},"not an event"]}"#;
    let modes: Vec<Mode> = WebhookBody::parse(body).unwrap().events.into_iter().map(|e| e.mode).collect();
    assert_eq!(modes, [Mode::Other("dormant".into()), Mode::Active, Mode::Other(String::new())]);
}
