//! The Grafana dashboard and the Prometheus alert rules against a real Prometheus and promtool.
//!
//! - promtool checks `docs/prometheus/alerts.yml` and runs its unit tests
//!   (`docs/prometheus/alerts.test.yml`), which must make every alert fire once and stay quiet once;
//! - every metric and label that the dashboard, the rules and their tests name is in the metrics
//!   reference, so none of them can drift from the code;
//! - a real Prometheus scrapes two exporters on 127.0.0.1 (a kiosk fed with its own health record,
//!   a live HLS stream and a loopback speed test; a Raspberry Pi 5 fixture tree), loads the rules
//!   and runs every query of the dashboard: each must succeed, the fleet figures must say what the
//!   two kiosks do, the Screen and Player rows what the kiosk shows, and the rules must evaluate
//!   without error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use end_to_end::grafana::{self, DASHBOARD, dashboard, substitute};
use end_to_end::{Prometheus, encode, get, tool, workspace_root};
use health_core::MetricKind;
use health_script::{
    ApiResult, Display, PlayerFigures, PlayerState, RestartReason, ScreenFigures, ScriptHealth,
    StreamState,
};
use health_server::config::{HealthConfig, SignedUrl, VcgencmdSetting};
use health_server::{Exporter, Inputs, catalogue};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::process::Command;

/// The live HLS encoder and server of health-stream's own tests.
#[path = "../crates/health-stream/tests/support/mod.rs"]
mod support;
use support::{EncoderOptions, HlsServer, LiveEncoder};

const ALERTS: &str = "docs/prometheus/alerts.yml";
const ALERT_TESTS: &str = "docs/prometheus/alerts.test.yml";
const NAMESPACE: &str = "vimeo_monitor_";
/// The scrape job the kiosk-down rules of alerts.yml expect (docs/prometheus.md).
const JOB: &str = "kiosks";

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs promtool from the workspace root; returns whether it passed and what it printed.
async fn promtool(args: &[&str]) -> (bool, String) {
    let child = Command::new(tool("promtool"))
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run promtool");
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("promtool {args:?} ran for over 2 minutes"))
        .expect("promtool's output");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), report)
}

/// The names of the alerts in alerts.yml, in order.
fn alert_names() -> Vec<String> {
    let rules = read(ALERTS);
    let names: Vec<String> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(|name| name.trim().to_owned())
        .collect();
    assert!(names.len() >= 10, "{ALERTS}: only {} alerts found", names.len());
    names
}

#[tokio::test]
async fn promtool_accepts_the_alert_rules() {
    let (passed, report) = promtool(&["check", "rules", ALERTS]).await;
    assert!(passed, "promtool check rules {ALERTS} failed:\n{report}");
    let found = format!("SUCCESS: {} rules found", alert_names().len());
    assert!(report.contains(&found), "expected `{found}`:\n{report}");
}

#[tokio::test]
async fn every_alert_fires_and_stays_quiet_in_its_promtool_unit_tests() {
    let (passed, report) = promtool(&["test", "rules", ALERT_TESTS]).await;
    assert!(passed, "promtool test rules {ALERT_TESTS} failed:\n{report}");

    // Each `alertname:` case is followed by `exp_alerts: []` (quiet) or `exp_alerts:` (fires).
    let tests = read(ALERT_TESTS);
    let lines: Vec<&str> = tests.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut cases: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for pair in lines.windows(2) {
        let Some(alert) = pair[0].strip_prefix("alertname: ") else { continue };
        let case = cases.entry(alert).or_default();
        match pair[1] {
            "exp_alerts: []" => case.1 = true,
            "exp_alerts:" => case.0 = true,
            other => {
                panic!("{ALERT_TESTS}: `exp_alerts` must follow `alertname: {alert}`: {other}")
            }
        }
    }
    for alert in alert_names() {
        let (fires, quiet) = cases.get(alert.as_str()).copied().unwrap_or_default();
        assert!(fires, "{ALERT_TESTS} has no case where {alert} fires");
        assert!(quiet, "{ALERT_TESTS} has no case where {alert} stays quiet");
    }
    for alert in cases.keys() {
        assert!(alert_names().iter().any(|a| a == alert), "{ALERT_TESTS} tests unknown {alert}");
    }
}

