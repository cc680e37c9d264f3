//! The speed test against a local HTTP server this test starts on 127.0.0.1 (port 0, the bound
//! listener handed to axum): throughput, rate limiting, persistence across a restart, a stalled
//! body, a 500, an upload, the bytes it costs and the wait while the stream is on screen. No
//! traffic leaves the loopback interface.
//!
//! The part is crate-private until the collector that runs it is wired, so its source is compiled
//! into this test directly; `crate::SpeedtestOptions` resolves to the import below.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use health_core::{SampleValue, Snapshot};
use health_network::{OnScreen, SpeedtestOptions};
use tokio::io::AsyncWriteExt as _;
use tokio_util::task::AbortOnDropHandle;

#[path = "../src/speedtest.rs"]
mod speedtest;

use speedtest::due::{Decision, Now};
use speedtest::{DESCRIPTIONS, SpeedTest};

const HOUR: Duration = Duration::from_secs(3600);

/// What the server saw.
#[derive(Clone, Default)]
struct Counters {
    requests: Arc<AtomicUsize>,
    uploaded: Arc<AtomicU64>,
    /// Body bytes handed to the connection by `/down`, `/stall` and `/once`.
    sent: Arc<AtomicU64>,
    /// `/stall` bodies dropped by the server: their client went away.
    dropped: Arc<AtomicUsize>,
}

/// Counts its own drop.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A local server: `/down?bytes=N` sends N bytes, `/up` counts a POST body, `/fail` answers 500,
/// `/stall?bytes=N` sends the headers and N/2 bytes then nothing, `/once?bytes=N` is `/down` the
/// first time and 500 after.
struct Server {
    addr: SocketAddr,
    counters: Counters,
    _task: AbortOnDropHandle<()>,
}

impl Server {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counters = Counters::default();
        let app = Router::new()
            .route("/down", get(down))
            .route("/up", post(up))
            .route("/fail", get(fail))
            .route("/stall", get(stall))
            .route("/once", get(once))
            .with_state(counters.clone());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, counters, _task: AbortOnDropHandle::new(task) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    fn sent(&self) -> u64 {
        self.counters.sent.load(Ordering::SeqCst)
    }

    fn uploaded(&self) -> u64 {
        self.counters.uploaded.load(Ordering::SeqCst)
    }

