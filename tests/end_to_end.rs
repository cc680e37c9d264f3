//! The exporter as Prometheus sees it: linted by promtool, scraped by a real Prometheus server,
//! and documented metric for metric.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use end_to_end::{Prometheus, get, promtool_check, workspace_root};
use health_server::config::{HealthConfig, Secret, SignedUrl};
use health_server::{Exporter, catalogue, metrics_reference};
use tokio::net::TcpListener;

/// The live HLS encoder and server of health-stream's own tests.
#[path = "../crates/health-stream/tests/support/mod.rs"]
mod support;
use support::{EncoderOptions, HlsServer, LiveEncoder};

fn config() -> HealthConfig {
    let mut config = HealthConfig::default();
    config.network.enabled = false;
    config.stream.enabled = false;
    config.hardware.interval = Duration::from_secs(1);
    config
}

async fn exporter(config: &HealthConfig) -> Exporter {
    Exporter::start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), config).unwrap()
}

async fn scrape(addr: SocketAddr, token: Option<&str>) -> String {
    for _ in 0..100 {
        let (status, body) = get(addr, "/metrics", token).await.unwrap();
        assert_eq!(status, 200);
        if body.contains("vimeo_monitor_memory_total_bytes") {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no hardware figures were published");
}

/// promtool's lint, and the order of the client libraries (families by name, series by labels).
#[tokio::test]
async fn promtool_accepts_the_live_exposition() {
    let exporter = exporter(&config()).await;
    let text = scrape(exporter.local_addr(), None).await;
    let (passed, report) = promtool_check(&text).await;
    assert!(passed, "promtool rejected the exposition:\n{report}\n---\n{text}");
    assert!(report.trim().is_empty(), "promtool complained:\n{report}");
    let disorder = health_core::testing::order_problems(&text);
    assert!(disorder.is_empty(), "the exposition is out of order: {disorder:#?}\n---\n{text}");
    exporter.shutdown().await;
}

#[tokio::test]
async fn every_exported_metric_is_in_the_reference_and_the_reference_is_current() {
    let committed = std::fs::read_to_string(workspace_root().join("docs/metrics.md")).unwrap();
    assert_eq!(committed, metrics_reference(), "docs/metrics.md is stale: run `cargo xtask docs`");

    let exporter = exporter(&config()).await;
    let text = scrape(exporter.local_addr(), None).await;
    let exported: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let documented: BTreeSet<String> = catalogue()
        .into_iter()
        .flat_map(|e| e.metrics)
        .map(|m| format!("vimeo_monitor_{}", m.name))
        .collect();
    for name in &exported {
        assert!(documented.contains(*name), "{name} is exported but not in docs/metrics.md");
        assert!(committed.contains(&format!("`{name}`")), "{name} missing from docs/metrics.md");
    }
    exporter.shutdown().await;
}

/// Prometheus scrapes the exporter with a bearer token, as a fleet's server would.
#[tokio::test]
async fn a_real_prometheus_scrapes_it_with_a_bearer_token() {
    let mut config = config();
    config.metrics.bearer_token = Some(Secret::new("fleet-token"));
    let exporter = exporter(&config).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "fleet-token").unwrap();
    let prometheus_yml = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n  - job_name: kiosk\n    authorization:\n      credentials_file: {}\n    \
         static_configs:\n      - targets: ['{}']\n",
        dir.path().join("token").display(),
        exporter.local_addr()
    );
    std::fs::write(dir.path().join("prometheus.yml"), prometheus_yml).unwrap();

    let prometheus = Prometheus::start(dir.path()).await;
    let mut last = Vec::new();
    let mut scraped = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(results) = prometheus.query("vimeo_monitor_collector_up").await else { continue };
        if results.iter().any(|r| r["metric"]["collector"] == "hardware" && r["value"][1] == "1") {
            scraped = true;
            break;
        }
        last = results;
    }
    let targets = prometheus.api("/api/v1/targets").await;
    prometheus.stop().await;
    assert!(
        scraped,
        "Prometheus never stored vimeo_monitor_collector_up=1; last answer {last:?}\ntargets: {targets}"
    );
    let target = &targets["data"]["activeTargets"][0];
    assert_eq!(target["health"], "up", "{target}");
    assert_eq!(target["lastError"], "", "{target}");
    exporter.shutdown().await;
}

/// Starts Prometheus on a free loopback port (retrying if another process takes it first).
/// Every Raspberry Pi fixture tree, through the real composition, passes promtool.
#[tokio::test]
async fn promtool_accepts_the_hardware_figures_of_every_fixture_tree() {
    for tree in ["pi4", "pi5", "pi-rpi-volt", "x86"] {
        let base = workspace_root().join("crates/health-system/fixtures").join(tree);
        let mut config = config();
        config.hardware.sysfs_root = base.join("sys");
        config.hardware.procfs_root = base.join("proc");
        config.hardware.vcgencmd = health_server::config::VcgencmdSetting::Off;
        let composition = health_server::compose(&config).unwrap();
        let exposition = health_core::Exposition::default();
        let board = health_core::Scheduler::builder(exposition.clone())
            .collect_once(composition.collectors)
            .await
            .unwrap();
        let status = board.get("hardware").unwrap();
        assert!(status.is_up(), "{tree}: {:?}", status.last_error);
        let text = exposition.render();
        let pi = tree.starts_with("pi");
        assert_eq!(text.contains("vimeo_monitor_pi_throttled{"), pi, "{tree}:\n{text}");
        let (passed, report) = promtool_check(&text).await;
        assert!(passed && report.trim().is_empty(), "{tree}: promtool:\n{report}\n---\n{text}");
    }
}

