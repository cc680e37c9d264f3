//! A local fake of the Vimeo API's `GET /me/live_events/{id}/m3u8_playback`: a real HTTP/1.1
//! server (axum) on 127.0.0.1 that speaks Vimeo's wire format, checks what a client must send, and
//! answers from a script the test changes at run time.
//!
//! - Every request is recorded ([`VimeoApi::seen`]), whatever happens next.
//! - A wrong method or path gets Vimeo's 404 (`error_code` 5000); a missing `Authorization` its
//!   401/8003, a wrong token its 401/8000. A missing or different `Accept` gets a 406: that one is
//!   this fake's own strictness (Vimeo falls back to the app's default API version), so that a
//!   client forgetting to pin version 3.4 fails its tests.
//! - Requests that pass those checks take the next [`Reply`] of the queue, else the one last
//!   [`set`](VimeoApi::set) (at first [`Reply::NotStarted`]).
//! - Every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` (counting down per request
//!   in a 60 s window) and `X-RateLimit-Reset` (the window's end, RFC 3339 UTC as Vimeo writes
//!   it), and hyper adds `Date`.
//!
//! Use it from any test file of this crate with `#[path = "support/vimeo_api.rs"] mod vimeo_api;`.
//! The server is a task on the test's runtime, aborted when the [`VimeoApi`] is dropped.
// Each test binary uses a subset, and the items are `pub` so that tests read them as an API.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The live event the fake serves unless told otherwise.
pub const EVENT_ID: &str = "4815162342";
/// The token it accepts unless told otherwise; a canary that must never show in any output.
pub const TOKEN: &str = "CANARY-TOKEN-3f9a1c0e7b";
/// A signed playback URL; its query string is a canary too.
pub const SIGNED_URL: &str = "https://live-api-s.vimeocdn.com/1795929120-abc/4815162342/playlist.m3u8?sig=CANARY-SIG&exp=1795932720";
/// The `Accept` header a client must send.
pub const ACCEPT: &str = "application/vnd.vimeo.*+json;version=3.4";
/// `X-RateLimit-Limit`: requests per window.
pub const RATE_LIMIT: u64 = 2500;
/// The rate-limit window.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// What the fake answers to a well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 200 `{"m3u8_playback_url": url}`.
    Live {
        /// The playback URL.
        url: String,
    },
    /// 400, `error_code` 10008: the event has not started.
    NotStarted,
    /// 503, `error_code` 7900: the stream will be available soon.
    AvailableSoon,
    /// 500 with `error_code` 4020 (no streamable video) or 4021 (no video): the event exists but
    /// nothing is streamed to it.
    NoVideo {
        /// 4020 or 4021; any other code panics.
        error_code: u16,
    },
    /// 429 with `X-RateLimit-Remaining: 0`.
    RateLimited {
        /// `Retry-After` in seconds; no header when `None`.
        retry_after: Option<u64>,
        /// `X-RateLimit-Reset` verbatim; the window's own end (RFC 3339) when `None`.
        reset: Option<String>,
    },
    /// 401, `error_code` 8000, as for a revoked token.
    Unauthorized,
    /// 403, `error_code` 3200.
    Forbidden,
    /// 404, `error_code` 5000.
    NotFound,
    /// This status (a 5xx) with Vimeo's generic error body.
    ServerError(u16),
    /// 200 with a body cut off in the middle of the JSON.
    InvalidJson,
    /// Never answers (the connection stays open until the client gives up).
    Hang,
    /// 200 with a valid live answer padded with spaces to at least `bytes` bytes
    /// (`Content-Length` set).
    Huge {
        /// The least body size.
        bytes: usize,
    },
}

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// When it arrived.
    pub at: Instant,
    /// `GET`, hopefully.
    pub method: String,
    /// The path (and query, if any).
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// The fake Vimeo API. Dropping it stops the server.
#[derive(Debug)]
pub struct VimeoApi {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

type Shared = Arc<Mutex<Script>>;

#[derive(Debug)]
struct Script {
    event_id: String,
    token: String,
    current: Reply,
    queue: VecDeque<Reply>,
    seen: Vec<SeenRequest>,
    remaining: u64,
    window_ends: SystemTime,
}

impl VimeoApi {
    /// Starts a fake serving [`EVENT_ID`] to [`TOKEN`].
    pub async fn start() -> VimeoApi {
        Self::start_with(EVENT_ID, TOKEN).await
    }

