//! Response hours: weekly windows in the account's timezone, date overrides, overnight windows,
//! DST-safe. Pure: every question takes the instant it is about.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

const DAY_MINUTES: u16 = 24 * 60;
/// How far ahead `next_open` looks; a schedule closed for longer has no next opening.
const LOOKAHEAD_DAYS: i64 = 62;
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `HH:MM-HH:MM`, start inclusive, end exclusive, in minutes of the day. An end earlier than the
/// start crosses midnight; `24:00` is allowed as an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    pub start: u16,
    pub end: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{key}`: {value:?} is not a window like \"09:00-18:00\"")]
    BadWindow { key: String, value: String },
    #[error("`{key}`: {value:?} starts and ends at the same time")]
    EmptyWindow { key: String, value: String },
    #[error("`{key}`: {a} overlaps {b}")]
    Overlap { key: String, a: Window, b: Window },
    #[error("`hours.timezone`: {0:?} is not an IANA timezone such as \"Asia/Tokyo\"")]
    UnknownTimezone(String),
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    // Two digits each: `u16::from_str` alone would take "+9" for 9.
    let two_digits = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
    if !(two_digits(h) && two_digits(m)) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl Window {
    pub fn parse(key: &str, value: &str) -> Result<Self, ScheduleError> {
        let bad = || ScheduleError::BadWindow { key: key.to_owned(), value: value.to_owned() };
        let (a, b) = value.split_once('-').ok_or_else(bad)?;
        let (start, end) = (parse_hhmm(a).ok_or_else(bad)?, parse_hhmm(b).ok_or_else(bad)?);
        if start == DAY_MINUTES {
            return Err(bad());
        }
        if start == end {
            return Err(ScheduleError::EmptyWindow { key: key.to_owned(), value: value.to_owned() });
        }
        Ok(Self { start, end })
    }

    /// Whether a minute of the day falls in the window read as a daily time of day
    /// (an overnight window covers the evening and the early morning).
    pub fn contains_time_of_day(self, minute: u16) -> bool {
        if self.crosses_midnight() {
            minute >= self.start || minute < self.end
        } else {
            self.start <= minute && minute < self.end
        }
    }

    fn crosses_midnight(self) -> bool {
        self.end < self.start
    }

    /// Minutes after the start of its own day at which the window ends.
    fn end_from_own_midnight(self) -> u16 {
        if self.crosses_midnight() {
            self.end + DAY_MINUTES
        } else {
            self.end
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}-{:02}:{:02}", self.start / 60, self.start % 60, self.end / 60, self.end % 60)
    }
}

#[derive(Debug, Clone)]
pub struct Schedule {
    tz: TimeZone,
    /// Monday first.
    weekly: [Vec<Window>; 7],
    overrides: BTreeMap<Date, Vec<Window>>,
}

/// Finds two overlapping intervals (minutes on one timeline) and returns their windows.
fn first_overlap(mut spans: Vec<(i32, i32, Window)>) -> Option<(Window, Window)> {
    spans.sort_by_key(|s| (s.0, s.1));
    spans.windows(2).find(|p| p[0].1 > p[1].0).map(|p| (p[0].2, p[1].2))
}

impl Schedule {
    pub fn new(timezone: &str, weekly: [Vec<Window>; 7], overrides: BTreeMap<Date, Vec<Window>>) -> Result<Self, ScheduleError> {
        let tz = TimeZone::get(timezone).map_err(|_| ScheduleError::UnknownTimezone(timezone.to_owned()))?;
        // The week is a ring: Sunday's overnight window runs into Monday.
        let week = 7 * i32::from(DAY_MINUTES);
        let mut spans = Vec::new();
        for (day, windows) in weekly.iter().enumerate() {
            for w in windows {
                let start = day as i32 * i32::from(DAY_MINUTES) + i32::from(w.start);
                let end = day as i32 * i32::from(DAY_MINUTES) + i32::from(w.end_from_own_midnight());
                spans.push((start, end, *w));
                spans.push((start - week, end - week, *w));
            }
        }
        if let Some((a, b)) = first_overlap(spans) {
            return Err(ScheduleError::Overlap { key: "hours".into(), a, b });
        }
        for (date, windows) in &overrides {
            let spans = windows.iter().map(|w| (i32::from(w.start), i32::from(w.end_from_own_midnight()), *w)).collect();
            if let Some((a, b)) = first_overlap(spans) {
                return Err(ScheduleError::Overlap { key: format!("hours.override[{date}]"), a, b });
            }
        }
        Ok(Self { tz, weekly, overrides })
    }

    pub fn timezone(&self) -> &TimeZone {
        &self.tz
    }

    /// The windows of one local date: its override, else its weekday's.
    pub fn windows_on(&self, date: Date) -> &[Window] {
        match self.overrides.get(&date) {
            Some(w) => w,
            None => &self.weekly[usize::from(date.weekday().to_monday_zero_offset() as u8)],
        }
    }

    pub fn is_open(&self, at: Timestamp) -> bool {
        let local = at.to_zoned(self.tz.clone());
        let minute = u16::from(local.hour() as u8) * 60 + u16::from(local.minute() as u8);
        let today = local.date();
        let open_today = self.windows_on(today).iter().any(|w| w.start <= minute && minute < w.end_from_own_midnight());
        let spill_from_yesterday =
            today.yesterday().map(|y| self.windows_on(y).iter().any(|w| w.crosses_midnight() && minute < w.end)).unwrap_or(false);
        open_today || spill_from_yesterday
    }

    /// The next instant a window opens strictly after `at`.
    pub fn next_open(&self, at: Timestamp) -> Option<Timestamp> {
        let today = at.to_zoned(self.tz.clone()).date();
        (0..LOOKAHEAD_DAYS).find_map(|k| {
            let date = today.checked_add(jiff::Span::new().days(k)).ok()?;
            let mut starts: Vec<Timestamp> = self
                .windows_on(date)
                .iter()
                // A start inside a DST gap opens at the first valid instant after it.
                .filter_map(|w| {
                    let dt = date.at((w.start / 60) as i8, (w.start % 60) as i8, 0, 0);
                    self.tz.to_ambiguous_timestamp(dt).compatible().ok()
                })
                .filter(|t| *t > at)
                .collect();
            starts.sort();
            starts.first().copied()
        })
    }
}

#[cfg(test)]
mod tests;
