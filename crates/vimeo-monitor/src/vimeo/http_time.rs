//! The wall-clock times Vimeo's headers carry: `Retry-After` (seconds or an HTTP-date),
//! `X-RateLimit-Reset` (an RFC 3339 timestamp such as `2026-11-29T05:12:00+00:00`, or Unix
//! seconds) and `Date`, turned into "how long from now".
//!
//! "Now" is the server's `Date` when it sent one: a Pi has no real-time clock, and before NTP has
//! synced its own wall clock can be off by years, which would turn a reset a minute away into
//! "decades ago" or "decades ahead". Only when there is no `Date` does the local clock count.
//! HTTP-dates are parsed by `httpdate` (hyper's own) and RFC 3339 by `time`, both already in the
//! dependency tree.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{DATE, HeaderMap};

/// Below this, a bare number in `X-RateLimit-Reset` cannot be a Unix time (it would be before
/// September 2001), so it is read as seconds from now, as the IETF `RateLimit-Reset` draft does.
const UNIX_TIME_FLOOR: u64 = 1_000_000_000;

/// The reference "now" for the times in `headers`: their `Date`, else `local_now`.
pub(crate) fn reference_now(headers: &HeaderMap, local_now: SystemTime) -> SystemTime {
    headers
        .get(DATE)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_http_date)
        .unwrap_or(local_now)
}

/// How long `Retry-After` asks to wait: delta-seconds, or an HTTP-date minus `now`
/// (zero when the date has passed). `None` when the value is neither.
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    parse_http_date(value).map(|at| until(at, now))
}

/// How long until `X-RateLimit-Reset`: an RFC 3339 timestamp, Unix seconds, seconds from now (a
/// number too small to be a Unix time), or an HTTP-date. Zero when it has passed; `None` when the
/// value is none of these.
pub(crate) fn reset_in(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(number) = value.parse::<u64>() {
        return Some(if number >= UNIX_TIME_FLOOR {
            until(UNIX_EPOCH + Duration::from_secs(number), now)
        } else {
            Duration::from_secs(number)
        });
    }
    parse_rfc3339(value).or_else(|| parse_http_date(value)).map(|at| until(at, now))
}

fn until(at: SystemTime, now: SystemTime) -> Duration {
    at.duration_since(now).unwrap_or(Duration::ZERO)
}

/// An RFC 3339 timestamp (`2026-11-29T05:12:00+00:00`, `…Z`, fractions allowed); `None` before
/// the Unix epoch or when it is not one.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let at =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .ok()?;
    let seconds = u64::try_from(at.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// An HTTP-date (RFC 9110 §5.6.7) in any of its three forms: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`).
pub(crate) fn parse_http_date(text: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn rfc3339_timestamps_in_every_accepted_spelling() {
        // 2026-11-29T05:12:00Z is 1795929120 seconds after the epoch.
        let table = [
            ("2026-11-29T05:12:00+00:00", Some(1_795_929_120)),
            ("2026-11-29T05:12:00Z", Some(1_795_929_120)),
            ("2026-11-29t05:12:00z", Some(1_795_929_120)),
            ("2026-11-29T05:12:00.734+00:00", Some(1_795_929_120)),
            ("2026-11-29T07:12:00+02:00", Some(1_795_929_120)),
            ("2026-11-29T00:12:00-05:00", Some(1_795_929_120)),
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800)),
            ("2023-02-29T00:00:00Z", None),
            ("2026-13-01T00:00:00Z", None),
            ("2026-11-29T24:00:00Z", None),
            ("2026-11-29T05:12:00", None),
            ("2026-11-29T05:12:00.+00:00", None),
            ("2026-11-29T05:12:00+25:00", None),
            ("1969-12-31T23:59:59Z", None),
            ("tomorrow", None),
            ("", None),
        ];
        for (text, expected) in table {
            assert_eq!(parse_rfc3339(text), expected.map(at), "{text:?}");
        }
    }

    #[test]
    fn http_dates_in_their_three_forms() {
        let expected = Some(at(784_111_777));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET"), None);
        assert_eq!(parse_http_date("Sun, 31 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("120"), None);
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let now = at(784_111_777);
        assert_eq!(retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(retry_after("-3", now), None);
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn reset_is_a_timestamp_unix_seconds_or_a_delta() {
        let now = at(1_795_929_100);
        let twenty = Some(Duration::from_secs(20));
        assert_eq!(reset_in("2026-11-29T05:12:00+00:00", now), twenty);
        assert_eq!(reset_in("1795929120", now), twenty);
        assert_eq!(reset_in("20", now), twenty);
        assert_eq!(reset_in("Sun, 29 Nov 2026 05:12:00 GMT", now), twenty);
        assert_eq!(reset_in("2026-11-29T05:00:00+00:00", now), Some(Duration::ZERO));
        assert_eq!(reset_in("never", now), None);
    }

    #[test]
    fn the_servers_date_is_the_reference_when_present() {
        let mut headers = HeaderMap::new();
        let local = at(5);
        assert_eq!(reference_now(&headers, local), local);
        headers.insert(DATE, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(reference_now(&headers, local), at(784_111_777));
        headers.insert(DATE, "garbage".parse().unwrap());
        assert_eq!(reference_now(&headers, local), local);
    }
}
