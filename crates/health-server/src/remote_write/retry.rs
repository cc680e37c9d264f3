//! What to do with a receiver's answer, and how long to wait before trying again: pure
//! decisions, so the sender's loop only carries them out.

use std::time::{Duration, SystemTime};

/// What an HTTP status means for the request that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx: delivered.
    Delivered,
    /// 5xx or 429: the receiver may take it later; send the same request again.
    Retry,
    /// Anything else (400 for samples it cannot ingest, 401/403, 404, a redirect): sending it
    /// again would get the same answer, so its samples are dropped.
    Reject,
}

/// The verdict for `status`.
pub(crate) fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        429 | 500..=599 => Verdict::Retry,
        _ => Verdict::Reject,
    }
}

/// The `Retry-After` header's delay: whole seconds or an HTTP date (a date in the past means
/// now); `None` when it is neither.
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The delay before retry number `attempt` (0 for the first): `first` doubled per attempt,
/// at most `cap`, then scaled into its upper half by `jitter` (0..1) so that a fleet whose
/// receiver comes back does not retry in lockstep.
pub(crate) fn backoff(attempt: u32, first: Duration, cap: Duration, jitter: f64) -> Duration {
    let full = first.saturating_mul(1u32 << attempt.min(20)).min(cap);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// How long to wait before retrying: what the receiver asked for (never beyond `cap`: a
/// receiver's whim must not silence a kiosk for hours), else the backoff.
pub(crate) fn delay(asked: Option<Duration>, backoff: Duration, cap: Duration) -> Duration {
    asked.map_or(backoff, |asked| asked.min(cap))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::{Verdict, backoff, delay, retry_after, verdict};

    #[test]
    fn statuses() {
        for (status, expected) in [
            (200, Verdict::Delivered),
            (204, Verdict::Delivered),
            (429, Verdict::Retry),
            (500, Verdict::Retry),
            (503, Verdict::Retry),
            (400, Verdict::Reject),
            (401, Verdict::Reject),
            (404, Verdict::Reject),
            (413, Verdict::Reject),
            (302, Verdict::Reject),
        ] {
            assert_eq!(verdict(status), expected, "{status}");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        for (value, expected) in [
            ("1", Some(Duration::from_secs(1))),
            (" 120 ", Some(Duration::from_secs(120))),
            ("Wed, 21 Oct 2015 07:28:30 GMT", Some(Duration::from_secs(30))),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(Duration::ZERO)),
            ("-1", None),
            ("soon", None),
            ("", None),
        ] {
            assert_eq!(retry_after(value, now), expected, "{value:?}");
        }
        assert!(retry_after("1", SystemTime::now()).is_some());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_within_its_upper_half() {
        let (first, cap) = (Duration::from_millis(500), Duration::from_secs(30));
        let full: Vec<u128> = (0..10).map(|a| backoff(a, first, cap, 1.0).as_millis()).collect();
        assert_eq!(full, vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
        assert_eq!(backoff(0, first, cap, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(40, first, cap, 0.5), Duration::from_millis(22_500));
        assert_eq!(backoff(u32::MAX, first, cap, 2.0), cap);
    }

    #[test]
    fn the_receivers_delay_wins_but_never_beyond_the_cap() {
        let cap = Duration::from_secs(30);
        let ours = Duration::from_secs(2);
        assert_eq!(delay(None, ours, cap), ours);
        assert_eq!(delay(Some(Duration::from_secs(1)), ours, cap), Duration::from_secs(1));
        assert_eq!(delay(Some(Duration::from_secs(3600)), ours, cap), cap);
    }
}
