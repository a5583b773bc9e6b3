//! Message search by text, within one conversation or across all, in a time range.
//!
//! No text index: a search reads the log of every conversation active in the range (the
//! conversation list is ordered by activity, so older ones are never read) and matches in
//! memory. Cost is linear in the messages in the range; see README "Search".

use serde::Serialize;

use super::Operator;
use super::{page_limit, OperatorError};
use crate::domain::export::text_of;
use crate::domain::ids::ConversationId;
use crate::domain::keywords::normalize;
use crate::store::{log_cursor_from, LogItem, PageRequest};

/// Default range when none is given: the last 30 days.
const DEFAULT_RANGE_MS: i64 = 30 * 86_400_000;
pub const MAX_QUERY_CHARS: usize = 200;
/// Conversations whose logs one request reads (one Query each on DynamoDB, a few ms apiece);
/// past this the result carries `next`, so no request outlives API Gateway's 30 s.
pub const MAX_CONVERSATIONS_PER_SEARCH: usize = 300;

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub conversation: Option<ConversationId>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: Option<usize>,
    /// From the previous result's `next`: the conversation list cursor to resume after.
    pub after: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub conversation: String,
    pub timestamp_ms: i64,
    pub direction: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Conversations whose logs were read: what the search cost.
    pub conversations_read: usize,
    pub next: Option<String>,
}

impl Operator {
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchResults, OperatorError> {
        let needle = normalize(&query.text);
        if needle.is_empty() {
            return Err(OperatorError::invalid("q", "must not be empty"));
        }
        if query.text.chars().count() > MAX_QUERY_CHARS {
            return Err(OperatorError::invalid("q", format!("at most {MAX_QUERY_CHARS} characters")));
        }
        let limit = page_limit(query.limit, 50)?;
        let to = query.to_ms.unwrap_or_else(|| self.retention.now_ms());
        let from = query.from_ms.unwrap_or(to - DEFAULT_RANGE_MS);
        if from > to {
            return Err(OperatorError::invalid("from", "must not be after `to`"));
        }
        let mut results = SearchResults { hits: Vec::new(), conversations_read: 0, next: None };
        if let Some(id) = &query.conversation {
            self.existing_conversation(id).await?;
            self.search_one(id, &needle, from, to, &mut results.hits).await?;
            results.conversations_read = 1;
            results.hits.truncate(limit);
            return Ok(results);
        }
        let mut cursor = query.after.clone();
        loop {
            let page = self.conversations.conversations_by_activity(&PageRequest { limit: 100, after: cursor.clone() }).await?;
            for state in &page.items {
                // Newest activity first: nothing older can have a message in the range.
                if state.activity_ms() < from {
                    return Ok(results);
                }
                self.search_one(&state.id, &needle, from, to, &mut results.hits).await?;
                results.conversations_read += 1;
                if results.hits.len() >= limit || results.conversations_read >= MAX_CONVERSATIONS_PER_SEARCH {
                    results.next = Some(self.conversations.activity_cursor(state));
                    return Ok(results);
                }
            }
            match page.next {
                None => return Ok(results),
                next => cursor = next,
            }
        }
    }

    /// Every matching message of one conversation in [from, to], oldest first.
    async fn search_one(
        &self,
        id: &ConversationId,
        needle: &str,
        from: i64,
        to: i64,
        hits: &mut Vec<SearchHit>,
    ) -> Result<(), OperatorError> {
        let mut after = Some(log_cursor_from(from));
        while let Some(cursor) = after {
            let page = self.log.log(id, &PageRequest { limit: 500, after: Some(cursor) }).await?;
            for item in &page.items {
                if item.timestamp_ms() > to {
                    return Ok(());
                }
                let text = text_of(item);
                if !text.is_empty() && normalize(&text).contains(needle) {
                    hits.push(SearchHit {
                        conversation: id.to_string(),
                        timestamp_ms: item.timestamp_ms(),
                        direction: if matches!(item, LogItem::In(_)) { "in" } else { "out" },
                        text,
                    });
                }
            }
            after = page.next;
        }
        Ok(())
    }
}
