//! The replay window. LINE signs the body but no time, so a captured request stays valid for
//! ever; what stops a replay is the log: an event whose `webhookEventId` is logged is a
//! duplicate. The log forgets an event when its TTL passes (its own time plus the retention),
//! so an event is only acted on while its log item is sure to still be there: within a window
//! no longer than the retention, measured from the event's own time (signed, so a replayer
//! cannot move it). Older events are acknowledged and ignored.

use super::hold::expires_at;

/// The window when none is set: a week, meant to lie far beyond the (unpublished) time LINE
/// keeps redelivering a webhook, and short enough that a captured body is soon worthless.
pub const DEFAULT_WINDOW_DAYS: u32 = 7;

/// Whether an event sent at `sent_ms` is too old to act on at `now_ms`. Computed in whole
/// seconds exactly as the log's TTL is, so with `window_days` ≤ the retention an event is
/// never accepted once its log item may have been removed.
pub fn is_stale(sent_ms: i64, now_ms: i64, window_days: u32) -> bool {
    now_ms.div_euclid(1000) >= expires_at(sent_ms, window_days)
}

/// The window in force: the one asked for, else the default, never beyond the retention.
pub fn window_days(asked: Option<u32>, retention_days: u32) -> u32 {
    asked.unwrap_or(DEFAULT_WINDOW_DAYS).min(retention_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn an_event_inside_the_window_is_fresh_and_one_at_its_end_is_stale() {
        let sent = 1_764_000_000_123;
        assert!(!is_stale(sent, sent, 7));
        assert!(!is_stale(sent, sent + 7 * DAY_MS - 1_000, 7), "the last second inside");
        assert!(is_stale(sent, sent + 7 * DAY_MS, 7));
        assert!(is_stale(sent, sent + 400 * DAY_MS, 7));
    }

    #[test]
    fn an_event_from_the_future_is_not_stale() {
        // A sender's clock ahead of ours: nothing to replay yet.
        assert!(!is_stale(2_000_000_000_000, 1_764_000_000_000, 7));
    }

    /// The property the window exists for: whenever the log item of an accepted event could be
    /// gone (its TTL passed), the same event is refused.
    #[test]
    fn no_event_is_accepted_after_its_log_item_may_have_expired() {
        for retention in [1_u32, 7, 30, 365] {
            for asked in [None, Some(1), Some(7), Some(30), Some(3650)] {
                let window = window_days(asked, retention);
                assert!(window <= retention);
                for sent in [0_i64, 999, 1_000, 1_764_000_000_999, 1_764_000_000_001] {
                    let ttl = expires_at(sent, retention);
                    for now_s in [ttl, ttl + 1, ttl + 86_400] {
                        for ms in [0, 1, 999] {
                            assert!(
                                is_stale(sent, now_s * 1000 + ms, window),
                                "retention {retention}, window {window}, sent {sent}, now {now_s}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_window_defaults_to_a_week_and_never_outlasts_the_retention() {
        assert_eq!(window_days(None, 365), 7);
        assert_eq!(window_days(None, 3), 3);
        assert_eq!(window_days(Some(30), 365), 30);
        assert_eq!(window_days(Some(30), 10), 10);
    }
}
