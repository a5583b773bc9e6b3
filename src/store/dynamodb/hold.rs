//! Legal hold on DynamoDB. The hold lives twice: a `HOLD` item in the conversation's own
//! partition, read (strongly consistent) after every log write so the write can drop its TTL,
//! and a `HOLDS` / `HOLD#<conversation>` registry item, so listing holds is one Query instead of
//! a table Scan. Both are written in one transaction.
//!
//! A release does not delete the `HOLD` item: it overwrites it with a "released" marker (which
//! reads as no hold, and expires with the retention). The operator function may not delete
//! anything in a conversation's partition, where the log lives (template.yaml: its `DeleteItem`
//! is limited to other partitions), so the marker keeps legal hold within that rule.
//!
//! Why the read comes after the write: a hold writes its `HOLD` item, then queries the
//! conversation and strips TTLs. A log write that reads no hold did so before the `HOLD` item
//! existed, so its item was already there for the hold's query to find. Nothing slips through.
//!
//! Why a duplicate write drops it too: the drop is a second request, and it can fail after the
//! item is written. The caller then fails (503 to LINE, a retried stream batch), and what comes
//! back is a redelivery that finds the item logged already: repeating the drop there is what
//! makes a failed one good. It costs a read only on duplicates, which are rare.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::event_log::LogRow;
use super::{classify, from_item, partition_key, to_item, DynamoStore};
use crate::domain::hold::{released_ttl, ttl_of, Hold};
use crate::domain::ids::ConversationId;
use crate::domain::log::NO_TTL;
use crate::store::{Holds, StoreError};

const HOLD_SK: &str = "HOLD";
const REGISTRY_PK: &str = "HOLDS";
const TTL_ATTRIBUTE: &str = "expires_at";
/// On the `HOLD` item of a released hold: when it was released (Unix milliseconds).
const RELEASED_ATTRIBUTE: &str = "released_ms";

#[derive(Serialize, Deserialize)]
struct HoldRow {
    pk: String,
    sk: String,
    #[serde(flatten)]
    hold: Hold,
}

/// What a release leaves where the `HOLD` item was.
#[derive(Serialize)]
struct ReleasedRow {
    pk: String,
    sk: String,
    released_ms: i64,
    expires_at: i64,
}

fn registry_sk(conversation: &ConversationId) -> String {
    format!("HOLD#{conversation}")
}

impl DynamoStore {
    pub(super) async fn read_hold(&self, pk: &str) -> Result<Option<Hold>, StoreError> {
        match self.get(pk.to_owned(), HOLD_SK.into()).await? {
            None => Ok(None),
            Some(item) if item.contains_key(RELEASED_ATTRIBUTE) => Ok(None),
            Some(item) => Ok(Some(from_item::<HoldRow>(item, pk)?.hold)),
        }
    }

    /// Called after every log write, and after every write that found the item there already:
    /// on a held conversation the item must not keep a TTL.
    pub(super) async fn drop_ttl_if_held(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        if self.read_hold(pk).await?.is_some() {
            self.set_item_ttl(pk, sk, NO_TTL).await?;
        }
        Ok(())
    }

