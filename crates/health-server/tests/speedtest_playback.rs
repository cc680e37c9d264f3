//! The speed test inside the kiosk: held back while the stream is on screen, shown as skipped on
//! `/metrics` and the status page, and run as soon as the screen shows something else.
//!
//! The exporter runs in this process on `127.0.0.1:0` with only the network collector (every
//! second) and the kiosk's record; it pings a listener on 127.0.0.1 over TCP and downloads from a
//! local server that counts its requests. Nothing leaves the loopback interface.

#![cfg(all(feature = "network", feature = "script"))]

mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use health_script::{Display, ScriptHealth};
use health_server::config::{HealthConfig, PingMethodSetting};
use health_server::{Exporter, Inputs};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_util::task::AbortOnDropHandle;
use util::get;

const SKIPPED: &str = "skipped while the stream plays";

/// A server that answers every request with `hello` and counts the requests.
async fn counting_server() -> (SocketAddr, Arc<AtomicUsize>, AbortOnDropHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request).await;
            counted.fetch_add(1, Ordering::SeqCst);
            let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello";
            let _ = stream.write_all(reply).await;
        }
    });
    (addr, requests, AbortOnDropHandle::new(task))
}

/// GETs `path` until its body passes `done`, at most 15 s; the body then.
async fn wait_for(addr: SocketAddr, path: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = get(addr, path, None).await;
        if answer.status == 200 && done(&answer.body) {
            return answer.body;
        }
        assert!(Instant::now() < deadline, "{path} never got there:\n{}", answer.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_speed_test_waits_while_the_stream_is_on_screen_and_the_page_says_so() {
    let (download, requests, _server) = counting_server().await;
    let ping = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut config = HealthConfig::default();
    config.hardware.enabled = false;
    config.stream.enabled = false;
    config.state_dir = Some(state.path().to_owned());
    config.network.interval = Duration::from_secs(1);
    config.network.ping_hosts = vec!["127.0.0.1".to_owned()];
    config.network.ping_count = 1;
    config.network.ping_timeout = Duration::from_millis(500);
    config.network.ping_method = PingMethodSetting::Tcp;
    config.network.tcp_port = ping.local_addr().unwrap().port();
    config.network.speedtest_download_url = format!("http://{download}/down?bytes={{bytes}}");
    assert!(!config.network.speedtest_during_playback, "the default holds the test back");
    let health = ScriptHealth::new(Duration::from_secs(60));
    health.set_display(Display::Stream);
    health.tick();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inputs = Inputs { script: Some(health.clone()), ..Inputs::default() };
    let exporter = Exporter::start_with(listener, &config, inputs).unwrap();
    let addr = exporter.local_addr();

    let page = wait_for(addr, "/", |body| body.contains(SKIPPED)).await;
    assert!(
        page.contains(&format!(
            "<th>Speed test</th><td class=\"plain\">no successful test yet; {SKIPPED}</td>"
        )),
        "{page}"
    );
    let metrics = get(addr, "/metrics", None).await.body;
    assert!(metrics.contains("\nvimeo_monitor_network_speedtest_postponed 1\n"), "{metrics}");
    assert!(
        metrics
            .contains("\nvimeo_monitor_network_speedtest_bytes_total{direction=\"download\"} 0\n"),
        "{metrics}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 0, "no test while the stream is shown");
    let status: serde_json::Value =
        serde_json::from_str(&get(addr, "/status", None).await.body).unwrap();
    let network = &status["collectors"]["network"];
    assert_eq!(network["last_result"], "success", "{status}");
    let notes = network["last_notes"].to_string();
    assert!(notes.contains("held back while the stream is on screen"), "{status}");

    // The holding image: the next network run tests, and the page drops the note.
    health.set_display(Display::Holding);
    let metrics = wait_for(addr, "/metrics", |body| {
        body.contains("\nvimeo_monitor_network_speedtest_runs_total{result=\"success\"} 1\n")
    })
    .await;
    assert!(metrics.contains("\nvimeo_monitor_network_speedtest_postponed 0\n"), "{metrics}");
    assert!(
        metrics
            .contains("\nvimeo_monitor_network_speedtest_bytes_total{direction=\"download\"} 5\n"),
        "{metrics}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    let page = get(addr, "/", None).await.body;
    assert!(!page.contains(SKIPPED), "{page}");
    let status = get(addr, "/status", None).await.body;
    assert!(status.contains("\"last_notes\":[]"), "{status}");
    exporter.shutdown().await;
}
