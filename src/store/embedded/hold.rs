//! Legal hold in the embedded store: a `holds` partition, consulted inside the same write
//! transaction as every log write, so a held conversation's items are never stored with a TTL.

use async_trait::async_trait;
use fjall::WriteTransaction;

use super::{corrupt, prefix, split2, text, EmbeddedStore, Parts};
use crate::domain::hold::{released_ttl, set_ttl, ttl_of, Hold};
use crate::domain::ids::ConversationId;
use crate::domain::log::{LogItem, NO_TTL};
use crate::store::{Holds, StoreError};

/// The bytes a log item (already serialised) is stored as: without its TTL if the
/// conversation is held. Only a held conversation's items are parsed and written again.
pub(super) fn stored_bytes(txn: &WriteTransaction<'_>, p: &Parts, conv: &str, sk: &str, bytes: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    if p.holds.get(txn, conv)?.is_none() {
        return Ok(bytes);
    }
    let mut item: LogItem = serde_json::from_slice(&bytes).map_err(|e| corrupt(sk, e))?;
    set_ttl(&mut item, NO_TTL);
    serde_json::to_vec(&item).map_err(|e| corrupt(sk, e))
}

/// Sets every log item of `conv` to `wanted(item)`; returns how many changed.
fn retag_log(txn: &mut WriteTransaction<'_>, p: &Parts, conv: &str, wanted: impl Fn(&LogItem) -> Option<i64>) -> Result<usize, StoreError> {
    let mut changes = Vec::new();
    for (key, value) in p.log.prefixed(txn, &prefix(conv))? {
        let (_, sk) = split2(&key)?;
        let mut item: LogItem = serde_json::from_slice(&value).map_err(|e| corrupt(sk, e))?;
        let target = wanted(&item);
        if target != ttl_of(&item) {
            set_ttl(&mut item, target);
            changes.push((key.clone(), serde_json::to_vec(&item).map_err(|e| corrupt(sk, e))?));
        }
    }
    let changed = changes.len();
    for (key, bytes) in changes {
        p.log.insert(txn, key, bytes);
    }
    Ok(changed)
}

#[async_trait]
impl Holds for EmbeddedStore {
    async fn set_hold(&self, hold: &Hold) -> Result<usize, StoreError> {
        let conv = hold.conversation.to_string();
        let bytes = serde_json::to_vec(hold).map_err(|e| corrupt(&conv, e))?;
        self.writer
            .write(move |txn, p| {
                p.holds.insert(txn, conv.as_str(), bytes);
                retag_log(txn, p, &conv, |_| NO_TTL)
            })
            .await
    }

    async fn release_hold(&self, conversation: &ConversationId, retention_days: u32, _now_ms: i64) -> Result<usize, StoreError> {
        let conv = conversation.to_string();
        self.writer
            .write(move |txn, p| {
                p.holds.remove(txn, conv.as_str());
                retag_log(txn, p, &conv, |item| ttl_of(item).or_else(|| Some(released_ttl(item, retention_days))))
            })
            .await
    }

    async fn hold(&self, conversation: &ConversationId) -> Result<Option<Hold>, StoreError> {
        let conv = conversation.to_string();
        let value = self.parts.holds.latest(conv.as_str())?;
        value.map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&conv, e))).transpose()
    }

    async fn holds(&self) -> Result<Vec<Hold>, StoreError> {
        self.blocking(|ks, p| {
            let mut out = Vec::new();
            let snapshot = ks.read_tx();
            for entry in p.holds.all(&snapshot) {
                let (key, value) = entry?;
                out.push(serde_json::from_slice(&value).map_err(|e| corrupt(text(&key).unwrap_or("hold"), e))?);
            }
            Ok(out)
        })
        .await
    }
}
