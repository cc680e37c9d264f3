//! The Vimeo Live API client: asks `GET {api_url}/me/live_events/{event_id}/m3u8_playback` for
//! the event's signed HLS URL and says what the answer means ([`Answer`]).
//!
//! - [`VimeoClient::check_once`] sends one request, bounded in time (the timeout covers
//!   connecting, headers and body) and in bytes (64 KiB), and classifies the answer.
//! - [`VimeoClient::check`] retries [`Answer::Transient`] answers with exponential backoff and
//!   full jitter ([`Backoff`]), up to `max_retries` times; every other answer is final.
//! - After a 429 the client sends nothing until the wait has passed: a check in that time returns
//!   [`Answer::RateLimited`] without a request.
//!
//! The token and the signed URL are never shown: [`Token`] and [`PlaybackUrl`] redact themselves,
//! details never quote a body or a query string, and any text that Vimeo sends back has the token
//! cut out. The API has no query string in its URL, so the endpoint itself is safe to log.
//!
//! What this module does not do: poll on a schedule, count consecutive failures against
//! `ERROR_THRESHOLD`, pick the holding or error image, or log the configuration problem. Those
//! are the monitor's, which reads [`Checked`].

mod answer;
mod http_time;
mod retry;
mod secret;

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Client, Url};
use tokio::time::Instant;

pub use answer::{
    Answer, DEFAULT_RATE_LIMIT_WAIT, MAX_RATE_LIMIT_WAIT, MIN_RATE_LIMIT_WAIT, OfflineReason,
    RateLimit, TransientKind, classify,
};
pub use retry::Backoff;
pub use secret::{PlaybackUrl, Token};

/// `VIMEO_API_URL` when unset.
pub const DEFAULT_API_URL: &str = "https://api.vimeo.com";
/// `API_TIMEOUT` when unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// `MAX_RETRIES` when unset.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// The largest answer read; a longer one is [`TransientKind::InvalidResponse`] (the real answer
/// is a few hundred bytes).
pub const MAX_BODY_BYTES: u64 = 64 * 1024;
/// The `Accept` header: Vimeo's media type, pinned to API version 3.4.
pub const ACCEPT_VALUE: &str = "application/vnd.vimeo.*+json;version=3.4";
/// How long connecting may take, at most (and never more than the timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the client needs to know. [`VimeoOptions::new`] fills in the defaults.
#[derive(Debug, Clone)]
pub struct VimeoOptions {
    /// `VIMEO_API_URL`: the API's base URL, `http` or `https`, without query string.
    pub api_url: String,
    /// `VIMEO_LIVE_EVENT_ID`.
    pub event_id: String,
    /// `VIMEO_TOKEN`.
    pub token: Token,
    /// `API_TIMEOUT`: one attempt, from connecting to the last byte.
    pub timeout: Duration,
    /// `MAX_RETRIES`: how many times [`VimeoClient::check`] retries a transient failure.
    pub max_retries: u32,
    /// The delays between those retries.
    pub backoff: Backoff,
}

impl VimeoOptions {
    /// Options for this event and token, everything else at its default.
    pub fn new(event_id: impl Into<String>, token: Token) -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            event_id: event_id.into(),
            token,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff: Backoff::DEFAULT,
        }
    }
}

/// Why the client cannot be built. Each message says which setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VimeoSetupError {
    /// `api_url` is not a usable http(s) base URL.
    #[error(
        "set VIMEO_API_URL to an http:// or https:// URL such as {DEFAULT_API_URL}, or unset it \
         (got `{url}`: {reason})"
    )]
    ApiUrl {
        /// The value, without query string or password.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `event_id` is empty or has characters no event id has.
    #[error(
        "set VIMEO_LIVE_EVENT_ID to the live event's id, the number in its address \
         vimeo.com/event/<id> (got `{got}`)"
    )]
    EventId {
        /// The value, escaped and cut to 64 characters.
        got: String,
    },
    /// The token cannot be sent.
    #[error("set VIMEO_TOKEN to a Vimeo personal access token: {reason}")]
    Token {
        /// What is wrong with it (never the token itself).
        reason: &'static str,
    },
    /// A zero timeout would fail every check.
    #[error("set API_TIMEOUT to more than 0 seconds")]
    Timeout,
    /// The HTTP client (TLS) could not be set up.
    #[error("cannot set up the HTTP client for the Vimeo API: {message}")]
    Http {
        /// reqwest's reason.
        message: String,
    },
}

