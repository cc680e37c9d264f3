//! `Exporter::builder`: a caller's own collector beside the configured ones, kept across reloads,
//! under the caller's namespace, realm and version, over real loopback HTTP.

mod util;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot, Unit, async_trait};
use health_server::config::Secret;
use health_server::{Exporter, ExporterError};
use tokio::net::TcpListener;
use util::{config, get, series};

const RUNS: MetricDesc =
    MetricDesc::counter("door_runs_total", Unit::None, "Runs of the door check.");

/// Counts its own runs: the count only grows while the same instance is kept.
#[derive(Default)]
struct Door {
    runs: AtomicU64,
}

#[async_trait]
impl Collector for Door {
    fn name(&self) -> &str {
        "door"
    }
    fn describe(&self) -> Vec<MetricDesc> {
        // A name made at run time, as a configured collector would make it.
        let open = MetricDesc::new(
            health_core::MetricKind::Gauge,
            format!("door_{}_open", "front"),
            Unit::None,
            "Whether the front door is open (1) or shut (0).",
        );
        vec![RUNS, open]
    }
    fn schedule(&self) -> Schedule {
        Schedule::every(Duration::from_millis(100))
    }
    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let runs = self.runs.fetch_add(1, Ordering::Relaxed) + 1;
        let mut snapshot = Snapshot::new();
        snapshot.counter(RUNS.name, runs).gauge(format!("door_{}_open", "front"), 1.0);
        Ok(snapshot)
    }
}

/// The value of `series` once it appears and `until` holds for it.
async fn wait_for(
    exporter: &Exporter,
    token: Option<&str>,
    series_name: &str,
    until: impl Fn(f64) -> bool,
) -> f64 {
    for _ in 0..100 {
        let answer = get(exporter.local_addr(), "/metrics", token).await;
        if let Some(value) = series(&answer.body).get(series_name) {
            let value: f64 = value.parse().unwrap();
            if until(value) {
                return value;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{series_name} never met the condition");
}

#[tokio::test]
async fn a_callers_collector_is_served_under_its_namespace_and_survives_reloads() {
    let mut config = config();
    config.metrics.bearer_token = Some(Secret::new("t"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut exporter = Exporter::builder(&config)
        .collector(Door::default())
        .namespace("acme")
        .realm("acme kiosks")
        .version("7.1.0")
        .start_on(listener)
        .unwrap();
    let addr = exporter.local_addr();
    let token = Some("t");
    let before = wait_for(&exporter, token, "acme_door_runs_total", |v| v >= 2.0).await;
    wait_for(&exporter, token, "acme_memory_total_bytes", |v| v > 0.0).await;
    let text = get(addr, "/metrics", token).await.body;
    let s = series(&text);
    assert_eq!(s["acme_door_front_open"], "1", "{text}");
    assert_eq!(s["acme_collector_up{collector=\"door\"}"], "1");
    assert_eq!(s["acme_build_info{version=\"7.1.0\"}"], "1");
    assert!(!text.contains("vimeo_monitor_"), "{text}");

    let refused = get(addr, "/metrics", None).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.headers["www-authenticate"], "Bearer realm=\"acme kiosks\"");
    let status: serde_json::Value =
        serde_json::from_str(&get(addr, "/status", token).await.body).unwrap();
    assert_eq!(status["version"], "7.1.0");

    // SIGHUP-style reloads: the hardware collector goes and comes back; the door stays, the same
    // instance (its run count goes on from where it was instead of starting again at 1).
    let mut without = config.clone();
    without.hardware.enabled = false;
    exporter.reload(&without).await.unwrap();
    let text = get(addr, "/metrics", token).await.body;
    assert!(!text.contains("acme_memory_total_bytes"), "{text}");
    assert!(text.contains("acme_door_runs_total"), "the caller's collector vanished:\n{text}");
    exporter.reload(&config).await.unwrap();
    let after = wait_for(&exporter, token, "acme_door_runs_total", |v| v > before + 1.0).await;
    assert!(after > before, "{after} after {before}");
    wait_for(&exporter, token, "acme_memory_total_bytes", |v| v > 0.0).await;
    let s = series(&get(addr, "/metrics", token).await.body);
    assert_eq!(s["acme_collector_up{collector=\"door\"}"], "1");
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_bad_namespace_or_realm_is_refused_before_anything_is_bound() {
    // The configured port is taken: a bind would fail, so a namespace error proves it came first.
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = config();
    config.metrics.host = "127.0.0.1".parse().unwrap();
    config.metrics.port = taken.local_addr().unwrap().port();
    let err = Exporter::builder(&config).namespace("Acme-1").start().await.unwrap_err();
    assert!(matches!(err, ExporterError::Exposition(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "namespace `Acme-1` is not valid: use lowercase letters, digits and `_`, starting with a \
         letter and not ending in `_` (such as `vimeo_monitor`)"
    );
    let err = Exporter::builder(&config).realm("say \"hi\"").start().await.unwrap_err();
    assert!(matches!(err, ExporterError::Realm(_)), "{err:?}");
    assert!(err.to_string().starts_with("realm `say \"hi\"` cannot be sent"), "{err}");
    let err = Exporter::builder(&config).start().await.unwrap_err();
    assert!(matches!(err, ExporterError::Bind { .. }), "{err:?}");
}

#[tokio::test]
async fn a_callers_collector_may_not_take_a_built_in_name() {
    /// Named like the built-in hardware collector.
    struct Impostor;
    #[async_trait]
    impl Collector for Impostor {
        fn name(&self) -> &str {
            "hardware"
        }
        fn describe(&self) -> Vec<MetricDesc> {
            Vec::new()
        }
        fn schedule(&self) -> Schedule {
            Schedule::every(Duration::from_secs(1))
        }
        async fn collect(&self) -> Result<Snapshot, CollectError> {
            Ok(Snapshot::new())
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = Exporter::builder(&config()).collector(Impostor).start_on(listener).unwrap_err();
    assert_eq!(
        err.to_string(),
        "two collectors are named `hardware`: collector names must be unique"
    );
}
