//! The default reply rule: a greeting on follow, a default auto-reply to a user's message.
//! Pure: (settings, conversation, event) -> decision with a reason a person can read.

use super::conversation::ConversationState;
use super::event::{Event, EventKind, Mode, Source};
use super::outbound::OutboundMessage;

/// What the rules want for one event. The service carries it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub reply: Vec<OutboundMessage>,
    pub reason: String,
}

impl Decision {
    fn none(reason: impl Into<String>) -> Self {
        Self { reply: Vec::new(), reason: reason.into() }
    }
    fn reply(messages: &[OutboundMessage], reason: impl Into<String>) -> Self {
        Self { reply: messages.to_vec(), reason: reason.into() }
    }
}

/// The parts of the settings this rule reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyRuleSettings {
    pub greeting: Vec<OutboundMessage>,
    pub greeting_first_follow_only: bool,
    pub default_response: Vec<OutboundMessage>,
}

pub fn decide(settings: &ReplyRuleSettings, conversation: &ConversationState, event: &Event) -> Decision {
    if event.mode == Mode::Standby {
        return Decision::none("standby mode: another channel has the chat; logged only");
    }
    if event.reply_token.is_none() {
        return Decision::none("no reply token: nothing can be answered");
    }
    let Some(Source::User { .. }) = event.source else {
        return Decision::none("not a 1:1 chat: groups and rooms get no automatic reply");
    };
    match &event.kind {
        EventKind::Follow { .. } if settings.greeting.is_empty() => Decision::none("follow: no greeting configured"),
        EventKind::Follow { .. } if settings.greeting_first_follow_only && conversation.follow_count > 1 => {
            Decision::none("follow again: greeting is for the first follow only")
        }
        EventKind::Follow { .. } => Decision::reply(&settings.greeting, "follow: greeting"),
        EventKind::Message(_) if conversation.is_blocked() => Decision::none("user has blocked the account"),
        EventKind::Message(_) if settings.default_response.is_empty() => {
            Decision::none("message: no default response configured; left for staff")
        }
        EventKind::Message(_) => Decision::reply(&settings.default_response, "message: default response"),
        _ => Decision::none(format!("{} event: logged, no reply", event.event_type)),
    }
}
