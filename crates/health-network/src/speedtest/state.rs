//! The speed test's persisted state (`speedtest.json`): when the last test started, the last good
//! figures and their time, the run counts and the bytes every test carried. Pure data plus its
//! atomic load/save; no network.
//!
//! Times are wall-clock seconds since the Unix epoch, so they survive a restart. A Pi without an
//! RTC can boot with its clock in the past: a stored start in the future counts as due, so a clock
//! that jumps backwards never blocks the test for good.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The file name under `state_dir`.
pub(crate) const FILE_NAME: &str = "speedtest.json";

/// How a test ended: the `result` label of `network_speedtest_runs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every part finished with a 2xx and at least one byte.
    Success,
    /// A connection, TLS or HTTP failure, or a non-2xx status.
    Error,
    /// The whole test took longer than its timeout.
    Timeout,
}

impl Outcome {
    /// Every outcome, in label order.
    pub(crate) const ALL: [Self; 3] = [Self::Success, Self::Error, Self::Timeout];

    /// The label value.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Timeout => "timeout",
        }
    }
}

/// Figures of one successful test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figures {
    /// Download throughput.
    pub(crate) download_bytes_per_second: f64,
    /// Upload throughput, when an upload URL is set.
    pub(crate) upload_bytes_per_second: Option<f64>,
    /// Time to first byte of the download.
    pub(crate) latency_seconds: f64,
}

/// Run counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Runs {
    pub(crate) success: u64,
    pub(crate) error: u64,
    pub(crate) timeout: u64,
}

impl Runs {
    /// The count for this outcome.
    pub(crate) const fn get(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Success => self.success,
            Outcome::Error => self.error,
            Outcome::Timeout => self.timeout,
        }
    }

    fn bump(&mut self, outcome: Outcome) {
        let count = match outcome {
            Outcome::Success => &mut self.success,
            Outcome::Error => &mut self.error,
            Outcome::Timeout => &mut self.timeout,
        };
        *count = count.saturating_add(1);
    }
}

/// Body bytes carried by every test so far, failed and cut-off ones included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Bytes {
    pub(crate) download: u64,
    pub(crate) upload: u64,
}

/// What `speedtest.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct State {
    /// When the last test started (Unix seconds); written before the transfer begins.
    pub(crate) last_start: Option<f64>,
    /// When the last successful test ended (Unix seconds).
    pub(crate) last_success: Option<f64>,
    /// Download throughput of the last successful test.
    pub(crate) download_bytes_per_second: Option<f64>,
    /// Upload throughput of the last successful test, if it uploaded.
    pub(crate) upload_bytes_per_second: Option<f64>,
    /// Time to first byte of the last successful test.
    pub(crate) latency_seconds: Option<f64>,
    /// Runs by outcome, over the life of the state file.
    pub(crate) runs: Runs,
    /// Bytes carried, over the life of the state file (a file written before it counted starts
    /// at 0).
    pub(crate) bytes: Bytes,
}

