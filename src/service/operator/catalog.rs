//! Tags and canned replies: the account's shared lists.

use super::Operator;
use super::{new_id, OperatorError};
use crate::domain::canned::CannedReply;
use crate::domain::conversation::ConversationState;
use crate::domain::ids::ConversationId;
use crate::domain::keywords::normalize;
use crate::domain::tags::{add_to_user, Tag, TagRegistry};
use crate::store::{collections, Doc, PageRequest, StoreError};

const TAGS_DOC: &str = "tags";
const RETRIES: usize = 8;

fn corrupt(id: &str, e: serde_json::Error) -> StoreError {
    StoreError::corrupt(id, e)
}

impl Operator {
    /// The tag registry and its stored version (0 = none stored yet).
    pub async fn tag_registry(&self) -> Result<(TagRegistry, u64), OperatorError> {
        match self.documents.doc(collections::META, TAGS_DOC).await? {
            None => Ok((TagRegistry::default(), 0)),
            Some(doc) => Ok((serde_json::from_str(&doc.body).map_err(|e| corrupt(TAGS_DOC, e))?, doc.version)),
        }
    }

    /// Read, change, versioned write of the registry; re-read on conflict.
    async fn change_tags<T>(&self, mut change: impl FnMut(&mut TagRegistry) -> Result<T, OperatorError>) -> Result<T, OperatorError> {
        for _ in 0..RETRIES {
            let (mut registry, version) = self.tag_registry().await?;
            let out = change(&mut registry)?;
            let body = serde_json::to_string(&registry).expect("tags serialise");
            match self.documents.put_doc(collections::META, &Doc { id: TAGS_DOC.into(), body, version }).await {
                Ok(()) => return Ok(out),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(OperatorError::Conflict("the tags are changing too fast; try again".into()))
    }

    pub async fn create_tag(&self, name: &str) -> Result<Tag, OperatorError> {
        let now = self.retention.now_ms();
        let id = new_id(now);
        self.change_tags(|r| Ok(r.create(id.clone(), name, now)?)).await
    }

    pub async fn rename_tag(&self, id: &str, name: &str) -> Result<Tag, OperatorError> {
        self.change_tags(|r| Ok(r.rename(id, name)?)).await
    }

    /// Deleting a tag removes it from every user at once: views ignore ids the registry lacks,
    /// and the next change to each conversation drops them.
    pub async fn delete_tag(&self, id: &str) -> Result<Tag, OperatorError> {
        self.change_tags(|r| Ok(r.delete(id)?)).await
    }

    pub async fn tag_user(&self, conversation: &ConversationId, tag_id: &str) -> Result<ConversationState, OperatorError> {
        let (registry, _) = self.tag_registry().await?;
        if registry.get(tag_id).is_none() {
            return Err(OperatorError::NotFound(format!("tag {tag_id:?}")));
        }
        if !conversation.is_user() {
            return Err(OperatorError::NotAllowed("tags are for users (1:1 chats), not groups or rooms".into()));
        }
        self.modify_conversation(conversation, |s| {
            s.tags.retain(|t| registry.get(t).is_some());
            add_to_user(&mut s.tags, tag_id)?;
            Ok(())
        })
        .await
    }

    pub async fn untag_user(&self, conversation: &ConversationId, tag_id: &str) -> Result<ConversationState, OperatorError> {
        self.modify_conversation(conversation, |s| {
            if !s.tags.iter().any(|t| t == tag_id) {
                return Err(OperatorError::NotFound(format!("tag {tag_id:?} on {}", s.id)));
            }
            s.tags.retain(|t| t != tag_id);
            Ok(())
        })
        .await
    }

    pub async fn canned_replies(&self, query: Option<&str>) -> Result<Vec<CannedReply>, OperatorError> {
        let query = query.map(normalize).unwrap_or_default();
        let all: Vec<CannedReply> = self.all_docs(collections::CANNED).await?;
        Ok(all.into_iter().filter(|c| c.matches(&query)).collect())
    }

    /// Every document of a small collection, read page by page and parsed.
    pub(crate) async fn all_docs<T: serde::de::DeserializeOwned>(&self, collection: &str) -> Result<Vec<T>, OperatorError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.documents.docs(collection, &PageRequest { limit: 200, after }).await?;
            for doc in page.items {
                out.push(serde_json::from_str(&doc.body).map_err(|e| corrupt(&doc.id, e))?);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }

    pub async fn canned_reply(&self, id: &str) -> Result<(CannedReply, u64), OperatorError> {
        let doc =
            self.documents.doc(collections::CANNED, id).await?.ok_or_else(|| OperatorError::NotFound(format!("canned reply {id:?}")))?;
        Ok((serde_json::from_str(&doc.body).map_err(|e| corrupt(id, e))?, doc.version))
    }

    pub async fn create_canned(&self, name: &str, text: &str) -> Result<CannedReply, OperatorError> {
        let now = self.retention.now_ms();
        let canned = CannedReply::new(new_id(now), name, text, now)?;
        let body = serde_json::to_string(&canned).expect("canned replies serialise");
        self.documents.put_doc(collections::CANNED, &Doc { id: canned.id.clone(), body, version: 0 }).await?;
        Ok(canned)
    }

    pub async fn update_canned(&self, id: &str, name: &str, text: &str) -> Result<CannedReply, OperatorError> {
        let (_, version) = self.canned_reply(id).await?;
        let canned = CannedReply::new(id.to_owned(), name, text, self.retention.now_ms())?;
        let body = serde_json::to_string(&canned).expect("canned replies serialise");
        match self.documents.put_doc(collections::CANNED, &Doc { id: id.to_owned(), body, version }).await {
            Ok(()) => Ok(canned),
            Err(StoreError::Conflict(_)) => Err(OperatorError::Conflict(format!("canned reply {id:?} changed meanwhile; try again"))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete_canned(&self, id: &str) -> Result<(), OperatorError> {
        let (_, version) = self.canned_reply(id).await?;
        match self.documents.delete_doc(collections::CANNED, id, version).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(OperatorError::Conflict(format!("canned reply {id:?} changed meanwhile; try again"))),
            Err(e) => Err(e.into()),
        }
    }
}
