//! The Vimeo client against a fake Vimeo API on 127.0.0.1: every answer classified through the
//! real HTTP path, the headers it sends, retries and their backoff, timeouts, rate limits, size
//! limits, and no secret in any output.

#[path = "support/vimeo_api.rs"]
mod vimeo_api;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vimeo_api::{ACCEPT, EVENT_ID, RATE_LIMIT, Reply, SIGNED_URL, TOKEN, VimeoApi, rfc3339};
use vimeo_monitor::vimeo::{
    Answer, Backoff, Checked, MAX_BODY_BYTES, OfflineReason, Token, TransientKind, VimeoClient,
    VimeoOptions,
};

const MS: Duration = Duration::from_millis(1);
/// How late a timer or a local round trip may be on a loaded CI machine.
const SLACK: Duration = Duration::from_millis(1000);

fn options(api_url: &str) -> VimeoOptions {
    VimeoOptions {
        api_url: api_url.to_owned(),
        timeout: Duration::from_secs(5),
        max_retries: 3,
        backoff: Backoff { base: 10 * MS, cap: 200 * MS },
        ..VimeoOptions::new(EVENT_ID, Token::new(TOKEN.to_owned()))
    }
}

fn client(api: &VimeoApi) -> VimeoClient {
    VimeoClient::new(options(&api.url())).expect("client for the fake API")
}

fn client_with(api: &VimeoApi, change: impl FnOnce(&mut VimeoOptions)) -> VimeoClient {
    let mut options = options(&api.url());
    change(&mut options);
    VimeoClient::new(options).expect("client for the fake API")
}

/// What an answer must look like.
type Expectation = Box<dyn Fn(&Answer) -> bool>;

fn live() -> Reply {
    Reply::Live { url: SIGNED_URL.to_owned() }
}

fn misconfigured(checked: &Checked) -> (u16, Option<u64>, &'static str, Option<&str>) {
    match &checked.answer {
        Answer::Misconfigured { status, error_code, fix, developer_message } => {
            (*status, *error_code, *fix, developer_message.as_deref())
        }
        other => panic!("expected a configuration problem, got {other:?}"),
    }
}

