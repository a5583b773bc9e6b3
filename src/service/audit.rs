//! The audit trail use case: every staff action is appended with who, what, which
//! conversation, when and the request id; admins read it newest first.

use std::sync::Arc;

use super::Clock;
use crate::domain::audit::{audit_id, AuditFilter, AuditRecord};
use crate::domain::staff::Staff;
use crate::service::operator::{OperatorError, MAX_EXAMINED, MAX_PAGE};
use crate::store::{AuditLog, Page, PageRequest, StoreError};

/// One action as the edge saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action<'a> {
    pub name: &'a str,
    pub conversation: Option<String>,
    pub targets: Vec<String>,
    pub detail: Option<String>,
    pub request_id: String,
    pub status: u16,
}

#[derive(Clone)]
pub struct AuditTrail {
    log: Arc<dyn AuditLog>,
    clock: Clock,
    retention_days: u32,
}

impl AuditTrail {
    pub fn new(log: Arc<dyn AuditLog>, clock: Clock, retention_days: u32) -> Self {
        Self { log, clock, retention_days }
    }

    pub async fn record(&self, staff: &Staff, action: Action<'_>) -> Result<AuditRecord, StoreError> {
        let at_ms = (self.clock)();
        let record = AuditRecord {
            id: audit_id(at_ms, uuid::Uuid::new_v4().as_u64_pair().0),
            at_ms,
            actor: staff.name.clone(),
            role: staff.role.as_str().to_owned(),
            action: action.name.to_owned(),
            conversation: action.conversation,
            targets: action.targets,
            detail: action.detail,
            request_id: action.request_id,
            status: action.status,
            // Kept as long as the chat log; rule and retention changes for good.
            expires_at: if AuditRecord::is_long_lived(action.name) {
                None
            } else {
                Some(crate::domain::hold::expires_at(at_ms, self.retention_days))
            },
        };
        self.log.append_audit(&record).await?;
        Ok(record)
    }

    /// Newest first, filtered; a filtered page may come back short, with a cursor to go on.
    pub async fn list(
        &self,
        filter: &AuditFilter,
        limit: Option<usize>,
        after: Option<String>,
    ) -> Result<Page<AuditRecord>, OperatorError> {
        let limit = match limit {
            None => 100,
            Some(n) if (1..=MAX_PAGE).contains(&n) => n,
            Some(n) => return Err(OperatorError::invalid("limit", format!("{n}: expected 1 to {MAX_PAGE}"))),
        };
        let (mut items, mut cursor, mut examined) = (Vec::new(), after, 0);
        loop {
            let page = self.log.audit(&PageRequest { limit: limit.max(50), after: cursor }).await?;
            let count = page.items.len();
            for (i, record) in page.items.into_iter().enumerate() {
                examined += 1;
                // Newest first: once past `from`, nothing older can match.
                if filter.from_ms.is_some_and(|from| record.at_ms < from) {
                    return Ok(Page { items, next: None });
                }
                let id = record.id.clone();
                if filter.matches(&record) {
                    items.push(record);
                }
                if items.len() == limit || examined >= MAX_EXAMINED {
                    let more = i + 1 < count || page.next.is_some();
                    return Ok(Page { items, next: more.then_some(id) });
                }
            }
            match page.next {
                None => return Ok(Page { items, next: None }),
                next => cursor = next,
            }
        }
    }
}
