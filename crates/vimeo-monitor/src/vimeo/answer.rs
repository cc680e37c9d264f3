//! What one answer of `GET /me/live_events/{id}/m3u8_playback` means for the kiosk: [`Answer`],
//! decided by [`classify`], a pure function of the status, the headers, the body and the time
//! (its documentation has the table), and [`RateLimit`], read from the headers of any answer.
//!
//! What this module does not do: sending requests, retrying and waiting (the client), and logging
//! or choosing images (the monitor).

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

use super::http_time;
use super::secret::PlaybackUrl;

/// How long to wait on a 429 that says neither `Retry-After` nor `X-RateLimit-Reset`.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// The longest wait a 429 can impose, whatever its headers say.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(15 * 60);
/// The shortest wait after a 429, so that `Retry-After: 0` cannot make a busy loop.
pub const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// Vimeo's messages are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

const FIX_TOKEN: &str = "VIMEO_TOKEN is invalid, expired or revoked: create a new personal \
    access token with the `public`, `private` and `video_files` scopes and set VIMEO_TOKEN to it";
const FIX_ACCESS: &str = "VIMEO_TOKEN lacks access to this live event: use a token of the \
    account that owns VIMEO_LIVE_EVENT_ID, with the `public`, `private` and `video_files` scopes";
const FIX_EVENT_ID: &str = "VIMEO_LIVE_EVENT_ID does not name a live event of this account: \
    copy the number from the event's address (vimeo.com/event/<id>)";
const FIX_NOT_VIMEO: &str = "VIMEO_API_URL does not look like the Vimeo API (a 404 without a \
    Vimeo error body): unset it or set it to https://api.vimeo.com";
const FIX_REDIRECT: &str = "VIMEO_API_URL answered with a redirect, which is not followed: \
    unset it or set it to https://api.vimeo.com";
const FIX_REJECTED: &str = "Vimeo rejected the request: check VIMEO_LIVE_EVENT_ID, VIMEO_TOKEN \
    and VIMEO_API_URL";

/// What one answer of the Vimeo API means for the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The event is streaming: play this URL.
    Live {
        /// The signed HLS playlist URL.
        url: PlaybackUrl,
    },
    /// The event exists but is not streaming: show the holding image.
    Offline {
        /// What Vimeo said.
        why: OfflineReason,
    },
    /// Vimeo asked us to slow down (429): send nothing before `wait` has passed.
    RateLimited {
        /// From `Retry-After`, else `X-RateLimit-Reset`, else [`DEFAULT_RATE_LIMIT_WAIT`]; between
        /// [`MIN_RATE_LIMIT_WAIT`] and [`MAX_RATE_LIMIT_WAIT`].
        wait: Duration,
    },
    /// A setting is wrong and retrying will not help: show the error image, log `fix` once, and
    /// poll slowly.
    Misconfigured {
        /// The HTTP status.
        status: u16,
        /// Vimeo's `error_code`, when the body had one.
        error_code: Option<u64>,
        /// One sentence saying which setting to fix and how.
        fix: &'static str,
        /// Vimeo's `developer_message` (or its `error` when there is none): URLs cut to their
        /// path, control characters removed, at most 300 characters, never the token.
        developer_message: Option<String>,
    },
    /// This attempt failed in a way that may pass: retry with backoff.
    Transient {
        /// Which way it failed.
        kind: TransientKind,
        /// What happened, for the log: no URL query string, no token.
        detail: String,
    },
}

/// Why the event is offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineReason {
    /// 400 with `error_code` 10008: the event has not started.
    NotStarted,
    /// 503 with `error_code` 7900: the stream will be available soon.
    AvailableSoon,
    /// 500 with `error_code` 4020 (no streamable video) or 4021 (no video): the event exists
    /// but nothing is being streamed to it. An answer about the event, not a server failure.
    NothingToStream {
        /// Vimeo's `error_code`: 4020 or 4021.
        error_code: u64,
    },
}

/// How an attempt failed transiently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransientKind {
    /// A 5xx other than 503/7900, with its status.
    ServerError(u16),
    /// No whole answer within the timeout (or a 408).
    Timeout,
    /// Connecting, TLS or reading failed.
    Network,
    /// The answer was not what the API promises: a 2xx without a playback URL, a body that is not
    /// JSON or larger than allowed, a status outside 200-599.
    InvalidResponse,
}

