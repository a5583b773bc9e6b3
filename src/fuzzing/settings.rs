//! The settings file (TOML): loaded as at start and on every save from the console, then asked
//! what the hours say at a few instants (DST edges, the ends of time).

use jiff::Timestamp;

use crate::domain::rules::OncePer;
use crate::settings::{Settings, SettingsError};

/// The file's top-level keys: an error about a value names one of them first.
const TOP_LEVEL: [&str; 10] =
    ["account_name", "hours", "modes", "greeting", "keyword_responses", "default_response", "ai", "business", "groups", "reply"];

/// Instants the schedule is asked about: the two ends of time, DST changes in Europe and the
/// US, a leap day, and one taken from the input.
fn instants(data: &[u8]) -> Vec<Timestamp> {
    let mut seconds = vec![
        Timestamp::MIN.as_second(),
        Timestamp::MAX.as_second(),
        0,
        1_774_746_000, // 2026-03-29T01:00:00Z, Europe springs forward
        1_793_494_800, // 2026-11-01T06:00:00Z, America/New_York falls back
        1_835_395_200, // 2028-02-29T00:00:00Z
    ];
    let mut from_input = [0u8; 8];
    for (i, b) in data.iter().enumerate() {
        from_input[i % 8] ^= b;
    }
    seconds.push(i64::from_le_bytes(from_input).rem_euclid(Timestamp::MAX.as_second()));
    seconds.into_iter().filter_map(|s| Timestamp::from_second(s).ok()).collect()
}

/// Any text: the settings load or are refused with an error naming the key (or, for TOML that
/// does not parse, the toml crate's message with its line); never a panic. Loaded settings keep
/// their source, load again the same, and answer every question about their hours.
pub fn settings_file(data: &[u8]) {
    let text = super::text(data);
    match Settings::from_toml(&text) {
        Err(SettingsError::Invalid { key, problem }) => {
            let head = key.split(['.', '[']).next().unwrap_or_default();
            assert!(TOP_LEVEL.contains(&head), "the error names {key:?}, not a settings key ({problem})");
            assert!(!problem.is_empty(), "{key}: no problem given");
        }
        Err(SettingsError::Parse(message)) => assert!(!message.trim().is_empty(), "a parse error without a message"),
        Err(SettingsError::Io { .. }) => panic!("from_toml does no I/O"),
        Ok(settings) => {
            assert_eq!(&*settings.source, text.as_ref());
            assert!(Settings::from_toml(&settings.source).is_ok(), "loaded settings load again");
            if let OncePer::Interval(ms) = settings.rules.once_per {
                assert!(ms > 0, "default_response.once_per loaded as {ms} ms");
            }
            for at in instants(data) {
                let (mode, open) = settings.rules.mode_at(at);
                assert_eq!(open.is_some(), settings.rules.schedule.is_some());
                if let Some(next) = settings.rules.next_open(at) {
                    assert!(next > at, "the next opening is after {at}, not at {next}");
                }
                assert_eq!(settings.rules.mode_at(at), (mode, open));
            }
        }
    }
}
