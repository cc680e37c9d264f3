//! The scheduler and exposition together, with collectors that misbehave in every way they can.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use health_core::{
    CollectError, Collector, Exposition, MetricDesc, RunResult, Schedule, Scheduler, Snapshot,
    Unit, async_trait,
};

const UP: MetricDesc =
    MetricDesc::gauge("probe_up", Unit::None, "Whether a host answered.").labels(&["host"]);
const VALUE: MetricDesc = MetricDesc::gauge("value_bytes", Unit::Bytes, "Some value.");
const LATENCY: MetricDesc =
    MetricDesc::histogram("latency_seconds", Unit::Seconds, "Latencies.", &[0.1, 0.5, 1.0]);

/// What a test collector does on each run.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Reports hosts `a` and `b` on the first run, only `a` afterwards.
    Shrinking,
    Fails,
    Hangs,
    Panics,
    /// Succeeds on the first run, fails afterwards.
    SucceedsOnce,
    /// Reports its value and a problem with another part.
    PartlyFails,
}

struct TestCollector {
    name: &'static str,
    behaviour: Behaviour,
    interval: Duration,
    runs: Arc<AtomicUsize>,
}

impl TestCollector {
    fn boxed(name: &'static str, behaviour: Behaviour) -> Box<dyn Collector> {
        Box::new(Self { name, behaviour, interval: Duration::from_secs(10), runs: Arc::default() })
    }
}

#[async_trait]
impl Collector for TestCollector {
    fn name(&self) -> &str {
        self.name
    }
    fn describe(&self) -> Vec<MetricDesc> {
        match self.behaviour {
            Behaviour::Shrinking => vec![UP, LATENCY],
            _ => vec![MetricDesc { name: format!("{}_value_bytes", self.name).into(), ..VALUE }],
        }
    }
    fn schedule(&self) -> Schedule {
        Schedule::every(self.interval).with_timeout(Duration::from_secs(2))
    }
    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let run = self.runs.fetch_add(1, Ordering::SeqCst);
        let mut snapshot = Snapshot::new();
        match self.behaviour {
            Behaviour::Shrinking => {
                let hosts: &[&str] = if run == 0 { &["a", "b"] } else { &["a"] };
                for host in hosts {
                    snapshot.gauge_with(UP.name, vec![("host", (*host).to_owned())], 1.0);
                }
                snapshot.observe_with(LATENCY.name, vec![], vec![0.05, 0.7]);
            }
            Behaviour::Fails => return Err(CollectError::new("the source is unreachable")),
            Behaviour::Hangs => std::future::pending::<()>().await,
            Behaviour::Panics => panic!("collector bug"),
            Behaviour::SucceedsOnce if run > 0 => return Err(CollectError::new("gone")),
            Behaviour::SucceedsOnce => {}
            Behaviour::PartlyFails => {
                snapshot.problem("cannot parse /sys/x: \"garbage\"");
            }
        }
        if !matches!(self.behaviour, Behaviour::Shrinking) {
            snapshot.gauge(format!("{}_value_bytes", self.name), 42.0);
        }
        Ok(snapshot)
    }
}

/// The series lines of an exposition, as `series -> value` (render order is not stable).
fn series(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a series line has a value");
            (series.to_owned(), value.to_owned())
        })
        .collect()
}

fn scheduler(exposition: &Exposition) -> health_core::SchedulerBuilder {
    Scheduler::builder(exposition.clone()).startup_jitter(Duration::ZERO).version("9.9.9")
}

