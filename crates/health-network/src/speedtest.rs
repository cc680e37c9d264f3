//! The rate-limited throughput test: an HTTP download of at most `max_bytes` from `download_url`,
//! then, when `upload_url` is set, a POST of `max_bytes` to it, the whole test bounded by
//! `timeout`.
//!
//! The suggested URLs are Cloudflare's, which need no key and are served near most venues:
//! `https://speed.cloudflare.com/__down?bytes={bytes}` sends exactly the bytes asked for, and
//! `https://speed.cloudflare.com/__up` accepts a POST body. A literal `{bytes}` in either URL is
//! replaced by `max_bytes`; nothing else is rewritten, and a download that sends more than
//! `max_bytes` is cut off there.
//!
//! What is measured:
//! - latency: time from sending the download request to its response headers (time to first byte,
//!   so it includes the DNS look-up, the TCP connect and the TLS handshake);
//! - download: bytes received / time from the response headers to the last byte read;
//! - upload: bytes sent / time from sending the request to its response headers.
//!
//! Rate limiting: the collector calls [`SpeedTest::start_if_due`] on every run; it starts a test in
//! a background task (aborted when the `SpeedTest` is dropped) only when no test is running and
//! `interval` has passed since the last start, both by the monotonic clock of this process and by
//! the wall-clock start kept in `state_dir/speedtest.json` ([`due::decide`], a pure function of
//! both clocks read once per run). That start is written before the
//! transfer begins, so a restart or a crash loop does not test again early; a stored start in the
//! future (a Pi whose clock went back) counts as due. A scrape never starts or waits for a test:
//! [`SpeedTest::sample`] publishes the last good figures and the run counts kept in that file.
//!
//! The picture comes first: a due test whose `on_screen` check says the stream is being shown is
//! postponed, not skipped for a whole interval: it is asked again at the next run and starts as
//! soon as the stream leaves the screen (`network_speedtest_postponed` is 1 meanwhile). A kiosk
//! that shows the stream all day therefore never tests; the player's input rate and the stream's
//! segment download ratio say how the link copes then, at no extra cost.
//!
//! Cost: every body byte each way is counted as it passes, for failed and cut-off tests too, and
//! kept in the same file (`network_speedtest_bytes_total`), so a restart does not reset it. At the
//! defaults (10 MB, once an hour) that is at most 240 MB a day down, and as much up with an
//! upload URL.
//!
//! A failed test (any non-2xx, a connection or TLS failure, the timeout) never publishes a speed:
//! the last good figures stay, with their timestamp, and the failure is counted. Only a test whose
//! every part succeeded replaces the figures. Not done here: choosing the URLs (config), retrying
//! a failed test before `interval`, several parallel streams.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use health_core::{MetricDesc, Snapshot, Unit};
use tokio_util::task::AbortOnDropHandle;

use crate::SpeedtestOptions;

#[path = "speedtest/due.rs"]
pub(crate) mod due;
#[path = "speedtest/state.rs"]
mod state;
#[path = "speedtest/transfer.rs"]
mod transfer;

use due::{Decision, Now};
use state::{Outcome, State};
use transfer::Carried;

const DOWNLOAD: MetricDesc = MetricDesc::gauge(
    "network_download_bytes_per_second",
    Unit::BytesPerSecond,
    "Download throughput of the last successful speed test.",
);
const UPLOAD: MetricDesc = MetricDesc::gauge(
    "network_upload_bytes_per_second",
    Unit::BytesPerSecond,
    "Upload throughput of the last successful speed test (only with an upload URL).",
);
const LATENCY: MetricDesc = MetricDesc::gauge(
    "network_speedtest_latency_seconds",
    Unit::Seconds,
    "Time to the first byte of the last successful speed test's download.",
);
const LAST_SUCCESS: MetricDesc = MetricDesc::gauge(
    "network_speedtest_last_success_timestamp_seconds",
    Unit::Seconds,
    "When the last successful speed test ended, in Unix seconds.",
);
const RUNS: MetricDesc = MetricDesc::counter(
    "network_speedtest_runs_total",
    Unit::None,
    "Speed tests by result (success, error, timeout).",
)
.labels(&["result"]);

const BYTES: MetricDesc = MetricDesc::counter(
    "network_speedtest_bytes_total",
    Unit::Bytes,
    "Body bytes the speed tests carried, by direction (download, upload), failed and cut-off \
     tests included: what they cost the venue's link. Kept across restarts.",
)
.labels(&["direction"]);
const POSTPONED: MetricDesc = MetricDesc::gauge(
    "network_speedtest_postponed",
    Unit::None,
    "1 while a due speed test waits because the stream is on screen \
     (HEALTH_NETWORK_SPEEDTEST_DURING_PLAYBACK=false); it starts once the stream is not shown.",
);

