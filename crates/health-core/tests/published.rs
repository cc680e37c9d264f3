//! The samples the status board keeps beside each record follow what `/metrics` shows: a run's
//! samples as published, none after a failed run, no entry for a collector no longer configured,
//! and shared with every reader rather than copied.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use health_core::{
    CollectError, Collector, Exposition, MetricDesc, Sample, SampleValue, Schedule, Scheduler,
    Snapshot, Unit, async_trait,
};

const UP: MetricDesc =
    MetricDesc::gauge("probe_up", Unit::None, "Whether a host answered.").labels(&["host"]);
const RUNS: MetricDesc = MetricDesc::counter("probe_runs_total", Unit::None, "Probes so far.");

/// Reports two hosts on even runs; odd runs fail. Every run counts itself in `probe_runs_total`.
struct Alternating {
    name: &'static str,
    runs: AtomicUsize,
}

#[async_trait]
impl Collector for Alternating {
    fn name(&self) -> &str {
        self.name
    }

    fn describe(&self) -> Vec<MetricDesc> {
        vec![UP, RUNS]
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(Duration::from_secs(10)).with_timeout(Duration::from_secs(2))
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let run = self.runs.fetch_add(1, Ordering::SeqCst);
        if run % 2 == 1 {
            return Err(CollectError::new("the source is unreachable"));
        }
        let mut snapshot = Snapshot::new();
        snapshot
            .gauge_with("probe_up", vec![("host", "a".to_owned())], 1.0)
            .gauge_with("probe_up", vec![("host", "b".to_owned())], 0.0)
            .counter("probe_runs_total", run as u64 + 1);
        Ok(snapshot)
    }
}

fn alternating(name: &'static str) -> Box<dyn Collector> {
    Box::new(Alternating { name, runs: AtomicUsize::new(0) })
}

/// `name{label="value"} value` of each sample, in the collector's order.
fn lines(samples: &[Sample]) -> Vec<String> {
    samples
        .iter()
        .map(|s| {
            let labels: Vec<String> =
                s.labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let value = match &s.value {
                SampleValue::Gauge(v) => v.to_string(),
                SampleValue::Counter(v) => v.to_string(),
                SampleValue::Histogram(v) => format!("{v:?}"),
            };
            format!("{}{{{}}} {value}", s.name, labels.join(","))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_board_keeps_what_each_run_published_and_nothing_stale() {
    let exposition = Exposition::default();
    let mut scheduler = Scheduler::builder(exposition.clone())
        .startup_jitter(Duration::ZERO)
        .start(vec![alternating("probe")])
        .unwrap();
    let board = scheduler.status();
    assert!(board.samples().is_empty(), "nothing before the first run");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let samples = board.samples();
    assert_eq!(
        lines(&samples["probe"]),
        ["probe_up{host=\"a\"} 1", "probe_up{host=\"b\"} 0", "probe_runs_total{} 1"]
    );
    assert!(exposition.render().contains("vimeo_monitor_probe_up{host=\"b\"} 0"));
    // Every reader shares the run's samples: a page load copies no sample.
    assert!(Arc::ptr_eq(&samples["probe"], &board.samples()["probe"]));
    let (records, same) = board.snapshot_with_samples();
    assert!(records["probe"].is_up() && Arc::ptr_eq(&samples["probe"], &same["probe"]));

    // The second run fails: /metrics drops the series, and so does the board.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(!exposition.render().contains("probe_up"));
    let (records, samples) = board.snapshot_with_samples();
    assert!(!records["probe"].is_up());
    assert!(samples["probe"].is_empty(), "stale samples: {:?}", lines(&samples["probe"]));

    // The third succeeds again, with its own figures.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(lines(&board.samples()["probe"]).contains(&"probe_runs_total{} 3".to_owned()));

    // A reload without the collector forgets its samples; the new one has none until it runs.
    scheduler.reconfigure(vec![alternating("other")], Duration::from_secs(1)).await.unwrap();
    let samples = board.samples();
    assert!(!samples.contains_key("probe") && !samples.contains_key("other"), "{samples:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(board.samples().keys().collect::<Vec<_>>(), ["other"]);
    scheduler.shutdown(Duration::from_secs(1)).await;
}
