use std::collections::BTreeMap;

use jiff::civil::date;

use super::*;

fn w(s: &str) -> Window {
    Window::parse("t", s).unwrap()
}

fn week(days: &[(&str, &[&str])]) -> [Vec<Window>; 7] {
    let mut weekly: [Vec<Window>; 7] = Default::default();
    for (day, windows) in days {
        let i = WEEKDAYS.iter().position(|d| d == day).unwrap();
        weekly[i] = windows.iter().map(|s| w(s)).collect();
    }
    weekly
}

fn clinic() -> Schedule {
    let weekly = week(&[
        ("mon", &["09:00-12:00", "13:00-18:00"]),
        ("tue", &["09:00-18:00"]),
        ("wed", &["09:00-18:00"]),
        ("thu", &[]),
        ("fri", &["09:00-12:00", "13:00-18:00", "22:00-02:00"]),
        ("sat", &["10:00-14:00"]),
        ("sun", &[]),
    ]);
    let mut overrides = BTreeMap::new();
    overrides.insert(date(2026, 12, 31), vec![]);
    overrides.insert(date(2026, 12, 27), vec![w("10:00-12:00")]); // a Sunday, opened specially
    Schedule::new("Asia/Tokyo", weekly, overrides).unwrap()
}

fn tokyo(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
    date(y, m, d).at(h, min, 0, 0).to_zoned(TimeZone::get("Asia/Tokyo").unwrap()).unwrap().timestamp()
}

#[test]
fn every_weekday_and_window_edge() {
    let s = clinic();
    // 2026-11-30 is a Monday.
    let cases: &[(i8, i8, i8, bool, &str)] = &[
        (30, 8, 59, false, "mon before opening"),
        (30, 9, 0, true, "mon start is inclusive"),
        (30, 11, 59, true, "mon last minute of the morning"),
        (30, 12, 0, false, "mon lunch break: end is exclusive"),
        (30, 12, 59, false, "mon lunch break"),
        (30, 13, 0, true, "mon afternoon"),
        (30, 18, 0, false, "mon closed at 18:00"),
        (1, 12, 0, true, "tue no break"),
        (2, 17, 59, true, "wed"),
        (3, 10, 0, false, "thu closed all day"),
        (4, 23, 0, true, "fri overnight window"),
        (5, 1, 59, true, "sat 01:59 still in friday's overnight window"),
        (5, 2, 0, false, "sat 02:00 overnight window ended"),
        (5, 10, 0, true, "sat"),
        (6, 11, 0, false, "sun closed"),
    ];
    for &(day, h, m, open, what) in cases {
        let (y, mo) = if day >= 30 { (2026, 11) } else { (2026, 12) };
        assert_eq!(s.is_open(tokyo(y, mo, day, h, m)), open, "{what}");
    }
}

#[test]
fn overrides_close_a_day_or_open_another() {
    let s = clinic();
    assert!(!s.is_open(tokyo(2026, 12, 31, 10, 0)), "2026-12-31 is a Thursday but closed anyway");
    assert!(s.is_open(tokyo(2026, 12, 27, 10, 30)), "a Sunday opened by override");
    assert!(!s.is_open(tokyo(2026, 12, 27, 12, 0)));
}

#[test]
fn next_open_skips_closed_days_and_overrides() {
    let s = clinic();
    assert_eq!(s.next_open(tokyo(2026, 11, 30, 12, 30)), Some(tokyo(2026, 11, 30, 13, 0)));
    assert_eq!(s.next_open(tokyo(2026, 12, 2, 18, 0)), Some(tokyo(2026, 12, 4, 9, 0)), "thu closed");
    assert_eq!(s.next_open(tokyo(2026, 12, 26, 15, 0)), Some(tokyo(2026, 12, 27, 10, 0)), "override sunday");
}

fn new_york() -> Schedule {
    let all = ["01:00-03:00"];
    let weekly = week(&[("mon", &all), ("tue", &all), ("wed", &all), ("thu", &all), ("fri", &all), ("sat", &all), ("sun", &all)]);
    Schedule::new("America/New_York", weekly, BTreeMap::new()).unwrap()
}

#[test]
fn a_dst_gap_shortens_the_window_and_an_overlap_lengthens_it() {
    let s = new_york();
    let utc = |y, m, d, h, min| date(y, m, d).at(h, min, 0, 0).to_zoned(TimeZone::UTC).unwrap().timestamp();
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT. 01:30 EST = 06:30Z open; 03:00 EDT = 07:00Z closed.
    assert!(s.is_open(utc(2026, 3, 8, 6, 30)));
    assert!(!s.is_open(utc(2026, 3, 8, 7, 0)));
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST; local 01:00-03:00 spans three real hours.
    assert!(s.is_open(utc(2026, 11, 1, 5, 0)), "01:00 EDT");
    assert!(s.is_open(utc(2026, 11, 1, 6, 30)), "01:30 EST, the repeated hour");
    assert!(s.is_open(utc(2026, 11, 1, 7, 30)), "02:30 EST");
    assert!(!s.is_open(utc(2026, 11, 1, 8, 0)), "03:00 EST");
}

#[test]
fn a_window_starting_in_a_dst_gap_opens_when_the_clock_resumes() {
    let weekly = week(&[("sun", &["02:30-04:00"])]);
    let s = Schedule::new("America/New_York", weekly, BTreeMap::new()).unwrap();
    let before = date(2026, 3, 8).at(0, 0, 0, 0).to_zoned(TimeZone::get("America/New_York").unwrap()).unwrap().timestamp();
    let next = s.next_open(before).unwrap();
    // 02:30 does not exist that night; 'compatible' resolves it to 03:30 EDT = 07:30Z.
    assert_eq!(next.to_string(), "2026-03-08T07:30:00Z");
}

#[test]
fn invalid_windows_are_named() {
    assert!(matches!(Window::parse("hours.mon[0]", "9-18"), Err(ScheduleError::BadWindow { .. })));
    assert!(matches!(Window::parse("hours.mon[0]", "09:00-09:00"), Err(ScheduleError::EmptyWindow { .. })));
    assert!(matches!(Window::parse("hours.mon[0]", "25:00-26:00"), Err(ScheduleError::BadWindow { .. })));
    for sign in ["+9:00-18:00", "09:00-+6:00", "09:+0-18:00"] {
        assert!(matches!(Window::parse("hours.mon[0]", sign), Err(ScheduleError::BadWindow { .. })), "{sign}");
    }
    assert!(Window::parse("k", "00:00-24:00").is_ok());
    let overlap = Schedule::new("Asia/Tokyo", week(&[("mon", &["09:00-12:00", "11:00-13:00"])]), BTreeMap::new());
    assert!(matches!(overlap, Err(ScheduleError::Overlap { .. })));
    let overnight = Schedule::new("Asia/Tokyo", week(&[("mon", &["22:00-02:00"]), ("tue", &["01:00-05:00"])]), BTreeMap::new());
    assert!(matches!(overnight, Err(ScheduleError::Overlap { .. })), "monday's night runs into tuesday's morning");
    let ring = Schedule::new("Asia/Tokyo", week(&[("sun", &["22:00-02:00"]), ("mon", &["01:00-05:00"])]), BTreeMap::new());
    assert!(matches!(ring, Err(ScheduleError::Overlap { .. })), "sunday's night runs into monday");
    assert!(matches!(Schedule::new("Mars/Olympus", Default::default(), BTreeMap::new()), Err(ScheduleError::UnknownTimezone(_))));
}
