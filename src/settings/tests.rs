//! Settings errors name the key and the problem.

use std::path::Path;

use super::*;

#[test]
fn the_example_file_loads() {
    let s = Settings::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/settings.example.toml"))).unwrap();
    assert!(!s.rules.greeting.is_empty());
    assert!(s.rules.schedule.is_some());
}

#[test]
fn an_unknown_key_is_named() {
    let err = Settings::from_toml("[greeting]\nmesages = []\n").unwrap_err().to_string();
    assert!(err.contains("mesages"), "{err}");
}

#[test]
fn a_wrong_message_is_named_with_its_index() {
    let err = Settings::from_toml("[default_response]\nmessages = [{type=\"text\",text=\"ok\"},{type=\"text\",text=\" \"}]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("default_response.messages[1]") && err.contains("empty"), "{err}");
}

#[test]
fn six_messages_are_refused() {
    let six = ["{type=\"text\",text=\"a\"}"; 6].join(",");
    let err = Settings::from_toml(&format!("[greeting]\nmessages = [{six}]\n")).unwrap_err().to_string();
    assert!(err.contains("greeting.messages") && err.contains("at most 5"), "{err}");
}

#[test]
fn an_unknown_message_type_is_named() {
    let err = Settings::from_toml("[greeting]\nmessages = [{type=\"video\",url=\"x\"}]\n").unwrap_err().to_string();
    assert!(err.contains("video"), "{err}");
}

fn error_of(toml: &str) -> String {
    Settings::from_toml(toml).unwrap_err().to_string()
}

#[test]
fn every_rule_error_names_its_key() {
    let cases = [
        ("[modes]\nin_hours = \"auto_response\"\n", "modes.in_hours"),
        ("[modes]\nout_of_hours = \"chat\"\n", "modes.out_of_hours"),
        ("[modes]\nalways = \"bot\"\n", "modes.always"),
        ("[hours]\ntimezone = \"Tokyo\"\n", "hours.timezone"),
        ("[hours]\nmon = [\"9:00-18:00\"]\n", "hours.mon[0]"),
        ("[hours]\ntue = [\"09:00-12:00\", \"10:00-11:00\"]\n", "overlap"),
        ("[hours]\nwed = [\"09:00-09:00\"]\n", "hours.wed[0]"),
        ("[[hours.override]]\ndate = \"2026-13-01\"\n", "hours.override[0].date"),
        ("[[hours.override]]\ndate = \"2026-12-31\"\n[[hours.override]]\ndate = \"2026-12-31\"\n", "hours.override[1].date"),
        ("[[keyword_responses]]\nkeywords = []\nmessages = [{type=\"text\",text=\"a\"}]\n", "keyword_responses[0].keywords"),
        ("[[keyword_responses]]\nkeywords = [\"a\"]\nmessages = []\n", "keyword_responses[0].messages"),
        (
            "[[keyword_responses]]\nkeywords = [\"a\"]\nmessages = [{type=\"text\",text=\"a\"}]\ntime = \"late\"\n",
            "keyword_responses[0].time",
        ),
        ("[default_response]\nonce_per = \"sometimes\"\n", "default_response.once_per"),
        ("[default_response]\nonce_per = \"0h\"\n", "default_response.once_per"),
        ("[ai]\nconfidence_threshold = 1.5\n", "ai.confidence_threshold"),
        ("[ai]\nfaq_min_score = -0.1\n", "ai.faq_min_score"),
        ("[[faq]]\nid = \"\"\nquestions = [\"a\"]\nanswer = \"b\"\n", "faq[0].id"),
        ("[[faq]]\nid = \"p\"\nquestions = []\nanswer = \"b\"\n", "faq[0].questions"),
        ("[[faq]]\nid = \"p\"\nquestions = [\"a\", \" \"]\nanswer = \"b\"\n", "faq[0].questions"),
        ("[[faq]]\nid = \"p\"\nquestions = [\"a\"]\nanswer = \" \"\n", "faq[0].answer"),
        (
            "[[faq]]\nid = \"p\"\nquestions = [\"a\"]\nanswer = \"b\"\n[[faq]]\nid = \"p\"\nquestions = [\"c\"]\nanswer = \"d\"\n",
            "faq[1].id",
        ),
        ("[[faq]]\nid = \"p\"\nquestions = [\"a\"]\nanswer = \"b\"\nanwser_en = \"typo\"\n", "anwser_en"),
        ("[ai.templates]\nweather = \"晴れ\"\n", "ai.templates.weather"),
        ("[ai.model]\nenabled = true\n", "ai.model.model_id"),
        ("[ai.model]\nenabled = true\nmodel_id = \"  \"\n", "ai.model.model_id"),
        ("[ai.model]\nmodel_id = \"amazon nova\"\n", "ai.model.model_id"),
        ("[ai.model]\ntimeout_ms = 50\n", "ai.model.timeout_ms"),
        ("[ai.model]\ntimeout_ms = 60000\n", "ai.model.timeout_ms"),
        ("[ai.model]\nmax_tokens = 0\n", "ai.model.max_tokens"),
        ("[ai.model]\nenable = true\n", "enable"),
        ("[ai.templates]\nthanks = \"  \"\n", "ai.templates.thanks"),
        ("[greeting]\nmessages = [{type=\"image\",original_content_url=\"http://x/a.png\"}]\n", "greeting.messages[0]"),
    ];
    for (toml, key) in cases {
        let err = error_of(toml);
        assert!(err.contains(key), "{toml:?} gave {err:?}, which does not name {key}");
    }
}

#[test]
fn defaults_are_hours_off_and_no_automatic_text() {
    let s = Settings::from_toml("").unwrap();
    assert!(s.rules.schedule.is_none());
    assert!(s.rules.default_response.is_empty() && s.rules.greeting.is_empty());
    assert!(s.rules.groups_allowed && !s.push_fallback);
}

#[test]
fn a_template_for_one_language_keeps_the_default_for_the_other() {
    let s = Settings::from_toml("[ai.templates]\nthanks = { ja = \"どうも\" }\n").unwrap();
    let t = s.rules.templates.get(crate::domain::templates::ReplyCategory::parse("thanks").unwrap());
    assert_eq!(t.ja, "どうも");
    assert!(t.en.starts_with("You're welcome"));
}

#[test]
fn the_faq_is_read_with_its_default_score() {
    let s = Settings::from_toml("[[faq]]\nid = \"card\"\nquestions = [\"カード使えますか\"]\nanswer = \"使えます\"\n").unwrap();
    assert_eq!(s.rules.faq.faqs().len(), 1);
    assert_eq!(s.rules.faq_min_score, super::DEFAULT_FAQ_MIN_SCORE);
    let long = "あ".repeat(5001);
    let err = Settings::from_toml(&format!("[[faq]]\nid = \"x\"\nquestions = [\"a\"]\nanswer = \"{long}\"\n")).unwrap_err().to_string();
    assert!(err.contains("faq[0].answer") && err.contains("5000"), "{err}");
}

#[test]
fn the_model_is_off_by_default_and_on_only_when_enabled_with_a_model_id() {
    assert_eq!(Settings::from_toml("").unwrap().rules.model, None);
    let off = Settings::from_toml("[ai.model]\nmodel_id = \"amazon.nova-lite-v1:0\"\n").unwrap();
    assert_eq!(off.rules.model, None, "a model id alone does not turn it on");
    let on = Settings::from_toml("[ai.model]\nenabled = true\nmodel_id = \" apac.amazon.nova-lite-v1:0 \"\n").unwrap();
    let model = on.rules.model.expect("enabled");
    assert_eq!(model.model_id, "apac.amazon.nova-lite-v1:0");
    assert_eq!((model.timeout_ms, model.max_tokens), (DEFAULT_MODEL_TIMEOUT_MS, DEFAULT_MODEL_MAX_TOKENS));
    let tuned = Settings::from_toml("[ai.model]\nenabled = true\nmodel_id = \"m\"\ntimeout_ms = 2500\nmax_tokens = 300\n").unwrap();
    assert_eq!(tuned.rules.model.map(|m| (m.timeout_ms, m.max_tokens)), Some((2500, 300)));
}