/// Vimeo's rate-limit headers of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    /// `X-RateLimit-Limit`: requests allowed in the window.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`: requests left in the window.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`, as a time from now (zero if it has passed).
    pub reset_in: Option<Duration>,
}

impl RateLimit {
    /// Reads `X-RateLimit-Limit`, `-Remaining` and `-Reset`; `None` when there is none of them or
    /// none parses. Times count from the answer's `Date` when it has one, else from `now`.
    pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Self> {
        let number = |name: &str| header(headers, name).and_then(|v| v.trim().parse::<u64>().ok());
        let reference = http_time::reference_now(headers, now);
        let rate_limit = Self {
            limit: number("x-ratelimit-limit"),
            remaining: number("x-ratelimit-remaining"),
            reset_in: header(headers, "x-ratelimit-reset")
                .and_then(|value| http_time::reset_in(value, reference)),
        };
        (rate_limit != Self::default()).then_some(rate_limit)
    }
}

impl Answer {
    /// The `result` label of `vimeo_monitor_api_requests_total`: `live`, `offline`,
    /// `rate_limited`, `client_error`, `server_error`, `network_error` or `invalid_response`.
    pub fn result_label(&self) -> &'static str {
        match self {
            Self::Live { .. } => "live",
            Self::Offline { .. } => "offline",
            Self::RateLimited { .. } => "rate_limited",
            Self::Misconfigured { .. } => "client_error",
            Self::Transient { kind: TransientKind::ServerError(_), .. } => "server_error",
            Self::Transient { kind: TransientKind::Timeout | TransientKind::Network, .. } => {
                "network_error"
            }
            Self::Transient { kind: TransientKind::InvalidResponse, .. } => "invalid_response",
        }
    }

    /// Whether a retry may give another answer: only [`Answer::Transient`].
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// A [`TransientKind::InvalidResponse`] answer.
    pub(crate) fn invalid(detail: String) -> Self {
        Self::Transient { kind: TransientKind::InvalidResponse, detail }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Live { url } => write!(f, "live: {url}"),
            Self::Offline { why } => write!(f, "offline: {why}"),
            Self::RateLimited { wait } => {
                write!(f, "rate limited: no request for {:.1} s", wait.as_secs_f64())
            }
            Self::Misconfigured { status, error_code, fix, developer_message } => {
                write!(f, "HTTP {status}")?;
                if let Some(code) = error_code {
                    write!(f, " (error_code {code})")?;
                }
                write!(f, ": {fix}")?;
                if let Some(message) = developer_message {
                    write!(f, " (Vimeo says: {message})")?;
                }
                Ok(())
            }
            Self::Transient { kind, detail } => write!(f, "{kind}: {detail}"),
        }
    }
}

impl fmt::Display for OfflineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotStarted => {
                f.write_str("the event has not started (HTTP 400, error_code 10008)")
            }
            Self::AvailableSoon => {
                f.write_str("the stream will be available soon (HTTP 503, error_code 7900)")
            }
            Self::NothingToStream { error_code } => {
                write!(f, "the event has no video to stream (HTTP 500, error_code {error_code})")
            }
        }
    }
}

impl fmt::Display for TransientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServerError(status) => write!(f, "server error {status}"),
            Self::Timeout => f.write_str("timeout"),
            Self::Network => f.write_str("network error"),
            Self::InvalidResponse => f.write_str("invalid response"),
        }
    }
}

