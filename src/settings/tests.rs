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
    let six = vec!["{type=\"text\",text=\"a\"}"; 6].join(",");
    let err = Settings::from_toml(&format!("[greeting]\nmessages = [{six}]\n")).unwrap_err().to_string();
    assert!(err.contains("greeting.messages") && err.contains("at most 5"), "{err}");
}

#[test]
fn an_unknown_message_type_is_named() {
    let err = Settings::from_toml("[greeting]\nmessages = [{type=\"video\",url=\"x\"}]\n").unwrap_err().to_string();
    assert!(err.contains("video"), "{err}");
}
