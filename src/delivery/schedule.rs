//! What an attempt's answer means, and when to try again. Pure functions, so the schedule can be
//! read (and tested) in one place.
//!
//! The delay before retry `n` (after the n-th failed attempt) is `base * 2^(n-1)`, capped at
//! `base * 720`; with the default base of 60 s that is 1, 2, 4 ... 512 minutes, then 12 hours,
//! and the 14th failed attempt gives up: about 53 hours, a little over two days, after the
//! first. A `Retry-After` from the server is honoured (up to six hours) when it asks for more.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 14;
/// The longest delay, as a multiple of the base.
const MAX_DELAY_FACTOR: u32 = 720;
/// The most a `Retry-After` is honoured for.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered.
    Done,
    /// Try again after this long.
    Retry(Duration),
    /// Finished without success; not retried.
    GiveUp(String),
    /// 410 Gone: the inbox is gone for good, and so are the followers behind it.
    Gone,
}

/// The delay after the `attempts`-th failed attempt.
pub fn backoff(attempts: i64, base: Duration) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    let factor = 2u32.saturating_pow(exponent).min(MAX_DELAY_FACTOR);
    base.saturating_mul(factor)
}

/// Judges an attempt: `status` is None for a network error or time-out; `attempts` counts this
/// one.
pub fn judge(status: Option<u16>, retry_after: Option<Duration>, attempts: i64, base: Duration) -> Verdict {
    let retriable = match status {
        Some(200..=299) => return Verdict::Done,
        Some(410) => return Verdict::Gone,
        // Redirects are not followed: the server may fix its address, so it is retried.
        None | Some(300..=399) | Some(408) | Some(429) | Some(500..=599) => true,
        Some(_) => false,
    };
    if !retriable {
        return Verdict::GiveUp(format!("refused with {}: not retried", status.unwrap_or_default()));
    }
    if attempts >= MAX_ATTEMPTS {
        return Verdict::GiveUp(format!("gave up after {attempts} attempts"));
    }
    let mut delay = backoff(attempts, base);
    if let Some(asked) = retry_after {
        delay = delay.max(asked.min(RETRY_AFTER_CAP));
    }
    Verdict::Retry(delay)
}

/// A `Retry-After` value: seconds, or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn delays_double_up_to_twelve_hours_and_stop_after_about_two_days() {
        let delays: Vec<u64> = (1..MAX_ATTEMPTS).map(|n| backoff(n, MINUTE).as_secs() / 60).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 720, 720, 720]);
        let total_hours = delays.iter().sum::<u64>() / 60;
        assert!((48..=60).contains(&total_hours), "{total_hours} h");
        assert_eq!(judge(Some(503), None, MAX_ATTEMPTS, MINUTE), Verdict::GiveUp("gave up after 14 attempts".into()));
    }

    #[test]
    fn answers_are_judged_as_mastodon_does() {
        let base = Duration::from_secs(1);
        assert_eq!(judge(Some(202), None, 1, base), Verdict::Done);
        assert_eq!(judge(Some(410), None, 1, base), Verdict::Gone);
        for status in [None, Some(301), Some(408), Some(429), Some(500), Some(503)] {
            assert_eq!(judge(status, None, 2, base), Verdict::Retry(Duration::from_secs(2)), "{status:?}");
        }
        for status in [400, 401, 403, 404, 422] {
            assert!(matches!(judge(Some(status), None, 1, base), Verdict::GiveUp(_)), "{status}");
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_cap() {
        let base = Duration::from_secs(1);
        assert_eq!(judge(Some(429), Some(Duration::from_secs(30)), 1, base), Verdict::Retry(Duration::from_secs(30)));
        assert_eq!(judge(Some(429), Some(Duration::from_secs(999_999)), 1, base), Verdict::Retry(RETRY_AFTER_CAP));
        let now = Utc::now();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        let later = crate::federation::signatures::http_date(now + chrono::Duration::seconds(90));
        let parsed = parse_retry_after(&later, now).unwrap().as_secs();
        assert!((88..=90).contains(&parsed), "{parsed}");
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
