//! Keyword auto-responses: the whole message, normalised as LINE does (NFKC, case-insensitive,
//! so full-width and half-width match), equal to one of a rule's keywords.

use jiff::civil::Date;
use jiff::Zoned;
use unicode_normalization::UnicodeNormalization;

use super::outbound::OutboundMessage;
use super::schedule::Window;

/// NFKC folds full-width letters, digits and half-width katakana; lower-casing then folds case.
pub fn normalize(text: &str) -> String {
    text.trim().nfkc().flat_map(char::to_lowercase).collect::<String>().trim().to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordRule {
    /// Already normalised.
    pub keywords: Vec<String>,
    pub messages: Vec<OutboundMessage>,
    /// Inclusive date range in the account's timezone, if the rule is seasonal.
    pub from: Option<Date>,
    pub until: Option<Date>,
    /// Time of day the rule applies, if limited.
    pub time: Option<Window>,
}

impl KeywordRule {
    fn applies_at(&self, local: &Zoned) -> bool {
        let date = local.date();
        let in_dates = self.from.is_none_or(|f| date >= f) && self.until.is_none_or(|u| date <= u);
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        let in_time = self.time.is_none_or(|w| w.contains_time_of_day(minute));
        in_dates && in_time
    }
}

/// The first rule (in file order) whose keyword equals the normalised message and that applies now.
pub fn find<'a>(rules: &'a [KeywordRule], text: &str, local: &Zoned) -> Option<&'a KeywordRule> {
    let normalized = normalize(text);
    rules.iter().find(|r| r.keywords.contains(&normalized) && r.applies_at(local))
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use jiff::tz::TimeZone;

    use super::*;

    fn rule(keywords: &[&str]) -> KeywordRule {
        KeywordRule {
            keywords: keywords.iter().map(|k| normalize(k)).collect(),
            messages: vec![OutboundMessage::text("ok")],
            from: None,
            until: None,
            time: None,
        }
    }

    fn at(y: i16, m: i8, d: i8, h: i8) -> Zoned {
        date(y, m, d).at(h, 0, 0, 0).to_zoned(TimeZone::get("Asia/Tokyo").unwrap()).unwrap()
    }

    #[test]
    fn matching_is_exact_on_the_whole_message_ignoring_width_and_case() {
        let rules = [rule(&["営業時間", "EIGYO"])];
        let now = at(2026, 12, 1, 10);
        for text in ["営業時間", " 営業時間 ", "eigyo", "ＥＩＧＹＯ", "Eigyo"] {
            assert!(find(&rules, text, &now).is_some(), "{text:?}");
        }
        for text in ["営業時間は？", "eigyo?", "営業", ""] {
            assert!(find(&rules, text, &now).is_none(), "{text:?}");
        }
        // Half-width katakana folds to full-width.
        assert!(find(&[rule(&["メニュー"])], "ﾒﾆｭｰ", &now).is_some());
    }

    #[test]
    fn a_rule_can_be_limited_to_dates_and_a_time_of_day() {
        let mut seasonal = rule(&["福袋"]);
        seasonal.from = Some(date(2026, 12, 26));
        seasonal.until = Some(date(2027, 1, 3));
        seasonal.time = Some(Window::parse("t", "22:00-02:00").unwrap());
        let rules = [seasonal];
        assert!(find(&rules, "福袋", &at(2026, 12, 26, 23)).is_some());
        assert!(find(&rules, "福袋", &at(2027, 1, 3, 1)).is_some());
        assert!(find(&rules, "福袋", &at(2026, 12, 26, 12)).is_none(), "outside the time of day");
        assert!(find(&rules, "福袋", &at(2027, 1, 4, 23)).is_none(), "after the date range");
    }
}