/// What an answer with this `status`, `headers` and whole `body` means. `now` is the local wall
/// clock, used for rate-limit times only when the answer has no `Date` header.
///
/// | HTTP status (`error_code`)                | [`Answer`]                            | label              |
/// |-------------------------------------------|---------------------------------------|--------------------|
/// | 2xx, `m3u8_playback_url` an http(s) URL   | `Live`                                | `live`             |
/// | 2xx otherwise (no URL, not JSON)          | `Transient(InvalidResponse)`          | `invalid_response` |
/// | 400 (10008)                               | `Offline(NotStarted)`                 | `offline`          |
/// | 503 (7900)                                | `Offline(AvailableSoon)`              | `offline`          |
/// | 500 (4020, 4021)                          | `Offline(NothingToStream)`            | `offline`          |
/// | 429                                       | `RateLimited`                         | `rate_limited`     |
/// | 401 (8000, 8003, ...)                     | `Misconfigured`: fix `VIMEO_TOKEN`    | `client_error`     |
/// | 403 (3200, ...)                           | `Misconfigured`: token lacks access   | `client_error`     |
/// | 404 with a Vimeo error body (5000)        | `Misconfigured`: fix `VIMEO_LIVE_EVENT_ID` | `client_error` |
/// | 404 without one                           | `Misconfigured`: fix `VIMEO_API_URL`  | `client_error`     |
/// | 3xx (redirects are not followed)          | `Misconfigured`: fix `VIMEO_API_URL`  | `client_error`     |
/// | 408                                       | `Transient(Timeout)`                  | `network_error`    |
/// | any other 4xx (400 with another code, ...) | `Misconfigured`: generic fix         | `client_error`     |
/// | any other 5xx (503 without 7900, 500 without 4020/4021 too) | `Transient(ServerError)` | `server_error` |
/// | anything else                             | `Transient(InvalidResponse)`          | `invalid_response` |
///
/// A 429 waits `Retry-After` (seconds or HTTP-date), else until `X-RateLimit-Reset`, else
/// [`DEFAULT_RATE_LIMIT_WAIT`], kept between [`MIN_RATE_LIMIT_WAIT`] and [`MAX_RATE_LIMIT_WAIT`].
///
/// The status decides; `error_code` only tells the three offline answers from errors with the
/// same status, and is reported otherwise. A 500 with 4020 or 4021 is Vimeo saying that the event
/// exists but has no video (nothing is streamed to it yet, or the stream stopped): the holding
/// image, not the error image, since nothing is broken that the operator of the kiosk could fix. An unknown 4xx is `Misconfigured`, not `Transient`: Vimeo
/// rejected this exact request, so sending it again a second later cannot help; the error image,
/// a log line quoting Vimeo's `developer_message` and slower polling are the right response, and
/// since the kiosk keeps polling it recovers by itself if Vimeo changes its mind.
pub fn classify(status: u16, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Answer {
    let error = ErrorBody::parse(body);
    let code = error.as_ref().and_then(|error| error.code);
    let misconfigured = |fix| Answer::Misconfigured {
        status,
        error_code: code,
        fix,
        developer_message: error.as_ref().and_then(|error| error.message.clone()),
    };
    match (status, code) {
        (200..=299, _) => live(status, body),
        (400, Some(10_008)) => Answer::Offline { why: OfflineReason::NotStarted },
        (503, Some(7900)) => Answer::Offline { why: OfflineReason::AvailableSoon },
        (500, Some(error_code @ (4020 | 4021))) => {
            Answer::Offline { why: OfflineReason::NothingToStream { error_code } }
        }
        (429, _) => Answer::RateLimited { wait: rate_limit_wait(headers, now) },
        (401, _) => misconfigured(FIX_TOKEN),
        (403, _) => misconfigured(FIX_ACCESS),
        (404, _) if error.is_some() => misconfigured(FIX_EVENT_ID),
        (404, _) => misconfigured(FIX_NOT_VIMEO),
        (408, _) => Answer::Transient {
            kind: TransientKind::Timeout,
            detail: with_vimeo_message("HTTP 408", error.as_ref()),
        },
        (300..=399, _) => misconfigured(FIX_REDIRECT),
        (400..=499, _) => misconfigured(FIX_REJECTED),
        (500..=599, _) => Answer::Transient {
            kind: TransientKind::ServerError(status),
            detail: with_vimeo_message(&format!("HTTP {status}"), error.as_ref()),
        },
        _ => Answer::invalid(format!("unexpected HTTP status {status}")),
    }
}

/// The 429's wait: `Retry-After`, else `X-RateLimit-Reset`, else the default; clamped.
fn rate_limit_wait(headers: &HeaderMap, now: SystemTime) -> Duration {
    let reference = http_time::reference_now(headers, now);
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| http_time::retry_after(value, reference));
    let reset = || {
        header(headers, "x-ratelimit-reset").and_then(|value| http_time::reset_in(value, reference))
    };
    retry_after
        .or_else(reset)
        .unwrap_or(DEFAULT_RATE_LIMIT_WAIT)
        .clamp(MIN_RATE_LIMIT_WAIT, MAX_RATE_LIMIT_WAIT)
}

