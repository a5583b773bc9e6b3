//! What the model is given, and which replies may go out.

use jiff::Timestamp;
use proptest::prelude::*;

use super::*;
use crate::settings::Settings;

fn example() -> Rules {
    Settings::load(concat!(env!("CARGO_MANIFEST_DIR"), "/settings.example.toml").as_ref()).unwrap().rules
}

/// Monday 2026-11-30 21:30 in Tokyo: closed, next open Tuesday 9:00.
fn monday_night() -> Timestamp {
    "2026-11-30T12:30:00Z".parse().unwrap()
}

fn example_prompt(message: &str) -> Prompt {
    prompt(&example(), message, monday_night())
}

fn reply(answer: &str, citations: &[&str]) -> String {
    serde_json::json!({ "answer": answer, "citations": citations }).to_string()
}

#[test]
fn the_knowledge_is_the_faq_the_business_info_and_the_hours_at_the_messages_time() {
    let p = example_prompt("日曜は開いていますか");
    assert_eq!(
        p.fact_ids,
        [
            "faq:parking",
            "faq:card",
            "business:address",
            "business:phone",
            "business:website",
            "hours:today",
            "hours:next_open",
            "hours:week"
        ]
    );
    for fragment in [
        "1. [faq:parking]",
        "Questions: 駐車場はありますか / 車で行けますか / Is there parking?",
        "Answer: 医院の裏に無料駐車場が3台分ございます。",
        "Answer in English: We have free parking for 3 cars behind the clinic.",
        "[business:phone]\nPhone number: 03-1234-5678",
        "Today is 2026-11-30 (Mon); the time now is 21:30 (Asia/Tokyo), and we are closed now. Today's hours: 09:00-12:00, 13:00-18:00.",
        "We next open on 2026-12-01 (Tue) at 09:00.",
        "2026-12-03 (Thu): closed",
        "2026-12-05 (Sat): 10:00-14:00",
    ] {
        assert!(p.knowledge.contains(fragment), "{fragment:?} missing from:\n{}", p.knowledge);
    }
    assert_eq!(p.message, "日曜は開いていますか", "the customer's message alone in its turn");
    assert!(!p.instructions.contains("日曜"), "the message never goes into the instructions");
    assert!(p.instructions.contains("さくら歯科"));
    // Only the FAQ, the business info and the hours: not the keyword replies, the greeting or
    // the default response.
    for other in ["ご予約はこちらから承ります", "友だち追加ありがとうございます", "ただいま診療時間外です"]
    {
        assert!(!p.knowledge.contains(other) && !p.instructions.contains(other), "{other}");
    }
}

#[test]
fn the_week_lists_overrides_and_hours_off_gives_no_hours_facts() {
    // 2026-12-28 (Mon): the week ahead holds the 31st, closed by an override.
    let p = prompt(&example(), "x", "2026-12-28T01:00:00Z".parse().unwrap());
    assert!(p.knowledge.contains("2026-12-31 (Thu): closed"), "{}", p.knowledge);
    assert!(p.knowledge.contains("we are open now"), "{}", p.knowledge);
    let mut rules = example();
    rules.schedule = None;
    let p = prompt(&rules, "x", monday_night());
    assert!(p.fact_ids.iter().all(|id| !id.starts_with("hours:")), "{:?}", p.fact_ids);
}

#[test]
fn a_cited_answer_is_accepted_with_its_citations_once_each() {
    let p = example_prompt("電話番号を教えて");
    let a = check(&reply(" お電話は03-1234-5678です。 ", &["business:phone", "business:phone"]), &p).unwrap();
    assert_eq!(a, GroundedAnswer { text: "お電話は03-1234-5678です。".into(), citations: vec!["business:phone".into()] });
}

#[test]
fn json_in_a_code_fence_is_read() {
    let p = example_prompt("q");
    for fenced in [
        format!("```json\n{}\n```", reply("ございます。", &["faq:parking"])),
        format!("```\n{}\n```", reply("ございます。", &["faq:parking"])),
        format!("  ```{}```  ", reply("ございます。", &["faq:parking"])),
    ] {
        assert!(check(&fenced, &p).is_ok(), "{fenced}");
    }
    // Prose around the JSON is not the JSON asked for.
    assert_eq!(check(&format!("Sure! {}", reply("ございます。", &["faq:parking"])), &p), Err(Refusal::NotJson));
}