/// Every metric family the speed test may emit.
pub(crate) const DESCRIPTIONS: &[MetricDesc] =
    &[DOWNLOAD, UPLOAD, LATENCY, LAST_SUCCESS, RUNS, BYTES, POSTPONED];

/// What the background test and the samplers share.
#[derive(Debug)]
struct Shared {
    /// The persisted state, as last saved or about to be.
    state: State,
    /// When this process last started a test (monotonic, so a clock jump cannot shorten the wait).
    last_start: Option<Instant>,
    /// Why the state file could not be written, until it can again.
    save_error: Option<String>,
    /// Whether the last due test was held back because the stream was on screen.
    postponed: bool,
}

/// The speed test of the network collector: starts a test when due and keeps its results.
#[derive(Debug)]
pub(crate) struct SpeedTest {
    options: Arc<SpeedtestOptions>,
    shared: Arc<Mutex<Shared>>,
    /// The running (or last) test; dropping it aborts the test.
    task: Mutex<Option<AbortOnDropHandle<()>>>,
}

impl SpeedTest {
    /// A speed test with these options and the figures kept in `state_dir`, if any.
    pub(crate) fn new(options: SpeedtestOptions) -> Self {
        let state = State::load(&options.state_dir);
        Self {
            options: Arc::new(options),
            shared: Arc::new(Mutex::new(Shared {
                state,
                last_start: None,
                save_error: None,
                postponed: false,
            })),
            task: Mutex::new(None),
        }
    }

    /// Starts a test in the background when one is due, none is running and the stream is not on
    /// screen; returns at once, with what it decided. A due test held back for the stream stays
    /// due: the next call asks again.
    ///
    /// Needs a tokio runtime; without one it logs a warning, starts nothing and returns `None`.
    pub(crate) fn start_if_due(&self) -> Option<Decision> {
        self.start_if_due_at(Now::current())
    }

    /// [`Self::start_if_due`] with the clocks read by the caller: tests pass instants an interval
    /// apart instead of waiting for one.
    pub(crate) fn start_if_due_at(&self, now: Now) -> Option<Decision> {
        let mut task = lock(&self.task);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(target: "health.network", "speed test not started: no tokio runtime");
            return None;
        };
        let running = task.as_ref().is_some_and(|t| !t.is_finished());
        let started = {
            let mut shared = lock(&self.shared);
            let decision = due::decide(
                now,
                running,
                shared.last_start,
                &shared.state,
                self.options.interval,
                || self.options.on_screen.now(),
            );
            match decision {
                Decision::Running => return Some(decision),
                Decision::NotDue => {
                    shared.postponed = false;
                    return Some(decision);
                }
                Decision::Postponed => {
                    if !shared.postponed {
                        tracing::info!(
                            target: "health.network",
                            "speed test postponed while the stream is on screen \
                             (HEALTH_NETWORK_SPEEDTEST_DURING_PLAYBACK=false)",
                        );
                    }
                    shared.postponed = true;
                    return Some(decision);
                }
                Decision::Start => {}
            }
            shared.postponed = false;
            shared.last_start = Some(now.monotonic);
            shared.state.started(now.wall);
            shared.state.clone()
        };
        let run = run(Arc::clone(&self.options), Arc::clone(&self.shared), started);
        *task = Some(AbortOnDropHandle::new(runtime.spawn(run)));
        Some(Decision::Start)
    }

    /// Adds the last good figures and the run counts; never waits for a running test.
    pub(crate) fn sample(&self, snapshot: &mut Snapshot) {
        let shared = lock(&self.shared);
        let state = &shared.state;
        if let Some(rate) = state.download_bytes_per_second {
            snapshot.gauge(DOWNLOAD.name, rate);
        }
        if let (Some(_), Some(rate)) = (&self.options.upload_url, state.upload_bytes_per_second) {
            snapshot.gauge(UPLOAD.name, rate);
        }
        if let Some(latency) = state.latency_seconds {
            snapshot.gauge(LATENCY.name, latency);
        }
        if let Some(time) = state.last_success {
            snapshot.gauge(LAST_SUCCESS.name, time);
        }
        for outcome in Outcome::ALL {
            let labels = vec![("result", outcome.as_str().to_owned())];
            snapshot.counter_with(RUNS.name, labels, state.runs.get(outcome));
        }
        for (direction, bytes) in
            [("download", state.bytes.download), ("upload", state.bytes.upload)]
        {
            snapshot.counter_with(BYTES.name, vec![("direction", direction.to_owned())], bytes);
        }
        snapshot.gauge(POSTPONED.name, if shared.postponed { 1.0 } else { 0.0 });
        if shared.postponed {
            snapshot.note(
                "speed test due, held back while the stream is on screen \
                 (HEALTH_NETWORK_SPEEDTEST_DURING_PLAYBACK=false)",
            );
        }
        if let Some(error) = &shared.save_error {
            snapshot.problem(error.clone());
        }
    }
}