/// The outcome of [`VimeoClient::check_once`] or [`VimeoClient::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// What the last attempt's answer means.
    pub answer: Answer,
    /// How long the last attempt took, from sending to the last byte (zero when none was sent).
    pub duration: Duration,
    /// Requests sent: 1 + retries, or 0 when a 429's wait had not passed yet.
    pub attempts: u32,
    /// The rate-limit headers of the latest answer that had them.
    pub rate_limit: Option<RateLimit>,
}

/// The Vimeo Live API client: one reqwest client, built once, that reuses its connections.
pub struct VimeoClient {
    http: Client,
    endpoint: Url,
    authorization: HeaderValue,
    token: Token,
    timeout: Duration,
    max_retries: u32,
    backoff: Backoff,
    /// No request before this instant: set by a 429.
    not_before: Mutex<Option<Instant>>,
}

impl fmt::Debug for VimeoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VimeoClient")
            .field("endpoint", &self.endpoint())
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// An answer read within the byte limit, or the fact that it was longer.
struct Reply {
    status: u16,
    headers: HeaderMap,
    /// `None`: longer than [`MAX_BODY_BYTES`].
    body: Option<Vec<u8>>,
}

impl VimeoClient {
    /// Checks the options and builds the HTTP client (rustls, user agent
    /// `vimeo-monitor/<version>`, no redirects, no proxy for a loopback `api_url`).
    pub fn new(options: VimeoOptions) -> Result<Self, VimeoSetupError> {
        let VimeoOptions { api_url, event_id, token, timeout, max_retries, backoff } = options;
        let endpoint = endpoint(&api_url, &event_id)?;
        let authorization = authorization(&token)?;
        if timeout.is_zero() {
            return Err(VimeoSetupError::Timeout);
        }
        let mut builder = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .user_agent(concat!("vimeo-monitor/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        if is_loopback(&endpoint) {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| VimeoSetupError::Http {
            message: health_core::redact::error_chain(&e.without_url()),
        })?;
        Ok(Self {
            http,
            endpoint,
            authorization,
            token,
            timeout,
            max_retries,
            backoff,
            not_before: Mutex::new(None),
        })
    }

    /// The URL asked, for logs (it has no query string and holds no secret).
    pub fn endpoint(&self) -> String {
        health_core::redact::url(self.endpoint.as_str())
    }