    /// Starts a fake serving `event_id` to `token`, on 127.0.0.1 and a free port, as a task on the
    /// current tokio runtime.
    pub async fn start_with(event_id: &str, token: &str) -> VimeoApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address of the fake Vimeo API");
        let shared = Arc::new(Mutex::new(Script {
            event_id: event_id.to_owned(),
            token: token.to_owned(),
            current: Reply::NotStarted,
            queue: VecDeque::new(),
            seen: Vec::new(),
            remaining: RATE_LIMIT,
            window_ends: SystemTime::now() + RATE_WINDOW,
        }));
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake Vimeo API failed");
        });
        VimeoApi { addr, shared, task }
    }

    /// The base URL, for `VIMEO_API_URL`: `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The answer to every request from now on, once the queue is empty.
    pub fn set(&self, reply: Reply) {
        self.script().current = reply;
    }

    /// Answers for the next requests, one each, before falling back to [`set`](Self::set)'s.
    pub fn queue(&self, replies: Vec<Reply>) {
        self.script().queue.extend(replies);
    }

    /// How many requests arrived, well-formed or not.
    pub fn requests(&self) -> usize {
        self.script().seen.len()
    }

    /// When each request arrived.
    pub fn request_times(&self) -> Vec<Instant> {
        self.script().seen.iter().map(|seen| seen.at).collect()
    }

    /// Every request, in order.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.script().seen.clone()
    }

    fn script(&self) -> MutexGuard<'_, Script> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for VimeoApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (reply, remaining, window_ends) = {
        let mut script = shared.lock().unwrap_or_else(|e| e.into_inner());
        script.seen.push(SeenRequest {
            at: Instant::now(),
            method: method.to_string(),
            path: uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.to_string()),
            authorization: text(header::AUTHORIZATION),
            accept: text(header::ACCEPT),
            user_agent: text(header::USER_AGENT),
        });
        let now = SystemTime::now();
        if now >= script.window_ends {
            script.window_ends = now + RATE_WINDOW;
            script.remaining = RATE_LIMIT;
        }
        script.remaining = script.remaining.saturating_sub(1);
        let expected_path = format!("/me/live_events/{}/m3u8_playback", script.event_id);
        let authorization = text(header::AUTHORIZATION);
        let reply = if method != Method::GET || uri.path() != expected_path || uri.query().is_some()
        {
            Err(not_found())
        } else if authorization.is_none() {
            Err(no_credentials())
        } else if authorization != Some(format!("Bearer {}", script.token)) {
            Err(error(StatusCode::UNAUTHORIZED, UNAUTHORIZED))
        } else if text(header::ACCEPT).as_deref() != Some(ACCEPT) {
            Err(error(StatusCode::NOT_ACCEPTABLE, NOT_ACCEPTABLE))
        } else {
            let next = script.queue.pop_front();
            Ok(next.unwrap_or_else(|| script.current.clone()))
        };
        (reply, script.remaining, script.window_ends)
    };
    let mut response = match reply {
        Err(response) => response,
        Ok(Reply::Hang) => return std::future::pending().await,
        Ok(reply) => scripted(reply),
    };
    let rate_limited = response.status() == StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(if rate_limited { 0 } else { remaining }),
    );
    if !headers.contains_key("x-ratelimit-reset") {
        let reset = HeaderValue::from_str(&rfc3339(window_ends)).expect("a header value");
        headers.insert("x-ratelimit-reset", reset);
    }
    response
}

