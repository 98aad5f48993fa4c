//! When a lot of points expires.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

/// Points earned in a year expire at the end of year + `years_after` in China Standard Time
/// (default 1: points earned in 2026 expire at the end of 2027).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryRule {
    pub years_after: i32,
}

impl Default for ExpiryRule {
    fn default() -> Self {
        Self { years_after: 1 }
    }
}

/// China Standard Time (UTC+8, no daylight saving). Checked at compile time.
const CHINA_STANDARD_TIME: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

impl ExpiryRule {
    pub fn expires_at(&self, earned_at: DateTime<Utc>) -> DateTime<Utc> {
        let cst = CHINA_STANDARD_TIME;
        let local_year = earned_at.with_timezone(&cst).year();
        let first_day_after = NaiveDate::from_ymd_opt(local_year + self.years_after + 1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|d| cst.from_local_datetime(&d).single());
        match first_day_after {
            Some(t) => t.with_timezone(&Utc),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_expire_at_the_end_of_the_following_year_in_beijing_time() {
        let rule = ExpiryRule::default();
        let earned = Utc.with_ymd_and_hms(2026, 3, 15, 10, 0, 0).unwrap();
        assert_eq!(
            rule.expires_at(earned),
            Utc.with_ymd_and_hms(2027, 12, 31, 16, 0, 0).unwrap()
        );
        // 2026-12-31 20:00 UTC is already 2027 in Beijing.
        let late = Utc.with_ymd_and_hms(2026, 12, 31, 20, 0, 0).unwrap();
        assert_eq!(
            rule.expires_at(late),
            Utc.with_ymd_and_hms(2028, 12, 31, 16, 0, 0).unwrap()
        );
        let two = ExpiryRule { years_after: 2 };
        assert_eq!(
            two.expires_at(earned),
            Utc.with_ymd_and_hms(2028, 12, 31, 16, 0, 0).unwrap()
        );
    }
}
