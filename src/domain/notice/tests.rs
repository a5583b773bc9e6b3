use serde_json::Value;

use super::*;

const T0: i64 = 1_764_000_000_000;
const MINUTE: i64 = 60_000;

fn user() -> ConversationId {
    ConversationId::user("U4af4980629a0b2c1d3e4f5a6b7c8d9e0")
}

#[test]
fn the_payload_carries_the_documented_fields_and_version() {
    let notice = StaffNotice::needs_attention(user(), reasons::COMPLAINT, T0)
        .with_event_id("01JEVENT")
        .with_console_url(Some("https://ops.example.com/c/{conversation}"));
    let v: Value = serde_json::from_str(&notice.payload_json()).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["type"], "line_oa.staff_notice");
    assert_eq!(v["kind"], "needs_attention");
    assert_eq!(v["conversation"], "user:U4af4980629a0b2c1d3e4f5a6b7c8d9e0");
    assert_eq!(v["reason"], "complaint");
    assert_eq!(v["at_ms"], T0);
    assert_eq!(v["at"], "2025-11-24T16:00:00Z");
    assert_eq!(v["event_id"], "01JEVENT");
    assert_eq!(v["console_url"], "https://ops.example.com/c/user:U4af4980629a0b2c1d3e4f5a6b7c8d9e0");
    assert_eq!(v["delivery_id"], notice.delivery_id().to_string());
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 10, "no undocumented field: {keys:?}");
}

#[test]
fn absent_optional_fields_are_null_not_missing() {
    let v: Value = serde_json::from_str(&StaffNotice::needs_attention(user(), "chat_hours", T0).payload_json()).unwrap();
    assert!(v["event_id"].is_null() && v.get("event_id").is_some());
    assert!(v["console_url"].is_null() && v.get("console_url").is_some());
}

#[test]
fn the_delivery_id_is_stable_per_notice_and_differs_between_notices() {
    let a = StaffNotice::needs_attention(user(), "complaint", T0).with_event_id("e1");
    assert_eq!(a.delivery_id(), a.clone().delivery_id());
    assert_eq!(a.delivery_id(), StaffNotice::needs_attention(user(), "complaint", T0).with_event_id("e1").delivery_id());
    let renotify = StaffNotice::renotify(user(), "complaint", T0, RenotifyDelay::default());
    assert_ne!(a.delivery_id(), renotify.delivery_id());
    assert_ne!(a.delivery_id(), StaffNotice::needs_attention(user(), "complaint", T0 + 1).with_event_id("e1").delivery_id());
    assert_ne!(
        a.delivery_id(),
        StaffNotice::needs_attention(ConversationId::group("C1"), "complaint", T0).with_event_id("e1").delivery_id()
    );
}

#[test]
fn the_subject_names_the_reason_and_conversation_within_the_sns_limit() {
    let s = StaffNotice::needs_attention(user(), "cannot_answer", T0).subject();
    assert_eq!(s, "[LINE OA] Staff needed: cannot_answer - user:U4af4980629a0b2c1d3e4f5a6b7c8d9e0");
    let r = StaffNotice::renotify(user(), "cannot_answer", T0, RenotifyDelay::default()).subject();
    assert!(r.starts_with("[LINE OA] Still unanswered: cannot_answer"), "{r}");
}

#[test]
fn a_long_or_non_ascii_reason_still_gives_a_valid_sns_subject() {
    let long = "x".repeat(500);
    for reason in [long.as_str(), "苦情\n(クレーム)\t", ""] {
        let s = StaffNotice::needs_attention(user(), reason, T0).subject();
        assert!(s.chars().count() <= SUBJECT_MAX_CHARS, "{} chars: {s}", s.len());
        assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '), "printable ASCII only: {s:?}");
        assert!(s.starts_with("[LINE OA] Staff needed: "), "{s}");
    }
}

#[test]
fn a_reason_is_cut_to_a_tag_length_so_it_cannot_carry_a_message() {
    let notice = StaffNotice::needs_attention(user(), &"word ".repeat(100), T0);
    assert!(notice.reason.chars().count() <= REASON_MAX_CHARS);
    assert!(notice.payload_json().len() < 600, "{}", notice.payload_json());
}

#[test]
fn a_renotify_notice_is_timed_at_its_due_time() {
    let n = StaffNotice::renotify(user(), "complaint", T0, RenotifyDelay::from_minutes(30));
    assert_eq!(n.kind, NoticeKind::Renotify);
    assert_eq!(n.at_ms, T0 + 30 * MINUTE);
}

fn pending() -> FollowUp {
    FollowUp { notified_at_ms: T0, staff_answered: false, renotified: false }
}

#[test]
fn an_unanswered_conversation_is_renotified_once_the_delay_has_passed() {
    let delay = RenotifyDelay::from_minutes(30);
    assert!(!should_renotify(&pending(), delay, T0));
    assert!(!should_renotify(&pending(), delay, T0 + 30 * MINUTE - 1));
    assert!(should_renotify(&pending(), delay, T0 + 30 * MINUTE));
    assert!(should_renotify(&pending(), delay, T0 + 600 * MINUTE));
}

#[test]
fn renotify_happens_only_once() {
    let done = FollowUp { renotified: true, ..pending() };
    assert!(!should_renotify(&done, RenotifyDelay::from_minutes(30), T0 + 600 * MINUTE));
}

#[test]
fn an_answered_conversation_is_not_renotified() {
    let answered = FollowUp { staff_answered: true, ..pending() };
    assert!(!should_renotify(&answered, RenotifyDelay::from_minutes(30), T0 + 600 * MINUTE));
}

#[test]
fn zero_minutes_disables_renotify() {
    assert_eq!(RenotifyDelay::from_minutes(0), RenotifyDelay::Disabled);
    assert!(!should_renotify(&pending(), RenotifyDelay::Disabled, i64::MAX));
    assert_eq!(renotify_due_ms(T0, RenotifyDelay::Disabled), None);
    assert_eq!(RenotifyDelay::default(), RenotifyDelay::After { minutes: 30 });
}

#[test]
fn only_staff_action_at_or_after_the_notice_counts_as_an_answer() {
    assert!(!staff_answered_since(T0, None));
    assert!(!staff_answered_since(T0, Some(T0 - 1)), "a reply before the notice does not answer it");
    assert!(staff_answered_since(T0, Some(T0)));
    assert!(staff_answered_since(T0, Some(T0 + MINUTE)));
}

#[test]
fn a_follow_up_from_stored_times_counts_only_a_later_staff_action() {
    let delay = RenotifyDelay::from_minutes(30);
    let late = T0 + 31 * MINUTE;
    assert!(should_renotify(&FollowUp::from_times(T0, Some(T0 - MINUTE), false), delay, late));
    assert!(!should_renotify(&FollowUp::from_times(T0, Some(T0 + MINUTE), false), delay, late));
    assert!(!should_renotify(&FollowUp::from_times(T0, None, true), delay, late));
}
