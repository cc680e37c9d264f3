//! A real Prometheus (Debian's) scrapes a kiosk with health monitoring on, playing a live
//! ffmpeg HLS stream announced by the fake Vimeo API, and a standalone `health-server` beside
//! it, with the project's alert rules loaded. Through Prometheus's HTTP API: both targets are up, every
//! metric the reference lists as always present is stored for both, the reference's example
//! queries run, every rule evaluates without error, and the stall alert goes pending once the
//! encoder stops.

#[path = "../../health-stream/tests/support/mod.rs"]
mod hls;
#[path = "support/kiosk.rs"]
mod kiosk;
#[path = "support/media.rs"]
mod media;
#[path = "support/vimeo_api.rs"]
mod vimeo_api;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use end_to_end::{Prometheus, workspace_root};
use health_core::MetricKind;
use kiosk::{Scene, free_port};
use serde_json::Value;

/// The longest wait for mpv to open the live stream and play a second of it.
const PLAY: Duration = Duration::from_secs(20);

/// Polls `probe` every 250 ms until it returns `Some`, at most `within`.
async fn eventually<T>(
    what: &str,
    within: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let last = match probe().await {
            Ok(value) => return value,
            Err(last) => last,
        };
        assert!(Instant::now() < deadline, "not within {within:?}: {what}: {last}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The real `health-server` binary beside this test's own (cargo builds it with the workspace's
/// tests: `./scripts/test`, or `cargo build -p health-server`), on 127.0.0.1:`port`, with the
/// hardware collector every second and nothing that leaves the machine.
fn start_health_server(dir: &Path, port: u16) -> tokio::process::Child {
    let deps = std::env::current_exe().expect("this test's path");
    let binary = deps.parent().and_then(Path::parent).map(|d| d.join("health-server"));
    let binary = binary.filter(|b| b.exists()).unwrap_or_else(|| {
        panic!(
            "no health-server binary beside {}: run `cargo build -p health-server`",
            deps.display()
        )
    });
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HEALTH_METRICS_HOST", "127.0.0.1")
        .env("HEALTH_METRICS_PORT", port.to_string())
        .env("HEALTH_HARDWARE_INTERVAL", "1")
        .env("HEALTH_NETWORK_ENABLED", "false")
        .env("HEALTH_STREAM_ENABLED", "false")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("health-server.log")).expect("a log file"))
        .kill_on_drop(true);
    // A coverage run (cargo tarpaulin) tells instrumented binaries where to write their counts.
    if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
        command.env("LLVM_PROFILE_FILE", profile);
    }
    command.spawn().expect("start health-server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_kiosk_and_the_stall_alert_goes_pending() {
    let mut scene = Scene::new().await;
    let kiosk_port = free_port();
    let kiosk = scene.playing(&scene.settings().health(kiosk_port), PLAY).await;

    let dir = tempfile::tempdir().unwrap();
    let exporter_port = free_port();
    let _exporter = start_health_server(dir.path(), exporter_port);
    let rules = workspace_root().join("docs/prometheus/alerts.yml");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: ['{rules}']\n\
             scrape_configs:\n  - job_name: kiosks\n    static_configs:\n      \
             - targets: ['127.0.0.1:{kiosk_port}']\n  - job_name: health-server\n    \
             static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n",
            rules = rules.display(),
        ),
    )
    .unwrap();
    let prometheus = Prometheus::start(dir.path()).await;

    // Both targets up.
    for job in ["kiosks", "health-server"] {
        let up = format!("up{{job=\"{job}\"}}");
        eventually(&up, Duration::from_secs(20), async || match prometheus.value(&up).await {
            Some(1.0) => Ok(()),
            other => Err(format!("{other:?}\n{}", prometheus.log())),
        })
        .await;
    }

    // Every metric of the reference's "always present" section, stored for both jobs.
    let exporter_section = health_server::catalogue()
        .into_iter()
        .find(|entry| entry.feature.is_none() && entry.collector == "exporter")
        .expect("the exporter's own section");
    for metric in exporter_section.metrics {
        let suffix = if metric.kind == MetricKind::Histogram { "_count" } else { "" };
        let query = format!("count by (job) (vimeo_monitor_{}{suffix})", metric.name);
        eventually(&query, Duration::from_secs(20), async || {
            let result = prometheus.query(&query).await?;
            let jobs: Vec<&str> =
                result.iter().filter_map(|r| r["metric"]["job"].as_str()).collect();
            if jobs.contains(&"kiosks") && jobs.contains(&"health-server") {
                Ok(())
            } else {
                Err(format!("jobs with it: {jobs:?}"))
            }
        })
        .await;
    }
    // And the kiosk's own: it shows the live event.
    let live = r#"vimeo_monitor_stream_state{job="kiosks",state="live"}"#;
    eventually(live, Duration::from_secs(20), async || match prometheus.value(live).await {
        Some(1.0) => Ok(()),
        other => Err(format!("{other:?}")),
    })
    .await;

    // The reference's example queries all run; the live-event one finds this kiosk.
    for (question, query) in health_server::EXAMPLE_QUERIES {
        let result = prometheus.query(query).await;
        assert!(result.is_ok(), "{question}: {query}: {result:?}");
    }
    let showing = health_server::EXAMPLE_QUERIES[0].1;
    eventually(showing, Duration::from_secs(20), async || {
        let result = prometheus.query(showing).await?;
        let kiosks: Vec<&str> = result.iter().filter_map(|r| r["metric"]["job"].as_str()).collect();
        if kiosks == ["kiosks"] { Ok(()) } else { Err(format!("{result:?}")) }
    })
    .await;

    // The rules loaded and evaluate without error.
    let groups = eventually("every rule evaluated", Duration::from_secs(20), async || {
        let answer = prometheus.api("/api/v1/rules").await;
        let groups = answer["data"]["groups"].as_array().cloned().unwrap_or_default();
        let rules: Vec<&Value> =
            groups.iter().flat_map(|g| g["rules"].as_array().into_iter().flatten()).collect();
        let pending: Vec<&str> = rules
            .iter()
            .filter(|r| r["health"] != "ok")
            .filter_map(|r| r["name"].as_str())
            .collect();
        if !rules.is_empty() && pending.is_empty() {
            Ok(rules.len())
        } else {
            Err(format!("{answer}"))
        }
    })
    .await;
    eprintln!("{groups} rules evaluated with health ok");

    // The encoder stops: the playlist stops advancing, and the stall alert goes pending for the
    // kiosk (it fires after its `for:` of a minute, longer than this test waits).
    scene.stream.kill_encoder();
    let stalled_at = Instant::now();
    let alert =
        eventually("VimeoMonitorStreamStalled pending", Duration::from_secs(30), async || {
            let answer = prometheus.api("/api/v1/alerts").await;
            let alerts = answer["data"]["alerts"].as_array().cloned().unwrap_or_default();
            alerts
                .into_iter()
                .find(|a| {
                    a["labels"]["alertname"] == "VimeoMonitorStreamStalled"
                        && a["labels"]["job"] == "kiosks"
                        && matches!(a["state"].as_str(), Some("pending" | "firing"))
                })
                .ok_or_else(|| format!("{answer}"))
        })
        .await;
    eprintln!("stall alert {} after {:?}: {alert}", alert["state"], stalled_at.elapsed());
    assert_eq!(alert["labels"]["instance"], format!("127.0.0.1:{kiosk_port}"));

    prometheus.stop().await;
    drop(kiosk);
}
