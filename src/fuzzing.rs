//! Fuzz entry points: one `pub fn` per target, taking the fuzzer's bytes, calling the real
//! parsers and asserting what must hold for every input (a panic is a finding). The cargo-fuzz
//! project in `fuzz/` calls them under libFuzzer; `tests/it/fuzz_corpus.rs` runs them over the
//! committed seed corpora on stable, so the targets cannot rot. Pure: no I/O, no clock.

mod archive;
mod ids;
mod manual_reply;
mod settings;
mod signature;
mod staff;
mod webhook;

pub use archive::archive_object;
pub use ids::conversation_id;
pub use manual_reply::manual_reply;
pub use settings::settings_file;
pub use signature::signature;
pub use staff::{cognito_groups, operator_tokens};
pub use webhook::webhook_body;

/// A target's entry: the fuzzer's bytes in, a panic out if an invariant breaks.
pub type Entry = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`.
pub const TARGETS: [(&str, Entry); 8] = [
    ("webhook_body", webhook_body),
    ("signature", signature),
    ("settings_file", settings_file),
    ("archive_object", archive_object),
    ("operator_tokens", operator_tokens),
    ("cognito_groups", cognito_groups),
    ("conversation_id", conversation_id),
    ("manual_reply", manual_reply),
];

/// Splits an input into `N` fields at its first `N - 1` newlines; the last field keeps the
/// rest (newlines included), missing fields are empty. How multi-part targets read their input.
fn fields<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&data[data.len()..]; N];
    let mut rest = data;
    for (i, field) in out.iter_mut().enumerate() {
        if i + 1 == N {
            *field = rest;
            break;
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(at) => {
                *field = &rest[..at];
                rest = &rest[at + 1..];
            }
            None => {
                *field = rest;
                rest = &rest[rest.len()..];
            }
        }
    }
    out
}

/// Text targets see the input as UTF-8, lossily: every byte string still reaches the parser.
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

#[cfg(test)]
mod tests {
    use super::fields;

    #[test]
    fn fields_split_at_the_first_newlines_and_keep_the_rest() {
        assert_eq!(fields::<3>(b"a\nb\nc\nd"), [&b"a"[..], b"b", b"c\nd"]);
        assert_eq!(fields::<3>(b"a"), [&b"a"[..], b"", b""]);
        assert_eq!(fields::<2>(b""), [&b""[..], b""]);
    }
}
