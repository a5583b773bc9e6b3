//! The operator side's small documents on DynamoDB: `DOC#<collection>` / `<id>`, versioned by
//! a condition on `version`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{classify, from_item, to_item, DynamoStore};
use crate::store::{Doc, Documents, Page, PageRequest, StoreError};

#[derive(Serialize, Deserialize)]
struct DocRow {
    pk: String,
    sk: String,
    body: String,
    version: u64,
}

fn doc_partition(collection: &str) -> String {
    format!("DOC#{collection}")
}

#[async_trait]
impl Documents for DynamoStore {
    async fn doc(&self, collection: &str, id: &str) -> Result<Option<Doc>, StoreError> {
        match self.get(doc_partition(collection), id.to_owned()).await? {
            None => Ok(None),
            Some(item) => {
                let row: DocRow = from_item(item, id)?;
                Ok(Some(Doc { id: row.sk, body: row.body, version: row.version }))
            }
        }
    }

    async fn put_doc(&self, collection: &str, doc: &Doc) -> Result<(), StoreError> {
        let row = DocRow { pk: doc_partition(collection), sk: doc.id.clone(), body: doc.body.clone(), version: doc.version + 1 };
        let request = self.client.put_item().table_name(&self.table).set_item(Some(to_item(&row, &doc.id)?));
        let request = if doc.version == 0 {
            request.condition_expression("attribute_not_exists(pk)")
        } else {
            request.condition_expression("version = :v").expression_attribute_values(":v", AttributeValue::N(doc.version.to_string()))
        };
        request.send().await.map(|_| ()).map_err(|e| classify(e, &doc.id))
    }

    async fn delete_doc(&self, collection: &str, id: &str, version: u64) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(doc_partition(collection)))
            .key("sk", AttributeValue::S(id.to_owned()))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e, id))
    }

    async fn docs(&self, collection: &str, page: &PageRequest) -> Result<Page<Doc>, StoreError> {
        let pk = doc_partition(collection);
        let out = self
            .page_of_partition(&pk, page)
            .key_condition_expression("pk = :pk")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(e, &pk))?;
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            let row: DocRow = from_item(item, &pk)?;
            items.push(Doc { id: row.sk, body: row.body, version: row.version });
        }
        let next = out.last_evaluated_key.and(items.last().map(|d| d.id.clone()));
        Ok(Page { items, next })
    }
}
