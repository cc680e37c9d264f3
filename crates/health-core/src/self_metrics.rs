//! The exporter's metrics about itself, node_exporter style: per collector, did its last run
//! succeed, how long did it take, when did it last succeed, and how have its runs ended; and
//! how often the HTTP server had to close connections to stay reachable.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::describe::{MetricDesc, Unit};
use crate::snapshot::Snapshot;
use crate::status::{CollectorStatus, RunResult};

const BUILD_INFO: MetricDesc = MetricDesc::gauge(
    "build_info",
    Unit::Info,
    "Always 1; the version label says which build runs.",
)
.labels(&["version"]);
const UP: MetricDesc = MetricDesc::gauge(
    "collector_up",
    Unit::None,
    "1 if the collector's last run succeeded, else 0.",
)
.labels(&["collector"]);
const DURATION: MetricDesc = MetricDesc::gauge(
    "collector_duration_seconds",
    Unit::Seconds,
    "How long the collector's last run took.",
)
.labels(&["collector"]);
const LAST_SUCCESS: MetricDesc = MetricDesc::gauge(
    "collector_last_success_timestamp_seconds",
    Unit::Seconds,
    "Unix time the collector's last successful run started; 0 if it never succeeded.",
)
.labels(&["collector"]);
const RUNS: MetricDesc = MetricDesc::counter(
    "collector_runs_total",
    Unit::None,
    "Collector runs by result: success, error, timeout or panic.",
)
.labels(&["collector", "result"]);
const RUN_DURATION: MetricDesc = MetricDesc::histogram(
    "collector_run_duration_seconds",
    Unit::Seconds,
    "Distribution of collector run durations, including failed runs.",
    &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
)
.labels(&["collector"]);

const CONNECTIONS_REFUSED: MetricDesc = MetricDesc::counter(
    "http_connections_refused_total",
    Unit::None,
    "HTTP connections closed on arrival: every slot held a request in progress.",
);
const CONNECTIONS_RECYCLED: MetricDesc = MetricDesc::counter(
    "http_connections_recycled_total",
    Unit::None,
    "Idle HTTP connections (kept alive, or not yet sending a request) closed to admit new ones.",
);

/// Every self-metric.
pub const DESCRIPTIONS: &[MetricDesc] = &[
    BUILD_INFO,
    UP,
    DURATION,
    LAST_SUCCESS,
    RUNS,
    RUN_DURATION,
    CONNECTIONS_REFUSED,
    CONNECTIONS_RECYCLED,
];

/// What the HTTP server did to keep a slot free for a scrape, counted by the server and
/// published with the self-metrics (after every collector run). Clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounters {
    refused: Arc<AtomicU64>,
    recycled: Arc<AtomicU64>,
}

impl ConnectionCounters {
    /// Counts a connection closed on arrival.
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an idle connection closed to admit a new one.
    pub fn recycled(&self) {
        self.recycled.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far, as `(refused, recycled)`.
    pub fn totals(&self) -> (u64, u64) {
        (self.refused.load(Ordering::Relaxed), self.recycled.load(Ordering::Relaxed))
    }
}

/// The self-metrics for the current board; `just_ran` adds one run's duration to its histogram.
pub(crate) fn snapshot(
    board: &BTreeMap<String, CollectorStatus>,
    version: &str,
    connections: &ConnectionCounters,
    just_ran: Option<(&str, f64)>,
) -> Snapshot {
    let mut snapshot = Snapshot::new();
    snapshot.gauge_with(BUILD_INFO.name, vec![("version", version.to_owned())], 1.0);
    let (refused, recycled) = connections.totals();
    snapshot.counter(CONNECTIONS_REFUSED.name, refused);
    snapshot.counter(CONNECTIONS_RECYCLED.name, recycled);
    for (name, status) in board {
        let collector = || vec![("collector", name.clone())];
        snapshot.gauge_with(UP.name, collector(), if status.is_up() { 1.0 } else { 0.0 });
        if let Some(duration) = status.last_duration_seconds {
            snapshot.gauge_with(DURATION.name, collector(), duration);
        }
        snapshot.gauge_with(
            LAST_SUCCESS.name,
            collector(),
            status.last_success_timestamp_seconds.unwrap_or(0.0),
        );
        for result in RunResult::ALL {
            let labels = vec![("collector", name.clone()), ("result", result.as_str().to_owned())];
            snapshot.counter_with(
                RUNS.name,
                labels,
                status.runs.get(&result).copied().unwrap_or(0),
            );
        }
        let observed = match just_ran {
            Some((ran, seconds)) if ran == name => vec![seconds],
            _ => Vec::new(),
        };
        snapshot.observe_with(RUN_DURATION.name, collector(), observed);
    }
    snapshot
}