#[test]
fn every_other_reply_is_refused_with_its_reason() {
    let p = example_prompt("q");
    let cases = [
        ("", Refusal::NotJson),
        ("駐車場はあります。", Refusal::NotJson),
        ("{\"answer\": \"a\"", Refusal::NotJson),
        ("[]", Refusal::NotJson),
        ("{}", Refusal::NotJson),
        ("{\"citations\": [\"faq:parking\"]}", Refusal::NotJson),
        ("{\"answer\": \"a\", \"citations\": [\"faq:parking\"], \"confidence\": 0.9}", Refusal::NotJson),
        ("{\"answer\": 3, \"citations\": [\"faq:parking\"]}", Refusal::NotJson),
        (&reply("  ", &["faq:parking"]), Refusal::Empty),
        (&reply("あります。", &[]), Refusal::NoCitation),
        (&reply("あります。", &["faq:parking", "faq:valet"]), Refusal::UnknownCitation("faq:valet".into())),
        (&reply("あります。", &["FAQ:parking"]), Refusal::UnknownCitation("FAQ:parking".into())),
        ("{\"handoff\": \"a complaint\"}", Refusal::Handoff("a complaint".into())),
        ("{\"answer\": \"a\", \"citations\": [\"faq:parking\"], \"handoff\": \"unsure\"}", Refusal::Handoff("unsure".into())),
        (&reply("ご予約は https://example.com/booking から", &["business:website"]), Refusal::Ungrounded("link")),
        (&reply("お電話は090-9999-0000へ", &["business:phone"]), Refusal::Ungrounded("phone number")),
        (&reply("駐車料金は500円です", &["faq:parking"]), Refusal::Ungrounded("amount")),
        (&reply("Parking is ¥500 an hour", &["faq:parking"]), Refusal::Ungrounded("amount")),
        (&reply("Parking is 500 yen", &["faq:parking"]), Refusal::Ungrounded("amount")),
    ];
    for (text, refusal) in cases {
        assert_eq!(check(text, &p), Err(refusal), "{text:?}");
    }
}

#[test]
fn links_phone_numbers_and_amounts_from_the_knowledge_pass() {
    let p = example_prompt("q");
    let ok = reply(
        "詳しくは https://example.com をご覧ください。お電話（03-1234-5678）でも。駐車場は3台分、2026-12-01に開きます。",
        &["business:website"],
    );
    assert!(check(&ok, &p).is_ok());
    let mut rules = example();
    rules.faq = std::sync::Arc::new(crate::domain::faq::FaqIndex::new(vec![crate::domain::faq::Faq {
        id: "fee".into(),
        questions: vec!["初診料は".into()],
        answer: "初診料は1,500円です。".into(),
        answer_en: None,
    }]));
    let p = prompt(&rules, "q", monday_night());
    assert!(check(&reply("初診料は１５００円です。", &["faq:fee"]), &p).is_ok(), "full-width digits, no separator");
    assert_eq!(check(&reply("初診料は2,500円です。", &["faq:fee"]), &p), Err(Refusal::Ungrounded("amount")));
}

#[test]
fn an_answer_longer_than_line_takes_is_refused() {
    let p = example_prompt("q");
    assert_eq!(check(&reply(&"あ".repeat(5001), &["faq:parking"]), &p), Err(Refusal::TooLong));
    assert!(check(&reply(&"あ".repeat(5000), &["faq:parking"]), &p).is_ok());
    // LINE counts UTF-16 units: 2,501 emoji are 5,002.
    assert_eq!(check(&reply(&"😀".repeat(2501), &["faq:parking"]), &p), Err(Refusal::TooLong));
}

#[test]
fn a_refusal_never_quotes_the_reply() {
    let p = example_prompt("q");
    for refusal in [check("{\"handoff\": \"私の名前は山田花子\"}", &p).unwrap_err(), check(&reply("a", &["山田花子"]), &p).unwrap_err()]
    {
        assert!(!refusal.to_string().contains("山田"), "{refusal}");
    }
}

proptest! {
    #[test]
    fn garbage_never_passes(text in ".{0,300}") {
        let p = example_prompt("q");
        prop_assert!(check(&text, &p).is_err());
    }

    #[test]
    fn an_answer_passes_only_when_every_citation_was_given(
        answer in "[a-zあ-ん ]{1,200}",
        cited in proptest::collection::vec(prop_oneof![Just("faq:parking"), Just("faq:card"), Just("hours:week"), Just("faq:nope"), Just("business:fax")], 0..4),
    ) {
        let p = example_prompt("q");
        let given = cited.iter().all(|c| p.fact_ids.iter().any(|id| id == c));
        let result = check(&reply(&answer, &cited), &p);
        let expected = given && !cited.is_empty() && !answer.trim().is_empty();
        prop_assert_eq!(result.is_ok(), expected, "{:?}", result);
    }

    #[test]
    fn huge_replies_are_refused_without_trouble(n in 5001usize..20_000) {
        let p = example_prompt("q");
        prop_assert_eq!(check(&reply(&"x".repeat(n), &["faq:parking"]), &p), Err(Refusal::TooLong));
    }
}
