//! The mode matrix, the throttle, AI-style replies and groups, table-driven; and a property
//! test that every decision is total.

use jiff::civil::date;
use jiff::tz::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::domain::event::WebhookBody;
use crate::domain::grounding::{ModelSettings, ModelVerdict};
use crate::settings::Settings;

const BASE: &str = r#"
account_name = "さくら歯科"
[hours]
enabled = true
timezone = "Asia/Tokyo"
mon = ["09:00-12:00", "13:00-18:00"]
tue = ["09:00-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-18:00"]
sat = ["10:00-14:00"]
sun = []
[[hours.override]]
date = "2026-12-31"
windows = []
[greeting]
first_follow_only = true
messages = [{ type = "text", text = "{nickname}さん、{account_name}です。" }]
[[keyword_responses]]
keywords = ["営業時間", "eigyo"]
messages = [{ type = "text", text = "営業時間は平日9時〜18時です" }]
[default_response]
once_per = "closed_period"
messages = [{ type = "text", text = "ただいま営業時間外です。" }]
[business]
phone = "03-1234-5678"
"#;

fn rules_with(modes: &str) -> Rules {
    Settings::from_toml(&format!("{BASE}\n[modes]\n{modes}\n")).unwrap().rules
}

fn tokyo(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
    date(y, m, d).at(h, min, 0, 0).to_zoned(TimeZone::get("Asia/Tokyo").unwrap()).unwrap().timestamp()
}

