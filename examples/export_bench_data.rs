//! Fills an embedded store with a realistic chat log for the export benchmark
//! (`bench/export_1m.sh`): mixed Japanese and English texts, stickers and replies, spread over
//! a year and several thousand conversations. Deterministic: the same arguments, the same log.
//!
//! usage: cargo run --release --example export_bench_data -- DATA_DIR ITEMS CONVERSATIONS

use std::sync::Arc;

use line_oa::domain::event::Mode;
use line_oa::domain::ids::{ConversationId, EventId};
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{EventLog, InboundRecord, OutboundRecord, OutboundStatus, SendMethod};
use tokio::task::JoinSet;

const TEXTS: &[&str] = &[
    "こんにちは！予約をお願いしたいのですが、明日の午後は空いていますか？",
    "営業時間は何時までですか",
    "Hi, do you have any tables for 4 people tonight at 7pm?",
    "ありがとうございました。また利用します😊",
    "Can I change my reservation to Saturday?",
    "駐車場はありますか？車で伺う予定です。",
    "The delivery hasn't arrived yet, order #48213. Could you check?",
    "キャンセルしたいです。すみません、急用ができてしまって…",
    "Is the shop open on public holidays?",
    "クーポンは併用できますか？\n店頭で見せればいいですか",
    "OK 👍",
    "了解です",
];
const REPLIES: &[&str] = &[
    "お問い合わせありがとうございます。担当者より折り返しご連絡いたします。",
    "Thank you for your message! We will get back to you shortly.",
    "営業時間は10:00〜20:00です（水曜定休）。",
];
/// Writes in flight at once: lets the store's group commit batch them.
const IN_FLIGHT: usize = 512;
const START_MS: i64 = 1_735_657_200_000; // 2025-01-01 00:00 JST
const YEAR_MS: i64 = 365 * 86_400_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn inbound(user: &str, n: u64, ts: i64, rng: &mut Rng) -> InboundRecord {
    let sticker = rng.below(10) == 0;
    let message = if sticker {
        serde_json::json!({"type": "sticker", "id": format!("m{n}"), "packageId": "446", "stickerId": "1988"})
    } else {
        serde_json::json!({"type": "text", "id": format!("m{n}"), "text": TEXTS[rng.below(TEXTS.len() as u64) as usize]})
    };
    let raw = serde_json::json!({
        "type": "message", "mode": "active", "timestamp": ts, "webhookEventId": format!("01BENCH{n:019}"),
        "deliveryContext": {"isRedelivery": false}, "replyToken": format!("rt{n}"),
        "source": {"type": "user", "userId": user}, "message": message,
    });
    InboundRecord {
        conversation: ConversationId::user(user),
        event_id: EventId::new(format!("01BENCH{n:019}")),
        timestamp_ms: ts,
        received_ms: ts + 40,
        event_type: "message".into(),
        message_type: Some(if sticker { "sticker" } else { "text" }.into()),
        user_id: Some(user.to_owned()),
        mode: Mode::Active,
        is_redelivery: false,
        raw: raw.to_string(),
        expires_at: Some(ts / 1000 + 365 * 86_400),
    }
}

fn reply(user: &str, n: u64, ts: i64, rng: &mut Rng) -> OutboundRecord {
    let text = REPLIES[rng.below(REPLIES.len() as u64) as usize];
    OutboundRecord {
        conversation: ConversationId::user(user),
        id: format!("01BENCH{n:019}"),
        timestamp_ms: ts,
        created_ms: ts + 900,
        method: SendMethod::Reply,
        messages: serde_json::json!([{"type": "text", "text": text}]).to_string(),
        status: OutboundStatus::Sent,
        reason: "keyword".into(),
        expires_at: Some(ts / 1000 + 365 * 86_400),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, items, conversations] = args.as_slice() else {
        return Err("usage: export_bench_data DATA_DIR ITEMS CONVERSATIONS".into());
    };
    let (items, conversations): (u64, u64) = (items.parse()?, conversations.parse()?);
    let store = Arc::new(EmbeddedStore::open(dir.as_ref())?);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tasks = JoinSet::new();
    let (mut written, mut n) = (0u64, 0u64);
    let started = std::time::Instant::now();
    while written < items {
        n += 1;
        let user = format!("U{:032x}", rng.below(conversations));
        let ts = START_MS + rng.below(YEAR_MS as u64) as i64;
        let record = inbound(&user, n, ts, &mut rng);
        let answer = (written + 1 < items && rng.below(3) == 0).then(|| reply(&user, n, ts, &mut rng));
        written += 1 + u64::from(answer.is_some());
        let store = store.clone();
        tasks.spawn(async move {
            store.put_inbound(&record).await?;
            if let Some(answer) = answer {
                store.claim_outbound(&answer).await?;
            }
            Ok::<_, line_oa::store::StoreError>(())
        });
        if tasks.len() >= IN_FLIGHT {
            tasks.join_next().await.expect("a task")??;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    eprintln!("{written} log items in {:.1?}", started.elapsed());
    Ok(())
}