/// A series selector found in a text: `vimeo_monitor_name{label op "value", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Selector {
    name: String,
    matchers: Vec<(String, String, String)>,
}

/// Every `vimeo_monitor_*` name in `text`, with the label matchers that follow it, if any.
fn selectors(text: &str) -> Vec<Selector> {
    let bytes = text.as_bytes();
    let is_name = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(NAMESPACE) {
        let start = from + at;
        let mut end = start + NAMESPACE.len();
        while end < bytes.len() && is_name(bytes[end]) {
            end += 1;
        }
        from = end;
        let inside_a_word = start > 0
            && (bytes[start - 1].is_ascii_alphanumeric() || b"_:".contains(&bytes[start - 1]));
        if inside_a_word || end == start + NAMESPACE.len() {
            continue;
        }
        let matchers =
            if bytes.get(end) == Some(&b'{') { matchers(&text[end + 1..]) } else { vec![] };
        found.push(Selector { name: text[start..end].to_owned(), matchers });
    }
    found
}

/// The matchers of a selector whose `{` has been read, up to its `}`.
fn matchers(text: &str) -> Vec<(String, String, String)> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let skip = |at: &mut usize, what: &[u8]| {
        while *at < bytes.len() && what.contains(&bytes[*at]) {
            *at += 1;
        }
    };
    let mut found = Vec::new();
    loop {
        skip(&mut at, b" \n\t,");
        let start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        if start == at {
            return found;
        }
        let label = text[start..at].to_owned();
        skip(&mut at, b" ");
        let op = ["=~", "!~", "!=", "="].into_iter().find(|op| text[at..].starts_with(op));
        let Some(op) = op else { return found };
        at += op.len();
        skip(&mut at, b" ");
        let value = match bytes.get(at) {
            Some(&quote @ (b'"' | b'\'' | b'`')) => {
                let start = at + 1;
                at = start;
                while at < bytes.len() && bytes[at] != quote {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at += 1;
                text[start..(at - 1).min(text.len())].to_owned()
            }
            _ => {
                let start = at;
                while at < bytes.len() && !b",} \n".contains(&bytes[at]) {
                    at += 1;
                }
                text[start..at].to_owned()
            }
        };
        found.push((label, op.to_owned(), value));
    }
}

/// Every series name the exporter can publish, with the labels its samples may carry.
fn reference() -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut names = BTreeMap::new();
    for metric in catalogue().into_iter().flat_map(|entry| entry.metrics) {
        let mut labels: BTreeSet<&str> = metric.labels.iter().copied().collect();
        labels.extend(["job", "instance"]);
        let name = format!("{NAMESPACE}{}", metric.name);
        if metric.kind == MetricKind::Histogram {
            names.insert(format!("{name}_sum"), labels.clone());
            names.insert(format!("{name}_count"), labels.clone());
            labels.insert("le");
            names.insert(format!("{name}_bucket"), labels);
        } else {
            names.insert(name, labels);
        }
    }
    names
}

/// Every string in a JSON document.
fn strings(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => into.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, into)),
        Value::Object(fields) => fields.values().for_each(|v| strings(v, into)),
        _ => {}
    }
}

/// The selectors of every file this test owns, by file.
fn selectors_by_file() -> Vec<(&'static str, Vec<Selector>)> {
    let mut texts = Vec::new();
    strings(&dashboard(), &mut texts);
    let of = |texts: &[String]| texts.iter().flat_map(|t| selectors(t)).collect::<Vec<_>>();
    vec![
        (DASHBOARD, of(&texts)),
        (ALERTS, of(&[read(ALERTS)])),
        (ALERT_TESTS, of(&[read(ALERT_TESTS)])),
    ]
}

