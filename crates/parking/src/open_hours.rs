//! Opening hours of a lot in Beijing time (UTC+8 all year, no daylight saving): windows by
//! ISO weekday (1 = Monday), `HH:MM` to `HH:MM`; `to` may be `24:00`, and a window whose `to`
//! is earlier than its `from` runs past midnight into the next day (18:00–08:00). A booking
//! must lie wholly inside open time; back-to-back windows (Mon 18:00–24:00, Tue 00:00–08:00)
//! count as one stretch.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Asia/Shanghai: the district's days and opening hours are in its local time.
use platform::clock::CHINA_OFFSET as BEIJING;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// ISO weekdays the window starts on, 1 (Monday) to 7 (Sunday).
    pub days: Vec<u32>,
    /// `HH:MM`.
    pub from: String,
    /// `HH:MM` or `24:00`; earlier than `from` means the next day.
    pub to: String,
}

/// Minutes after midnight for `HH:MM` (`24:00` allowed when `allow_24`).
fn minutes_of(value: &str, allow_24: bool) -> Option<i64> {
    let (h, m) = value.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if allow_24 => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Problems with the windows, as (field, message); empty when they are fine.
pub fn check(windows: &[Window]) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if windows.is_empty() {
        problems.push((
            "open_hours".to_owned(),
            "needs at least one window".to_owned(),
        ));
    }
    for (i, w) in windows.iter().enumerate() {
        if w.days.is_empty() || w.days.iter().any(|d| !(1..=7).contains(d)) {
            problems.push((
                format!("open_hours[{i}].days"),
                "must list weekdays from 1 (Monday) to 7 (Sunday)".to_owned(),
            ));
        }
        let from = minutes_of(&w.from, false);
        let to = minutes_of(&w.to, true);
        if from.is_none() {
            problems.push((format!("open_hours[{i}].from"), "must be HH:MM".to_owned()));
        }
        if to.is_none() {
            problems.push((
                format!("open_hours[{i}].to"),
                "must be HH:MM or 24:00".to_owned(),
            ));
        }
        if from.is_some() && from == to {
            problems.push((
                format!("open_hours[{i}].to"),
                "must differ from from".to_owned(),
            ));
        }
    }
    problems
}

/// The open stretches (UTC) that touch the days around `[from, to)`, merged.
fn stretches(
    windows: &[Window],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let first_day = (from + BEIJING).date_naive() - Duration::days(1);
    let last_day = (to + BEIJING).date_naive();
    let mut spans = Vec::new();
    let mut day: NaiveDate = first_day;
    while day <= last_day {
        let midnight = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc() - BEIJING);
        let weekday = day.weekday().number_from_monday();
        for w in windows.iter().filter(|w| w.days.contains(&weekday)) {
            let (Some(midnight), Some(start), Some(end)) = (
                midnight,
                minutes_of(&w.from, false),
                minutes_of(&w.to, true),
            ) else {
                continue;
            };
            let end = if end <= start { end + 24 * 60 } else { end };
            spans.push((
                midnight + Duration::minutes(start),
                midnight + Duration::minutes(end),
            ));
        }
        day += Duration::days(1);
    }
    spans.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// The merged open stretches around `[from, to)` (they may reach beyond it).
pub fn open_stretches(
    windows: &[Window],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    stretches(windows, from, to)
}

/// Whether the lot is open for the whole of `[from, to)`.
pub fn covers(windows: &[Window], from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    from < to
        && stretches(windows, from, to)
            .iter()
            .any(|(start, end)| *start <= from && to <= *end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn beijing(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{text}+08:00"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn nights() -> Vec<Window> {
        // Weekday nights 18:00–08:00; all day at the weekend.
        vec![
            Window {
                days: vec![1, 2, 3, 4, 5],
                from: "18:00".into(),
                to: "08:00".into(),
            },
            Window {
                days: vec![6, 7],
                from: "00:00".into(),
                to: "24:00".into(),
            },
        ]
    }

    #[test]
    fn a_window_across_midnight_covers_the_night() {
        // 2026-12-01 is a Tuesday.
        let w = nights();
        assert!(covers(
            &w,
            beijing("2026-12-01T19:00:00"),
            beijing("2026-12-02T07:30:00")
        ));
        assert!(covers(
            &w,
            beijing("2026-12-01T18:00:00"),
            beijing("2026-12-02T08:00:00")
        ));
        assert!(!covers(
            &w,
            beijing("2026-12-01T17:30:00"),
            beijing("2026-12-01T19:00:00")
        ));
        assert!(!covers(
            &w,
            beijing("2026-12-02T07:30:00"),
            beijing("2026-12-02T09:00:00")
        ));
        assert!(!covers(
            &w,
            beijing("2026-12-01T12:00:00"),
            beijing("2026-12-01T13:00:00")
        ));
    }

    #[test]
    fn back_to_back_windows_join_across_days() {
        let w = nights();
        // Friday night runs into the all-day Saturday and Sunday.
        assert!(covers(
            &w,
            beijing("2026-12-04T20:00:00"),
            beijing("2026-12-06T10:00:00")
        ));
        // No night window starts on Sunday, so Sunday ends at midnight.
        assert!(!covers(
            &w,
            beijing("2026-12-06T22:00:00"),
            beijing("2026-12-07T07:00:00")
        ));
        // Monday night into Tuesday morning is a weekday night.
        assert!(covers(
            &w,
            beijing("2026-12-07T22:00:00"),
            beijing("2026-12-08T07:00:00")
        ));
    }

    #[test]
    fn bad_windows_are_named() {
        let problems = check(&[Window {
            days: vec![0, 8],
            from: "25:00".into(),
            to: "8:00".into(),
        }]);
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "open_hours[0].days",
                "open_hours[0].from",
                "open_hours[0].to"
            ]
        );
        assert!(check(&[]).len() == 1);
        assert!(check(&nights()).is_empty());
    }

    proptest! {
        /// Every sub-interval of a covered interval is covered.
        #[test]
        fn coverage_is_closed_under_shrinking(start in 0i64..(14 * 24 * 60), len in 1i64..(20 * 60), cut_a in 0i64..100, cut_b in 0i64..100) {
            let w = nights();
            let from = beijing("2026-11-30T00:00:00") + Duration::minutes(start);
            let to = from + Duration::minutes(len);
            if covers(&w, from, to) {
                let inner_from = from + Duration::minutes(len * cut_a / 200);
                let inner_to = to - Duration::minutes(len * cut_b / 200);
                if inner_from < inner_to {
                    prop_assert!(covers(&w, inner_from, inner_to));
                }
            }
        }
    }
}
