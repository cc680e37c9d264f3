//! The exporter as a library: routes, authentication, binding and shutdown, over real loopback HTTP.

mod util;

use std::time::{Duration, Instant};

use health_server::config::{HealthConfig, Secret};
use health_server::{Exporter, ExporterError, METRICS_CONTENT_TYPE};
use tokio::net::TcpListener;
use util::{config, connect, get, series};

async fn start(config: &HealthConfig) -> Exporter {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Exporter::start_on(listener, config).unwrap()
}

/// Waits until the hardware collector has published.
async fn scrape_when_ready(exporter: &Exporter, token: Option<&str>) -> util::Answer {
    for _ in 0..100 {
        let answer = get(exporter.local_addr(), "/metrics", token).await;
        if answer.body.contains("vimeo_monitor_memory_total_bytes") {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the hardware collector never published");
}

#[tokio::test]
async fn serves_metrics_healthz_and_status() {
    let exporter = start(&config()).await;
    let metrics = scrape_when_ready(&exporter, None).await;
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.headers["content-type"], METRICS_CONTENT_TYPE);
    let s = series(&metrics.body);
    assert_eq!(s["vimeo_monitor_collector_up{collector=\"hardware\"}"], "1");
    assert_eq!(
        s[&format!("vimeo_monitor_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION"))],
        "1"
    );
    assert!(s.contains_key("vimeo_monitor_load1"));

    let healthz = get(exporter.local_addr(), "/healthz", None).await;
    assert_eq!((healthz.status.as_u16(), healthz.body.as_str()), (200, "ok\n"));

    let status = get(exporter.local_addr(), "/status", None).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.headers["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    let hardware = &json["collectors"]["hardware"];
    assert_eq!(hardware["last_result"], "success");
    assert_eq!(hardware["interval_seconds"], 1.0);
    assert!(hardware["last_run_timestamp_seconds"].as_f64().unwrap() > 1.7e9);
    assert!(hardware["last_duration_seconds"].as_f64().unwrap() >= 0.0);
    assert!(hardware["last_error"].is_null());

    for path in ["/nope", "/metrics/extra", "/favicon.ico"] {
        assert_eq!(get(exporter.local_addr(), path, None).await.status, 404, "{path}");
    }
    // A standalone exporter plays nothing, so it has no screenshot to serve.
    let screen = get(exporter.local_addr(), "/screen.jpg", None).await;
    assert_eq!(screen.status, 404);
    assert!(screen.body.starts_with("no screenshot: "), "{}", screen.body);
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_bearer_token_guards_metrics_and_status_but_not_healthz() {
    let mut config = config();
    config.metrics.bearer_token = Some(Secret::new("s3cret-token"));
    let exporter = start(&config).await;
    let addr = exporter.local_addr();
    for path in ["/metrics", "/status"] {
        for token in [None, Some("wrong"), Some("s3cret-token-but-longer"), Some("")] {
            let answer = get(addr, path, token).await;
            assert_eq!(answer.status, 401, "{path} with {token:?}");
            assert_eq!(answer.headers["www-authenticate"], "Bearer realm=\"vimeo-monitor\"");
            assert!(!answer.body.contains("s3cret"), "the token leaked into a 401 body");
        }
        assert_eq!(get(addr, path, Some("s3cret-token")).await.status, 200, "{path}");
    }
    assert_eq!(get(addr, "/screen.jpg", None).await.status, 401);
    assert_eq!(get(addr, "/screen.jpg", Some("s3cret-token")).await.status, 404, "no picture");
    assert_eq!(get(addr, "/healthz", None).await.status, 200);
    scrape_when_ready(&exporter, Some("s3cret-token")).await;
    exporter.shutdown().await;
}

#[tokio::test]
async fn an_occupied_address_is_an_error_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = config();
    config.metrics.host = "127.0.0.1".parse().unwrap();
    config.metrics.port = taken.local_addr().unwrap().port();
    let err = Exporter::start(&config).await.unwrap_err();
    assert!(matches!(err, ExporterError::Bind { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("cannot listen on {}: ", taken.local_addr().unwrap())),
        "{message}"
    );
    assert!(message.contains("in use"), "{message}");
}

#[tokio::test]
async fn shutdown_is_prompt_with_an_idle_keep_alive_client() {
    let exporter = start(&config()).await;
    let mut idle = connect(exporter.local_addr()).await;
    assert_eq!(idle.get("/healthz", None).await.status, 200);
    // The connection now sits idle in keep-alive, as Prometheus leaves it between scrapes.
    let started = Instant::now();
    exporter.shutdown().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    tokio::time::timeout(Duration::from_secs(1), idle.driver)
        .await
        .expect("the idle connection was closed")
        .unwrap();
}

#[tokio::test]
async fn reload_applies_intervals_and_tokens_and_keeps_the_listener() {
    let mut exporter = start(&config()).await;
    let addr = exporter.local_addr();
    scrape_when_ready(&exporter, None).await;

    let mut next = config();
    next.hardware.interval = Duration::from_secs(3);
    next.metrics.bearer_token = Some(Secret::new("fresh"));
    exporter.reload(&next).await.unwrap();
    assert_eq!(exporter.local_addr(), addr);
    assert_eq!(get(addr, "/status", None).await.status, 401);
    let status = get(addr, "/status", Some("fresh")).await;
    let json: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    assert_eq!(json["collectors"]["hardware"]["interval_seconds"], 3.0);

    let mut off = next.clone();
    off.hardware.enabled = false;
    exporter.reload(&off).await.unwrap();
    let text = get(addr, "/metrics", Some("fresh")).await.body;
    assert!(
        !text.contains("collector=\"hardware\""),
        "a disabled collector is still exposed:\n{text}"
    );
    assert!(!text.contains("memory_total_bytes"));
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exporter = start(&config()).await;
    let mut slow = tokio::net::TcpStream::connect(exporter.local_addr()).await.unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    // The server's header read timeout is 5 s; the connection must be closed soon after.
    let read = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // an error response before closing is fine
            }
        }
    })
    .await;
    assert!(read.is_ok(), "a half-sent request held its connection for 8 s");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "cut off too early: {:?}",
        started.elapsed()
    );
    // Meanwhile, and after, others are served.
    assert_eq!(get(exporter.local_addr(), "/healthz", None).await.status, 200);
    exporter.shutdown().await;
}
