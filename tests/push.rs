//! Push mode against a real Pushgateway (Debian's `prometheus-pushgateway`) that a real
//! Prometheus scrapes with `honor_labels`, all on 127.0.0.1.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use end_to_end::{Prometheus, get, grafana, wait_for};
use health_server::Exporter;
use health_server::config::{HealthConfig, SignedUrl};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// Credentials in the Pushgateway URL: sent as basic authentication, shown nowhere.
const PASSWORD: &str = "push-canary-5521";

/// The Pushgateway on a free loopback port, killed with the test.
async fn start_pushgateway(dir: &Path) -> (Child, std::net::SocketAddr) {
    let binary = Path::new("/usr/bin/prometheus-pushgateway");
    assert!(binary.exists(), "prometheus-pushgateway is missing: run ./scripts/setup");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let child = Command::new(binary)
        .arg(format!("--web.listen-address={addr}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("pushgateway.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Pushgateway");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(get(addr, "/-/ready", None).await, Ok((200, _))) {
        assert!(Instant::now() < deadline, "the Pushgateway did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_figures_reach_prometheus_and_a_gone_gateway_never_breaks_a_scrape() {
    let dir = tempfile::tempdir().unwrap();
    let (mut gateway, gateway_addr) = start_pushgateway(dir.path()).await;

    let mut config = HealthConfig::default();
    config.network.enabled = false;
    config.stream.enabled = false;
    config.hardware.interval = Duration::from_secs(1);
    config.push.gateway_url =
        Some(SignedUrl::new(format!("http://kiosk:{PASSWORD}@{gateway_addr}/")));
    config.push.interval = Duration::from_secs(1);
    config.push.job = Some("kiosks".to_owned());
    config.push.instance = Some("hall-a".to_owned());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let exporter = Exporter::start_on(listener, &config).expect("start the exporter");
    let addr = exporter.local_addr();

    // The group arrives in the Pushgateway under the configured job and instance.
    wait_for("the kiosk's group in the Pushgateway", Duration::from_secs(15), async || {
        let body = get(gateway_addr, "/metrics", None).await.map(|(_, b)| b).unwrap_or_default();
        let pushed = body.lines().any(|l| {
            l.starts_with("vimeo_monitor_collector_up{")
                && l.contains(r#"collector="hardware""#)
                && l.contains(r#"instance="hall-a""#)
                && l.contains(r#"job="kiosks""#)
        });
        (pushed, body.lines().filter(|l| l.contains("hall-a")).count())
    })
    .await;

    // Prometheus scrapes the Pushgateway and keeps the kiosk's own job and instance.
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    \
             honor_labels: true\n    static_configs:\n      - targets: ['{gateway_addr}']\n"
        ),
    )
    .unwrap();
    let prometheus = Prometheus::start(dir.path()).await;
    let query =
        r#"vimeo_monitor_collector_up{job="kiosks",instance="hall-a",collector="hardware"}"#;
    wait_for("Prometheus stores the pushed series", Duration::from_secs(30), async || {
        let value = prometheus.value(query).await;
        (value == Some(1.0), value)
    })
    .await;
    let pushes = r#"vimeo_monitor_pushes_total{job="kiosks",instance="hall-a",result="success"}"#;
    wait_for("a success counted in what was pushed", Duration::from_secs(15), async || {
        let value = prometheus.value(pushes).await;
        (value.is_some_and(|v| v >= 1.0), value)
    })
    .await;
    let pushed_at = prometheus.value(r#"push_time_seconds{job="kiosks",instance="hall-a"}"#).await;
    let pushed_at = pushed_at.expect("the Pushgateway's time of the last push");
    the_dashboard_counts_a_pushing_kiosk_until_it_goes_quiet(&prometheus, pushed_at).await;
    prometheus.stop().await;

    let (_, status) = get(addr, "/status", None).await.unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["collectors"]["push"]["last_result"], "success", "{status}");

    // The Pushgateway goes away: the push fails and says where, without the password; the
    // exporter's own scrape is as good as before.
    gateway.kill().await.unwrap();
    let error = wait_for("the failed push in /status", Duration::from_secs(15), async || {
        let (_, body) = get(addr, "/status", None).await.unwrap();
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        let error = status["collectors"]["push"]["last_error"].as_str().map(str::to_owned);
        (error.is_some(), error)
    })
    .await
    .unwrap();
    assert!(
        error.contains(&format!("push to http://{gateway_addr}/metrics/job/kiosks")),
        "{error}"
    );
    for text in [&error, &get(addr, "/status", None).await.unwrap().1] {
        assert!(!text.contains(PASSWORD), "the password leaked: {text}");
    }
    let (code, metrics) = get(addr, "/metrics", None).await.unwrap();
    assert_eq!(code, 200);
    assert!(!metrics.contains(PASSWORD));
    let errors = metrics
        .lines()
        .find(|l| l.starts_with(r#"vimeo_monitor_pushes_total{result="error"}"#))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
    assert!(errors.is_some_and(|n| n >= 1), "{metrics}");
    assert!(metrics.contains(r#"vimeo_monitor_collector_up{collector="hardware"} 1"#), "{metrics}");
    exporter.shutdown().await;
}

/// The dashboard's fleet figures count a kiosk that pushes, though Prometheus never scrapes it
/// (`up` is the Pushgateway's): up while its pushes are fresh, down once the last one is more
/// than two minutes old, which is asked by evaluating the same queries 150 s ahead.
async fn the_dashboard_counts_a_pushing_kiosk_until_it_goes_quiet(
    prometheus: &Prometheus,
    pushed_at: f64,
) {
    let document = grafana::dashboard();
    let variables = grafana::variables("kiosks", "hall-a");
    let up = grafana::panel_query(&document, "Kiosks up", &variables);
    let down = grafana::panel_query(&document, "Kiosks down", &variables);
    let table = grafana::panel_query(&document, "Kiosks", &variables);
    assert_eq!(prometheus.value(&up).await, Some(1.0), "{up}");
    assert_eq!(prometheus.value(&down).await, Some(0.0), "{down}");
    assert_eq!(prometheus.value(&table).await, Some(1.0), "{table}");
    let later = pushed_at + 150.0;
    assert_eq!(prometheus.value_at(&up, later).await, Some(0.0), "{up} at +150 s");
    assert_eq!(prometheus.value_at(&down, later).await, Some(1.0), "{down} at +150 s");
    assert_eq!(prometheus.value_at(&table, later).await, Some(0.0), "{table} at +150 s");
}
