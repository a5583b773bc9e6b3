//! TTL expiry for the embedded store, the local counterpart of DynamoDB's TTL: find items past
//! their `expires_at`, and remove them only once the caller has made sure they are archived.
//! Held items have no TTL, so they are never found here.

use async_trait::async_trait;

use super::{corrupt, key2, split2, EmbeddedStore};
use crate::domain::hold::is_expired;
use crate::domain::log::LogItem;
use crate::store::{Expired, LocalTtl, StoreError};

#[async_trait]
impl LocalTtl for EmbeddedStore {
    async fn expired(&self, now_s: i64, limit: usize) -> Result<Vec<Expired>, StoreError> {
        self.blocking(move |ks, p| {
            let snapshot = ks.read_tx();
            let mut out = Vec::new();
            for entry in p.log.all(&snapshot) {
                let (key, value) = entry?;
                // Not handled yet: handled (and archived) first, expired afterwards.
                if p.pending.read(&snapshot, &key)?.is_some() {
                    continue;
                }
                let (conv, sk) = split2(&key)?;
                let item: LogItem = serde_json::from_slice(&value).map_err(|e| corrupt(sk, e))?;
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
            .write(move |txn, p| {
                let mut removed = 0;
                for e in &items {
                    let key = key2(&e.conversation, &e.sort_key);
                    let Some(bytes) = p.log.get(txn, &key)? else { continue };
                    let item: LogItem = serde_json::from_slice(&bytes).map_err(|err| corrupt(&e.sort_key, err))?;
                    let unhandled = p.pending.contains(txn, &key)?;
                    if item == e.item && is_expired(&item, now_s) && !unhandled {
                        p.log.remove(txn, key);
                        removed += 1;
                    }
                }
                Ok(removed)
            })
            .await
    }
}