/// The response for a scripted reply (all but [`Reply::Hang`]).
fn scripted(reply: Reply) -> Response {
    match reply {
        Reply::Live { url } => success(serde_json::json!({ "m3u8_playback_url": url }).to_string()),
        Reply::NotStarted => error(StatusCode::BAD_REQUEST, NOT_STARTED),
        Reply::AvailableSoon => error(StatusCode::SERVICE_UNAVAILABLE, AVAILABLE_SOON),
        Reply::NoVideo { error_code: 4020 } => {
            error(StatusCode::INTERNAL_SERVER_ERROR, NO_STREAMABLE_VIDEO)
        }
        Reply::NoVideo { error_code: 4021 } => error(StatusCode::INTERNAL_SERVER_ERROR, NO_VIDEO),
        Reply::NoVideo { error_code } => {
            panic!("Vimeo has no error_code {error_code} for no video")
        }
        Reply::RateLimited { retry_after, reset } => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_REQUESTS);
            let headers = response.headers_mut();
            if let Some(seconds) = retry_after {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            if let Some(reset) = reset {
                let reset = HeaderValue::from_str(&reset).expect("a header value");
                headers.insert("x-ratelimit-reset", reset);
            }
            response
        }
        Reply::Unauthorized => error(StatusCode::UNAUTHORIZED, UNAUTHORIZED),
        Reply::Forbidden => error(StatusCode::FORBIDDEN, FORBIDDEN),
        Reply::NotFound => not_found(),
        Reply::ServerError(status) => {
            let status = StatusCode::from_u16(status).expect("a valid status code");
            error(status, SERVER_ERROR)
        }
        Reply::InvalidJson => {
            let whole = serde_json::json!({ "m3u8_playback_url": SIGNED_URL }).to_string();
            success(whole[..whole.len() / 2].to_owned())
        }
        Reply::Huge { bytes } => {
            let mut body = serde_json::json!({ "m3u8_playback_url": SIGNED_URL }).to_string();
            body.pop();
            body.push_str(&" ".repeat(bytes.saturating_sub(body.len())));
            body.push('}');
            success(body)
        }
        Reply::Hang => unreachable!("a hanging reply has no response"),
    }
}

fn success(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn error(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "application/vnd.vimeo.error+json")], body)
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = HeaderValue::from_static("Bearer error=\"invalid_token\"");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, NOT_FOUND)
}

fn no_credentials() -> Response {
    error(StatusCode::UNAUTHORIZED, NO_CREDENTIALS)
}

// Vimeo's error bodies: `error` for people, `developer_message` for developers, `error_code`.
const NOT_STARTED: &str = r#"{"error":"This event hasn't started yet.","link":null,"developer_message":"The live event hasn't started. Try again once it is streaming.","error_code":10008}"#;
const AVAILABLE_SOON: &str = r#"{"error":"The stream will be available soon.","link":null,"developer_message":"The live stream isn't ready yet. Try again in a few seconds.","error_code":7900}"#;
const NO_STREAMABLE_VIDEO: &str = r#"{"error":"There is no streamable video for this live event.","link":null,"developer_message":"The live event has no streamable video.","error_code":4020}"#;
const NO_VIDEO: &str = r#"{"error":"There is no video for this live event.","link":null,"developer_message":"The live event has no video.","error_code":4021}"#;
const TOO_MANY_REQUESTS: &str = r#"{"error":"Too many API requests. Please wait a bit and try again.","link":null,"developer_message":"You have exceeded the rate limit for this app. Wait until the time in X-RateLimit-Reset.","error_code":9000}"#;
const UNAUTHORIZED: &str = r#"{"error":"You must provide a valid authenticated access token.","link":null,"developer_message":"The access token is invalid, expired or revoked. Generate a new one at https://developer.vimeo.com/apps","error_code":8000}"#;
const NO_CREDENTIALS: &str = r#"{"error":"Something strange occurred. Please contact the app owners.","link":null,"developer_message":"No user credentials were provided.","error_code":8003}"#;
const FORBIDDEN: &str = r#"{"error":"You don't have permission to access this live event.","link":null,"developer_message":"The authenticated user can't access this live event.","error_code":3200}"#;
const NOT_FOUND: &str = r#"{"error":"Something strange occurred. Please try again.","link":null,"developer_message":"The specified resource doesn't exist.","error_code":5000}"#;
const SERVER_ERROR: &str = r#"{"error":"Something strange occurred. Please try again.","link":null,"developer_message":"An unexpected error occurred. Please try again.","error_code":null}"#;
const NOT_ACCEPTABLE: &str = r#"{"error":"Not acceptable.","link":null,"developer_message":"The fake Vimeo API requires Accept: application/vnd.vimeo.*+json;version=3.4","error_code":null}"#;

/// `time` as Vimeo writes `X-RateLimit-Reset`: `2026-11-29T05:12:00+00:00`.
pub fn rfc3339(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).expect("a time after 1970").as_secs();
    let days = i64::try_from(seconds / 86_400).expect("days fit in i64");
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}+00:00")
}

/// The civil date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
