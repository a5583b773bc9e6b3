//! TTL expiry for the embedded store, the local counterpart of DynamoDB's TTL: find items past
//! their `expires_at`, and remove them only once the caller has made sure they are archived.
//! Held items have no TTL, so they are never found here.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable};

use super::{corrupt, unavailable, EmbeddedStore, LOG, PENDING};
use crate::domain::hold::is_expired;
use crate::domain::log::LogItem;
use crate::store::{Expired, LocalTtl, StoreError};

#[async_trait]
impl LocalTtl for EmbeddedStore {
    async fn expired(&self, now_s: i64, limit: usize) -> Result<Vec<Expired>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let log = txn.open_table(LOG).map_err(unavailable)?;
            let pending = txn.open_table(PENDING).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in log.iter().map_err(unavailable)? {
                let (key, value) = entry.map_err(unavailable)?;
                let (conv, sk) = key.value();
                // Not handled yet: handled (and archived) first, expired afterwards.
                if pending.get((conv, sk)).map_err(unavailable)?.is_some() {
                    continue;
                }
                let item: LogItem = serde_json::from_slice(value.value()).map_err(|e| corrupt(sk, e))?;
                if is_expired(&item, now_s) {
                    out.push(Expired { conversation: conv.to_owned(), sort_key: sk.to_owned(), item });
                    if out.len() == limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn remove_expired(&self, items: Vec<Expired>, now_s: i64) -> Result<usize, StoreError> {
        self.writer
            .write(move |txn| {
                let mut log = txn.open_table(LOG).map_err(unavailable)?;
                let pending = txn.open_table(PENDING).map_err(unavailable)?;
                let mut removed = 0;
                for e in &items {
                    let key = (e.conversation.as_str(), e.sort_key.as_str());
                    let current = log.get(key).map_err(unavailable)?.map(|v| v.value().to_vec());
                    let Some(bytes) = current else { continue };
                    let item: LogItem = serde_json::from_slice(&bytes).map_err(|err| corrupt(&e.sort_key, err))?;
                    let unhandled = pending.get(key).map_err(unavailable)?.is_some();
                    if item == e.item && is_expired(&item, now_s) && !unhandled {
                        log.remove(key).map_err(unavailable)?;
                        removed += 1;
                    }
                }
                Ok(removed)
            })
            .await
    }
}
