//! The rotating on-site code: the organiser's screen shows it (as a QR), attendees scan it
//! to check in and out. Derived, not stored: `HMAC-SHA256(activity secret, activity id and
//! time window)`, shown as 8 digits. A code stays good for the window it was shown in and
//! the next one, so a code scanned just before it rotates still works.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn window_of(at: DateTime<Utc>, window_seconds: i64) -> i64 {
    at.timestamp().div_euclid(window_seconds.max(1))
}

fn code_for(secret: &str, activity_id: &str, window: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(activity_id.as_bytes());
    mac.update(b":");
    mac.update(&window.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let number = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    format!("{:08}", number % 100_000_000)
}

/// The code to show now and when it stops being accepted.
pub fn current(
    secret: &str,
    activity_id: &str,
    now: DateTime<Utc>,
    window_seconds: i64,
) -> (String, DateTime<Utc>) {
    let window = window_of(now, window_seconds);
    let code = code_for(secret, activity_id, window);
    let valid_until = DateTime::from_timestamp((window + 2) * window_seconds, 0).unwrap_or(now);
    (code, valid_until)
}

/// Whether `code` is this activity's code for now or for the window before.
pub fn accepts(
    secret: &str,
    activity_id: &str,
    code: &str,
    now: DateTime<Utc>,
    window_seconds: i64,
) -> bool {
    let window = window_of(now, window_seconds);
    [window, window - 1].into_iter().any(|w| {
        constant_time_eq(
            code_for(secret, activity_id, w).as_bytes(),
            code.trim().as_bytes(),
        )
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How long a shown code is accepted at most.
pub fn lifetime(window_seconds: i64) -> Duration {
    Duration::seconds(2 * window_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_code_works_in_its_window_and_the_next_then_expires() {
        let (code, until) = current("secret", "a1", at(0), 60);
        assert_eq!(code.len(), 8);
        assert!(accepts("secret", "a1", &code, at(30), 60));
        assert!(accepts("secret", "a1", &code, at(90), 60));
        assert!(!accepts("secret", "a1", &code, at(150), 60));
        assert!(until > at(60) && until <= at(120));
    }

    #[test]
    fn codes_belong_to_one_activity_and_one_secret() {
        let (code, _) = current("secret", "a1", at(0), 60);
        assert!(!accepts("secret", "a2", &code, at(0), 60));
        assert!(!accepts("other", "a1", &code, at(0), 60));
        assert!(!accepts("secret", "a1", "12345678", at(0), 60) || code == "12345678");
    }
}