    /// Sends one request and classifies its answer. The whole attempt is bounded by the timeout
    /// and the body by [`MAX_BODY_BYTES`]. While a 429's wait lasts it sends nothing and answers
    /// [`Answer::RateLimited`] with the time left and `attempts: 0`.
    pub async fn check_once(&self) -> Checked {
        if let Some(wait) = self.rate_limited_for() {
            return Checked {
                answer: Answer::RateLimited { wait },
                duration: Duration::ZERO,
                attempts: 0,
                rate_limit: None,
            };
        }
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, self.exchange()).await;
        let duration = started.elapsed();
        let (mut answer, rate_limit) = match outcome {
            Ok(Ok(reply)) => {
                let now = SystemTime::now();
                let rate_limit = RateLimit::from_headers(&reply.headers, now);
                let answer = match (&reply.body, reply.status) {
                    (Some(body), status) => classify(status, &reply.headers, body, now),
                    (None, status @ 200..=299) => Answer::invalid(format!(
                        "the HTTP {status} body is larger than {MAX_BODY_BYTES} bytes"
                    )),
                    // An error status means what it means whatever its body.
                    (None, status) => classify(status, &reply.headers, b"", now),
                };
                (answer, rate_limit)
            }
            Ok(Err(e)) => (self.failed(e), None),
            Err(_) => {
                let detail = format!("no whole answer within {:.1} s", self.timeout.as_secs_f64());
                (Answer::Transient { kind: TransientKind::Timeout, detail }, None)
            }
        };
        self.scrub(&mut answer);
        if let Answer::RateLimited { wait } = answer {
            *self.not_before.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Instant::now() + wait);
        }
        tracing::debug!(
            target: "monitor",
            result = answer.result_label(),
            elapsed_ms = duration.as_millis(),
            "Vimeo API: {answer}"
        );
        Checked { answer, duration, attempts: 1, rate_limit }
    }

    /// [`check_once`](Self::check_once), then up to `max_retries` retries while the answer is
    /// [`Answer::Transient`], waiting [`Backoff::delay`] before each. Live, offline,
    /// misconfigured and rate-limited answers are returned at once.
    pub async fn check(&self) -> Checked {
        let mut attempts = 0;
        let mut rate_limit = None;
        let mut retry = 0;
        loop {
            let checked = self.check_once().await;
            attempts += checked.attempts;
            rate_limit = checked.rate_limit.or(rate_limit);
            if !checked.answer.is_transient() || retry >= self.max_retries {
                return Checked { attempts, rate_limit, ..checked };
            }
            let delay = self.backoff.delay(retry, &mut fastrand::Rng::new());
            retry += 1;
            tracing::debug!(
                target: "monitor",
                retry,
                max_retries = self.max_retries,
                delay_ms = delay.as_millis(),
                "Vimeo API: retrying after {}",
                checked.answer
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The time left of a 429's wait, if any.
    fn rate_limited_for(&self) -> Option<Duration> {
        let mut not_before = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        let left = not_before.map(|at| at.saturating_duration_since(Instant::now()));
        match left {
            Some(left) if !left.is_zero() => Some(left),
            _ => {
                *not_before = None;
                None
            }
        }
    }

    /// The request and the bounded read of its answer; unbounded in time.
    async fn exchange(&self) -> Result<Reply, reqwest::Error> {
        let mut response = self
            .http
            .get(self.endpoint.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, ACCEPT_VALUE)
            .send()
            .await?;
        let status = response.status().as_u16();
        let too_large = response.content_length().is_some_and(|length| length > MAX_BODY_BYTES);
        let headers = std::mem::take(response.headers_mut());
        if too_large {
            return Ok(Reply { status, headers, body: None });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if (body.len() + chunk.len()) as u64 > MAX_BODY_BYTES {
                return Ok(Reply { status, headers, body: None });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply { status, headers, body: Some(body) })
    }

    /// A failed exchange as a transient answer.
    fn failed(&self, error: reqwest::Error) -> Answer {
        let kind = if error.is_timeout() { TransientKind::Timeout } else { TransientKind::Network };
        let message = health_core::redact::error_chain(&error.without_url());
        Answer::Transient { kind, detail: format!("{}: {message}", self.endpoint()) }
    }

    /// Cuts the token out of any text that came from outside.
    fn scrub(&self, answer: &mut Answer) {
        let (Answer::Misconfigured { developer_message: Some(text), .. }
        | Answer::Transient { detail: text, .. }) = answer
        else {
            return;
        };
        let token = self.token.expose();
        if !token.is_empty() && text.contains(token) {
            *text = text.replace(token, "<redacted>");
        }
    }
}

/// `{api_url}/me/live_events/{event_id}/m3u8_playback`, both parts checked.
fn endpoint(api_url: &str, event_id: &str) -> Result<Url, VimeoSetupError> {
    let fail = |reason| VimeoSetupError::ApiUrl {
        url: health_core::redact::url(api_url).chars().take(200).collect(),
        reason,
    };
    let base = Url::parse(api_url.trim()).map_err(|_| fail("not a URL"))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(fail("the scheme must be http or https"));
    }
    if base.host_str().is_none_or(str::is_empty) {
        return Err(fail("no host"));
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(fail("no user name or password belongs in it; the token is VIMEO_TOKEN"));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(fail("no query string or fragment belongs in it"));
    }
    let valid_id = !event_id.is_empty()
        && event_id.len() <= 64
        && event_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_id {
        let got: String = event_id.chars().take(64).collect();
        return Err(VimeoSetupError::EventId { got: got.escape_debug().to_string() });
    }
    let path =
        format!("{}/me/live_events/{event_id}/m3u8_playback", base.as_str().trim_end_matches('/'));
    Url::parse(&path).map_err(|_| fail("not a URL"))
}

/// `Bearer {token}`, marked sensitive so that no `Debug` of a request shows it.
fn authorization(token: &Token) -> Result<HeaderValue, VimeoSetupError> {
    let fail = |reason| VimeoSetupError::Token { reason };
    let token = token.expose();
    if token.is_empty() {
        return Err(fail("it is empty"));
    }
    if token.trim() != token {
        return Err(fail("it begins or ends with white space"));
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| fail("it has characters that cannot be sent in an HTTP header"))?;
    value.set_sensitive(true);
    Ok(value)
}

fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(health_core::url::is_loopback_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(api_url: &str, event_id: &str, token: &str) -> VimeoOptions {
        VimeoOptions {
            api_url: api_url.to_owned(),
            ..VimeoOptions::new(event_id, Token::new(token.to_owned()))
        }
    }

    #[test]
    fn the_endpoint_is_built_from_the_base_url_and_the_event() {
        for (base, expected) in [
            ("https://api.vimeo.com", "https://api.vimeo.com/me/live_events/42/m3u8_playback"),
            ("https://api.vimeo.com/", "https://api.vimeo.com/me/live_events/42/m3u8_playback"),
            ("http://127.0.0.1:8080/v/", "http://127.0.0.1:8080/v/me/live_events/42/m3u8_playback"),
        ] {
            let client = VimeoClient::new(options(base, "42", "t")).unwrap();
            assert_eq!(client.endpoint(), expected);
        }
    }

    #[test]
    fn bad_options_say_which_setting_to_fix() {
        let error = |o| VimeoClient::new(o).unwrap_err();
        let table = [
            (options("ftp://api.vimeo.com", "42", "t"), "VIMEO_API_URL", "scheme"),
            (options("api.vimeo.com", "42", "t"), "VIMEO_API_URL", "not a URL"),
            (options("https://u:CANARY@api.vimeo.com", "42", "t"), "VIMEO_API_URL", "password"),
            (options("https://api.vimeo.com/?k=CANARY", "42", "t"), "VIMEO_API_URL", "query"),
            (options(DEFAULT_API_URL, "", "t"), "VIMEO_LIVE_EVENT_ID", "(got ``)"),
            (options(DEFAULT_API_URL, "42/../x", "t"), "VIMEO_LIVE_EVENT_ID", "42/../x"),
            (options(DEFAULT_API_URL, "4\n2", "t"), "VIMEO_LIVE_EVENT_ID", "4\\n2"),
            (options(DEFAULT_API_URL, "42", ""), "VIMEO_TOKEN", "empty"),
            (options(DEFAULT_API_URL, "42", "CANARY \n"), "VIMEO_TOKEN", "white space"),
            (options(DEFAULT_API_URL, "42", "CANARY\u{7f}x"), "VIMEO_TOKEN", "HTTP header"),
        ];
        for (options, setting, detail) in table {
            let message = error(options).to_string();
            assert!(message.starts_with(&format!("set {setting} ")), "{message}");
            assert!(message.contains(detail), "{message}");
            assert!(!message.contains("CANARY"), "{message}");
        }
        let zero = VimeoOptions { timeout: Duration::ZERO, ..options(DEFAULT_API_URL, "42", "t") };
        assert_eq!(error(zero), VimeoSetupError::Timeout);
    }

    #[test]
    fn debug_of_options_and_client_hides_the_token() {
        let options = options(DEFAULT_API_URL, "42", "CANARY-TOKEN-7");
        let client = VimeoClient::new(options.clone()).unwrap();
        for text in [format!("{options:?}"), format!("{client:?}"), format!("{client:#?}")] {
            assert!(!text.contains("CANARY"), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
        }
        assert!(format!("{client:?}").contains("/me/live_events/42/m3u8_playback"));
    }

    #[test]
    fn text_from_outside_loses_the_token() {
        let client = VimeoClient::new(options(DEFAULT_API_URL, "42", "CANARY-TOKEN-7")).unwrap();
        let mut answer = Answer::Misconfigured {
            status: 401,
            error_code: Some(8000),
            fix: "x",
            developer_message: Some("token CANARY-TOKEN-7 is revoked".to_owned()),
        };
        client.scrub(&mut answer);
        assert!(answer.to_string().contains("token <redacted> is revoked"), "{answer}");
        let mut answer = Answer::invalid("echo: CANARY-TOKEN-7".to_owned());
        client.scrub(&mut answer);
        assert_eq!(answer, Answer::invalid("echo: <redacted>".to_owned()));
    }

    #[test]
    fn the_client_can_be_shared_and_its_checks_spawned() {
        fn spawnable<T: Send + 'static>(_: &T) {}
        fn shareable<T: Send + Sync>() {}
        shareable::<VimeoClient>();
        let client =
            std::sync::Arc::new(VimeoClient::new(options(DEFAULT_API_URL, "42", "t")).unwrap());
        spawnable(&async move { client.check().await });
    }

    #[test]
    fn loopback_hosts_skip_the_proxy() {
        for (url, loopback) in [
            ("http://127.0.0.1:1/", true),
            ("http://[::1]:1/", true),
            ("http://LOCALHOST/", true),
            ("https://api.vimeo.com/", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(url).unwrap()), loopback, "{url}");
        }
    }
}
