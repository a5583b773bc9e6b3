//! The conversation list's filters, as LINE's chat screen offers them (pure).

use super::conversation::ConversationState;
use super::keywords::normalize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Unread,
    NeedsAttention,
    Resolved,
    Spam,
}

impl StatusFilter {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unread" => Some(Self::Unread),
            "needs_attention" => Some(Self::NeedsAttention),
            "resolved" => Some(Self::Resolved),
            "spam" => Some(Self::Spam),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFilter {
    User,
    Group,
    Room,
}

impl SourceFilter {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "group" => Some(Self::Group),
            "room" => Some(Self::Room),
            _ => None,
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            Self::User => "user:",
            Self::Group => "group:",
            Self::Room => "room:",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    pub status: Option<StatusFilter>,
    pub tag: Option<String>,
    pub source: Option<SourceFilter>,
    /// Normalised (NFKC, lower case) text the last message must contain.
    pub text: Option<String>,
}

impl ConversationFilter {
    /// Spam is hidden unless asked for, as in LINE's chat list.
    pub fn matches(&self, s: &ConversationState) -> bool {
        let status = match self.status {
            None => !s.spam,
            Some(StatusFilter::Spam) => s.spam,
            Some(StatusFilter::Unread) => !s.spam && s.is_unread(),
            Some(StatusFilter::NeedsAttention) => !s.spam && s.needs_attention,
            Some(StatusFilter::Resolved) => !s.spam && s.resolved,
        };
        status
            && self.tag.as_ref().is_none_or(|t| s.tags.contains(t))
            && self.source.is_none_or(|src| s.id.as_str().starts_with(src.prefix()))
            && self.text.as_ref().is_none_or(|t| s.last_text.as_deref().is_some_and(|last| normalize(last).contains(t.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ConversationId;

    fn state(id: ConversationId) -> ConversationState {
        ConversationState::new(id)
    }

    #[test]
    fn filters_combine() {
        let mut a = state(ConversationId::user("Ua"));
        a.last_inbound_ms = Some(10);
        a.last_text = Some("予約したい".into());
        a.tags = vec!["vip".into()];
        let mut spam = state(ConversationId::user("Us"));
        spam.spam = true;
        let group = state(ConversationId::group("Cg"));
        let all = ConversationFilter::default();
        assert!(all.matches(&a) && all.matches(&group) && !all.matches(&spam));
        let f = |status| ConversationFilter { status: Some(status), ..Default::default() };
        assert!(f(StatusFilter::Spam).matches(&spam) && !f(StatusFilter::Spam).matches(&a));
        assert!(f(StatusFilter::Unread).matches(&a));
        a.last_read_ms = 10;
        assert!(!f(StatusFilter::Unread).matches(&a));
        assert!(!f(StatusFilter::NeedsAttention).matches(&a));
        a.flag("complaint");
        assert!(f(StatusFilter::NeedsAttention).matches(&a));
        a.resolve(11);
        assert!(f(StatusFilter::Resolved).matches(&a) && !f(StatusFilter::NeedsAttention).matches(&a));
        let by_tag = ConversationFilter { tag: Some("vip".into()), ..Default::default() };
        assert!(by_tag.matches(&a) && !by_tag.matches(&group));
        let by_source = ConversationFilter { source: Some(SourceFilter::Group), ..Default::default() };
        assert!(by_source.matches(&group) && !by_source.matches(&a));
        let by_text = ConversationFilter { text: Some(normalize("予約")), ..Default::default() };
        assert!(by_text.matches(&a) && !by_text.matches(&group));
    }
}
