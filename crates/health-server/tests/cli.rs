//! The `health-server` binary: `--check-config`, `--once`, binding, signals and reload.

mod util;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use util::{Server, binary, get, series};

async fn run(command: &mut tokio::process::Command) -> (i32, String, String) {
    let output = command.output().await.expect("run health-server");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

#[tokio::test]
async fn check_config_prints_the_effective_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(binary()
        .current_dir(dir.path())
        .arg("--check-config")
        .env("HEALTH_METRICS_PORT", "9191")
        .env("HEALTH_METRICS_BEARER_TOKEN", "very-secret-token"))
    .await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("HEALTH_METRICS_PORT=9191"), "{stdout}");
    assert!(stdout.contains("HEALTH_HARDWARE_INTERVAL=10"), "{stdout}");
    assert!(!stdout.contains("very-secret-token") && !stderr.contains("very-secret-token"));
}

#[tokio::test]
async fn check_config_lists_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(binary()
        .current_dir(dir.path())
        .arg("--check-config")
        .env("HEALTH_METRICS_PORT", "80a")
        .env("HEALTH_HARDWARE_INTERVAL", "0")
        .env("HEALTH_STREAM_ENABLED", "maybe"))
    .await;
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("HEALTH_METRICS_PORT=80a: expected a port number 1-65535"), "{stderr}");
    assert!(stderr.contains("HEALTH_HARDWARE_INTERVAL=0"), "{stderr}");
    assert!(stderr.contains("HEALTH_STREAM_ENABLED=maybe"), "{stderr}");
}

/// `RUST_LOG` that is not a filter: a warning naming the variable and value, logging at info,
/// and the exporter still does its job.
#[tokio::test]
async fn a_bad_log_filter_is_named_and_info_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(binary()
        .current_dir(dir.path())
        .arg("--check-config")
        .env("RUST_LOG", "info,health_server=loud"))
    .await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("HEALTH_METRICS_PORT="), "{stdout}");
    assert!(
        stderr.contains(r#"RUST_LOG="info,health_server=loud" is not a log filter"#),
        "{stderr}"
    );
    assert!(stderr.contains("logging at info"), "{stderr}");

    let (code, _, stderr) = run(binary()
        .current_dir(dir.path())
        .arg("--check-config")
        .env("RUST_LOG", "info, health_server=debug"))
    .await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(!stderr.contains("not a log filter"), "{stderr}");
}

#[tokio::test]
async fn once_prints_a_valid_exposition_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(binary().current_dir(dir.path()).arg("--once")).await;
    assert_eq!(code, 0, "stderr: {stderr}");
    let s = series(&stdout);
    assert_eq!(s["vimeo_monitor_collector_up{collector=\"hardware\"}"], "1");
    assert!(s["vimeo_monitor_memory_total_bytes"].parse::<f64>().unwrap() > 0.0);
    assert!(stdout.contains("# TYPE vimeo_monitor_collector_runs_total counter"));
}

#[tokio::test]
async fn the_stream_collectors_without_a_url_report_no_stream_and_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) =
        run(binary().current_dir(dir.path()).arg("--once").env("HEALTH_STREAM_ENABLED", "yes"))
            .await;
    assert_eq!(code, 0, "{stderr}");
    let s = series(&stdout);
    assert_eq!(s["vimeo_monitor_stream_available"], "0");
    assert_eq!(s["vimeo_monitor_collector_up{collector=\"stream\"}"], "1");
    assert_eq!(s["vimeo_monitor_collector_up{collector=\"stream_playlist\"}"], "1");
}

#[tokio::test]
async fn an_unreachable_stream_fails_once_naming_the_url_without_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("http://{closed}/live/playlist.m3u8?hmac=SIGNATURE-s3cret");
    let (code, stdout, stderr) = run(binary()
        .current_dir(dir.path())
        .arg("--once")
        .env("HEALTH_STREAM_ENABLED", "yes")
        .env("HEALTH_STREAM_URL", &url))
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&format!("http://{closed}/live/playlist.m3u8")), "{stderr}");
    assert!(!stderr.contains("SIGNATURE") && !stdout.contains("SIGNATURE"), "{stderr}");
    assert_eq!(series(&stdout)["vimeo_monitor_stream_available"], "0");
}

#[tokio::test]
async fn an_occupied_port_exits_non_zero_naming_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let (code, _, stderr) = run(binary()
        .current_dir(dir.path())
        .env("HEALTH_METRICS_HOST", "127.0.0.1")
        .env("HEALTH_METRICS_PORT", addr.port().to_string()))
    .await;
    assert_ne!(code, 0);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}: Address already in use")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("Address already in use").count(), 1, "said once: {stderr}");
}

#[tokio::test]
async fn sigterm_stops_within_two_seconds_with_an_idle_keep_alive_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), |_| {}).await;
    let mut idle = util::connect(server.addr).await;
    assert_eq!(idle.get("/metrics", None).await.status, 200);
    let started = Instant::now();
    server.signal(Signal::SIGTERM);
    let (status, stderr) = server.wait(Duration::from_secs(5)).await;
    let took = started.elapsed();
    assert!(status.success(), "{status}: {stderr}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(stderr.contains("stopping"), "{stderr}");
}

#[tokio::test]
async fn sigint_stops_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), |_| {}).await;
    server.signal(Signal::SIGINT);
    let (status, stderr) = server.wait(Duration::from_secs(3)).await;
    assert!(status.success(), "{status}: {stderr}");
}

#[tokio::test]
async fn sighup_reloads_a_valid_file_and_keeps_the_old_one_when_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("health.toml");
    let write = |interval: &str| {
        std::fs::write(&file, format!("[hardware]\ninterval = {interval}\n")).unwrap();
    };
    write("1");
    let file_arg = file.clone();
    let server = Server::start(dir.path(), move |c| {
        c.arg("--config").arg(&file_arg);
    })
    .await;
    let interval = || async {
        let body = get(server.addr, "/status", None).await.body;
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        json["collectors"]["hardware"]["interval_seconds"].as_f64().unwrap()
    };
    assert_eq!(interval().await, 1.0);

    write("4");
    server.signal(Signal::SIGHUP);
    assert!(eventually(|| async { interval().await == 4.0 }).await, "valid reload not applied");

    write("0");
    server.signal(Signal::SIGHUP);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(interval().await, 4.0, "an invalid reload replaced the configuration");
    assert_eq!(get(server.addr, "/healthz", None).await.status, 200, "still serving");

    server.signal(Signal::SIGTERM);
    let (status, stderr) = server.wait(Duration::from_secs(3)).await;
    assert!(status.success());
    assert!(stderr.contains("configuration reloaded"), "{stderr}");
    assert!(stderr.contains("reload rejected"), "{stderr}");
    assert!(stderr.contains("interval = 0"), "the rejection does not say why: {stderr}");
}

async fn eventually<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
