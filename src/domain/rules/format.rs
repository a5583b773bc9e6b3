//! Human-readable times for replies, in the customer's language.

use jiff::Zoned;

use crate::domain::classifier::Lang;

const JA_WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
const EN_WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const EN_MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// "12月1日(月) 9:00" / "Mon, Dec 1 at 9:00".
pub fn when(t: &Zoned, lang: Lang) -> String {
    let wd = usize::from(t.weekday().to_monday_zero_offset() as u8);
    match lang {
        Lang::Ja => format!("{}月{}日({}) {}:{:02}", t.month(), t.day(), JA_WEEKDAYS[wd], t.hour(), t.minute()),
        Lang::En => {
            format!("{}, {} {} at {}:{:02}", EN_WEEKDAYS[wd], EN_MONTHS[usize::from((t.month() - 1) as u8)], t.day(), t.hour(), t.minute())
        }
    }
}