fn event(json: &str) -> Event {
    let body = format!(r#"{{"events":[{json}]}}"#);
    WebhookBody::parse(body.as_bytes()).unwrap().events.remove(0)
}

fn text_from(user: &str, id: &str, text: &str) -> Event {
    event(&format!(
        r#"{{"type":"message","webhookEventId":"{id}","timestamp":0,"mode":"active","replyToken":"r","source":{{"type":"user","userId":"{user}"}},"message":{{"type":"text","id":"1","text":{}}}}}"#,
        serde_json::to_string(text).unwrap()
    ))
}

fn state() -> ConversationState {
    ConversationState::new(crate::domain::ids::ConversationId::user("U1"))
}

fn reply_text(d: &Decision) -> Option<String> {
    match d.reply.first()? {
        OutboundMessage::Text { text } => Some(text.clone()),
        _ => None,
    }
}

// 2026-11-30 is a Monday.
const MON_10: (i16, i8, i8, i8, i8) = (2026, 11, 30, 10, 0);
const MON_1230: (i16, i8, i8, i8, i8) = (2026, 11, 30, 12, 30);
const MON_21: (i16, i8, i8, i8, i8) = (2026, 11, 30, 21, 0);
const HOLIDAY_10: (i16, i8, i8, i8, i8) = (2026, 12, 31, 10, 0);

type Case = (&'static str, (i16, i8, i8, i8, i8), &'static str, ResponseMode, Option<&'static str>);

#[test]
fn the_mode_matrix() {
    let at = |t: (i16, i8, i8, i8, i8)| tokyo(t.0, t.1, t.2, t.3, t.4);
    // (modes, time, text, expected mode, expected reply (None = no reply))
    let cases: &[Case] = &[
        ("", MON_10, "こんにちは", ResponseMode::Chat, None),
        ("", MON_10, "営業時間", ResponseMode::Chat, None),
        ("", MON_1230, "営業時間", ResponseMode::AutoResponse, Some("営業時間は平日9時〜18時です")),
        ("", MON_21, "予約したい", ResponseMode::AutoResponse, Some("ただいま営業時間外です。")),
        ("", HOLIDAY_10, "ＥＩＧＹＯ", ResponseMode::AutoResponse, Some("営業時間は平日9時〜18時です")),
        (
            "in_hours = \"smart_chat\"",
            MON_10,
            "ありがとうございました！",
            ResponseMode::SmartChat,
            Some("ありがとうございます！またいつでもご連絡ください。"),
        ),
        (
            "in_hours = \"smart_chat\"",
            MON_10,
            "予約の変更をお願いしたいのですが、来週の火曜日は空いていますか",
            ResponseMode::SmartChat,
            None,
        ),
        (
            "out_of_hours = \"ai_response\"",
            MON_21,
            "電話番号を教えてください",
            ResponseMode::AiResponse,
            Some("お電話番号は03-1234-5678です。"),
        ),
        (
            "out_of_hours = \"ai_response\"",
            MON_21,
            "営業時間は何時から？",
            ResponseMode::AiResponse,
            Some("次の営業開始は12月1日(火) 9:00です。"),
        ),
        (
            "out_of_hours = \"ai_response\"",
            MON_21,
            "What time do you open?",
            ResponseMode::AiResponse,
            Some("We next open Tue, Dec 1 at 9:00."),
        ),
    ];
    for (modes, t, text, mode, reply) in cases {
        let rules = rules_with(modes);
        let d = decide(&rules, &state(), &text_from("U1", "e1", text), at(*t));
        assert_eq!(d.mode, Some(*mode), "{modes} {t:?} {text}: {}", d.reason);
        assert_eq!(reply_text(&d).as_deref(), *reply, "{modes} {t:?} {text}: {}", d.reason);
        assert!(!d.reason.is_empty());
    }
}

#[test]
fn with_hours_off_the_always_mode_applies_at_any_time() {
    for (mode, replies) in [("chat", false), ("smart_chat", false), ("auto_response", true), ("ai_response", true)] {
        let toml = format!("{}\n[modes]\nalways = \"{mode}\"\n", BASE.replace("enabled = true", "enabled = false"));
        let rules = Settings::from_toml(&toml).unwrap().rules;
        for t in [MON_10, MON_21, HOLIDAY_10] {
            // A how-to question the model is sure of: smart chat leaves it to staff, AI response answers.
            let d = decide(&rules, &state(), &text_from("U1", "e", "予約の変更はどうすればいいですか"), tokyo(t.0, t.1, t.2, t.3, t.4));
            assert_eq!(d.mode.map(ResponseMode::as_str), Some(mode));
            assert_eq!(!d.reply.is_empty(), replies, "{mode} {t:?}: {}", d.reason);
        }
    }
}

#[test]
fn the_out_of_hours_notice_goes_once_per_closed_period() {
    let rules = rules_with("");
    let mut s = state();
    let mut sent = 0;
    // Five messages in one night, then one the next night.
    for (i, t) in [(30, 19), (30, 21), (30, 23), (1, 3), (1, 8)].iter().enumerate() {
        let (m, d) = if t.0 == 30 { (11, 30) } else { (12, 1) };
        let ev = text_from("U1", &format!("n{i}"), "すみません");
        let dec = decide(&rules, &s, &ev, tokyo(2026, m, d, t.1, 0));
        dec.apply_to(&mut s);
        sent += usize::from(!dec.reply.is_empty());
    }
    assert_eq!(sent, 1, "one notice for the night of Monday");
    let dec = decide(&rules, &s, &text_from("U1", "n9", "すみません"), tokyo(2026, 12, 1, 20, 0));
    assert!(!dec.reply.is_empty(), "a new closed period gets a new notice");
    // A replay of the event that set the notice still decides to send it (it may not have gone out).
    assert_eq!(s.last_notice.as_ref().unwrap().event_id, "n0", "the first of the night set it");
    let replay = decide(&rules, &s, &text_from("U1", "n0", "すみません"), tokyo(2026, 11, 30, 19, 0));
    assert!(!replay.reply.is_empty());
}

#[test]
fn an_interval_throttle_counts_hours() {
    let toml = BASE.replace("once_per = \"closed_period\"", "once_per = \"6h\"");
    let rules = Settings::from_toml(&toml).unwrap().rules;
    let mut s = state();
    let first = decide(&rules, &s, &text_from("U1", "a", "x"), tokyo(2026, 11, 30, 19, 0));
    first.apply_to(&mut s);
    assert!(!first.reply.is_empty());
    assert!(decide(&rules, &s, &text_from("U1", "b", "x"), tokyo(2026, 12, 1, 0, 59)).reply.is_empty());
    assert!(!decide(&rules, &s, &text_from("U1", "c", "x"), tokyo(2026, 12, 1, 1, 0)).reply.is_empty());
}

#[test]
fn a_default_response_records_its_notice_only_where_a_throttle_reads_it() {
    use crate::domain::conversation::ModePin;
    let rules = rules_with("out_of_hours = \"auto_response\"");
    let at_night = decide(&rules, &state(), &text_from("U1", "a", "x"), tokyo(2026, 11, 30, 21, 0));
    assert!(!at_night.reply.is_empty() && at_night.notice.is_some(), "closed: the throttle needs it");
    // Answered automatically in hours too (staff pinned it so).
    let mut pinned = state();
    pinned.pin = Some(ModePin { mode: ResponseMode::AutoResponse, until_ms: None, by: "alice".into(), at_ms: 0 });
    let in_hours = decide(&rules, &pinned, &text_from("U1", "b", "x"), tokyo(2026, 11, 30, 10, 0));
    assert!(!in_hours.reply.is_empty() && in_hours.notice.is_none(), "open: nothing compares with it");
    let toml = BASE.replace("once_per = \"closed_period\"", "once_per = \"every_message\"");
    let every = Settings::from_toml(&format!("{toml}\n[modes]\nout_of_hours = \"auto_response\"\n")).unwrap().rules;
    let unthrottled = decide(&every, &state(), &text_from("U1", "c", "x"), tokyo(2026, 11, 30, 21, 0));
    assert!(!unthrottled.reply.is_empty() && unthrottled.notice.is_none(), "no throttle: nothing recorded");
}

#[test]
fn complaints_and_unanswerable_messages_need_attention() {
    let rules = rules_with("out_of_hours = \"ai_response\"\nin_hours = \"smart_chat\"");
    let d = decide(&rules, &state(), &text_from("U1", "c", "対応がひどすぎます。返金してください"), tokyo(2026, 11, 30, 21, 0));
    assert_eq!(d.attention.as_deref(), Some("complaint"), "{}", d.reason);
    let d = decide(&rules, &state(), &text_from("U1", "c", "対応がひどすぎます。返金してください"), tokyo(2026, 11, 30, 10, 0));
    assert!(d.reply.is_empty() && d.attention.is_some(), "smart chat leaves a complaint to staff: {}", d.reason);
    let long = "歯が痛くて".repeat(70);
    let d = decide(&rules, &state(), &text_from("U1", "l", &long), tokyo(2026, 11, 30, 21, 0));
    assert!(d.reason.contains("long_message"), "{}", d.reason);
}

#[test]
fn a_business_question_without_its_value_is_answered_as_cannot_answer() {
    let rules = rules_with("out_of_hours = \"ai_response\"");
    let d = decide(&rules, &state(), &text_from("U1", "w", "ホームページのURLを教えてください"), tokyo(2026, 11, 30, 21, 0));
    assert!(d.reason.contains("cannot_answer"), "no website configured: {}", d.reason);
    assert!(d.attention.is_some());
}

#[test]
fn follow_greets_once_when_first_follow_only() {
    let rules = rules_with("");
    let follow = event(
        r#"{"type":"follow","webhookEventId":"f1","timestamp":0,"mode":"active","replyToken":"r","source":{"type":"user","userId":"U1"},"follow":{"isUnblocked":false}}"#,
    );
    let mut s = state();
    s.apply(&follow, 0);
    let d = decide(&rules, &s, &follow, tokyo(2026, 11, 30, 21, 0));
    assert_eq!(reply_text(&d).as_deref(), Some("{nickname}さん、さくら歯科です。"));
    let again = event(
        r#"{"type":"follow","webhookEventId":"f2","timestamp":0,"mode":"active","replyToken":"r","source":{"type":"user","userId":"U1"},"follow":{"isUnblocked":true}}"#,
    );
    s.apply(&again, 1);
    assert!(decide(&rules, &s, &again, tokyo(2026, 11, 30, 21, 0)).reply.is_empty());
}

#[test]
fn groups_rooms_spam_blocked_and_standby_get_no_automatic_reply() {
    let rules = rules_with("");
    let night = tokyo(2026, 11, 30, 21, 0);
    let group = event(
        r#"{"type":"message","webhookEventId":"g","timestamp":0,"mode":"active","replyToken":"r","source":{"type":"group","groupId":"C1","userId":"U1"},"message":{"type":"text","id":"1","text":"営業時間"}}"#,
    );
    assert!(decide(&rules, &state(), &group, night).reply.is_empty());
    let join = event(
        r#"{"type":"join","webhookEventId":"j","timestamp":0,"mode":"active","replyToken":"r","source":{"type":"room","roomId":"R1"}}"#,
    );
    assert!(!decide(&rules, &state(), &join, night).leave);
    let refusing = Settings::from_toml(&format!("{BASE}\n[groups]\nallowed = false\n")).unwrap().rules;
    assert!(decide(&refusing, &state(), &join, night).leave);
    let mut spam = state();
    spam.spam = true;
    assert!(decide(&rules, &spam, &text_from("U1", "s", "営業時間"), night).reply.is_empty());
    let mut blocked = state();
    blocked.following = Some(false);
    assert!(decide(&rules, &blocked, &text_from("U1", "b", "営業時間"), night).reply.is_empty());
    let standby = event(
        r#"{"type":"message","webhookEventId":"sb","timestamp":0,"mode":"standby","source":{"type":"user","userId":"U1"},"message":{"type":"text","id":"1","text":"営業時間"}}"#,
    );
    assert!(decide(&rules, &state(), &standby, night).reply.is_empty());
}

fn window() -> impl Strategy<Value = String> {
    (0u16..24, 0u16..60, 0u16..24, 0u16..60).prop_map(|(a, b, c, d)| format!("{a:02}:{b:02}-{c:02}:{d:02}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    /// Whatever valid settings, time and text: decide returns exactly one decision with a reason.
    #[test]
    fn every_decision_is_total(
        days in proptest::collection::vec(proptest::collection::vec(window(), 0..3), 7),
        enabled in any::<bool>(),
        in_hours in prop_oneof![Just("chat"), Just("smart_chat")],
        out_of_hours in prop_oneof![Just("auto_response"), Just("ai_response")],
        always in prop_oneof![Just("chat"), Just("smart_chat"), Just("auto_response"), Just("ai_response")],
        threshold in 0.0f64..=1.0,
        tz in prop_oneof![Just("Asia/Tokyo"), Just("America/New_York"), Just("Europe/London"), Just("Australia/Lord_Howe")],
        at_ms in 0i64..4_102_444_800_000,
        text in ".{0,400}",
    ) {
        let day_lines: Vec<String> = days.iter().zip(crate::domain::schedule::WEEKDAYS).map(|(ws, d)| {
            format!("{d} = [{}]", ws.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(","))
        }).collect();
        let toml = format!(
            "[hours]\nenabled = {enabled}\ntimezone = \"{tz}\"\n{}\n[modes]\nin_hours = \"{in_hours}\"\nout_of_hours = \"{out_of_hours}\"\nalways = \"{always}\"\n[ai]\nconfidence_threshold = {threshold}\n[default_response]\nmessages = [{{type=\"text\",text=\"x\"}}]\n",
            day_lines.join("\n")
        );
        // Random windows may overlap: such settings are refused, which is also a total answer.
        if let Ok(settings) = Settings::from_toml(&toml) {
            let at = Timestamp::from_millisecond(at_ms).unwrap();
            let d = decide(&settings.rules, &state(), &text_from("U1", "p", &text), at);
            prop_assert!(!d.reason.is_empty());
            prop_assert!(d.reply.len() <= 5);
        }
    }
}

#[test]
fn a_staff_pin_overrides_the_mode_until_it_expires() {
    use crate::domain::conversation::ModePin;
    let rules = rules_with(r#"out_of_hours = "auto_response""#);
    let at = tokyo(2026, 11, 24, 20, 0); // a Tuesday evening, out of hours
    let msg = text_from("U1", "e1", "営業時間");
    assert!(!decide(&rules, &state(), &msg, at).reply.is_empty(), "the keyword answers without a pin");
    let mut pinned = state();
    let until = at.as_millisecond() + 2 * 3_600_000;
    pinned.pin = Some(ModePin { mode: ResponseMode::Chat, until_ms: Some(until), by: "alice".into(), at_ms: 0 });
    let d = decide(&rules, &pinned, &msg, at);
    assert!(d.reply.is_empty(), "bot off while pinned: {d:?}");
    assert!(d.reason.contains("pinned by staff"), "{}", d.reason);
    let later = Timestamp::from_millisecond(until).unwrap();
    assert!(!decide(&rules, &pinned, &msg, later).reply.is_empty(), "the pin expires by itself");
    pinned.pin.as_mut().unwrap().until_ms = None;
    assert!(decide(&rules, &pinned, &msg, later).reply.is_empty(), "a pin without an end holds");
}

#[test]
fn a_message_the_model_is_unsure_of_goes_to_staff_not_to_a_template() {
    let rules = rules_with("out_of_hours = \"ai_response\"");
    let d = decide(&rules, &state(), &text_from("U1", "u", "予約したいです"), tokyo(2026, 11, 30, 21, 0));
    let c = d.classification.expect("classified");
    assert!(c.confidence < rules.confidence_threshold, "the case needs a low-confidence message: {}", d.reason);
    assert!(d.reply.is_empty(), "{}", d.reason);
    assert_eq!(d.attention.as_deref(), Some("cannot_answer"), "{}", d.reason);
    assert!(d.reason.contains("below the threshold"), "{}", d.reason);
}

#[test]
fn a_complaint_never_gets_a_template_in_either_automatic_mode() {
    for modes in ["out_of_hours = \"ai_response\"\nin_hours = \"smart_chat\""] {
        let rules = rules_with(modes);
        for t in [tokyo(2026, 11, 30, 10, 0), tokyo(2026, 11, 30, 21, 0)] {
            for text in ["対応がひどすぎます。返金してください", "The staff were so rude to me yesterday"] {
                let d = decide(&rules, &state(), &text_from("U1", "c", text), t);
                assert!(d.reply.is_empty(), "{text}: {}", d.reason);
                assert_eq!(d.attention.as_deref(), Some("complaint"), "{text}: {}", d.reason);
            }
        }
    }
}

#[test]
fn an_faq_answers_before_the_category_rules_and_names_itself() {
    let faq = "\n[[faq]]\nid = \"parking\"\nquestions = [\"駐車場はありますか\", \"Is there parking?\"]\nanswer = \"裏に3台あります\"\nanswer_en = \"3 spaces behind us\"\n";
    let toml = format!("{BASE}\n[modes]\nin_hours = \"smart_chat\"\nout_of_hours = \"ai_response\"\n{faq}");
    let rules = Settings::from_toml(&toml).unwrap().rules;
    for t in [tokyo(2026, 11, 30, 10, 0), tokyo(2026, 11, 30, 21, 0)] {
        let d = decide(&rules, &state(), &text_from("U1", "p", "駐車場ありますか？"), t);
        assert_eq!(reply_text(&d).as_deref(), Some("裏に3台あります"), "{}", d.reason);
        assert!(d.reason.contains("faq \"parking\""), "{}", d.reason);
        let d = decide(&rules, &state(), &text_from("U1", "p", "Is there any parking?"), t);
        assert_eq!(reply_text(&d).as_deref(), Some("3 spaces behind us"), "{}", d.reason);
        // A complaint that shares the FAQ's words still goes to staff.
        let d = decide(&rules, &state(), &text_from("U1", "p", "駐車場で車をぶつけられました。最悪です。どうしてくれるんですか"), t);
        assert!(d.reply.is_empty() && d.attention.as_deref() == Some("complaint"), "{}", d.reason);
    }
}

fn with_model(modes: &str) -> Rules {
    let mut rules = rules_with(modes);
    rules.model = Some(ModelSettings { model_id: "m1".into(), timeout_ms: 4000, max_tokens: 700 });
    rules
}

fn answered(text: &str, citations: &[&str]) -> ModelVerdict {
    ModelVerdict::Answered(crate::domain::grounding::GroundedAnswer {
        text: text.into(),
        citations: citations.iter().map(|c| c.to_string()).collect(),
    })
}

#[test]
fn the_model_may_answer_only_what_ai_response_would_leave_to_staff_as_cannot_answer() {
    let rules = with_model("out_of_hours = \"ai_response\"\nin_hours = \"smart_chat\"");
    let night = tokyo(2026, 11, 30, 21, 0);
    let ask = |text: &str, at: Timestamp| decide(&rules, &state(), &text_from("U1", "m", text), at).ask_model;
    assert!(ask("予約したいです", night), "below the threshold");
    assert!(ask("ホームページのURLを教えてください", night), "a cannot_answer template");
    assert!(!ask("対応がひどすぎます。返金してください", night), "a complaint");
    assert!(!ask(&"歯が痛くて".repeat(70), night), "a long message");
    assert!(!ask("予約したいです", tokyo(2026, 11, 30, 10, 0)), "smart chat, in hours: staff are there");
    let auto = with_model("out_of_hours = \"auto_response\"");
    assert!(!decide(&auto, &state(), &text_from("U1", "m", "予約したいです"), night).ask_model, "auto response");
    let off = rules_with("out_of_hours = \"ai_response\"");
    assert!(!decide(&off, &state(), &text_from("U1", "m", "予約したいです"), night).ask_model, "the model is off");
}

#[test]
fn a_checked_answer_is_the_reply_and_the_reason_names_its_citations() {
    let rules = with_model("out_of_hours = \"ai_response\"");
    let verdict = answered("お電話は03-1234-5678です。", &["business:phone"]);
    let d = decide_with(&rules, &state(), &text_from("U1", "m", "予約したいです"), tokyo(2026, 11, 30, 21, 0), Some(&verdict));
    assert_eq!(d.path, Path::Model);
    assert_eq!(reply_text(&d).as_deref(), Some("お電話は03-1234-5678です。"));
    assert_eq!(d.attention, None, "answered: nothing left for staff");
    assert!(d.reason.contains("ai_response") && d.reason.ends_with("model m1 answered, citing business:phone"), "{}", d.reason);
    assert!(d.classification.is_some());
}

#[test]
fn without_a_usable_answer_the_rules_decision_stands_and_says_why() {
    let rules = with_model("out_of_hours = \"ai_response\"");
    let night = tokyo(2026, 11, 30, 21, 0);
    for text in ["予約したいです", "ホームページのURLを教えてください"] {
        let event = text_from("U1", "m", text);
        let rules_only = decide(&rules, &state(), &event, night);
        let d = decide_with(&rules, &state(), &event, night, Some(&ModelVerdict::NotUsed("no answer within 4000 ms".into())));
        assert_eq!((&d.reply, &d.attention, d.path), (&rules_only.reply, &rules_only.attention, rules_only.path), "{text}");
        assert_eq!(d.attention.as_deref(), Some("cannot_answer"), "to staff with a notice: {text}");
        assert_eq!(d.reason, format!("{}; the model's answer was not used: no answer within 4000 ms", rules_only.reason));
    }
}

#[test]
fn an_answer_for_a_message_the_model_may_not_answer_is_ignored() {
    let rules = with_model("out_of_hours = \"ai_response\"");
    let verdict = answered("ok", &["business:phone"]);
    for text in ["対応がひどすぎます。返金してください", "営業時間"] {
        let event = text_from("U1", "m", text);
        let night = tokyo(2026, 11, 30, 21, 0);
        assert_eq!(decide_with(&rules, &state(), &event, night, Some(&verdict)), decide(&rules, &state(), &event, night), "{text}");
    }
}
