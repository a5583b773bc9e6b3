//! The audit trail of staff actions (pure): who did what, to which conversation, when, under
//! which request. Never a message's or a note's text: the transcript holds what was said.

use serde::{Deserialize, Serialize};

/// Actions whose record outlives the conversation's retention: they change the rules or the
/// retention itself.
const LONG_LIVED: [&str; 3] = ["settings.save", "hold.set", "hold.release"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unique and time-ordered: `<at_ms, 13 digits>-<random>`.
    pub id: String,
    pub at_ms: i64,
    pub actor: String,
    pub role: String,
    /// `reply`, `note.add`, `status`, `tag.create`, `conversation.read`, … (see the route table).
    pub action: String,
    pub conversation: Option<String>,
    /// The other ids the action names (note, tag, canned reply, export job), `name=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// A few safe fields of the request (a status, a pin's mode and minutes, an export's format and scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub request_id: String,
    /// The HTTP status the action ended with.
    pub status: u16,
    /// Unix seconds after which the record may go (DynamoDB TTL); `None` = kept (no attribute).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::log::ttl_as_stored")]
    pub expires_at: Option<i64>,
}

impl AuditRecord {
    /// Records of rule and retention changes are kept; the rest as long as the chat log.
    pub fn is_long_lived(action: &str) -> bool {
        LONG_LIVED.contains(&action)
    }

    pub fn sort_key(&self) -> String {
        self.id.clone()
    }
}

/// An id that sorts by time: the caller brings the time and the randomness.
pub fn audit_id(at_ms: i64, random: u64) -> String {
    format!("{:013}-{random:016x}", at_ms.max(0))
}

/// What an admin asks the audit log for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub conversation: Option<String>,
    pub action: Option<String>,
    /// Inclusive, ms.
    pub from_ms: Option<i64>,
    /// Exclusive, ms.
    pub to_ms: Option<i64>,
}

impl AuditFilter {
    pub fn matches(&self, r: &AuditRecord) -> bool {
        self.actor.as_ref().is_none_or(|a| *a == r.actor)
            && self.conversation.as_ref().is_none_or(|c| r.conversation.as_ref() == Some(c))
            && self.action.as_ref().is_none_or(|a| *a == r.action || r.action.starts_with(&format!("{a}.")))
            && self.from_ms.is_none_or(|t| r.at_ms >= t)
            && self.to_ms.is_none_or(|t| r.at_ms < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str, at_ms: i64) -> AuditRecord {
        AuditRecord {
            id: audit_id(at_ms, 7),
            at_ms,
            actor: "alice".into(),
            role: "admin".into(),
            action: action.into(),
            conversation: Some("user:U1".into()),
            targets: vec![],
            detail: None,
            request_id: "r".into(),
            status: 200,
            expires_at: None,
        }
    }

    #[test]
    fn ids_sort_by_time() {
        assert!(audit_id(999, u64::MAX) < audit_id(1_000, 0));
        assert_eq!(audit_id(1_764_000_000_000, 255), "1764000000000-00000000000000ff");
    }

    #[test]
    fn filters_combine_and_an_action_prefix_matches_its_family() {
        let r = record("note.add", 10);
        assert!(AuditFilter::default().matches(&r));
        assert!(AuditFilter { action: Some("note".into()), ..Default::default() }.matches(&r));
        assert!(!AuditFilter { action: Some("not".into()), ..Default::default() }.matches(&r));
        assert!(!AuditFilter { actor: Some("bob".into()), ..Default::default() }.matches(&r));
        assert!(AuditFilter { from_ms: Some(10), to_ms: Some(11), ..Default::default() }.matches(&r));
        assert!(!AuditFilter { to_ms: Some(10), ..Default::default() }.matches(&r));
        assert!(AuditRecord::is_long_lived("settings.save") && !AuditRecord::is_long_lived("reply"));
    }
}