    /// `NO_TTL` removes the attribute. The condition keeps an item deleted meanwhile (by TTL)
    /// from being recreated as a fragment.
    async fn set_item_ttl(&self, pk: &str, sk: &str, expires_at: Option<i64>) -> Result<bool, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE);
        let request = match expires_at {
            None => request.update_expression("REMOVE #ttl").condition_expression("attribute_exists(pk)"),
            // Only items still without a TTL: a re-run, or a write racing the release, keeps its own.
            Some(expires_at) => request
                .update_expression("SET #ttl = :ttl")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(#ttl)")
                .expression_attribute_values(":ttl", AttributeValue::N(expires_at.to_string())),
        };
        match request.send().await.map_err(|e| classify(e, sk)) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Pages through a conversation's log and sets each item's TTL to `wanted(item)` where that
    /// differs from what it has. Returns how many items changed.
    async fn retag_log(
        &self,
        conversation: &ConversationId,
        wanted: impl Fn(&crate::store::LogItem) -> Option<i64>,
    ) -> Result<usize, StoreError> {
        let pk = partition_key(conversation);
        let mut changed = 0;
        let mut start: Option<String> = None;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":msg", AttributeValue::S("MSG#".into()));
            if let Some(sk) = &start {
                request = request
                    .exclusive_start_key("pk", AttributeValue::S(pk.clone()))
                    .exclusive_start_key("sk", AttributeValue::S(sk.clone()));
            }
            let out = request.send().await.map_err(|e| classify(e, &pk))?;
            for item in out.items.unwrap_or_default() {
                let row: LogRow = from_item(item, &pk)?;
                let target = wanted(&row.item);
                if target != ttl_of(&row.item) && self.set_item_ttl(&pk, &row.sk, target).await? {
                    changed += 1;
                }
            }
            start = match out.last_evaluated_key {
                Some(key) => match key.get("sk") {
                    Some(AttributeValue::S(sk)) => Some(sk.clone()),
                    _ => None,
                },
                None => None,
            };
            if start.is_none() {
                return Ok(changed);
            }
        }
    }
}

#[async_trait]
impl Holds for DynamoStore {
    async fn set_hold(&self, hold: &Hold) -> Result<usize, StoreError> {
        let pk = partition_key(&hold.conversation);
        let own = HoldRow { pk: pk.clone(), sk: HOLD_SK.into(), hold: hold.clone() };
        let registry = HoldRow { pk: REGISTRY_PK.into(), sk: registry_sk(&hold.conversation), hold: hold.clone() };
        let put = |row: &HoldRow| -> Result<TransactWriteItem, StoreError> {
            let put =
                Put::builder().table_name(&self.table).set_item(Some(to_item(row, &row.sk)?)).build().map_err(StoreError::unavailable)?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        self.client
            .transact_write_items()
            .transact_items(put(&own)?)
            .transact_items(put(&registry)?)
            .send()
            .await
            .map_err(|e| classify(e, &pk))?;
        self.retag_log(&hold.conversation, |_| NO_TTL).await
    }

    async fn release_hold(&self, conversation: &ConversationId, retention_days: u32, now_ms: i64) -> Result<usize, StoreError> {
        let pk = partition_key(conversation);
        let released = ReleasedRow {
            pk: pk.clone(),
            sk: HOLD_SK.into(),
            released_ms: now_ms,
            expires_at: crate::domain::hold::expires_at(now_ms, retention_days),
        };
        let marker =
            Put::builder().table_name(&self.table).set_item(Some(to_item(&released, &pk)?)).build().map_err(StoreError::unavailable)?;
        let registry = Delete::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(REGISTRY_PK.into()))
            .key("sk", AttributeValue::S(registry_sk(conversation)))
            .build()
            .map_err(StoreError::unavailable)?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(marker).build())
            .transact_items(TransactWriteItem::builder().delete(registry).build())
            .send()
            .await
            .map_err(|e| classify(e, &pk))?;
        // A write that read the hold just before it was deleted may still strip its own TTL
        // after this pass: that item is kept longer, never lost, and a second release fixes it.
        self.retag_log(conversation, |item| ttl_of(item).or_else(|| Some(released_ttl(item, retention_days)))).await
    }

    async fn hold(&self, conversation: &ConversationId) -> Result<Option<Hold>, StoreError> {
        self.read_hold(&partition_key(conversation)).await
    }

    async fn holds(&self) -> Result<Vec<Hold>, StoreError> {
        let mut holds = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk AND begins_with(sk, :hold)")
            .expression_attribute_values(":pk", AttributeValue::S(REGISTRY_PK.into()))
            .expression_attribute_values(":hold", AttributeValue::S("HOLD#".into()))
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| classify(e, REGISTRY_PK))?;
            holds.push(from_item::<HoldRow>(item, REGISTRY_PK)?.hold);
        }
        Ok(holds)
    }
}