/// A 2xx: `{"m3u8_playback_url": "https://..."}`. Error details never quote the body, which may
/// hold the signed URL.
fn live(status: u16, body: &[u8]) -> Answer {
    let value = match serde_json::from_slice::<Value>(body) {
        Ok(value) => value,
        Err(e) => {
            return Answer::invalid(format!(
                "the HTTP {status} body is not JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ));
        }
    };
    match value.get("m3u8_playback_url") {
        Some(Value::String(url)) if is_http_url(url) => {
            Answer::Live { url: PlaybackUrl::new(url.clone()) }
        }
        Some(Value::String(_)) => {
            Answer::invalid(format!("the HTTP {status} m3u8_playback_url is not an http(s) URL"))
        }
        Some(Value::Null) | None => {
            Answer::invalid(format!("HTTP {status} without an m3u8_playback_url"))
        }
        Some(_) => Answer::invalid(format!("the HTTP {status} m3u8_playback_url is not a string")),
    }
}

fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// `prefix`, then Vimeo's code and message when the body had them.
fn with_vimeo_message(prefix: &str, error: Option<&ErrorBody>) -> String {
    let mut detail = prefix.to_owned();
    if let Some(code) = error.and_then(|error| error.code) {
        detail.push_str(&format!(" (error_code {code})"));
    }
    if let Some(message) = error.and_then(|error| error.message.as_deref()) {
        detail.push_str(": ");
        detail.push_str(message);
    }
    detail
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Vimeo's error body: `{"error", "link", "developer_message", "error_code"}`.
struct ErrorBody {
    code: Option<u64>,
    message: Option<String>,
}

impl ErrorBody {
    /// `None` unless `body` is a JSON object with `error` or `error_code`.
    fn parse(body: &[u8]) -> Option<Self> {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        if !fields.contains_key("error") && !fields.contains_key("error_code") {
            return None;
        }
        let code = match fields.get("error_code") {
            Some(Value::Number(number)) => number.as_u64(),
            Some(Value::String(text)) => text.trim().parse().ok(),
            _ => None,
        };
        let message = ["developer_message", "error"]
            .into_iter()
            .filter_map(|key| fields.get(key).and_then(Value::as_str))
            .map(sanitize)
            .find(|message| !message.is_empty());
        Some(Self { code, message })
    }
}

/// One line of at most [`MAX_MESSAGE_CHARS`] characters, URLs without their query strings.
fn sanitize(text: &str) -> String {
    let one_line: String =
        text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>();
    let redacted = health_core::redact::urls_in(one_line.trim());
    if redacted.chars().count() <= MAX_MESSAGE_CHARS {
        return redacted;
    }
    let mut cut: String = redacted.chars().take(MAX_MESSAGE_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use reqwest::header::{DATE, HeaderName, HeaderValue};

    use super::*;

    // Bodies as Vimeo sends them (`application/vnd.vimeo.error+json`).
    const NOT_STARTED: &str = r#"{"error":"This event hasn't started yet.","link":null,"developer_message":"The live event hasn't started. Try again once it is streaming.","error_code":10008}"#;
    const AVAILABLE_SOON: &str = r#"{"error":"The stream will be available soon.","link":null,"developer_message":"The live stream isn't ready yet. Try again in a few seconds.","error_code":7900}"#;
    const UNAUTHORIZED: &str = r#"{"error":"You must provide a valid authenticated access token.","link":null,"developer_message":"The access token is invalid, expired or revoked. Generate a new one at https://developer.vimeo.com/apps?tab=tokens","error_code":8000}"#;
    const NO_CREDENTIALS: &str = r#"{"error":"Something strange occurred. Please contact the app owners.","link":null,"developer_message":"No user credentials were provided.","error_code":8003}"#;
    const FORBIDDEN: &str = r#"{"error":"You don't have permission to access this live event.","link":null,"developer_message":"The authenticated user can't access this live event.","error_code":3200}"#;
    const NOT_FOUND: &str = r#"{"error":"Something strange occurred. Please try again.","link":null,"developer_message":"The specified resource doesn't exist.","error_code":5000}"#;
    const BAD_REQUEST: &str = r#"{"error":"You have provided an invalid parameter. Please contact developer of this application.","link":null,"developer_message":"The parameters passed to this API endpoint didn't pass Vimeo's validation checks.","error_code":2204}"#;
    const SERVER_ERROR: &str = r#"{"error":"Something strange occurred. Please try again.","link":null,"developer_message":"An unexpected error occurred.","error_code":null}"#;
    // 4020 and 4021 with a 500: an event that exists but has no (streamable) video. The codes
    // are Vimeo's; the texts are illustrative.
    const NO_STREAMABLE_VIDEO: &str = r#"{"error":"There is no streamable video for this live event.","link":null,"developer_message":"The live event has no streamable video.","error_code":4020}"#;
    const NO_VIDEO: &str = r#"{"error":"There is no video for this live event.","link":null,"developer_message":"The live event has no video.","error_code":4021}"#;
    const LIVE: &str = r#"{"m3u8_playback_url":"https://live-api-s.vimeocdn.com/2026/x/playlist.m3u8?hdnts=exp%3D1~hmac%3Dabc"}"#;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_929_100) // 2026-11-29T05:11:40Z
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(HeaderName::from_static(name), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn misconfigured(status: u16, code: Option<u64>, fix: &'static str, msg: &str) -> Answer {
        Answer::Misconfigured {
            status,
            error_code: code,
            fix,
            developer_message: Some(msg.to_owned()),
        }
    }

    fn transient(kind: TransientKind, detail: &str) -> Answer {
        Answer::Transient { kind, detail: detail.to_owned() }
    }

    #[test]
    fn the_answers_vimeo_gives() {
        let no_headers = HeaderMap::new();
        let table: Vec<(u16, &str, Answer, &str)> = vec![
            (
                200,
                LIVE,
                Answer::Live {
                    url: PlaybackUrl::new(
                        "https://live-api-s.vimeocdn.com/2026/x/playlist.m3u8?hdnts=exp%3D1~hmac%3Dabc"
                            .to_owned(),
                    ),
                },
                "live",
            ),
            (400, NOT_STARTED, Answer::Offline { why: OfflineReason::NotStarted }, "offline"),
            (503, AVAILABLE_SOON, Answer::Offline { why: OfflineReason::AvailableSoon }, "offline"),
            // An event with nothing streamed to it: the holding image, not an outage.
            (
                500,
                NO_STREAMABLE_VIDEO,
                Answer::Offline { why: OfflineReason::NothingToStream { error_code: 4020 } },
                "offline",
            ),
            (
                500,
                NO_VIDEO,
                Answer::Offline { why: OfflineReason::NothingToStream { error_code: 4021 } },
                "offline",
            ),
            // The same codes with another 5xx are an outage like any other.
            (
                502,
                NO_VIDEO,
                transient(
                    TransientKind::ServerError(502),
                    "HTTP 502 (error_code 4021): The live event has no video.",
                ),
                "server_error",
            ),
            (
                401,
                UNAUTHORIZED,
                misconfigured(
                    401,
                    Some(8000),
                    FIX_TOKEN,
                    "The access token is invalid, expired or revoked. Generate a new one at https://developer.vimeo.com/apps",
                ),
                "client_error",
            ),
            (
                401,
                NO_CREDENTIALS,
                misconfigured(401, Some(8003), FIX_TOKEN, "No user credentials were provided."),
                "client_error",
            ),
            (
                403,
                FORBIDDEN,
                misconfigured(
                    403,
                    Some(3200),
                    FIX_ACCESS,
                    "The authenticated user can't access this live event.",
                ),
                "client_error",
            ),
            (
                404,
                NOT_FOUND,
                misconfigured(404, Some(5000), FIX_EVENT_ID, "The specified resource doesn't exist."),
                "client_error",
            ),
            (
                404,
                "<html><body>Not Found</body></html>",
                Answer::Misconfigured {
                    status: 404,
                    error_code: None,
                    fix: FIX_NOT_VIMEO,
                    developer_message: None,
                },
                "client_error",
            ),
            (
                400,
                BAD_REQUEST,
                misconfigured(
                    400,
                    Some(2204),
                    FIX_REJECTED,
                    "The parameters passed to this API endpoint didn't pass Vimeo's validation checks.",
                ),
                "client_error",
            ),
            (
                410,
                "",
                Answer::Misconfigured {
                    status: 410,
                    error_code: None,
                    fix: FIX_REJECTED,
                    developer_message: None,
                },
                "client_error",
            ),
            (
                302,
                "",
                Answer::Misconfigured {
                    status: 302,
                    error_code: None,
                    fix: FIX_REDIRECT,
                    developer_message: None,
                },
                "client_error",
            ),
            (
                500,
                SERVER_ERROR,
                transient(TransientKind::ServerError(500), "HTTP 500: An unexpected error occurred."),
                "server_error",
            ),
            (
                502,
                "<html>Bad gateway</html>",
                transient(TransientKind::ServerError(502), "HTTP 502"),
                "server_error",
            ),
            (
                503,
                NOT_FOUND,
                transient(
                    TransientKind::ServerError(503),
                    "HTTP 503 (error_code 5000): The specified resource doesn't exist.",
                ),
                "server_error",
            ),
            (408, "", transient(TransientKind::Timeout, "HTTP 408"), "network_error"),
            (
                200,
                r#"{"m3u8_playback_url": "https://"#,
                transient(
                    TransientKind::InvalidResponse,
                    "the HTTP 200 body is not JSON (Eof error at line 1 column 31)",
                ),
                "invalid_response",
            ),
            (
                200,
                r#"{"m3u8_playback_url":null}"#,
                transient(TransientKind::InvalidResponse, "HTTP 200 without an m3u8_playback_url"),
                "invalid_response",
            ),
            (
                200,
                r#"{"m3u8_playback_url":"file:///etc/passwd?sig=CANARY-SIG"}"#,
                transient(
                    TransientKind::InvalidResponse,
                    "the HTTP 200 m3u8_playback_url is not an http(s) URL",
                ),
                "invalid_response",
            ),
            (
                200,
                r#"{"m3u8_playback_url":["https://a.example/x.m3u8?sig=CANARY-SIG"]}"#,
                transient(
                    TransientKind::InvalidResponse,
                    "the HTTP 200 m3u8_playback_url is not a string",
                ),
                "invalid_response",
            ),
            (
                204,
                "",
                transient(
                    TransientKind::InvalidResponse,
                    "the HTTP 204 body is not JSON (Eof error at line 1 column 0)",
                ),
                "invalid_response",
            ),
            (
                600,
                "",
                transient(TransientKind::InvalidResponse, "unexpected HTTP status 600"),
                "invalid_response",
            ),
        ];
        for (status, body, expected, label) in table {
            let answer = classify(status, &no_headers, body.as_bytes(), now());
            assert_eq!(answer, expected, "{status} {body}");
            assert_eq!(answer.result_label(), label, "{status} {body}");
            let transient = matches!(label, "server_error" | "network_error" | "invalid_response");
            assert_eq!(answer.is_transient(), transient, "{status} {body}");
        }
    }

    #[test]
    fn a_429_waits_as_long_as_vimeo_asks_within_bounds() {
        let wait = |pairs: &[(&'static str, &str)]| match classify(429, &headers(pairs), b"", now())
        {
            Answer::RateLimited { wait } => wait.as_secs(),
            other => panic!("{other:?}"),
        };
        let date = ("date", "Sun, 29 Nov 2026 05:11:40 GMT");
        assert_eq!(wait(&[("retry-after", "2")]), 2);
        assert_eq!(wait(&[("retry-after", "2"), ("x-ratelimit-reset", "1795929120")]), 2);
        assert_eq!(wait(&[("retry-after", "Sun, 29 Nov 2026 05:12:10 GMT"), date]), 30);
        assert_eq!(wait(&[("x-ratelimit-reset", "2026-11-29T05:12:00+00:00")]), 20);
        assert_eq!(wait(&[("x-ratelimit-reset", "1795929120")]), 20);
        assert_eq!(wait(&[("x-ratelimit-reset", "garbage")]), 60);
        assert_eq!(wait(&[]), 60);
        assert_eq!(wait(&[("retry-after", "0")]), 1);
        assert_eq!(wait(&[("retry-after", "86400")]), 15 * 60);
        // The server's clock, not ours: a Pi without NTP thinks it is 1970.
        let server_says = [("x-ratelimit-reset", "2026-11-29T05:12:00+00:00"), date];
        match classify(429, &headers(&server_says), b"", UNIX_EPOCH) {
            Answer::RateLimited { wait } => assert_eq!(wait, Duration::from_secs(20)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rate_limit_headers_of_any_answer() {
        let map = headers(&[
            ("x-ratelimit-limit", "2500"),
            ("x-ratelimit-remaining", "2498"),
            ("x-ratelimit-reset", "2026-11-29T05:12:00+00:00"),
            (DATE.as_str(), "Sun, 29 Nov 2026 05:11:50 GMT"),
        ]);
        let expected = RateLimit {
            limit: Some(2500),
            remaining: Some(2498),
            reset_in: Some(Duration::from_secs(10)),
        };
        assert_eq!(RateLimit::from_headers(&map, now()), Some(expected));
        assert_eq!(RateLimit::from_headers(&HeaderMap::new(), now()), None);
        assert_eq!(RateLimit::from_headers(&headers(&[("x-ratelimit-limit", "x")]), now()), None);
    }

    #[test]
    fn vimeo_messages_are_one_bounded_line_without_secrets() {
        let long = format!(
            r#"{{"error":"x","developer_message":"see https://a.example/p?sig=CANARY-SIG\nnow {}","error_code":2204}}"#,
            "é".repeat(1000)
        );
        let Answer::Misconfigured { developer_message: Some(message), .. } =
            classify(400, &HeaderMap::new(), long.as_bytes(), now())
        else {
            panic!("not misconfigured");
        };
        assert!(message.starts_with("see https://a.example/p now éé"), "{message}");
        assert!(!message.contains("CANARY") && !message.contains('\n'));
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(message.ends_with('…'));
        // The user-facing `error` stands in when there is no developer message; a string code counts.
        let body = r#"{"error":"Nope.","developer_message":"  ","error_code":"3200"}"#;
        assert_eq!(
            classify(403, &HeaderMap::new(), body.as_bytes(), now()),
            misconfigured(403, Some(3200), FIX_ACCESS, "Nope.")
        );
    }

    #[test]
    fn display_says_what_happened_without_secrets() {
        let live = classify(200, &HeaderMap::new(), LIVE.as_bytes(), now());
        assert_eq!(live.to_string(), "live: https://live-api-s.vimeocdn.com/2026/x/playlist.m3u8");
        assert!(!format!("{live:?}").contains("hmac"));
        let offline = classify(400, &HeaderMap::new(), NOT_STARTED.as_bytes(), now());
        assert_eq!(
            offline.to_string(),
            "offline: the event has not started (HTTP 400, error_code 10008)"
        );
        let nothing = classify(500, &HeaderMap::new(), NO_VIDEO.as_bytes(), now());
        assert_eq!(
            nothing.to_string(),
            "offline: the event has no video to stream (HTTP 500, error_code 4021)"
        );
        let misconfigured = classify(404, &HeaderMap::new(), NOT_FOUND.as_bytes(), now());
        assert_eq!(
            misconfigured.to_string(),
            format!(
                "HTTP 404 (error_code 5000): {FIX_EVENT_ID} (Vimeo says: The specified resource doesn't exist.)"
            )
        );
        let limited = Answer::RateLimited { wait: Duration::from_millis(2500) };
        assert_eq!(limited.to_string(), "rate limited: no request for 2.5 s");
        let failed = transient(TransientKind::ServerError(502), "HTTP 502");
        assert_eq!(failed.to_string(), "server error 502: HTTP 502");
    }
}