#[tokio::test(start_paused = true)]
async fn failing_collectors_never_affect_the_others() {
    let exposition = Exposition::default();
    let collectors = vec![
        TestCollector::boxed("good", Behaviour::Shrinking),
        TestCollector::boxed("erring", Behaviour::Fails),
        TestCollector::boxed("hanging", Behaviour::Hangs),
        TestCollector::boxed("panicking", Behaviour::Panics),
    ];
    let scheduler = scheduler(&exposition).start(collectors).unwrap();

    // Three ticks: runs at 0 s, 10 s and 20 s; the hanging runs time out after 2 s each.
    tokio::time::sleep(Duration::from_secs(25)).await;
    let status = scheduler.status().snapshot();
    let runs = |name: &str, result| status[name].runs[&result];
    assert_eq!(runs("good", RunResult::Success), 3);
    assert_eq!(runs("erring", RunResult::Error), 3);
    assert_eq!(runs("hanging", RunResult::Timeout), 3);
    assert_eq!(runs("panicking", RunResult::Panic), 3);
    assert_eq!(status["erring"].last_error.as_deref(), Some("the source is unreachable"));
    assert!(status["panicking"].last_error.as_deref().unwrap().contains("collector bug"));
    assert!(status["hanging"].last_error.as_deref().unwrap().contains("within 2.000 s"));

    let text = exposition.render();
    let s = series(&text);
    assert_eq!(s["vimeo_monitor_probe_up{host=\"a\"}"], "1");
    assert_eq!(s["vimeo_monitor_collector_up{collector=\"good\"}"], "1");
    for bad in ["erring", "hanging", "panicking"] {
        assert_eq!(s[&format!("vimeo_monitor_collector_up{{collector=\"{bad}\"}}")], "0");
        assert!(!text.contains(&format!("vimeo_monitor_{bad}_value_bytes")), "{bad} left series");
    }
    assert_eq!(
        s["vimeo_monitor_collector_runs_total{collector=\"panicking\",result=\"panic\"}"],
        "3"
    );
    assert_eq!(
        s["vimeo_monitor_collector_runs_total{collector=\"panicking\",result=\"success\"}"],
        "0"
    );
    assert_eq!(
        s["vimeo_monitor_collector_last_success_timestamp_seconds{collector=\"erring\"}"],
        "0"
    );
    assert_eq!(s["vimeo_monitor_build_info{version=\"9.9.9\"}"], "1");
    scheduler.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_series_whose_label_set_shrinks_leaves_at_the_next_run() {
    let exposition = Exposition::default();
    let scheduler = scheduler(&exposition)
        .start(vec![TestCollector::boxed("good", Behaviour::Shrinking)])
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let first = series(&exposition.render());
    assert!(first.contains_key("vimeo_monitor_probe_up{host=\"b\"}"));

    tokio::time::sleep(Duration::from_secs(10)).await;
    let second = series(&exposition.render());
    assert!(!second.contains_key("vimeo_monitor_probe_up{host=\"b\"}"), "host b still exposed");
    assert_eq!(second["vimeo_monitor_probe_up{host=\"a\"}"], "1");
    scheduler.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn histograms_have_explicit_buckets_and_accumulate() {
    let exposition = Exposition::default();
    let scheduler = scheduler(&exposition)
        .start(vec![TestCollector::boxed("good", Behaviour::Shrinking)])
        .unwrap();
    tokio::time::sleep(Duration::from_secs(25)).await; // three runs; the shrink after the first resets
    let text = exposition.render();
    let s = series(&text);
    assert!(text.contains("# TYPE vimeo_monitor_latency_seconds histogram"), "{text}");
    assert!(!text.contains("quantile="), "summaries rendered:\n{text}");
    // Runs 2 and 3 observed 0.05 and 0.7 each (run 1's recorder was replaced when host b left).
    assert_eq!(s["vimeo_monitor_latency_seconds_bucket{le=\"0.1\"}"], "2");
    assert_eq!(s["vimeo_monitor_latency_seconds_bucket{le=\"1\"}"], "4");
    assert_eq!(s["vimeo_monitor_latency_seconds_count"], "4");
    assert!(s.contains_key(
        "vimeo_monitor_collector_run_duration_seconds_bucket{collector=\"good\",le=\"0.001\"}"
    ));
    scheduler.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_removes_the_stale_series_and_recovers() {
    let exposition = Exposition::default();
    let scheduler = scheduler(&exposition)
        .start(vec![TestCollector::boxed("flaky", Behaviour::SucceedsOnce)])
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(exposition.render().contains("vimeo_monitor_flaky_value_bytes 42"));
    tokio::time::sleep(Duration::from_secs(10)).await;
    let text = exposition.render();
    assert!(!text.contains("vimeo_monitor_flaky_value_bytes"), "stale series:\n{text}");
    assert_eq!(series(&text)["vimeo_monitor_collector_up{collector=\"flaky\"}"], "0");
    scheduler.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_scrape_does_not_wait_for_a_hanging_collector() {
    let exposition = Exposition::default();
    let collectors = vec![
        TestCollector::boxed("hanging", Behaviour::Hangs),
        TestCollector::boxed("good", Behaviour::Shrinking),
    ];
    let scheduler = scheduler(&exposition).start(collectors).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await; // the hanging run is in progress
    let status = scheduler.status().snapshot();
    assert_eq!(status["hanging"].last_result, None, "hanging run already finished");
    // The paused clock cannot measure a synchronous render (it stands still while the thread
    // blocks), so the scrape runs on a thread of its own against a real-time deadline: a render
    // that waited for the hanging run, even only up to its 2 s timeout, misses it.
    let scrape = exposition.clone();
    let (sender, rendered) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(scrape.render()));
    let text = rendered
        .recv_timeout(Duration::from_secs(1))
        .expect("the scrape waited for the hanging collector");
    assert!(text.contains("vimeo_monitor_probe_up{host=\"a\"} 1"), "{text}");
    scheduler.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_a_running_collection_within_the_deadline() {
    let exposition = Exposition::default();
    let hanging = Box::new(TestCollector {
        name: "hanging",
        behaviour: Behaviour::Hangs,
        interval: Duration::from_secs(600),
        runs: Arc::default(),
    });
    let scheduler = scheduler(&exposition).start(vec![hanging]).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = tokio::time::Instant::now();
    scheduler.shutdown(Duration::from_secs(1)).await;
    assert!(started.elapsed() <= Duration::from_secs(1), "took {:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn two_expositions_do_not_share_series() {
    let first = Exposition::default();
    let second = Exposition::new("other_kiosk").unwrap();
    let a =
        scheduler(&first).start(vec![TestCollector::boxed("good", Behaviour::Shrinking)]).unwrap();
    let b =
        scheduler(&second).start(vec![TestCollector::boxed("erring", Behaviour::Fails)]).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (one, two) = (first.render(), second.render());
    assert!(one.contains("vimeo_monitor_probe_up") && !one.contains("erring"));
    assert!(
        two.contains("other_kiosk_collector_up{collector=\"erring\"} 0")
            && !two.contains("probe_up")
    );
    assert!(!two.contains("vimeo_monitor_"));
    a.shutdown(Duration::from_secs(1)).await;
    b.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn reconfigure_rejects_an_invalid_set_and_applies_a_valid_one() {
    let exposition = Exposition::default();
    let mut scheduler = scheduler(&exposition)
        .start(vec![
            TestCollector::boxed("good", Behaviour::Shrinking),
            TestCollector::boxed("erring", Behaviour::Fails),
        ])
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let duplicate = vec![
        TestCollector::boxed("good", Behaviour::Shrinking),
        TestCollector::boxed("good", Behaviour::Fails),
    ];
    let err = scheduler.reconfigure(duplicate, Duration::from_secs(1)).await.unwrap_err();
    assert!(err.to_string().contains("two collectors are named `good`"), "{err}");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        scheduler.status().snapshot()["erring"].runs[&RunResult::Error],
        2,
        "old set stopped"
    );

    let faster = Box::new(TestCollector {
        name: "good",
        behaviour: Behaviour::Shrinking,
        interval: Duration::from_secs(2),
        runs: Arc::default(),
    });
    scheduler.reconfigure(vec![faster], Duration::from_secs(1)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let status = scheduler.status().snapshot();
    assert!(!status.contains_key("erring"));
    assert_eq!(status["good"].interval_seconds, 2.0);
    assert_eq!(status["good"].runs[&RunResult::Success], 2 + 3, "counts carry over a reload");
    let text = exposition.render();
    assert!(!text.contains("collector=\"erring\""), "removed collector still exposed:\n{text}");
    scheduler.shutdown(Duration::from_secs(1)).await;
}

#[test]
fn conflicting_descriptions_are_rejected() {
    let exposition = Exposition::default();
    exposition.register("one", &[VALUE]).unwrap();
    let err = exposition.register("two", &[VALUE]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "metric `vimeo_monitor_value_bytes` is described by both `one` and `two`"
    );
    let err = exposition
        .register("three", &[MetricDesc::gauge("collector_up", Unit::None, "x")])
        .unwrap_err();
    assert!(err.to_string().contains("the exporter itself"), "{err}");
    assert!(Exposition::new("Bad-Name").is_err());
}

#[test]
fn undescribed_samples_are_dropped_not_exposed() {
    let exposition = Exposition::default();
    exposition.register("one", &[VALUE, UP]).unwrap();
    let mut snapshot = Snapshot::new();
    snapshot
        .gauge(VALUE.name, 1.0)
        .gauge("unknown_bytes", 2.0)
        .gauge(UP.name, 1.0)
        .counter(VALUE.name, 3);
    assert_eq!(exposition.publish("one", snapshot), 3);
    let text = exposition.render();
    assert!(text.contains("vimeo_monitor_value_bytes 1\n"), "{text}");
    assert!(!text.contains("unknown_bytes") && !text.contains("probe_up"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_partial_failure_publishes_what_worked_and_counts_as_an_error() {
    let exposition = Exposition::default();
    let scheduler = scheduler(&exposition)
        .start(vec![TestCollector::boxed("partial", Behaviour::PartlyFails)])
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = scheduler.status().get("partial").unwrap();
    assert_eq!(status.last_result, Some(RunResult::Error));
    assert_eq!(status.last_error.as_deref(), Some("cannot parse /sys/x: \"garbage\""));
    assert_eq!(status.last_sample_count, Some(1));
    let s = series(&exposition.render());
    assert_eq!(s["vimeo_monitor_partial_value_bytes"], "42");
    assert_eq!(s["vimeo_monitor_collector_up{collector=\"partial\"}"], "0");
    scheduler.shutdown(Duration::from_secs(1)).await;
}