#[test]
fn every_metric_and_label_of_the_dashboard_and_the_rules_is_in_the_reference() {
    let reference = reference();
    for (file, selectors) in selectors_by_file() {
        let mut problems = BTreeSet::new();
        for Selector { name, matchers } in &selectors {
            let Some(labels) = reference.get(name) else {
                problems.insert(format!("{name} is not a series of docs/metrics.md"));
                continue;
            };
            for (label, _, _) in matchers {
                if !labels.contains(label.as_str()) {
                    problems.insert(format!("{name} has no label `{label}` (only {labels:?})"));
                }
            }
        }
        assert!(problems.is_empty(), "{file}:\n{}", Vec::from_iter(problems).join("\n"));
        let names: BTreeSet<&str> = selectors.iter().map(|s| s.name.as_str()).collect();
        assert!(names.len() >= 10, "{file}: only {} metric names found: {names:?}", names.len());
    }
}

/// Panels of the dashboard, the rows' nested ones included.
fn panels(document: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in document["panels"].as_array().expect("a dashboard has panels") {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

#[test]
fn the_dashboard_is_importable_and_tidy() {
    let document = dashboard();
    assert_eq!(document["uid"], "vimeo-monitor");
    assert!(document["schemaVersion"].as_u64().is_some_and(|v| v >= 36), "schemaVersion");
    let variables: Vec<(&str, &str)> = document["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["type"].as_str().unwrap()))
        .collect();
    assert_eq!(variables, [("datasource", "datasource"), ("job", "query"), ("instance", "query")]);

    let mut ids = BTreeSet::new();
    let mut cells = BTreeMap::new();
    for panel in panels(&document) {
        let title = panel["title"].as_str().unwrap_or_default();
        assert!(!title.is_empty(), "a panel without a title: {panel}");
        assert!(ids.insert(panel["id"].as_u64().unwrap()), "{title}: duplicate id");
        let grid = |key: &str| panel["gridPos"][key].as_u64().unwrap();
        let (x, y, w, h) = (grid("x"), grid("y"), grid("w"), grid("h"));
        assert!(x + w <= 24 && w > 0 && h > 0, "{title}: gridPos {}", panel["gridPos"]);
        for cell in (x..x + w).flat_map(|x| (y..y + h).map(move |y| (x, y))) {
            if let Some(other) = cells.insert(cell, title) {
                panic!("{title} overlaps {other} at {cell:?}");
            }
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}: datasource");
        let targets = panel["targets"].as_array().unwrap_or_else(|| panic!("{title}: no targets"));
        let mut references = BTreeSet::new();
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{title}: target datasource");
            assert!(references.insert(target["refId"].as_str().unwrap()), "{title}: refId twice");
            assert!(target["expr"].as_str().is_some_and(|e| !e.is_empty()), "{title}: no expr");
        }
    }
    assert!(ids.len() >= 40, "only {} panels", ids.len());
}

#[test]
fn the_selector_parser_reads_names_labels_and_values() {
    let found = selectors(
        "sum(rate(vimeo_monitor_api_requests_total{job=~\"$job\", result = 'client_error'}[5m])) \
         / vimeo_monitor_load1 and not_vimeo_monitor_x and vimeo_monitor_:rule and \
         printf \"vimeo_monitor_stream_state{job=%q,instance=%q}\"",
    );
    let pairs = |m: &[(&str, &str, &str)]| {
        m.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect::<Vec<_>>()
    };
    assert_eq!(
        found,
        [
            Selector {
                name: "vimeo_monitor_api_requests_total".into(),
                matchers: pairs(&[("job", "=~", "$job"), ("result", "=", "client_error")]),
            },
            Selector { name: "vimeo_monitor_load1".into(), matchers: vec![] },
            Selector {
                name: "vimeo_monitor_stream_state".into(),
                matchers: pairs(&[("job", "=", "%q"), ("instance", "=", "%q")]),
            },
        ]
    );
}

/// A kiosk that shows the live event: the API said live (after one refused request), the player
/// plays it in hardware, restarted once, dropped a few frames; the picture moves.
fn record_a_live_kiosk(health: &ScriptHealth) {
    health.api_request(ApiResult::Offline, Duration::from_millis(180), Some(600));
    health.api_request(ApiResult::ClientError, Duration::from_millis(90), None);
    health.api_request(ApiResult::Live, Duration::from_millis(240), Some(598));
    health.set_stream_state(StreamState::Live);
    health.player_info("mpv", "v4l2m2m-copy");
    health.player_restart(RestartReason::Exited);
    health.player_stall();
    health.set_player_state(PlayerState::Playing);
    health.set_display(Display::Stream);
    health.set_player_figures(PlayerFigures {
        frames_dropped_output: Some(3),
        frames_dropped_decoder: Some(1),
        buffering: Some(false),
        buffer_seconds: Some(4.5),
        fps: Some(10.0),
        hwdec: Some("v4l2m2m-copy".to_owned()),
        video_width: Some(640),
        video_height: Some(360),
        input_bytes_per_second: Some(150_000.0),
        ..PlayerFigures::default()
    });
    health.set_screen(Some(ScreenFigures { luma_ratio: 0.42, black: false, frozen_seconds: 0.0 }));
    health.tick();
}

/// The kiosk's exporter: the real hardware, pings and a speed test on loopback, the live stream.
fn kiosk_config(dir: &Path, server: &HlsServer) -> HealthConfig {
    let mut config =
        HealthConfig { state_dir: Some(dir.join("kiosk-state")), ..HealthConfig::default() };
    config.hardware.interval = Duration::from_secs(1);
    let network = &mut config.network;
    network.enabled = true;
    network.interval = Duration::from_secs(1);
    network.ping_hosts = vec!["127.0.0.1".to_owned()];
    network.ping_count = 2;
    network.ping_timeout = Duration::from_millis(200);
    network.speedtest_enabled = true;
    network.speedtest_download_url = server.url("speedtest.bin?bytes={bytes}");
    network.speedtest_upload_url = None;
    network.speedtest_max_bytes = 1 << 20;
    network.speedtest_timeout = Duration::from_secs(10);
    // The kiosk shows the stream throughout; the speed-test panels need a test all the same.
    network.speedtest_during_playback = true;
    let stream = &mut config.stream;
    stream.enabled = true;
    stream.url = Some(SignedUrl::new(server.url("master.m3u8")));
    stream.interval = Duration::from_secs(5);
    stream.ffprobe_timeout = Duration::from_secs(4);
    stream.playlist_interval = Duration::from_secs(1);
    stream.stall_factor = 10.0;
    stream.segment_download_enabled = true;
    config.script.interval = Duration::from_secs(1);
    config
}

/// A sidecar exporter on a Raspberry Pi 5 fixture tree (under-voltage and throttled now).
fn pi_config(dir: &Path) -> HealthConfig {
    let tree = workspace_root().join("crates/health-system/fixtures/pi5");
    let mut config =
        HealthConfig { state_dir: Some(dir.join("pi-state")), ..HealthConfig::default() };
    config.network.enabled = false;
    config.stream.enabled = false;
    config.hardware.interval = Duration::from_secs(1);
    config.hardware.sysfs_root = tree.join("sys");
    config.hardware.procfs_root = tree.join("proc");
    config.hardware.vcgencmd = VcgencmdSetting::Off;
    config
}

async fn exporter(config: &HealthConfig, inputs: Inputs) -> Exporter {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Exporter::start_with(listener, config, inputs).expect("start the exporter")
}

/// Series that must be in Prometheus, three scrapes deep, before the dashboard is queried: one
/// of each collector, so that the queries run on real data.
const EXPECTED_SERIES: &[&str] = &[
    "vimeo_monitor_memory_total_bytes",
    "vimeo_monitor_pi_throttled",
    "vimeo_monitor_network_rtt_seconds",
    "vimeo_monitor_network_download_bytes_per_second",
    "vimeo_monitor_stream_available",
    "vimeo_monitor_stream_variant_bandwidth_bytes_per_second",
    "vimeo_monitor_stream_segment_download_ratio",
    "vimeo_monitor_script_healthy",
    "vimeo_monitor_api_request_duration_seconds_bucket",
    "vimeo_monitor_screen_luma_ratio",
    "vimeo_monitor_player_frames_dropped_total",
];

/// The alerts the Pi fixture raises (pending at first), and those the live kiosk must not.
const PI_ALERTS: &[&str] = &["VimeoMonitorUnderVoltage", "VimeoMonitorThrottled"];
const QUIET_ALERTS: &[&str] = &[
    "VimeoMonitorKioskDown",
    "VimeoMonitorKiosksAbsent",
    "VimeoMonitorKioskNotPushing",
    "VimeoMonitorLiveEventNotPlaying",
    "VimeoMonitorKioskUnhealthy",
    "VimeoMonitorStreamStalled",
    "VimeoMonitorPlayerRestarting",
    "VimeoMonitorApiAuthFailing",
    "VimeoMonitorApiFailing",
    "VimeoMonitorBandwidthInsufficient",
    "VimeoMonitorPacketLoss",
    "VimeoMonitorScreenBlack",
    "VimeoMonitorScreenFrozen",
    "VimeoMonitorHardwareDecodingOff",
    "VimeoMonitorFramesDropped",
    "VimeoMonitorRebuffering",
    // Not VimeoMonitorDisplayDisconnected or VimeoMonitorTvOff: the kiosk reads this machine's
    // own DRM connectors and CEC, whatever they say; the promtool tests cover both.
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_and_alert_rule_runs_on_a_real_prometheus() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let hls = dir.path().join("hls");
    std::fs::create_dir(&hls).unwrap();
    let options = EncoderOptions { fps: 10, variants: true, ..EncoderOptions::default() };
    let encoder = LiveEncoder::start(&hls, options);
    std::fs::write(hls.join("speedtest.bin"), vec![0_u8; 1 << 20]).unwrap();
    encoder.wait_for_segments(2, Duration::from_secs(30)).await;
    let server = HlsServer::start(hls.clone()).await;

    let health = ScriptHealth::new(Duration::from_secs(2));
    record_a_live_kiosk(&health);
    let ticker = tokio::spawn({
        let health = health.clone();
        async move {
            loop {
                health.tick();
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    });
    let inputs = Inputs { script: Some(health), ..Inputs::default() };
    let kiosk = exporter(&kiosk_config(dir.path(), &server), inputs).await;
    let pi = exporter(&pi_config(dir.path()), Inputs::default()).await;
    let fleet = Fleet { kiosk: kiosk.local_addr().to_string(), pi: pi.local_addr().to_string() };

    let prometheus_yml = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {rules}\n\
         scrape_configs:\n\
         \x20 - job_name: {JOB}\n    static_configs:\n      - targets: ['{kiosk}', '{pi}']\n",
        rules = workspace_root().join(ALERTS).display(),
        kiosk = fleet.kiosk,
        pi = fleet.pi,
    );
    std::fs::write(dir.path().join("prometheus.yml"), prometheus_yml).unwrap();
    let prometheus = Prometheus::start(dir.path()).await;

    let missing = wait_for_data(&prometheus, Duration::from_secs(90)).await;
    if !missing.is_empty() {
        let kiosk_status = get(kiosk.local_addr(), "/status", None).await.map(|r| r.1);
        let targets = prometheus.api("/api/v1/targets").await;
        panic!(
            "Prometheus never had {missing:?}\nkiosk /status: {kiosk_status:?}\ntargets: \
             {targets}\nffmpeg: {}\nprometheus: {}",
            encoder.stderr(),
            prometheus.log()
        );
    }
    eprintln!("data after {:.1?}", started.elapsed());

    let document = dashboard();
    let variables = fleet.variables();
    every_dashboard_query_succeeds(&prometheus, &document, &variables).await;
    the_variables_list_the_job_and_both_kiosks(&prometheus, &document, &variables, &fleet).await;
    the_fleet_figures_say_what_the_kiosks_do(&prometheus, &document, &variables).await;
    the_screen_and_player_rows_say_what_the_kiosk_shows(&prometheus, &document, &variables).await;
    every_selected_label_value_is_published(&prometheus).await;
    the_rules_load_and_evaluate_cleanly(&prometheus).await;
    the_pi_raises_its_alerts_and_the_kiosk_none(&prometheus, &fleet).await;

    prometheus.stop().await;
    ticker.abort();
    let _ = ticker.await;
    kiosk.shutdown().await;
    pi.shutdown().await;
    drop(server);
    drop(encoder);
    eprintln!("done after {:.1?}", started.elapsed());
}

/// The two exporters Prometheus scrapes, by address.
struct Fleet {
    kiosk: String,
    pi: String,
}

impl Fleet {
    /// Grafana's variables with the kiosk selected, as Grafana would fill them in.
    fn variables(&self) -> BTreeMap<&'static str, String> {
        grafana::variables(JOB, &self.kiosk)
    }
}

/// Waits until every collector's figures are three scrapes deep, so that rates have two points;
/// returns the series still missing at the deadline.
async fn wait_for_data(prometheus: &Prometheus, timeout: Duration) -> Vec<&'static str> {
    let deadline = Instant::now() + timeout;
    let mut missing: Vec<&str> = EXPECTED_SERIES.to_vec();
    while !missing.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for name in missing {
            let expr = format!("count_over_time({name}[1m]) >= 3");
            if prometheus.query(&expr).await.map(|r| r.is_empty()).unwrap_or(true) {
                still.push(name);
            }
        }
        missing = still;
        if !missing.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    missing
}

/// Every query of the dashboard, instant and over a range, succeeds.
async fn every_dashboard_query_succeeds(
    prometheus: &Prometheus,
    document: &Value,
    variables: &BTreeMap<&str, String>,
) {
    let queries = grafana::queries(document);
    assert!(queries.len() >= 50, "only {} queries found in {DASHBOARD}", queries.len());
    let mut failures = Vec::new();
    let mut empty = Vec::new();
    for (place, expr) in &queries {
        let expr = match substitute(expr, variables) {
            Ok(expr) => expr,
            Err(e) => {
                failures.push(format!("{place}: {e}"));
                continue;
            }
        };
        match (prometheus.query(&expr).await, prometheus.query_range(&expr).await) {
            (Ok(instant), Ok(_)) if instant.is_empty() => empty.push(place.as_str()),
            (Ok(_), Ok(_)) => {}
            (Err(e), _) | (_, Err(e)) => failures.push(format!("{place}: {e}\n    {expr}")),
        }
    }
    assert!(failures.is_empty(), "dashboard queries failed:\n{}", failures.join("\n"));
    eprintln!("{} dashboard queries ran; without data here: {empty:?}", queries.len());
}

/// The `job` and `instance` variables (`label_values(selector, label)`) list the job and both
/// exporters.
async fn the_variables_list_the_job_and_both_kiosks(
    prometheus: &Prometheus,
    document: &Value,
    variables: &BTreeMap<&str, String>,
    fleet: &Fleet,
) {
    let mut checked = Vec::new();
    for variable in document["templating"]["list"].as_array().unwrap() {
        if variable["type"] != "query" {
            continue;
        }
        let name = variable["name"].as_str().unwrap();
        let query = variable["query"]["query"].as_str().or(variable["query"].as_str()).unwrap();
        let query = substitute(query, variables).unwrap();
        let inner = query.strip_prefix("label_values(").and_then(|q| q.strip_suffix(')'));
        let (selector, label) = inner.and_then(|q| q.rsplit_once(',')).unwrap_or_else(|| {
            panic!("variable {name}: expected label_values(selector, label): {query}")
        });
        let path = format!("/api/v1/label/{}/values?match[]={}", label.trim(), encode(selector));
        let answer = prometheus.api(&path).await;
        assert_eq!(answer["status"], "success", "variable {name}: {answer}");
        let values: Vec<&str> =
            answer["data"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        let expected = match label.trim() {
            "job" => vec![JOB],
            "instance" => vec![fleet.kiosk.as_str(), fleet.pi.as_str()],
            other => panic!("variable {name}: unexpected label {other}"),
        };
        for value in expected {
            assert!(values.contains(&value), "variable {name}: {value} not in {values:?}");
        }
        checked.push(name);
    }
    assert_eq!(checked, ["job", "instance"]);
}

/// The fleet overview says what the two kiosks do: both up, the kiosk showing the live event,
/// the Pi under-voltage and throttled; the drill-down shows the kiosk's states.
async fn the_fleet_figures_say_what_the_kiosks_do(
    prometheus: &Prometheus,
    document: &Value,
    variables: &BTreeMap<&str, String>,
) {
    let first_expr = |title: &str| grafana::panel_query(document, title, variables);
    for (title, expected) in [
        ("Kiosks up", 2.0),
        ("Kiosks down", 0.0),
        ("Showing the live event", 1.0),
        ("Live, not playing", 0.0),
        ("Unhealthy", 0.0),
        ("Stalled streams", 0.0),
        ("Throttled / under-voltage", 1.0),
    ] {
        let expr = first_expr(title);
        assert_eq!(prometheus.value(&expr).await, Some(expected), "{title}: {expr}");
    }
    for (title, expected) in [("Stream state (API)", "live"), ("Player state", "playing")] {
        let expr = first_expr(title);
        let result = prometheus.query(&expr).await.unwrap();
        let shown: Vec<&Value> = result.iter().map(|r| &r["metric"]["state"]).collect();
        assert_eq!(shown, [expected], "{title}: {expr}");
    }
}

/// The Screen and Player rows say what the kiosk shows: a moving picture of mean brightness 0.42,
/// decoded in hardware, 4.5 s buffered, not buffering, frames dropped at both stages.
async fn the_screen_and_player_rows_say_what_the_kiosk_shows(
    prometheus: &Prometheus,
    document: &Value,
    variables: &BTreeMap<&str, String>,
) {
    let first_expr = |title: &str| grafana::panel_query(document, title, variables);
    for (title, expected) in [
        ("Picture", 0.0),
        ("Picture by kiosk", 0.0),
        ("Brightness", 0.42),
        ("Frozen for", 0.0),
        ("Buffer", 4.5),
        ("Buffering", 0.0),
        ("Rebuffers 1h", 0.0),
    ] {
        let expr = first_expr(title);
        assert_eq!(prometheus.value(&expr).await, Some(expected), "{title}: {expr}");
    }
    let labels = |result: &[Value], label: &str| -> BTreeSet<String> {
        result.iter().filter_map(|r| r["metric"][label].as_str()).map(str::to_owned).collect()
    };
    let expr = first_expr("Decoding");
    let decoding = prometheus.query(&expr).await.unwrap();
    assert_eq!(labels(&decoding, "hwdec"), BTreeSet::from(["v4l2m2m-copy".to_owned()]), "{expr}");
    assert_eq!(decoding[0]["value"][1], "1", "Decoding: {expr}");
    let expr = first_expr("Dropped frames by stage");
    let stages = labels(&prometheus.query(&expr).await.unwrap(), "stage");
    assert_eq!(stages, BTreeSet::from(["decoder".to_owned(), "output".to_owned()]), "{expr}");
}

/// Every literal label value the dashboard and the rules select on (`state="live"`) exists,
/// wherever the metric itself does: a misspelt value would match nothing, silently.
async fn every_selected_label_value_is_published(prometheus: &Prometheus) {
    let mut selected = BTreeSet::new();
    let files = selectors_by_file().into_iter().filter(|(file, _)| *file != ALERT_TESTS);
    for (file, selectors) in files {
        for selector in selectors {
            let literal: Vec<String> = selector
                .matchers
                .iter()
                .filter(|(label, op, value)| {
                    op == "="
                        && !["job", "instance"].contains(&label.as_str())
                        && !value.contains(['$', '%'])
                })
                .map(|(label, _, value)| format!("{label}={value:?}"))
                .collect();
            if !literal.is_empty() {
                selected.insert((file, selector.name, literal.join(",")));
            }
        }
    }
    assert!(selected.len() >= 5, "only {} label selections found", selected.len());
    let mut unseen = Vec::new();
    for (file, name, matchers) in &selected {
        let present = prometheus.query(&format!("count({name})")).await.unwrap();
        let matching = prometheus.query(&format!("count({name}{{{matchers}}})")).await.unwrap();
        if !present.is_empty() && matching.is_empty() {
            unseen.push(format!("{file}: no series {name}{{{matchers}}}"));
        }
    }
    assert!(unseen.is_empty(), "label values never published:\n{}", unseen.join("\n"));
}

/// Prometheus loaded every rule of alerts.yml and evaluates each without error.
async fn the_rules_load_and_evaluate_cleanly(prometheus: &Prometheus) {
    let clean = |rule: &Value| {
        rule["health"] == "ok" && rule["lastError"].as_str().unwrap_or_default().is_empty()
    };
    let alerts = alert_names();
    let deadline = Instant::now() + Duration::from_secs(20);
    let rules = loop {
        let answer = prometheus.api("/api/v1/rules").await;
        let rules: Vec<Value> = answer["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        let errors: Vec<String> = rules
            .iter()
            .filter(|r| r["health"] == "err")
            .map(|r| format!("{}: {}", r["name"], r["lastError"]))
            .collect();
        assert!(errors.is_empty(), "rules fail to evaluate:\n{}", errors.join("\n"));
        let done = rules.len() == alerts.len() && rules.iter().all(clean);
        if done || Instant::now() > deadline {
            break rules;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let loaded: BTreeSet<&str> = rules.iter().filter_map(|r| r["name"].as_str()).collect();
    let expected: BTreeSet<&str> = alerts.iter().map(String::as_str).collect();
    assert_eq!(loaded, expected, "the rules Prometheus loaded");
    for rule in &rules {
        assert!(clean(rule), "not evaluated cleanly: {rule}");
    }
}

/// The Pi fixture's under-voltage and throttling make their alerts pending; the live kiosk
/// raises none about its screen, stream, API or network.
async fn the_pi_raises_its_alerts_and_the_kiosk_none(prometheus: &Prometheus, fleet: &Fleet) {
    let expected: Vec<(String, String)> =
        PI_ALERTS.iter().map(|alert| ((*alert).to_owned(), fleet.pi.clone())).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let active = loop {
        let answer = prometheus.api("/api/v1/alerts").await;
        let active: BTreeSet<(String, String)> = answer["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let label = |name: &str| a["labels"][name].as_str().unwrap_or_default().to_owned();
                (label("alertname"), label("instance"))
            })
            .collect();
        if expected.iter().all(|a| active.contains(a)) || Instant::now() > deadline {
            break active;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for alert in &expected {
        assert!(active.contains(alert), "{alert:?} is not active: {active:?}");
    }
    for alert in QUIET_ALERTS {
        assert!(!active.iter().any(|(name, _)| name == alert), "{alert} is active: {active:?}");
    }
}