/// The network collector on loopback hosts and the Wi-Fi fixture: promtool-clean, documented.
#[tokio::test]
async fn the_network_collector_on_loopback_passes_promtool_and_is_documented() {
    let fixture = workspace_root().join("crates/health-network/fixtures/pi-wifi");
    let mut config = config();
    config.hardware.enabled = false;
    config.network.enabled = true;
    config.network.ping_hosts = ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec();
    config.network.ping_count = 2;
    config.network.ping_timeout = Duration::from_millis(500);
    config.network.speedtest_enabled = false;
    config.network.sysfs_root = fixture.join("sys");
    config.network.procfs_root = fixture.join("proc");
    let composition = health_server::compose(&config).unwrap();
    let exposition = health_core::Exposition::default();
    let board = health_core::Scheduler::builder(exposition.clone())
        .collect_once(composition.collectors)
        .await
        .unwrap();
    let status = board.get("network").unwrap();
    assert!(status.is_up(), "{:?}", status.last_error);
    let text = exposition.render();
    for series in [
        "vimeo_monitor_network_up{host=\"127.0.0.1\"} 1",
        "vimeo_monitor_network_up{host=\"::1\"} 1",
        "vimeo_monitor_network_dns_up{host=\"localhost\"} 1",
        "vimeo_monitor_network_probes_sent_total{host=\"127.0.0.1\"} 2",
        "vimeo_monitor_network_wifi_signal_dbm{interface=\"wlan0\"} -54",
    ] {
        assert!(text.contains(series), "missing {series}:\n{text}");
    }
    let (passed, report) = promtool_check(&text).await;
    assert!(passed && report.trim().is_empty(), "promtool:\n{report}\n---\n{text}");
    let reference = metrics_reference();
    for name in
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next())
    {
        assert!(reference.contains(&format!("`{name}`")), "{name} is not in docs/metrics.md");
    }
}

/// The stream collectors watching a real live stream through `HEALTH_STREAM_URL` (signed):
/// promtool-clean, documented, and the signature nowhere in `/metrics` or `/status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_collectors_on_a_live_stream_pass_promtool_and_never_show_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = LiveEncoder::start(dir.path(), EncoderOptions::default());
    encoder.wait_for_segments(3, Duration::from_secs(20)).await;
    let server = HlsServer::start(dir.path().to_owned()).await;
    let mut config = config();
    config.hardware.enabled = false;
    config.stream.enabled = true;
    config.stream.url = Some(SignedUrl::new(server.url("live.m3u8?hmac=SIGNATURE-s3cret")));
    config.stream.playlist_interval = Duration::from_secs(1);
    let exporter = exporter(&config).await;
    let addr = exporter.local_addr();
    let mut text = String::new();
    for _ in 0..200 {
        text = get(addr, "/metrics", None).await.unwrap().1;
        let probed = text.contains("vimeo_monitor_stream_available 1");
        if probed && text.contains("vimeo_monitor_stream_segment_download_ratio ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for series in [
        "vimeo_monitor_stream_available 1",
        "vimeo_monitor_stream_width_pixels 320",
        "vimeo_monitor_stream_stalled 0",
        "vimeo_monitor_stream_info{video_codec=\"h264\",audio_codec=\"aac\"} 1",
        "vimeo_monitor_stream_probes_total{result=\"success\"} 1",
        "vimeo_monitor_collector_up{collector=\"stream_playlist\"} 1",
    ] {
        assert!(text.contains(series), "missing {series}:\n{text}");
    }
    let (passed, report) = promtool_check(&text).await;
    assert!(passed && report.trim().is_empty(), "promtool:\n{report}\n---\n{text}");
    let reference = metrics_reference();
    for name in
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next())
    {
        assert!(reference.contains(&format!("`{name}`")), "{name} is not in docs/metrics.md");
    }
    // A failing playlist shows in /status with the URL, never its signature.
    server.answer_status(".m3u8", 403);
    let mut status = String::new();
    for _ in 0..50 {
        status = get(addr, "/status", None).await.unwrap().1;
        if status.contains("HTTP 403") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(status.contains("HTTP 403") && status.contains("/live.m3u8"), "{status}");
    let metrics = get(addr, "/metrics", None).await.unwrap().1;
    for shown in [&text, &metrics, &status] {
        assert!(!shown.contains("SIGNATURE"), "the signature leaked:\n{shown}");
    }
    assert!(metrics.contains("vimeo_monitor_stream_playlist_errors_total{status=\"403\"}"));
    exporter.shutdown().await;
}
