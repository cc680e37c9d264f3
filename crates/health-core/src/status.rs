//! What the scheduler knows about every collector's last run, for `/status`, the self-metrics
//! and pages that show the figures themselves.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::snapshot::Sample;

/// How one run ended. Also the `result` label of `collector_runs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunResult {
    /// The collector returned a snapshot.
    Success,
    /// The collector returned an error.
    Error,
    /// The run took longer than the schedule's timeout and was cancelled.
    Timeout,
    /// The collector panicked; the panic was contained to its run.
    Panic,
}

impl RunResult {
    /// Every result, in label order.
    pub const ALL: [RunResult; 4] = [Self::Success, Self::Error, Self::Timeout, Self::Panic];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::Panic => "panic",
        }
    }
}

/// One collector's record, as `/status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectorStatus {
    /// Time between runs, in seconds.
    pub interval_seconds: f64,
    /// Per-run timeout, in seconds.
    pub timeout_seconds: f64,
    /// Wall-clock start of the last finished run (Unix seconds); `None` before the first.
    pub last_run_timestamp_seconds: Option<f64>,
    /// Duration of the last finished run.
    pub last_duration_seconds: Option<f64>,
    /// How the last run ended.
    pub last_result: Option<RunResult>,
    /// The last run's error, when it failed.
    pub last_error: Option<String>,
    /// Wall-clock start of the last successful run (Unix seconds).
    pub last_success_timestamp_seconds: Option<f64>,
    /// Number of samples the last run published (a partial failure publishes some).
    pub last_sample_count: Option<usize>,
    /// What the last run noted that is not a failure (a speed test held back while the stream
    /// plays); empty when nothing.
    pub last_notes: Vec<String>,
    /// Runs so far, by result.
    pub runs: BTreeMap<RunResult, u64>,
}

impl CollectorStatus {
    fn new(interval: Duration, timeout: Duration) -> Self {
        Self {
            interval_seconds: interval.as_secs_f64(),
            timeout_seconds: timeout.as_secs_f64(),
            last_run_timestamp_seconds: None,
            last_duration_seconds: None,
            last_result: None,
            last_error: None,
            last_success_timestamp_seconds: None,
            last_sample_count: None,
            last_notes: Vec::new(),
            runs: RunResult::ALL.into_iter().map(|r| (r, 0)).collect(),
        }
    }

    /// Whether the last run succeeded.
    pub fn is_up(&self) -> bool {
        self.last_result == Some(RunResult::Success)
    }
}

/// A finished run, as the scheduler reports it.
#[derive(Debug, Clone)]
pub(crate) struct RunRecord {
    /// Wall-clock start.
    pub(crate) started: SystemTime,
    /// How long it took.
    pub(crate) duration: Duration,
    /// How it ended.
    pub(crate) result: RunResult,
    /// The error message for anything but success.
    pub(crate) error: Option<String>,
    /// Samples produced, for a success.
    pub(crate) samples: usize,
    /// The samples handed to the exposition; none for a failed run, which empties its section.
    pub(crate) published: Arc<[Sample]>,
    /// The run's notes ([`Snapshot::note`](crate::Snapshot::note)).
    pub(crate) notes: Vec<String>,
}

/// The shared table of collector records. Cheap to clone; every clone sees the same table.
///
/// Beside each record it keeps the samples that collector's last run published, so a reader
/// that wants the figures themselves (the status page) gets them as typed samples, not by
/// parsing the text `/metrics` renders. They are shared with every reader, not copied.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    inner: Arc<Mutex<Table>>,
}

/// Each collector's last published samples, by collector name.
type Published = BTreeMap<String, Arc<[Sample]>>;

/// The records and the last published samples, by collector name, under one lock so that a
/// reader sees a run's record and its samples together.
#[derive(Debug, Default)]
struct Table {
    records: BTreeMap<String, CollectorStatus>,
    samples: Published,
}

impl StatusBoard {
    /// Makes sure `name` has a record, keeping its history if it had one (a reload keeps counts).
    pub(crate) fn register(&self, name: &str, interval: Duration, timeout: Duration) {
        let mut table = self.lock();
        let entry = table
            .records
            .entry(name.to_owned())
            .or_insert_with(|| CollectorStatus::new(interval, timeout));
        entry.interval_seconds = interval.as_secs_f64();
        entry.timeout_seconds = timeout.as_secs_f64();
    }

    /// Keeps only the records of these collectors.
    pub(crate) fn retain(&self, names: &[String]) {
        let mut table = self.lock();
        table.records.retain(|name, _| names.contains(name));
        table.samples.retain(|name, _| names.contains(name));
    }

    /// Records a finished run.
    pub(crate) fn record(&self, name: &str, run: RunRecord) {
        let mut table = self.lock();
        let Some(status) = table.records.get_mut(name) else { return };
        let started = unix_seconds(run.started);
        status.last_run_timestamp_seconds = Some(started);
        status.last_duration_seconds = Some(run.duration.as_secs_f64());
        status.last_result = Some(run.result);
        *status.runs.entry(run.result).or_default() += 1;
        status.last_sample_count = Some(run.samples);
        status.last_notes = run.notes;
        if run.result == RunResult::Success {
            status.last_error = None;
            status.last_success_timestamp_seconds = Some(started);
        } else {
            status.last_error = run.error;
        }
        table.samples.insert(name.to_owned(), run.published);
    }

    /// A copy of every record, by collector name.
    pub fn snapshot(&self) -> BTreeMap<String, CollectorStatus> {
        self.lock().records.clone()
    }

    /// A copy of one collector's record.
    pub fn get(&self, name: &str) -> Option<CollectorStatus> {
        self.lock().records.get(name).cloned()
    }

    /// The samples each collector's last finished run published, by collector name: the
    /// figures `/metrics` shows of it. A failed run published none; a collector that has not
    /// finished a run, or is no longer configured, has no entry. Shared, not copied.
    ///
    /// They are the samples as the collector gave them: one that matches none of its
    /// descriptions, which the exposition drops with a warning, would still be here (the
    /// `health_core::testing` checks keep collectors from emitting any).
    pub fn samples(&self) -> Published {
        self.lock().samples.clone()
    }

    /// [`snapshot`](Self::snapshot) and [`samples`](Self::samples) as of the same moment.
    pub fn snapshot_with_samples(&self) -> (BTreeMap<String, CollectorStatus>, Published) {
        let table = self.lock();
        (table.records.clone(), table.samples.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Seconds since the Unix epoch (0 for a clock set before it, as on a Pi without RTC before NTP).
pub(crate) fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