fn transient(checked: &Checked) -> (TransientKind, &str) {
    match &checked.answer {
        Answer::Transient { kind, detail } => (*kind, detail.as_str()),
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

fn rate_limited(checked: &Checked) -> Duration {
    match checked.answer {
        Answer::RateLimited { wait } => wait,
        ref other => panic!("expected rate limited, got {other:?}"),
    }
}

#[tokio::test]
async fn live_comes_with_the_signed_url_and_the_request_has_the_right_headers() {
    let api = VimeoApi::start().await;
    api.set(live());
    let checked = client(&api).check_once().await;

    let Answer::Live { url } = &checked.answer else { panic!("not live: {checked:?}") };
    assert_eq!(url.expose(), SIGNED_URL);
    assert_eq!(checked.answer.result_label(), "live");
    assert_eq!(checked.attempts, 1);
    assert!(checked.duration > Duration::ZERO && checked.duration < SLACK, "{checked:?}");
    let rate_limit = checked.rate_limit.expect("rate-limit headers");
    assert_eq!(rate_limit.limit, Some(RATE_LIMIT));
    assert_eq!(rate_limit.remaining, Some(RATE_LIMIT - 1));
    let reset_in = rate_limit.reset_in.expect("a reset time");
    assert!(reset_in <= Duration::from_secs(61), "{reset_in:?}");

    let seen = api.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, format!("/me/live_events/{EVENT_ID}/m3u8_playback"));
    assert_eq!(request.authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(request.accept.as_deref(), Some(ACCEPT));
    let agent = request.user_agent.as_deref().unwrap_or_default();
    assert_eq!(agent, concat!("vimeo-monitor/", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn every_answer_of_the_api_is_classified_through_http() {
    let api = VimeoApi::start().await;
    let table: Vec<(Reply, &str, Expectation)> = vec![
        (live(), "live", Box::new(|a| matches!(a, Answer::Live { .. }))),
        (
            Reply::NotStarted,
            "offline",
            Box::new(|a| *a == Answer::Offline { why: OfflineReason::NotStarted }),
        ),
        (
            Reply::AvailableSoon,
            "offline",
            Box::new(|a| *a == Answer::Offline { why: OfflineReason::AvailableSoon }),
        ),
        (
            Reply::NoVideo { error_code: 4020 },
            "offline",
            Box::new(|a| {
                *a == Answer::Offline { why: OfflineReason::NothingToStream { error_code: 4020 } }
            }),
        ),
        (
            Reply::NoVideo { error_code: 4021 },
            "offline",
            Box::new(|a| {
                *a == Answer::Offline { why: OfflineReason::NothingToStream { error_code: 4021 } }
            }),
        ),
        (
            Reply::RateLimited { retry_after: Some(3), reset: None },
            "rate_limited",
            Box::new(|a| *a == Answer::RateLimited { wait: Duration::from_secs(3) }),
        ),
        (
            Reply::Unauthorized,
            "client_error",
            Box::new(|a| {
                matches!(a, Answer::Misconfigured { status: 401, error_code: Some(8000), fix, developer_message: Some(_) }
                    if fix.starts_with("VIMEO_TOKEN is invalid"))
            }),
        ),
        (
            Reply::Forbidden,
            "client_error",
            Box::new(|a| {
                matches!(a, Answer::Misconfigured { status: 403, error_code: Some(3200), fix, .. }
                    if fix.contains("lacks access"))
            }),
        ),
        (
            Reply::NotFound,
            "client_error",
            Box::new(|a| {
                matches!(a, Answer::Misconfigured { status: 404, error_code: Some(5000), fix, .. }
                    if fix.starts_with("VIMEO_LIVE_EVENT_ID"))
            }),
        ),
        (
            Reply::ServerError(500),
            "server_error",
            Box::new(|a| {
                matches!(a, Answer::Transient { kind: TransientKind::ServerError(500), detail }
                    if detail == "HTTP 500: An unexpected error occurred. Please try again.")
            }),
        ),
        (
            Reply::ServerError(503),
            "server_error",
            Box::new(|a| {
                matches!(a, Answer::Transient { kind: TransientKind::ServerError(503), .. })
            }),
        ),
        (
            Reply::InvalidJson,
            "invalid_response",
            Box::new(|a| {
                matches!(a, Answer::Transient { kind: TransientKind::InvalidResponse, detail }
                    if detail.contains("not JSON"))
            }),
        ),
    ];
    for (round, (reply, label, expected)) in table.into_iter().enumerate() {
        api.set(reply.clone());
        // A fresh client each time: a 429 would hold back the next request.
        let checked = client(&api).check_once().await;
        assert!(expected(&checked.answer), "{reply:?} gave {checked:?}");
        assert_eq!(checked.answer.result_label(), label, "{reply:?}");
        assert_eq!(checked.attempts, 1, "{reply:?}");
        assert_eq!(api.requests(), round + 1, "{reply:?}: exactly one request");
        assert!(checked.rate_limit.is_some(), "{reply:?}: rate-limit headers read");
    }
}

#[tokio::test]
async fn a_wrong_token_or_event_is_a_configuration_problem() {
    let api = VimeoApi::start().await;
    api.set(live());

    let wrong_token = client_with(&api, |o| o.token = Token::new("CANARY-TOKEN-wrong".to_owned()));
    let checked = wrong_token.check().await;
    let (status, code, fix, message) = misconfigured(&checked);
    assert_eq!((status, code), (401, Some(8000)));
    assert!(fix.contains("VIMEO_TOKEN") && fix.contains("video_files"), "{fix}");
    assert!(message.is_some_and(|m| m.contains("invalid, expired or revoked")), "{message:?}");
    assert_eq!(checked.attempts, 1, "a configuration problem is not retried");

    let wrong_event = client_with(&api, |o| o.event_id = "999".to_owned());
    let checked = wrong_event.check().await;
    let (status, code, fix, _) = misconfigured(&checked);
    assert_eq!((status, code), (404, Some(5000)));
    assert!(fix.starts_with("VIMEO_LIVE_EVENT_ID does not name a live event"), "{fix}");
    assert_eq!(api.requests(), 2);
}

/// Full jitter draws each delay anywhere in `[0, ceiling]`, so one retry proves little: thirty
/// do. The slack (what a request to 127.0.0.1 may add) is half the cap, so a backoff that ignores
/// the cap, stops growing or does not wait at all fails here (each was tried).
#[tokio::test]
async fn transient_failures_are_retried_with_growing_backoff() {
    const RETRIES: u32 = 30;
    const REQUEST_SLACK: Duration = Duration::from_millis(50);
    let api = VimeoApi::start().await;
    let mut replies: Vec<Reply> =
        (0..RETRIES).map(|i| Reply::ServerError(if i % 2 == 0 { 500 } else { 502 })).collect();
    replies.push(live());
    api.queue(replies);
    let backoff = Backoff { base: 25 * MS, cap: 100 * MS };
    let client = client_with(&api, |o| {
        o.backoff = backoff;
        o.max_retries = RETRIES;
    });

    // No delay past the cap, plus a request's slack each (from the options, not from
    // `ceiling`, which a broken backoff would break too): else the test would wait for days.
    let bound = (backoff.cap + REQUEST_SLACK) * (RETRIES + 1);
    let checked = tokio::time::timeout(bound, client.check()).await.unwrap_or_else(|_| {
        panic!("the retries took longer than their ceilings allow ({bound:?})")
    });
    assert!(matches!(checked.answer, Answer::Live { .. }), "{checked:?}");
    assert_eq!(checked.attempts, RETRIES + 1);
    assert_eq!(api.requests(), RETRIES as usize + 1);
    assert!(checked.duration < SLACK, "the duration is the last attempt's: {checked:?}");

    let times = api.request_times();
    let gaps: Vec<Duration> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    // Never longer than the ceiling, which doubles (25, 50 ms) up to the cap (100 ms).
    for (retry, gap) in gaps.iter().enumerate() {
        let ceiling = backoff.ceiling(retry as u32);
        assert!(
            *gap <= ceiling + REQUEST_SLACK,
            "retry {retry}: waited {gap:?}, ceiling {ceiling:?}"
        );
    }
    assert_eq!(backoff.ceiling(1), 50 * MS);
    assert_eq!(backoff.ceiling(2), 100 * MS);
    assert_eq!(backoff.ceiling(RETRIES), 100 * MS);
    // From the third retry the ceiling is the cap: the delays average 50 ms, 1.4 s over 28
    // retries (standard deviation 0.15 s). A backoff stuck at the first ceiling waits at most
    // 25 ms each, 0.7 s in all; one that does not wait, a few milliseconds.
    let capped: Duration = gaps[2..].iter().sum();
    let stuck = backoff.base * (RETRIES - 2);
    assert!(capped > stuck, "waited {capped:?} over 28 capped retries, at most {stuck:?} if stuck");
}

#[tokio::test]
async fn max_retries_is_respected() {
    let api = VimeoApi::start().await;
    api.set(Reply::ServerError(500));
    for (max_retries, attempts) in [(0, 1), (2, 3)] {
        let before = api.requests();
        let checked = client_with(&api, |o| o.max_retries = max_retries).check().await;
        let (kind, _) = transient(&checked);
        assert_eq!(kind, TransientKind::ServerError(500));
        assert_eq!(checked.answer.result_label(), "server_error");
        assert_eq!(checked.attempts, attempts, "max_retries {max_retries}");
        assert_eq!(api.requests() - before, attempts as usize, "max_retries {max_retries}");
    }
}

#[tokio::test]
async fn final_answers_are_never_retried() {
    let api = VimeoApi::start().await;
    for reply in [
        live(),
        Reply::NotStarted,
        Reply::AvailableSoon,
        Reply::NoVideo { error_code: 4021 },
        Reply::Unauthorized,
        Reply::Forbidden,
        Reply::NotFound,
        Reply::RateLimited { retry_after: Some(1), reset: None },
    ] {
        api.set(reply.clone());
        let before = api.requests();
        let checked = client(&api).check().await;
        assert!(!checked.answer.is_transient(), "{reply:?}: {checked:?}");
        assert_eq!(checked.attempts, 1, "{reply:?}");
        assert_eq!(api.requests() - before, 1, "{reply:?}");
    }
}

#[tokio::test]
async fn a_hanging_api_times_out_at_the_timeout() {
    let api = VimeoApi::start().await;
    api.set(Reply::Hang);
    let timeout = 300 * MS;
    let client = client_with(&api, |o| {
        o.timeout = timeout;
        o.max_retries = 1;
    });

    let checked = client.check_once().await;
    let (kind, detail) = transient(&checked);
    assert_eq!(kind, TransientKind::Timeout);
    assert_eq!(detail, "no whole answer within 0.3 s");
    assert_eq!(checked.answer.result_label(), "network_error");
    assert!(checked.duration >= timeout && checked.duration < timeout + SLACK, "{checked:?}");

    let checked = client.check().await;
    assert_eq!(transient(&checked).0, TransientKind::Timeout);
    assert_eq!(checked.attempts, 2, "a timeout is retried");
    assert_eq!(api.requests(), 3);
}

#[tokio::test]
async fn retry_after_holds_back_every_request_until_it_has_passed() {
    let api = VimeoApi::start().await;
    api.set(Reply::RateLimited { retry_after: Some(2), reset: None });
    let client = client(&api);

    let checked = client.check().await;
    assert_eq!(rate_limited(&checked), Duration::from_secs(2));
    assert_eq!(checked.answer.result_label(), "rate_limited");
    assert_eq!(checked.rate_limit.and_then(|r| r.remaining), Some(0));
    assert_eq!(api.requests(), 1);

    // Asked again at once, the client answers for itself.
    api.set(live());
    let early = client.check().await;
    let left = rate_limited(&early);
    assert!(left > Duration::from_millis(1500) && left <= Duration::from_secs(2), "{left:?}");
    assert_eq!(early.attempts, 0);
    assert_eq!(api.requests(), 1, "no request before Retry-After");

    tokio::time::sleep(left).await;
    let later = client.check().await;
    assert!(matches!(later.answer, Answer::Live { .. }), "{later:?}");
    assert_eq!(api.requests(), 2);
    let times = api.request_times();
    assert!(times[1] - times[0] >= Duration::from_secs(2));
}

#[tokio::test]
async fn without_retry_after_the_wait_comes_from_the_reset_header() {
    let api = VimeoApi::start().await;
    let in_seven_seconds = SystemTime::now() + Duration::from_secs(7);
    let unix_seconds = in_seven_seconds.duration_since(UNIX_EPOCH).unwrap().as_secs();
    for reset in [rfc3339(in_seven_seconds), unix_seconds.to_string()] {
        api.set(Reply::RateLimited { retry_after: None, reset: Some(reset.clone()) });
        let wait = rate_limited(&client(&api).check_once().await);
        // Whole seconds on both sides (the reset and the server's Date): 7 s, give or take one.
        assert!(
            wait >= Duration::from_secs(6) && wait <= Duration::from_secs(8),
            "{reset}: {wait:?}"
        );
    }
    // Neither header given by the test: the fake's own window end, at most a minute away.
    api.set(Reply::RateLimited { retry_after: None, reset: None });
    let wait = rate_limited(&client(&api).check_once().await);
    assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(61), "{wait:?}");
}

#[tokio::test]
async fn an_oversized_body_is_an_invalid_response() {
    let api = VimeoApi::start().await;
    api.set(Reply::Huge { bytes: MAX_BODY_BYTES as usize + 1 });
    let checked = client(&api).check_once().await;
    let (kind, detail) = transient(&checked);
    assert_eq!(kind, TransientKind::InvalidResponse);
    assert_eq!(detail, "the HTTP 200 body is larger than 65536 bytes");
    assert_eq!(checked.answer.result_label(), "invalid_response");

    // Just under the limit, the same answer is fine.
    api.set(Reply::Huge { bytes: MAX_BODY_BYTES as usize - 16 });
    let checked = client(&api).check_once().await;
    assert!(matches!(checked.answer, Answer::Live { .. }), "{checked:?}");

    // Without a Content-Length the limit holds while reading.
    let (url, server) = chunked_server(4 * MAX_BODY_BYTES as usize).await;
    let checked = VimeoClient::new(options(&url)).unwrap().check_once().await;
    assert_eq!(transient(&checked), (TransientKind::InvalidResponse, detail));
    server.abort();
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener); // Nothing listens there now.
    let client = VimeoClient::new(VimeoOptions {
        max_retries: 1,
        backoff: Backoff { base: MS, cap: MS },
        ..options(&format!("http://{addr}"))
    })
    .unwrap();
    let checked = client.check().await;
    let (kind, detail) = transient(&checked);
    assert_eq!(kind, TransientKind::Network);
    assert!(detail.starts_with(&format!("http://{addr}/me/live_events/")), "{detail}");
    assert_eq!(checked.answer.result_label(), "network_error");
    assert_eq!(checked.attempts, 2);
    assert_eq!(checked.rate_limit, None);
}

#[tokio::test]
async fn the_token_and_the_signature_never_show() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let api = VimeoApi::start().await;
    let mut shown = Vec::new();
    for reply in [
        live(),
        Reply::NotStarted,
        Reply::AvailableSoon,
        Reply::RateLimited { retry_after: Some(1), reset: None },
        Reply::Unauthorized,
        Reply::Forbidden,
        Reply::NotFound,
        Reply::ServerError(500),
        Reply::InvalidJson,
        Reply::Huge { bytes: 2 * MAX_BODY_BYTES as usize },
        Reply::Hang,
    ] {
        api.set(reply);
        let client = client_with(&api, |o| {
            o.timeout = 200 * MS;
            o.max_retries = 1;
        });
        let checked = client.check().await;
        shown.push(format!("{checked:?} {checked:#?} {} {:?}", checked.answer, checked.answer));
        shown.push(format!("{client:?}"));
        if let Answer::Live { url } = &checked.answer {
            assert_eq!(url.expose(), SIGNED_URL, "the player still gets the whole URL");
            shown.push(format!("{url} {url:?}"));
        }
    }
    let wrong_token = client_with(&api, |o| o.token = Token::new("CANARY-TOKEN-wrong".to_owned()));
    let checked = wrong_token.check().await;
    shown.push(format!("{checked:?} {}", checked.answer));
    let options = options(&api.url());
    shown.push(format!("{options:?} {:?} {}", options.token, options.token));
    for bad in [
        VimeoOptions { api_url: format!("{}/?token={TOKEN}", api.url()), ..options.clone() },
        VimeoOptions { token: Token::new(format!("{TOKEN}\n")), ..options },
    ] {
        let error = VimeoClient::new(bad).unwrap_err();
        shown.push(format!("{error} {error:?}"));
    }

    let logs = logs.text();
    assert!(logs.contains("Vimeo API: live: https://live-api-s.vimeocdn.com/"), "{logs}");
    for text in shown.iter().chain([&logs]) {
        assert!(!text.contains("CANARY"), "a secret shows in: {text}");
        assert!(!text.contains("sig="), "a signature shows in: {text}");
    }
}

/// A server that answers one request with 200 and a chunked body of `bytes` spaces.
async fn chunked_server(bytes: usize) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        let chunk = format!("2000\r\n{}\r\n", " ".repeat(0x2000));
        let mut sent = 0;
        let mut out = socket.write_all(head.as_bytes()).await;
        while out.is_ok() && sent < bytes {
            out = socket.write_all(chunk.as_bytes()).await;
            sent += 0x2000;
        }
        if out.is_ok() {
            let _ = socket.write_all(b"0\r\n\r\n").await;
        }
    });
    (url, task)
}

/// Everything the tracing subscriber writes, kept in memory.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
