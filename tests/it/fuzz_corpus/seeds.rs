//! The fuzz targets' seed inputs that are built, not found: signature vectors in the target's
//! `secret \n header \n body` form, hash-chained archive objects, token tables with real hashes,
//! and handwritten edge cases. Written into `fuzz/corpus/` by `fuzz/run.sh --seed`; run here too,
//! with every LINE fixture body for the webhook target.

use line_oa::domain::archive::{next_object, next_object_with_media, ChainHead, MediaOutcome};
use line_oa::domain::event::Mode;
use line_oa::domain::ids::{ConversationId, EventId};
use line_oa::domain::log::{InboundRecord, LogItem, OutboundRecord, OutboundStatus, SendMethod};
use line_oa::domain::media::MediaRef;
use line_oa::domain::staff::hash_token;
use serde::Deserialize;

use crate::support::{repo_dir, shared_dir};

/// (target, file name, bytes).
pub type Seed = (&'static str, String, Vec<u8>);

fn seed(target: &'static str, name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Seed {
    (target, name.into(), bytes.into())
}

/// Seeds named so are LINE's fixtures, read from `../shared` where they live (by this test, and by
/// `fuzz/run.sh` as a read-only corpus): not copied into `fuzz/corpus`.
pub const FIXTURE: &str = "fixture-";

/// Every LINE fixture body, as the webhook receives it.
fn webhook_fixtures() -> Vec<Seed> {
    let mut out = Vec::new();
    for dir in ["go", "java", "python", "docs", "signature-vectors"] {
        let mut paths: Vec<_> =
            std::fs::read_dir(shared_dir().join("line/fixtures").join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name != "test-vectors.json" {
                out.push(seed("webhook_body", format!("{FIXTURE}{dir}-{name}"), std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

#[derive(Deserialize)]
struct Vector {
    body_file: String,
    channel_secret: String,
    x_line_signature: String,
}

fn signature_vectors() -> Vec<Seed> {
    let dir = shared_dir().join("line");
    let vectors: Vec<Vector> =
        serde_json::from_slice(&std::fs::read(dir.join("fixtures/signature-vectors/test-vectors.json")).unwrap()).unwrap();
    let mut out: Vec<Seed> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut input = format!("{}\n{}\n", v.channel_secret, v.x_line_signature).into_bytes();
            input.extend(std::fs::read(dir.join(&v.body_file)).unwrap());
            seed("signature", format!("seed-vector-{i}"), input)
        })
        .collect();
    for (name, input) in [
        ("no-header", "s3cret\n\n{}"),
        ("short", "s3cret\nAAAA\n{}"),
        ("not-base64", "s3cret\nnot base64!\n{}"),
        ("padded", "s3cret\n  GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=  \n{}"),
        ("empty-secret", " \nAAAA\n{}"),
    ] {
        out.push(seed("signature", format!("seed-{name}"), input));
    }
    out
}

fn settings_files() -> Vec<Seed> {
    let mut out = vec![
        seed("settings_file", "seed-example.toml", std::fs::read(repo_dir().join("settings.example.toml")).unwrap()),
        seed("settings_file", "seed-empty.toml", ""),
    ];
    for (i, toml) in [
        "[modes]\nin_hours = \"smart_chat\"\nout_of_hours = \"ai_response\"\nalways = \"chat\"\n",
        "[hours]\nenabled = true\ntimezone = \"America/New_York\"\nsun = [\"22:00-02:00\"]\nmon = [\"00:00-24:00\"]\n",
        "[[hours.override]]\ndate = \"2026-12-31\"\nwindows = [\"13:00-17:00\"]\n",
        "[[keyword_responses]]\nkeywords = [\"予約\"]\nmessages = [{type=\"text\",text=\"a\"}]\nfrom = \"2026-01-01\"\nuntil = \"2026-12-31\"\ntime = \"09:00-18:00\"\n",
        "[default_response]\nonce_per = \"6h\"\nmessages = [{type=\"sticker\",package_id=\"446\",sticker_id=\"1988\"}]\n",
        "[default_response]\nonce_per = \"every_message\"\n",
        "[ai]\nconfidence_threshold = 0.5\nlong_message_chars = 10\n[ai.templates]\nthanks = { ja = \"どうも\" }\nhours = \"x\"\n",
        "[business]\naddress = \"東京\"\nphone = \"03\"\nwebsite = \"https://x\"\n[groups]\nallowed = false\n[reply]\npush_fallback = true\n",
        "[greeting]\nfirst_follow_only = true\nmessages = [{type=\"image\",original_content_url=\"https://x/a.png\",preview_image_url=\"https://x/p.png\"}]\n",
        "[hours]\ntue = [\"09:00-12:00\", \"10:00-11:00\"]\n",
    ]
    .into_iter()
    .enumerate()
    {
        out.push(seed("settings_file", format!("seed-{i}.toml"), toml));
    }
    out
}

fn conv() -> ConversationId {
    ConversationId::user("U4af4980629")
}

fn inbound(id: &str, ts: i64, message_type: &str, raw: &str) -> LogItem {
    LogItem::In(InboundRecord {
        conversation: conv(),
        event_id: EventId::new(id.into()),
        timestamp_ms: ts,
        received_ms: ts + 5,
        event_type: "message".into(),
        message_type: Some(message_type.into()),
        user_id: Some("U4af4980629".into()),
        mode: Mode::Active,
        is_redelivery: false,
        raw: raw.into(),
        expires_at: Some(1_800_000_000),
    })
}

fn outbound(id: &str, ts: i64, status: OutboundStatus) -> LogItem {
    LogItem::Out(OutboundRecord {
        conversation: conv(),
        id: id.into(),
        timestamp_ms: ts,
        created_ms: ts,
        method: SendMethod::Reply,
        messages: r#"[{"type":"text","text":"ありがとうございます"}]"#.into(),
        status,
        reason: "keyword".into(),
        expires_at: None,
    })
}

/// A two-object chain (joined by NUL, as the target reads it), each object alone, one with a
/// stored and a failed media line, and one object edited after the fact.
fn archive_objects() -> Vec<Seed> {
    let text = inbound("e1", 1_764_000_000_000, "text", r#"{"type":"message","message":{"id":"1","type":"text","text":"こんにちは"}}"#);
    let image = inbound("e2", 1_764_000_060_000, "image", r#"{"type":"message","message":{"id":"2","type":"image"}}"#);
    let video = inbound("e3", 1_764_000_120_000, "video", r#"{"type":"message","message":{"id":"3","type":"video"}}"#);
    let first =
        next_object(&conv(), &ChainHead::default(), &[text.clone(), outbound("e1", 1_764_000_000_000, OutboundStatus::Sending)]).unwrap();
    let second = next_object(&conv(), &first.head, &[outbound("e1", 1_764_000_000_000, OutboundStatus::Sent), image.clone()]).unwrap();
    let media = [
        (
            line_oa::domain::archive::version_of(&image),
            MediaOutcome::Stored(MediaRef {
                key: "transcripts/user:U4af4980629/media/2".into(),
                content_type: "image/jpeg".into(),
                size: 3,
                sha256: "ab".repeat(32),
            }),
        ),
        (line_oa::domain::archive::version_of(&video), MediaOutcome::Failed("500 from LINE".into())),
    ]
    .into_iter()
    .collect();
    let with_media = next_object_with_media(&conv(), &ChainHead::default(), &[image, video], &media).unwrap();
    let mut chain = first.bytes.clone();
    chain.push(0);
    chain.extend(&second.bytes);
    let edited = String::from_utf8(first.bytes.clone()).unwrap().replace("こんにちは", "さようなら");
    vec![
        seed("archive_object", "seed-chain-of-two", chain),
        seed("archive_object", "seed-first", first.bytes),
        seed("archive_object", "seed-second", second.bytes),
        seed("archive_object", "seed-media", with_media.bytes),
        seed("archive_object", "seed-edited", edited),
    ]
}

fn token_tables() -> Vec<Seed> {
    let table =
        format!("alice:admin:{}, bob:operator:{}\ncarol:operator:{}", hash_token("a-token"), hash_token("b-token"), hash_token("c"));
    vec![
        seed("operator_tokens", "seed-alice", format!("alice\nadmin\na-token\n{table}")),
        seed("operator_tokens", "seed-bob", format!("bob\noperator\nb-token\n{table}")),
        seed("operator_tokens", "seed-bad-role", format!("eve\nroot\nt\nx:root:{}", hash_token("t"))),
        seed("operator_tokens", "seed-bad-hash", "a\nadmin\nt\na:admin:zz,b:operator:00"),
        seed("operator_tokens", "seed-empty", "\n\n\n"),
    ]
}

fn small(target: &'static str, inputs: &[&str]) -> Vec<Seed> {
    inputs.iter().enumerate().map(|(i, s)| seed(target, format!("seed-{i}"), *s)).collect()
}

/// Every seed, for every target.
pub fn all() -> Vec<Seed> {
    let mut out = webhook_fixtures();
    out.extend(small(
        "webhook_body",
        &[
            "{}",
            r#"{"destination":"U1","events":[{}]}"#,
            r#"{"events":[{"type":"message","message":{"type":"text","id":1,"text":""},"source":{"type":"user","userId":""}}]}"#,
            r#"{"events":[1,"x",null,{"type":"follow","follow":{"isUnblocked":true},"source":{"type":"room","roomId":"R1"}}]}"#,
        ],
    ));
    out.extend(signature_vectors());
    out.extend(settings_files());
    out.extend(archive_objects());
    out.extend(token_tables());
    out.extend(small("cognito_groups", &["[admin operator]", "[operator]", "[\"operator\",\"x\"]", "[customers]", "admin", ""]));
    out.extend(small(
        "conversation_id",
        &["user:U4af4980629", "group:Ca56f94637c", "room:Ra8dc1ac1f", "other:greatNewFeature", "none", "user:", "user", "user:a:b/c"],
    ));
    out.extend(small(
        "manual_reply",
        &[
            r#"{"messages":[{"type":"text","text":"hi"}]}"#,
            r#"{"messages":[{"type":"text","text":"秘密の内容"}],"client_id":"a1"}"#,
            r#"{"messages":[{"type":"sticker","package_id":"446","sticker_id":"1988"},{"type":"canned","id":"c1"}]}"#,
            r#"{"messages":[{"type":"image","original_content_url":"https://x/a.jpg","preview_image_url":"https://x/p.jpg"}]}"#,
            r#"{"messages":[{"type":"image","original_content_url":"http://x/a.jpg"}]}"#,
            r#"{"messages":[{"type":"video","url":"x"}]}"#,
            r#"{"messages":[],"client_id":""}"#,
            r#"{"messages":[{"type":"text","text":"x"}],"extra":1}"#,
        ],
    ));
    out
}
