use chrono::{DateTime, Duration, SubsecRound, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The service's notion of "now". Production reads the system clock; tests can move it
/// forward to exercise expiry, SLAs and timeouts without sleeping, or freeze it so that
/// durations come out exact. Cloning shares the offset and the freeze.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    /// Milliseconds since the epoch the clock stands still at; 0 while it runs.
    frozen_at_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        let frozen = self.frozen_at_ms.load(Ordering::Relaxed);
        let base = if frozen == 0 {
            Utc::now()
        } else {
            DateTime::from_timestamp_millis(frozen).unwrap_or_else(Utc::now)
        };
        // Whole microseconds, as PostgreSQL stores them: a time read back equals the one
        // written, on every backend.
        (base + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))).trunc_subsecs(6)
    }

    /// Stops the clock at the current time (whole milliseconds); [`Clock::advance`] still
    /// moves it. For tests that need exact durations.
    pub fn freeze(&self) {
        self.frozen_at_ms
            .store(Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// A clock standing still at `at` (whole milliseconds), moved only by
    /// [`Clock::advance`] and [`Clock::set`]: the simulator's.
    pub fn frozen_at(at: DateTime<Utc>) -> Self {
        let clock = Self::default();
        clock
            .frozen_at_ms
            .store(at.timestamp_millis(), Ordering::Relaxed);
        clock
    }

    /// Sets a frozen clock (and every clone of it) to `at`; it never moves back.
    pub fn set(&self, at: DateTime<Utc>) {
        let by = at - self.now();
        if by > Duration::zero() {
            self.advance(by);
        }
    }

    /// Moves this clock (and every clone of it) forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

/// Asia/Shanghai (UTC+8, no daylight saving): the district's days start at its midnight.
pub const CHINA_OFFSET: Duration = Duration::hours(8);

/// Wall-clock time in China Standard Time (UTC+8, no daylight saving), as residents read it.
pub fn china_time(at: DateTime<Utc>) -> String {
    (at + CHINA_OFFSET).format("%Y-%m-%d %H:%M").to_string()
}

/// The start (as a UTC instant) of the Asia/Shanghai day that contains `t`.
pub fn local_day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let local = (t + CHINA_OFFSET).date_naive();
    local.and_time(chrono::NaiveTime::MIN).and_utc() - CHINA_OFFSET
}

/// The first Asia/Shanghai midnight at or after `t`.
pub fn local_midnight_at_or_after(t: DateTime<Utc>) -> DateTime<Utc> {
    let start = local_day_start(t);
    if start == t {
        t
    } else {
        start + Duration::days(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_china_standard_time() {
        let at = DateTime::parse_from_rfc3339("2026-06-01T00:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(china_time(at), "2026-06-01 08:30");
    }

    #[test]
    fn local_days_start_at_midnight_in_shanghai() {
        let t: DateTime<Utc> = "2026-11-28T15:59:59Z".parse().unwrap();
        let start: DateTime<Utc> = "2026-11-27T16:00:00Z".parse().unwrap();
        assert_eq!(local_day_start(t), start);
        // 16:00 UTC is midnight in Shanghai: a new day.
        let midnight = start + Duration::days(1);
        assert_eq!(local_day_start(midnight), midnight);
        assert_eq!(local_midnight_at_or_after(midnight), midnight);
        assert_eq!(local_midnight_at_or_after(t), midnight);
        assert_eq!(
            local_midnight_at_or_after(midnight + Duration::microseconds(1)),
            midnight + Duration::days(1)
        );
    }

    #[test]
    fn advancing_a_clone_moves_the_original() {
        let clock = Clock::system();
        let before = clock.now();
        clock.clone().advance(Duration::hours(3));
        let moved = clock.now() - before;
        assert!(moved >= Duration::hours(3) && moved < Duration::hours(3) + Duration::seconds(5));
    }

    #[test]
    fn a_frozen_clock_moves_only_when_advanced() {
        let clock = Clock::system();
        clock.freeze();
        let first = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now(), first);
        clock.advance(Duration::hours(2));
        assert_eq!(clock.now() - first, Duration::hours(2));
    }
}
