//! Remote-write against a real Prometheus receiver (Debian's `prometheus` with
//! `--web.enable-remote-write-receiver`) and a small stand-in that refuses, all on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use end_to_end::{Prometheus, get, wait_for};
use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot, Unit};
use health_server::Exporter;
use health_server::config::{HealthConfig, SignedUrl};
use tokio::net::TcpListener;

/// An exporter with the hardware collector and the self-metrics, sending every second to `url`.
fn config(url: &str) -> HealthConfig {
    let mut config = HealthConfig::default();
    config.network.enabled = false;
    config.stream.enabled = false;
    config.hardware.interval = Duration::from_secs(1);
    config.remote_write.urls = vec![SignedUrl::new(url)];
    config.remote_write.interval = Duration::from_secs(1);
    config.remote_write.labels =
        vec![("kiosk".to_owned(), "hall-a".to_owned()), ("site".to_owned(), "berlin".to_owned())];
    config
}

/// The value of the series of `/metrics` that starts with `prefix` (name and labels as written).
async fn exported(addr: SocketAddr, prefix: &str) -> Option<f64> {
    let (_, text) = get(addr, "/metrics", None).await.ok()?;
    let line = text.lines().find(|l| l.starts_with(prefix))?;
    line.rsplit(' ').next()?.parse().ok()
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

const LATENCY: MetricDesc =
    MetricDesc::histogram("door_latency_seconds", Unit::Seconds, "Door latency.", &[0.1, 1.0])
        .labels(&["door"]);

/// A collector of the test's own with a histogram: it must arrive as classic buckets.
struct Doors;

#[health_core::async_trait]
impl Collector for Doors {
    fn name(&self) -> &str {
        "doors"
    }
    fn describe(&self) -> Vec<MetricDesc> {
        vec![LATENCY]
    }
    fn schedule(&self) -> Schedule {
        Schedule::every(Duration::from_secs(1))
    }
    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let mut snapshot = Snapshot::new();
        snapshot.observe_with(LATENCY.name, vec![("door", "front".to_owned())], vec![0.05, 0.5]);
        Ok(snapshot)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_arrive_with_the_external_labels_and_a_minute_long_outage_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let prometheus = Prometheus::start_receiver(dir.path(), None).await;
    let receiver = prometheus.api;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = config(&format!("http://{receiver}/api/v1/write"));
    let exporter = Exporter::builder(&config).collector(Doors).start_on(listener).unwrap();
    let addr = exporter.local_addr();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_owned();

    // The self-metrics and the collectors' series arrive with job, instance and the external
    // labels, as a scrape of the kiosk would store them; the histogram as classic buckets.
    let up = format!(
        r#"vimeo_monitor_collector_up{{collector="hardware",job="vimeo-monitor",instance="{host}",kiosk="hall-a",site="berlin"}}"#
    );
    wait_for("collector_up arrives with every label", Duration::from_secs(20), async || {
        let value = prometheus.value(&up).await;
        (value == Some(1.0), value)
    })
    .await;
    // Every bucket (its bounds and +Inf) arrives as a series of its own. The counts accumulate
    // run after run, so the check is on the series, not on how far the counts have got.
    let buckets =
        r#"count(vimeo_monitor_door_latency_seconds_bucket{door="front",kiosk="hall-a"})"#;
    let bucket_series = (LATENCY.buckets.len() + 1) as f64;
    let seen = wait_for("the histogram's buckets arrive", Duration::from_secs(20), async || {
        let value = prometheus.value(buckets).await;
        let (_, text) = get(addr, "/metrics", None).await.unwrap();
        let doors: Vec<String> =
            text.lines().filter(|l| l.contains("door_latency")).map(str::to_owned).collect();
        (value == Some(bucket_series), (value, doors))
    })
    .await;
    let inf = r#"vimeo_monitor_door_latency_seconds_bucket{door="front",le="+Inf",kiosk="hall-a"}"#;
    let inf = prometheus.value(inf).await;
    assert!(inf.is_some_and(|n| n >= 2.0), "{inf:?} {seen:?}");
    let sum = prometheus.value(r#"vimeo_monitor_door_latency_seconds_count{kiosk="hall-a"}"#).await;
    assert!(sum.is_some_and(|n| n >= 2.0), "{sum:?} {seen:?}");
    let count = prometheus.value(r#"count({__name__=~"vimeo_monitor_.+",kiosk="hall-a"})"#).await;
    let (_, text) = get(addr, "/metrics", None).await.unwrap();
    let served = text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
    // Everything `/metrics` serves arrives (the remote_write figures join a run later).
    assert!(count.is_some_and(|c| c >= served as f64 - 10.0), "{count:?} of {served}");

    // The receiver is stopped for a minute (as systemd stops it) and started again on the same
    // port and data: the samples of the gap arrive, one a second, without a hole.
    let series = r#"vimeo_monitor_collector_up{collector="hardware",kiosk="hall-a"}"#;
    let stopped_at = now();
    prometheus.terminate().await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let waiting = exported(addr, r#"vimeo_monitor_remote_write_queue_samples{endpoint="0"}"#).await;
    assert!(waiting.is_some_and(|n| n > 50.0 * served as f64), "queued: {waiting:?}");
    let prometheus = Prometheus::start_receiver(dir.path(), Some(receiver)).await;
    wait_for("the queue drains", Duration::from_secs(60), async || {
        let queued =
            exported(addr, r#"vimeo_monitor_remote_write_queue_samples{endpoint="0"}"#).await;
        (queued.is_some_and(|n| n < 3.0 * served as f64), queued)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let until = now();
    let window = (until - stopped_at + 10.0).ceil();
    let answer = prometheus
        .api(&format!(
            "/api/v1/query?query={}&time={until:.3}",
            end_to_end::encode(&format!("{series}[{window}s]"))
        ))
        .await;
    let values = answer["data"]["result"][0]["values"].as_array().cloned().unwrap_or_default();
    let times: Vec<f64> = values.iter().map(|v| v[0].as_f64().unwrap()).collect();
    let largest_gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    let (first, last) =
        (times.first().copied().unwrap_or(until), times.last().copied().unwrap_or(0.0));
    let span = last - first;
    assert!(
        first < stopped_at - 1.0
            && last > until - 3.0
            && times.len() as f64 >= 0.9 * span
            && largest_gap < 2.5,
        "{} samples over {span} s (stopped at {stopped_at}, queried at {until}), largest gap \
         {largest_gap} s: {answer}",
        times.len()
    );
    let counted = prometheus.value(&format!("count_over_time({series}[{window}s])")).await;
    assert_eq!(counted, Some(times.len() as f64), "count_over_time across the gap");
    for reason in ["rejected", "queue_full"] {
        let dropped = exported(
            addr,
            &format!(r#"vimeo_monitor_remote_write_samples_dropped_total{{endpoint="0",reason="{reason}"}}"#),
        )
        .await;
        assert_eq!(dropped, Some(0.0), "{reason}\n{}", prometheus.log());
    }
    let retried =
        exported(addr, r#"vimeo_monitor_remote_write_samples_retried_total{endpoint="0"}"#).await;
    assert!(retried.is_some_and(|n| n > 0.0), "the outage's requests were retried: {retried:?}");
    exporter.shutdown().await;
    prometheus.stop().await;
}

/// What the refusing stand-in saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    well_formed: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_answers_400_has_its_samples_dropped_and_counted_not_retried() {
    use axum::http::{HeaderMap, StatusCode};
    let seen = Arc::new(Seen::default());
    let app = axum::Router::new().route(
        "/api/v1/write",
        axum::routing::post({
            let seen = Arc::clone(&seen);
            move |headers: HeaderMap| async move {
                seen.requests.fetch_add(1, Ordering::SeqCst);
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                if header("content-encoding") == Some("snappy")
                    && header("content-type") == Some("application/x-protobuf")
                    && header("x-prometheus-remote-write-version") == Some("0.1.0")
                {
                    seen.well_formed.fetch_add(1, Ordering::SeqCst);
                }
                (StatusCode::BAD_REQUEST, "out of bounds")
            }
        }),
    );
    let receiver = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/write", receiver.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(receiver, app).await });

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let exporter = Exporter::start_on(listener, &config(&url)).unwrap();
    let addr = exporter.local_addr();
    let started = Instant::now();
    let rejected =
        r#"vimeo_monitor_remote_write_samples_dropped_total{endpoint="0",reason="rejected"}"#;
    wait_for("rejected samples counted", Duration::from_secs(15), async || {
        let dropped = exported(addr, rejected).await;
        (dropped.is_some_and(|n| n > 0.0), dropped)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let collections = started.elapsed().as_secs_f64().ceil() + 1.0;
    let requests = seen.requests.load(Ordering::SeqCst);
    // One request a collection, none repeated: a refused batch is given up at once.
    assert!((requests as f64) <= collections, "{requests} requests in {collections} collections");
    assert_eq!(seen.well_formed.load(Ordering::SeqCst), requests, "the 1.0 headers");
    let retried = r#"vimeo_monitor_remote_write_samples_retried_total{endpoint="0"}"#;
    assert_eq!(exported(addr, retried).await, Some(0.0));
    let queued = exported(addr, r#"vimeo_monitor_remote_write_queue_samples{endpoint="0"}"#).await;
    let dropped = exported(addr, rejected).await.unwrap_or_default();
    assert!(queued.is_some_and(|q| q < dropped), "queued {queued:?}, dropped {dropped}");
    exporter.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_a_queue_and_a_receiver_that_never_answers_takes_under_two_seconds() {
    // It accepts connections and never answers: every request waits for its 10 s timeout.
    let receiver = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/write", receiver.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((stream, _)) = receiver.accept().await {
            connections.push(stream);
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let exporter = Exporter::start_on(listener, &config(&url)).unwrap();
    let addr = exporter.local_addr();
    let queue = r#"vimeo_monitor_remote_write_queue_samples{endpoint="0"}"#;
    wait_for("samples queued", Duration::from_secs(15), async || {
        let queued = exported(addr, queue).await;
        (queued.is_some_and(|n| n > 0.0), queued)
    })
    .await;
    let started = Instant::now();
    exporter.shutdown().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    held.abort();
}
