//! Exports read back: the CSV parsed, the XLSX opened by a real spreadsheet program
//! (LibreOffice, headless) and compared with the log it came from.

use std::process::Command;

use jiff::tz::TimeZone;
use line_oa::domain::export::HEADERS;
use line_oa::domain::export_job::{Format, Range};
use line_oa::domain::ids::ConversationId;
use line_oa::service::export::export;
use line_oa::store::{InboundRecord, OutboundRecord, OutboundStatus, SendMethod, Store};

use crate::contract::embedded_store;

async fn conversation_with_history(store: &dyn Store) -> ConversationId {
    let conv = ConversationId::user("Uexp");
    let text = |id: &str, ts: i64, text: &str| {
        InboundRecord {
        raw: serde_json::json!({"type":"message","message":{"type":"text","id":id,"text":text},"source":{"type":"user","userId":"Uexp"},"timestamp":ts}).to_string(),
        ..crate::contract::inbound("Uexp", id, ts)
    }
    };
    store.put_inbound(&text("m1", 1_764_000_000_000, "予約したいです, 明日\n午後")).await.unwrap();
    let sticker = InboundRecord {
        raw: r#"{"type":"message","message":{"type":"sticker","id":"m2","packageId":"446","stickerId":"1988"}}"#.into(),
        message_type: Some("sticker".into()),
        ..crate::contract::inbound("Uexp", "m2", 1_764_000_060_000)
    };
    store.put_inbound(&sticker).await.unwrap();
    let reply = OutboundRecord {
        conversation: conv.clone(),
        id: "m1".into(),
        timestamp_ms: 1_764_000_000_000,
        created_ms: 1_764_000_001_000,
        method: SendMethod::Reply,
        messages: r#"[{"type":"text","text":"ありがとうございます \"明日\" ですね"}]"#.into(),
        status: OutboundStatus::Sent,
        reason: "default response".into(),
        expires_at: None,
    };
    store.claim_outbound(&reply).await.unwrap();
    // Outside the range exported below.
    store.put_inbound(&text("m3", 1_800_000_000_000, "later")).await.unwrap();
    conv
}

fn expected() -> Vec<Vec<&'static str>> {
    vec![
        HEADERS.to_vec(),
        vec!["2025-11-25 01:00:00", "in", "user:Uexp", "Uexp", "message", "text", "予約したいです, 明日\n午後", "", ""],
        vec!["2025-11-25 01:00:01", "out", "user:Uexp", "account", "reply", "text", "ありがとうございます \"明日\" ですね", "", "sent"],
        vec!["2025-11-25 01:01:00", "in", "user:Uexp", "Uexp", "message", "sticker", "", "sticker 446/1988", ""],
    ]
}

fn range() -> Range {
    Range { from_ms: 1_763_900_000_000, to_ms: 1_790_000_000_000 }
}

pub fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

#[tokio::test]
async fn a_csv_export_has_a_bom_and_reads_back_as_the_log() {
    let store = embedded_store().await;
    let conv = conversation_with_history(store.as_ref()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.csv");
    let tz = TimeZone::get("Asia/Tokyo").unwrap();
    assert_eq!(export(store.as_ref(), &conv, &range(), &tz, Format::Csv, &out).await.unwrap(), 3);
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "Excel needs the BOM to read UTF-8");
    assert_eq!(parse_csv(&bytes[3..]), expected());
}

#[tokio::test]
async fn an_xlsx_export_opens_in_libreoffice_with_the_same_cells() {
    let store = embedded_store().await;
    let conv = conversation_with_history(store.as_ref()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.xlsx");
    let tz = TimeZone::get("Asia/Tokyo").unwrap();
    assert_eq!(export(store.as_ref(), &conv, &range(), &tz, Format::Xlsx, &out).await.unwrap(), 3);
    let csv = xlsx_to_csv(&out);
    assert_eq!(parse_csv(&csv), expected());
}

/// Opens an XLSX in LibreOffice (headless) and returns its first sheet as CSV, without a BOM.
pub fn xlsx_to_csv(xlsx: &std::path::Path) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    // 44 = comma, 34 = double quote, 76 = UTF-8.
    let status = Command::new("soffice")
        .args(["--headless", "--norestore", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir"])
        .arg(dir.path())
        .arg(xlsx)
        .env("HOME", dir.path())
        .output()
        .expect("LibreOffice (soffice) is installed by infra/test.sh");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let name = xlsx.with_extension("csv");
    let csv = std::fs::read(dir.path().join(name.file_name().unwrap())).unwrap();
    csv.strip_prefix(b"\xEF\xBB\xBF").map(<[u8]>::to_vec).unwrap_or(csv)
}