/// Seconds since the Unix epoch; 0 for a clock before 1970.
pub(crate) fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl State {
    /// Whether, by the wall clock, a test may start at `now`: none started yet, `interval` has
    /// passed since the last start, or the last start lies in the future (the clock went back).
    pub(crate) fn due(&self, now: SystemTime, interval: Duration) -> bool {
        let Some(start) = self.last_start else { return true };
        let now = unix_seconds(now);
        start > now || now - start >= interval.as_secs_f64()
    }

    /// Records the start of a test at `now`.
    pub(crate) fn started(&mut self, now: SystemTime) {
        self.last_start = Some(unix_seconds(now));
    }

    /// Adds what one test carried, whatever its outcome.
    pub(crate) fn carried(&mut self, download: u64, upload: u64) {
        self.bytes.download = self.bytes.download.saturating_add(download);
        self.bytes.upload = self.bytes.upload.saturating_add(upload);
    }

    /// Records how a test ended at `now`; the figures replace the stored ones only on success.
    pub(crate) fn finished(&mut self, now: SystemTime, result: Result<Figures, Outcome>) {
        match result {
            Ok(figures) => {
                self.runs.bump(Outcome::Success);
                self.last_success = Some(unix_seconds(now));
                self.download_bytes_per_second = Some(figures.download_bytes_per_second);
                self.upload_bytes_per_second = figures.upload_bytes_per_second;
                self.latency_seconds = Some(figures.latency_seconds);
            }
            Err(outcome) => self.runs.bump(outcome),
        }
    }

    /// Reads the state file in `dir`; a missing one is a fresh start, a broken one too, with a
    /// warning.
    pub(crate) fn load(dir: &Path) -> Self {
        let path = dir.join(FILE_NAME);
        let read = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Self::default(),
            read => read.map_err(|e| e.to_string()),
        };
        read.and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
            .unwrap_or_else(|error| {
                tracing::warn!(
                    target: "health.network",
                    path = %path.display(),
                    %error,
                    "speed test state unreadable, starting fresh",
                );
                Self::default()
            })
    }

    /// Writes the state file in `dir` atomically: a temporary file, synced, then renamed over it.
    /// Creates `dir` if needed.
    pub(crate) fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE_NAME);
        let temp = temp_path(&path);
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let write = || -> std::io::Result<()> {
            use std::io::Write as _;
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)
        };
        write().inspect_err(|_| {
            // Best effort: a leftover temporary file is harmless but untidy.
            let _ = std::fs::remove_file(&temp);
        })
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn due_follows_the_interval_and_forgives_a_clock_gone_back() {
        let mut state = State::default();
        assert!(state.due(at(10_000), HOUR), "never started");
        state.started(at(10_000));
        assert!(!state.due(at(10_000), HOUR));
        assert!(!state.due(at(10_000 + 3599), HOUR));
        assert!(state.due(at(10_000 + 3600), HOUR));
        assert!(state.due(at(5_000), HOUR), "a start in the future must not block");
    }

    #[test]
    fn failures_keep_the_last_figures() {
        let mut state = State::default();
        let figures = Figures {
            download_bytes_per_second: 1e6,
            upload_bytes_per_second: None,
            latency_seconds: 0.01,
        };
        state.finished(at(100), Ok(figures));
        state.finished(at(200), Err(Outcome::Timeout));
        state.finished(at(300), Err(Outcome::Error));
        assert_eq!(state.download_bytes_per_second, Some(1e6));
        assert_eq!(state.last_success, Some(100.0));
        assert_eq!(state.runs, Runs { success: 1, error: 1, timeout: 1 });
    }

    #[test]
    fn a_file_from_before_the_byte_counts_loads_with_zero_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), r#"{"last_start": 42.0, "runs": {"error": 2}}"#)
            .unwrap();
        let state = State::load(dir.path());
        assert_eq!(state.runs, Runs { success: 0, error: 2, timeout: 0 });
        assert_eq!(state.bytes, Bytes::default());
    }

    #[test]
    fn save_and_load_round_trip_and_survive_corruption() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(State::load(dir.path()), State::default(), "missing file");
        let mut state = State::default();
        state.started(at(42));
        state.finished(at(43), Err(Outcome::Error));
        state.last_success = Some(1_795_923_367.413_494);
        state.download_bytes_per_second = Some(1_446_780_190.685_629_1);
        state.carried(10_000_000, 0);
        state.carried(4_321, 10_000_000);
        state.save(dir.path()).unwrap();
        assert_eq!(state.bytes, Bytes { download: 10_004_321, upload: 10_000_000 });
        assert_eq!(State::load(dir.path()), state);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only {FILE_NAME}, no temporary file");
        std::fs::write(dir.path().join(FILE_NAME), b"{ not json").unwrap();
        assert_eq!(State::load(dir.path()), State::default(), "corrupt file");
    }
}
