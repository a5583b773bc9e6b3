//! Legal hold in the embedded store: a `holds` table, consulted inside the same write
//! transaction as every log write, so a held conversation's items are never stored with a TTL.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{corrupt, unavailable, EmbeddedStore, LOG};
use crate::domain::hold::{released_ttl, set_ttl, ttl_of, Hold};
use crate::domain::ids::ConversationId;
use crate::domain::log::{LogItem, NO_TTL};
use crate::store::{Holds, StoreError};

/// conversation -> Hold JSON.
pub(super) const HOLDS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("holds");

/// The bytes a log item (already serialised) is stored as: without its TTL if the
/// conversation is held. Only a held conversation's items are parsed and written again.
pub(super) fn stored_bytes(txn: &WriteTransaction, conv: &str, sk: &str, bytes: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    if txn.open_table(HOLDS).map_err(unavailable)?.get(conv).map_err(unavailable)?.is_none() {
        return Ok(bytes);
    }
    let mut item: LogItem = serde_json::from_slice(&bytes).map_err(|e| corrupt(sk, e))?;
    set_ttl(&mut item, NO_TTL);
    serde_json::to_vec(&item).map_err(|e| corrupt(sk, e))
}

/// Sets every log item of `conv` to `wanted(item)`; returns how many changed.
fn retag_log(txn: &WriteTransaction, conv: &str, wanted: impl Fn(&LogItem) -> Option<i64>) -> Result<usize, StoreError> {
    let mut log = txn.open_table(LOG).map_err(unavailable)?;
    let mut changes = Vec::new();
    for entry in log.range((conv, "")..).map_err(unavailable)? {
        let (key, value) = entry.map_err(unavailable)?;
        let (c, sk) = key.value();
        if c != conv {
            break;
        }
        let mut item: LogItem = serde_json::from_slice(value.value()).map_err(|e| corrupt(sk, e))?;
        let target = wanted(&item);
        if target != ttl_of(&item) {
            set_ttl(&mut item, target);
            changes.push((sk.to_owned(), serde_json::to_vec(&item).map_err(|e| corrupt(sk, e))?));
        }
    }
    for (sk, bytes) in &changes {
        log.insert((conv, sk.as_str()), bytes.as_slice()).map_err(unavailable)?;
    }
    Ok(changes.len())
}

#[async_trait]
impl Holds for EmbeddedStore {
    async fn set_hold(&self, hold: &Hold) -> Result<usize, StoreError> {
        let conv = hold.conversation.to_string();
        let bytes = serde_json::to_vec(hold).map_err(|e| corrupt(&conv, e))?;
        self.writer
            .write(move |txn| {
                txn.open_table(HOLDS).map_err(unavailable)?.insert(conv.as_str(), bytes.as_slice()).map_err(unavailable)?;
                retag_log(txn, &conv, |_| NO_TTL)
            })
            .await
    }

    async fn release_hold(&self, conversation: &ConversationId, retention_days: u32, _now_ms: i64) -> Result<usize, StoreError> {
        let conv = conversation.to_string();
        self.writer
            .write(move |txn| {
                txn.open_table(HOLDS).map_err(unavailable)?.remove(conv.as_str()).map_err(unavailable)?;
                retag_log(txn, &conv, |item| ttl_of(item).or_else(|| Some(released_ttl(item, retention_days))))
            })
            .await
    }

    async fn hold(&self, conversation: &ConversationId) -> Result<Option<Hold>, StoreError> {
        let conv = conversation.to_string();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let holds = txn.open_table(HOLDS).map_err(unavailable)?;
            let value = holds.get(conv.as_str()).map_err(unavailable)?;
            value.map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(&conv, e))).transpose()
        })
        .await
    }

    async fn holds(&self) -> Result<Vec<Hold>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let holds = txn.open_table(HOLDS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in holds.iter().map_err(unavailable)? {
                let (key, value) = entry.map_err(unavailable)?;
                out.push(serde_json::from_slice(value.value()).map_err(|e| corrupt(key.value(), e))?);
            }
            Ok(out)
        })
        .await
    }
}
