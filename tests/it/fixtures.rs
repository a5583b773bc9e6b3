//! Every LINE fixture parses; every signature vector verifies (or fails) as recorded.

use line_oa::domain::event::{EventKind, WebhookBody};
use line_oa::domain::secret::Secret;
use line_oa::domain::signature::SignatureVerifier;
use serde::Deserialize;

use crate::support::shared_dir;

#[test]
fn every_webhook_fixture_parses_and_keeps_every_event() {
    let mut files = 0;
    let mut events = 0;
    for dir in ["go", "java", "python", "docs", "signature-vectors"] {
        for entry in std::fs::read_dir(shared_dir().join("line/fixtures").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == "test-vectors.json" || path.extension().unwrap() != "json" {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let parsed = WebhookBody::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let expected = value.get("events").and_then(|e| e.as_array()).map_or(0, Vec::len);
            assert_eq!(parsed.events.len(), expected, "{}", path.display());
            for (event, raw) in parsed.events.iter().zip(value["events"].as_array().into_iter().flatten()) {
                // Raw JSON is kept verbatim; known types are typed, not Unknown.
                assert_eq!(&serde_json::from_str::<serde_json::Value>(event.raw.get()).unwrap(), raw);
                let known = [
                    "message",
                    "messageEdited",
                    "unsend",
                    "follow",
                    "unfollow",
                    "join",
                    "leave",
                    "memberJoined",
                    "memberLeft",
                    "postback",
                    "videoPlayComplete",
                    "beacon",
                    "accountLink",
                    "membership",
                    "module",
                    "activated",
                    "deactivated",
                    "botSuspended",
                    "botResumed",
                    "delivery",
                ];
                let is_known = known.contains(&raw["type"].as_str().unwrap_or_default());
                assert_eq!(event.kind != EventKind::Unknown, is_known, "{}: {raw}", path.display());
                if raw["type"] == "message" {
                    assert!(event.message().is_some(), "{}: {raw}", path.display());
                }
            }
            files += 1;
            events += expected;
        }
    }
    assert!(files >= 70, "only {files} fixture files found");
    assert!(events >= 100, "only {events} events found");
}

#[derive(Deserialize)]
struct Vector {
    body_file: String,
    channel_secret: String,
    x_line_signature: String,
    valid: bool,
}

#[test]
fn every_signature_vector_verifies_as_recorded() {
    let line = shared_dir().join("line");
    let vectors: Vec<Vector> =
        serde_json::from_slice(&std::fs::read(line.join("fixtures/signature-vectors/test-vectors.json")).unwrap()).unwrap();
    assert!(vectors.len() >= 14);
    for v in &vectors {
        let body = std::fs::read(line.join(&v.body_file)).unwrap();
        let verifier = SignatureVerifier::new(Secret::new(v.channel_secret.clone()).unwrap(), None);
        let result = verifier.verify(&body, Some(&v.x_line_signature));
        assert_eq!(result.is_ok(), v.valid, "{} with {}: {result:?}", v.body_file, v.x_line_signature);
    }
}

#[test]
fn a_re_serialised_body_does_not_verify() {
    // Parsing and re-serialising changes bytes (here: escaped emoji), so only raw bytes are verified.
    let line = shared_dir().join("line");
    let body = std::fs::read(line.join("fixtures/signature-vectors/nodejs-middleware-spec-webhook-body.json")).unwrap();
    let verifier = SignatureVerifier::new(Secret::new("test_channel_secret").unwrap(), None);
    assert!(verifier.verify(&body, Some("OgmPTpRbH/YN+TikEezgT16sc8rzu08WyZFRYOe4yJI=")).is_err());
    assert!(verifier.verify(&body, Some("eRdWYcVCzZV3MVZ3M9/rHJCl/a3oSbsRb04cLovpVwM=")).is_ok());
}