    /// Waits until the server has dropped `expected` `/stall` bodies (their client closed the
    /// connection); fails after 5 s, well before any speed test timeout in these tests.
    async fn stall_bodies_dropped(&self, expected: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.counters.dropped.load(Ordering::SeqCst) < expected {
            assert!(Instant::now() < deadline, "the client kept the stalled connection open");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn requested_bytes(uri: &Uri) -> usize {
    uri.query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("bytes=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

async fn down(State(counters): State<Counters>, uri: Uri) -> Vec<u8> {
    counters.requests.fetch_add(1, Ordering::SeqCst);
    let bytes = requested_bytes(&uri);
    counters.sent.fetch_add(bytes as u64, Ordering::SeqCst);
    vec![b'x'; bytes]
}

async fn up(State(counters): State<Counters>, body: Body) -> StatusCode {
    counters.requests.fetch_add(1, Ordering::SeqCst);
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    counters.uploaded.fetch_add(bytes.len() as u64, Ordering::SeqCst);
    StatusCode::OK
}

async fn fail(State(counters): State<Counters>) -> StatusCode {
    counters.requests.fetch_add(1, Ordering::SeqCst);
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn stall(State(counters): State<Counters>, uri: Uri) -> Response {
    counters.requests.fetch_add(1, Ordering::SeqCst);
    let total = requested_bytes(&uri);
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    // The body counts its drop: hyper drops it when the client closes the connection.
    let dropped = DropCount(Arc::clone(&counters.dropped));
    tokio::spawn(async move {
        if writer.write_all(&vec![b'x'; total / 2]).await.is_ok() {
            counters.sent.fetch_add((total / 2) as u64, Ordering::SeqCst);
        }
        // Holds the body open without sending the rest.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(writer);
    });
    let reader = tokio_util::io::InspectReader::new(reader, move |_| {
        let _ = &dropped;
    });
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    ([(header::CONTENT_LENGTH, total.to_string())], body).into_response()
}

async fn once(State(counters): State<Counters>, uri: Uri) -> Response {
    if counters.requests.fetch_add(1, Ordering::SeqCst) == 0 {
        let bytes = requested_bytes(&uri);
        counters.sent.fetch_add(bytes as u64, Ordering::SeqCst);
        vec![b'x'; bytes].into_response()
    } else {
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

fn options(download_url: String, state_dir: &Path) -> SpeedtestOptions {
    SpeedtestOptions {
        download_url,
        upload_url: None,
        max_bytes: 2_000_000,
        timeout: Duration::from_secs(10),
        interval: HOUR,
        state_dir: state_dir.to_owned(),
        on_screen: OnScreen::never(),
    }
}

fn sample(test: &SpeedTest) -> Snapshot {
    let mut snapshot = Snapshot::new();
    test.sample(&mut snapshot);
    health_core::testing::assert_described(DESCRIPTIONS, &snapshot);
    snapshot
}

fn gauge(snapshot: &Snapshot, name: &str) -> Option<f64> {
    match snapshot.get(name, &[]) {
        Some(SampleValue::Gauge(value)) => Some(*value),
        None => None,
        Some(other) => panic!("{name} is not a gauge: {other:?}"),
    }
}

fn runs(snapshot: &Snapshot, result: &str) -> u64 {
    match snapshot.get("network_speedtest_runs_total", &[("result", result)]) {
        Some(SampleValue::Counter(total)) => *total,
        other => panic!("runs_total{{result={result}}} missing: {other:?}"),
    }
}

fn bytes(snapshot: &Snapshot, direction: &str) -> u64 {
    match snapshot.get("network_speedtest_bytes_total", &[("direction", direction)]) {
        Some(SampleValue::Counter(total)) => *total,
        other => panic!("bytes_total{{direction={direction}}} missing: {other:?}"),
    }
}

fn postponed(snapshot: &Snapshot) -> f64 {
    gauge(snapshot, "network_speedtest_postponed").expect("network_speedtest_postponed")
}

fn total_runs(snapshot: &Snapshot) -> u64 {
    ["success", "error", "timeout"].iter().map(|r| runs(snapshot, r)).sum()
}

/// Waits until `expected` tests have finished; the snapshot then.
async fn finished(test: &SpeedTest, expected: u64) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let snapshot = sample(test);
        if total_runs(&snapshot) >= expected {
            return snapshot;
        }
        assert!(Instant::now() < deadline, "no result in time: {snapshot:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn now_unix() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_reports_throughput_latency_and_success() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let test = SpeedTest::new(options(server.url("/down?bytes={bytes}"), dir.path()));
    let before = sample(&test);
    assert_eq!(gauge(&before, "network_download_bytes_per_second"), None);
    assert_eq!(total_runs(&before), 0, "all three results present at 0");

    test.start_if_due();
    let snapshot = finished(&test, 1).await;
    let rate = gauge(&snapshot, "network_download_bytes_per_second").unwrap();
    assert!(rate.is_finite() && rate > 1e6, "download rate {rate}");
    let latency = gauge(&snapshot, "network_speedtest_latency_seconds").unwrap();
    assert!(latency > 0.0 && latency < 5.0, "latency {latency}");
    let success = gauge(&snapshot, "network_speedtest_last_success_timestamp_seconds").unwrap();
    assert!((now_unix() - success).abs() < 30.0, "last success {success}");
    assert_eq!(gauge(&snapshot, "network_upload_bytes_per_second"), None, "no upload URL");
    assert_eq!((runs(&snapshot, "success"), runs(&snapshot, "error")), (1, 0));
    assert_eq!(runs(&snapshot, "timeout"), 0);
    assert_eq!(server.requests(), 1);
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_runs_start_one_test() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let test = SpeedTest::new(options(server.url("/down?bytes={bytes}"), dir.path()));
    assert_eq!(test.start_if_due(), Some(Decision::Start));
    // Runs while the test runs and after it ended: each one decides, none starts another.
    for _ in 0..50 {
        let decision = test.start_if_due();
        assert!(matches!(decision, Some(Decision::Running | Decision::NotDue)), "{decision:?}");
        sample(&test);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let snapshot = finished(&test, 1).await;
    assert_eq!(test.start_if_due(), Some(Decision::NotDue));
    assert_eq!(server.requests(), 1);
    assert_eq!(total_runs(&snapshot), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_within_the_interval_tests_nothing_and_republishes() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let first = SpeedTest::new(options(server.url("/down?bytes={bytes}"), dir.path()));
    first.start_if_due();
    let published = finished(&first, 1).await;
    drop(first);

    let restarted = SpeedTest::new(options(server.url("/down?bytes={bytes}"), dir.path()));
    assert_eq!(restarted.start_if_due(), Some(Decision::NotDue), "the stored start holds it back");
    assert_eq!(server.requests(), 1, "no new test before the interval");
    assert_eq!(sample(&restarted), published, "the stored figures and counts");

    // An interval later by both clocks (passed in, not waited for) the restarted one tests again.
    let later = Now { wall: SystemTime::now() + HOUR, monotonic: Instant::now() + HOUR };
    assert_eq!(restarted.start_if_due_at(later), Some(Decision::Start));
    assert_eq!(runs(&finished(&restarted, 2).await, "success"), 2);
    assert_eq!(server.requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_in_the_future_counts_as_due() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let tomorrow = now_unix() + 86_400.0;
    let stored = format!(r#"{{"last_start": {tomorrow}, "runs": {{"success": 4}}}}"#);
    std::fs::write(dir.path().join("speedtest.json"), stored).unwrap();
    let test = SpeedTest::new(options(server.url("/down?bytes={bytes}"), dir.path()));
    test.start_if_due();
    let snapshot = finished(&test, 5).await;
    assert_eq!(runs(&snapshot, "success"), 5, "counts continue from the file");
    assert_eq!(server.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_starts_fresh() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("speedtest.json"), "{ truncated").unwrap();
    let test = SpeedTest::new(options(server.url("/down?bytes={bytes}"), dir.path()));
    test.start_if_due();
    let snapshot = finished(&test, 1).await;
    assert_eq!(runs(&snapshot, "success"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_times_out_and_publishes_no_speed() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(server.url("/stall?bytes={bytes}"), dir.path());
    options.timeout = Duration::from_secs(1);
    let test = SpeedTest::new(options);
    let start = Instant::now();
    test.start_if_due();
    let snapshot = finished(&test, 1).await;
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(runs(&snapshot, "timeout"), 1);
    assert_eq!(gauge(&snapshot, "network_download_bytes_per_second"), None);
    assert_eq!(gauge(&snapshot, "network_speedtest_last_success_timestamp_seconds"), None);
    // The half that came before the stall was carried all the same.
    assert_eq!(server.sent(), 1_000_000);
    assert_eq!(bytes(&snapshot, "download"), 1_000_000);
    // The timed-out transfer let go of its connection.
    server.stall_bodies_dropped(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_an_error_and_publishes_no_speed() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let test = SpeedTest::new(options(server.url("/fail"), dir.path()));
    test.start_if_due();
    let snapshot = finished(&test, 1).await;
    assert_eq!((runs(&snapshot, "error"), runs(&snapshot, "success")), (1, 0));
    assert_eq!(gauge(&snapshot, "network_download_bytes_per_second"), None);
    assert_eq!(gauge(&snapshot, "network_speedtest_latency_seconds"), None);
    assert_eq!((bytes(&snapshot, "download"), bytes(&snapshot, "upload")), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_keeps_the_last_good_figures() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(server.url("/once?bytes={bytes}"), dir.path());
    options.interval = Duration::ZERO;
    let test = SpeedTest::new(options);
    test.start_if_due();
    let good = finished(&test, 1).await;
    test.start_if_due();
    let after = finished(&test, 2).await;
    assert_eq!(runs(&after, "error"), 1);
    for name in [
        "network_download_bytes_per_second",
        "network_speedtest_latency_seconds",
        "network_speedtest_last_success_timestamp_seconds",
    ] {
        assert!(gauge(&good, name).is_some(), "{name}");
        assert_eq!(gauge(&after, name), gauge(&good, name), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_reports_its_throughput() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(server.url("/down?bytes={bytes}"), dir.path());
    options.upload_url = Some(server.url("/up"));
    options.max_bytes = 1_000_000;
    let test = SpeedTest::new(options);
    test.start_if_due();
    let snapshot = finished(&test, 1).await;
    assert_eq!(runs(&snapshot, "success"), 1, "{snapshot:?}");
    let rate = gauge(&snapshot, "network_upload_bytes_per_second").unwrap();
    assert!(rate.is_finite() && rate > 0.0, "upload rate {rate}");
    assert_eq!(server.counters.uploaded.load(Ordering::SeqCst), 1_000_000);
    assert_eq!(server.requests(), 2, "one download, one upload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_speed_test_aborts_a_running_test() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(server.url("/stall?bytes={bytes}"), dir.path());
    options.timeout = Duration::from_secs(30);
    let test = SpeedTest::new(options);
    test.start_if_due();
    while server.requests() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(test);
    // Aborted, the test closes its connection at once, not at its 30 s timeout.
    server.stall_bodies_dropped(1).await;
    let stored = std::fs::read_to_string(dir.path().join("speedtest.json")).unwrap();
    assert!(stored.contains("last_start"), "start saved before the transfer: {stored}");
    let restarted = SpeedTest::new(options_for_restart(&server, dir.path()));
    assert_eq!(total_runs(&sample(&restarted)), 0, "the aborted test recorded no result");
}

fn options_for_restart(server: &Server, dir: &Path) -> SpeedtestOptions {
    options(server.url("/down?bytes={bytes}"), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bytes_counted_are_what_the_server_sent_and_received_and_survive_a_restart() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(server.url("/down?bytes={bytes}"), dir.path());
    options.upload_url = Some(server.url("/up"));
    options.max_bytes = 1_500_000;
    options.interval = Duration::ZERO;
    let test = SpeedTest::new(options.clone());
    let before = sample(&test);
    assert_eq!((bytes(&before, "download"), bytes(&before, "upload")), (0, 0));

    test.start_if_due();
    let first = finished(&test, 1).await;
    assert_eq!(runs(&first, "success"), 1, "{first:?}");
    assert_eq!((server.sent(), server.uploaded()), (1_500_000, 1_500_000));
    assert_eq!(bytes(&first, "download"), server.sent());
    assert_eq!(bytes(&first, "upload"), server.uploaded());

    test.start_if_due();
    let second = finished(&test, 2).await;
    assert_eq!((server.sent(), server.uploaded()), (3_000_000, 3_000_000));
    assert_eq!((bytes(&second, "download"), bytes(&second, "upload")), (3_000_000, 3_000_000));
    drop(test);

    // Kept in speedtest.json: a restart carries on from there instead of resetting to 0.
    let restarted = SpeedTest::new(options);
    let after = sample(&restarted);
    assert_eq!((bytes(&after, "download"), bytes(&after, "upload")), (3_000_000, 3_000_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_test_waits_while_the_stream_is_on_screen_and_runs_once_it_is_not() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let playing = Arc::new(AtomicBool::new(true));
    let asked = Arc::new(AtomicUsize::new(0));
    let mut options = options(server.url("/down?bytes={bytes}"), dir.path());
    options.on_screen = OnScreen::new({
        let (playing, asked) = (Arc::clone(&playing), Arc::clone(&asked));
        move || {
            asked.fetch_add(1, Ordering::SeqCst);
            playing.load(Ordering::SeqCst)
        }
    });
    let test = SpeedTest::new(options);
    assert_eq!(postponed(&sample(&test)), 0.0, "nothing asked yet");

    for _ in 0..5 {
        assert_eq!(test.start_if_due(), Some(Decision::Postponed));
    }
    let waiting = sample(&test);
    assert_eq!(postponed(&waiting), 1.0);
    assert_eq!(total_runs(&waiting), 0);
    assert_eq!(server.requests(), 0, "no test while the stream is on screen");
    assert_eq!(asked.load(Ordering::SeqCst), 5, "asked again at every run");
    // Not started, so not recorded as a start: a restart would find it due too.
    assert!(!dir.path().join("speedtest.json").exists());

    // The stream leaves the screen: the very next run tests, a whole interval early.
    playing.store(false, Ordering::SeqCst);
    assert_eq!(test.start_if_due(), Some(Decision::Start));
    let done = finished(&test, 1).await;
    assert_eq!(runs(&done, "success"), 1);
    assert_eq!(postponed(&done), 0.0);
    assert_eq!(server.requests(), 1);

    // Once tested, the interval rules again; the check is not even needed.
    playing.store(true, Ordering::SeqCst);
    let asked_before = asked.load(Ordering::SeqCst);
    assert_eq!(test.start_if_due(), Some(Decision::NotDue));
    assert_eq!(postponed(&sample(&test)), 0.0, "not due, so not postponed");
    assert_eq!(asked.load(Ordering::SeqCst), asked_before);
    assert_eq!(server.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_on_screen_tests_on_the_interval() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let test = SpeedTest::new(options(server.url("/down?bytes={bytes}"), dir.path()));
    test.start_if_due();
    let snapshot = finished(&test, 1).await;
    assert_eq!(postponed(&snapshot), 0.0);
    assert_eq!(server.requests(), 1);
    assert!(!OnScreen::never().now());
    assert!(OnScreen::new(|| true).now());
}