/// One test: saves its start, measures within the timeout, records and saves the result and what
/// it carried.
async fn run(options: Arc<SpeedtestOptions>, shared: Arc<Mutex<Shared>>, started: State) {
    save(&options.state_dir, &shared, started).await;
    let carried = Arc::new(Carried::default());
    let measure = transfer::measure(&options, Arc::clone(&carried));
    let result = match tokio::time::timeout(options.timeout, measure).await {
        Ok(Ok(figures)) => {
            tracing::debug!(target: "health.network", ?figures, "speed test done");
            Ok(figures)
        }
        Ok(Err(e)) => {
            tracing::warn!(target: "health.network", error = %e, "speed test failed");
            Err(e.outcome())
        }
        Err(_) => {
            tracing::warn!(
                target: "health.network",
                timeout = ?options.timeout,
                "speed test timed out",
            );
            Err(Outcome::Timeout)
        }
    };
    // Saved before it is published, so a result a scrape has seen survives a restart.
    let mut finished = lock(&shared).state.clone();
    finished.finished(SystemTime::now(), result);
    let (download, upload) = carried.get();
    finished.carried(download, upload);
    save(&options.state_dir, &shared, finished.clone()).await;
    lock(&shared).state = finished;
}

/// Writes `state` off the async workers; a failure is logged and reported by `sample`.
async fn save(dir: &std::path::Path, shared: &Mutex<Shared>, state: State) {
    let dir: PathBuf = dir.to_owned();
    let path = dir.join(state::FILE_NAME);
    let result = tokio::task::spawn_blocking(move || state.save(&dir)).await;
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(e.to_string()),
    }
    .map(|e| {
        let message = format!(
            "speed test state not saved to {} ({e}): make HEALTH_STATE_DIR writable",
            path.display()
        );
        tracing::warn!(target: "health.network", "{message}");
        message
    });
    lock(shared).save_error = error;
}

/// Locks a mutex, taking over a poisoned one: the data stays consistent (plain values).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use health_core::SampleValue;

    use super::*;

    #[test]
    fn descriptions_follow_conventions() {
        for desc in DESCRIPTIONS {
            assert_eq!(desc.convention_problems(), Vec::<String>::new(), "{}", desc.name);
        }
    }

    /// One test against a minimal HTTP server on 127.0.0.1 that answers every request with
    /// `hello`; the fuller cases are in `tests/speedtest.rs`.
    #[tokio::test]
    async fn a_test_downloads_uploads_and_records_its_result() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let _server = AbortOnDropHandle::new(tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request).await;
                let reply =
                    b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello";
                let _ = stream.write_all(reply).await;
            }
        }));
        let dir = tempfile::tempdir().unwrap();
        let test = SpeedTest::new(SpeedtestOptions {
            download_url: url.clone(),
            upload_url: Some(url),
            max_bytes: 5,
            timeout: std::time::Duration::from_secs(10),
            interval: std::time::Duration::from_secs(3600),
            state_dir: dir.path().to_owned(),
            on_screen: crate::OnScreen::never(),
        });
        test.start_if_due();
        let mut snapshot = Snapshot::new();
        for _ in 0..500 {
            snapshot = Snapshot::new();
            test.sample(&mut snapshot);
            if snapshot.get(&RUNS.name, &[("result", "success")]) != Some(&SampleValue::Counter(0))
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        health_core::testing::assert_described(DESCRIPTIONS, &snapshot);
        assert_eq!(
            snapshot.get(&RUNS.name, &[("result", "success")]),
            Some(&SampleValue::Counter(1))
        );
        assert!(snapshot.get(&DOWNLOAD.name, &[]).is_some(), "{snapshot:?}");
        assert!(snapshot.get(&UPLOAD.name, &[]).is_some(), "{snapshot:?}");
        assert!(State::load(dir.path()).last_success.is_some(), "saved");
    }

    #[test]
    fn without_a_runtime_nothing_starts() {
        let dir = tempfile::tempdir().unwrap();
        let test = SpeedTest::new(SpeedtestOptions {
            download_url: "http://127.0.0.1:9/".to_owned(),
            upload_url: None,
            max_bytes: 1,
            timeout: std::time::Duration::from_secs(1),
            interval: std::time::Duration::from_secs(60),
            state_dir: dir.path().to_owned(),
            on_screen: crate::OnScreen::never(),
        });
        assert_eq!(test.start_if_due(), None);
        assert_eq!(State::load(dir.path()), State::default());
    }

    #[test]
    fn speed_test_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SpeedTest>();
    }
}
