//! A simulated remote-write fleet: `--kiosks` (default 1,000) kiosks in one process, each a
//! [`Delivery`] sending a real kiosk's series every `--interval` seconds (default 15) to one real
//! Prometheus receiver (Debian's, `--web.enable-remote-write-receiver`) on 127.0.0.1, for
//! `--seconds` (default 300), with the receiver stopped (SIGTERM) for `--outage` seconds
//! (default 30) in the middle and started again on the same port and data.
//!
//! Run with `cargo bench -p health-server --bench remote_write_fleet [-- --kiosks N --seconds N
//! --interval N --outage N]` (CI: `-- --kiosks 50 --seconds 20 --interval 5 --outage 5`).
//!
//! The series are a real kiosk's: an in-process exporter (the hardware collector on the Pi 4
//! fixture tree, the network collector probing loopback, the self-metrics) remote-writes to a stand-in receiver, whose third request is decoded
//! and kept as the template; its compressed size is what a kiosk sends per collection. Each
//! simulated kiosk sends the template under its own `instance`, stamped with its own time,
//! staggered across the interval as a fleet's clocks are. Printed:
//! - the request size and what it costs per hour;
//! - ingest rate from Prometheus's own `prometheus_tsdb_head_samples_appended_total`;
//! - sender CPU: this process's CPU time (building batches, encoding, sending) per kiosk and
//!   minute;
//! - end-to-end delay (sample timestamp to visible in a query), sampled, outside the outage;
//! - samples enqueued against samples stored (`count_over_time`) once the queues drained, and
//!   the deliveries' own sent, rejected and overflowed counts.
//!
//! Figures are printed; nothing is asserted (a timed assert flakes on a shared machine).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes as AxumBytes;
use health_core::testing::bench::{self, Durations, ms};
use health_server::Exporter;
use health_server::config::{HealthConfig, SignedUrl};
use health_server::remote_write::wire::WriteRequest;
use health_server::remote_write::{Auth, Batch, Delivery, DeliveryOptions, Endpoint, Series};
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

const JOB: &str = "rw-bench";
/// Linux reports /proc/PID/stat times in USER_HZ, 100 per second on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;
/// Concurrent delay probes.
const PROBES: usize = 32;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kiosks = arg(&args, "--kiosks").unwrap_or(1000) as usize;
    let seconds = arg(&args, "--seconds").unwrap_or(300);
    let interval = arg(&args, "--interval").unwrap_or(15);
    let outage = arg(&args, "--outage").unwrap_or(30);
    bench::run("cargo bench -p health-server --bench remote_write_fleet", || {
        fleet(
            kiosks,
            Duration::from_secs(seconds),
            Duration::from_secs(interval),
            Duration::from_secs(outage),
        )
    });
}

/// `--name N` or `--name=N`.
fn arg(args: &[String], name: &str) -> Option<u64> {
    args.iter().enumerate().find_map(|(i, a)| match a.strip_prefix(name) {
        Some("") => args.get(i + 1)?.parse().ok(),
        Some(rest) => rest.strip_prefix('=')?.parse().ok(),
        None => None,
    })
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

async fn fleet(kiosks: usize, window: Duration, interval: Duration, outage: Duration) {
    let (template, request_bytes) = real_kiosk().await;
    let samples_per_batch = template.len();
    let per_hour = request_bytes as f64 * 3600.0 / interval.as_secs_f64();
    println!(
        "a kiosk's collection: {samples_per_batch} series, {request_bytes} bytes per request \
         (protobuf + snappy, one request per collection); every {interval:?}: {:.2} MB an hour",
        per_hour / 1e6
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut prometheus = Prometheus::start(dir.path(), None).await;
    let addr = prometheus.addr;
    let url: reqwest::Url = format!("http://{addr}/api/v1/write").parse().unwrap();
    let deliveries: Vec<Delivery> = (0..kiosks)
        .map(|_| {
            let options =
                DeliveryOptions::new(vec![Endpoint { url: url.clone(), auth: Auth::None }]);
            Delivery::start(options).expect("start a delivery")
        })
        .collect();
    let last_sent: Arc<Vec<AtomicI64>> = Arc::new((0..kiosks).map(|_| AtomicI64::new(0)).collect());
    let enqueued = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    println!(
        "fleet: {kiosks} kiosks in one process -> one Prometheus on {addr}, every {interval:?} for \
         {window:?}, the receiver stopped for {outage:?} in the middle"
    );

    let cpu_before = cpu_ticks();
    let appended_before = prometheus.appended().await;
    let started = Instant::now();
    let first_ms = unix_ms();
    let mut senders = Vec::with_capacity(kiosks);
    for (index, delivery) in deliveries.iter().enumerate() {
        let delivery = delivery.clone();
        let template = Arc::clone(&template);
        let (last_sent, enqueued, running) =
            (Arc::clone(&last_sent), Arc::clone(&enqueued), Arc::clone(&running));
        let offset = interval.mul_f64(index as f64 / kiosks as f64);
        senders.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut tick = tokio::time::interval(interval);
            let instance = format!("kiosk-{index}");
            let mut round = 0.0;
            while running.load(Ordering::Relaxed) {
                tick.tick().await;
                if !running.load(Ordering::Relaxed) {
                    break;
                }
                let at = unix_ms();
                let series = template
                    .iter()
                    .map(|(labels, value)| {
                        let mut labels = labels.clone();
                        labels.push(("job".to_owned(), JOB.to_owned()));
                        labels.push(("instance".to_owned(), instance.clone()));
                        Series { labels, samples: vec![(at, value + round)] }
                    })
                    .collect();
                let batch = Batch { series };
                enqueued.fetch_add(batch.samples() as u64, Ordering::Relaxed);
                delivery.enqueue(batch);
                last_sent[index].store(at, Ordering::Relaxed);
                round += 1.0;
            }
        }));
    }

    // Delay probes: wait for a kiosk's next collection, then for its sample in a query.
    let delays = Arc::new(Mutex::new(Vec::new()));
    let outage_window = Arc::new(Mutex::new((i64::MAX, i64::MAX)));
    let probe_name = template[0].0.iter().find(|(n, _)| n == "__name__").unwrap().1.clone();
    let mut probes = Vec::new();
    for p in 0..PROBES {
        let (last_sent, running, delays, outage_window, probe_name) = (
            Arc::clone(&last_sent),
            Arc::clone(&running),
            Arc::clone(&delays),
            Arc::clone(&outage_window),
            probe_name.clone(),
        );
        probes.push(tokio::spawn(async move {
            let mut k = p * 7919 % kiosks;
            while running.load(Ordering::Relaxed) {
                k = (k + 104_729) % kiosks;
                let before = last_sent[k].load(Ordering::Relaxed);
                let sent = loop {
                    let now = last_sent[k].load(Ordering::Relaxed);
                    if now != before || !running.load(Ordering::Relaxed) {
                        break now;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                };
                let query =
                    format!("timestamp({probe_name}{{job=\"{JOB}\",instance=\"kiosk-{k}\"}})");
                let deadline = Instant::now() + Duration::from_secs(30);
                while Instant::now() < deadline && running.load(Ordering::Relaxed) {
                    let seen = query_values(addr, &query).await.first().copied().unwrap_or(0.0);
                    if (seen * 1000.0).round() as i64 >= sent {
                        let (from, to) = *outage_window.lock().await;
                        if sent < from || sent > to {
                            let delay = (unix_ms() - sent).max(0) as u64;
                            delays.lock().await.push(Duration::from_millis(delay));
                        }
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }

    // The receiver restart in the middle.
    tokio::time::sleep(window.saturating_sub(outage) / 2).await;
    let appended_first = prometheus.appended().await - appended_before;
    let stopped_ms = unix_ms();
    *outage_window.lock().await = (stopped_ms - 30_000, i64::MAX);
    prometheus.terminate().await;
    println!("receiver stopped at {:.0} s", started.elapsed().as_secs_f64());
    tokio::time::sleep(outage).await;
    prometheus = Prometheus::start(dir.path(), Some(addr)).await;
    let restarted_ms = unix_ms();
    println!("receiver ready again at {:.0} s", started.elapsed().as_secs_f64());
    // Samples sent up to 30 s after the restart may wait for the backlog: left out of the delay.
    *outage_window.lock().await = (stopped_ms - 30_000, restarted_ms + 30_000);
    tokio::time::sleep(window.saturating_sub(started.elapsed())).await;
    running.store(false, Ordering::Relaxed);
    for sender in senders {
        let _ = sender.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (cpu_ticks() - cpu_before) as f64 / TICKS_PER_SECOND;
    let appended = appended_first + prometheus.appended().await;
    let receiving = elapsed - outage.as_secs_f64();
    for probe in probes {
        probe.abort();
    }

    // Drain, then count what is stored.
    let drain = Instant::now();
    while deliveries.iter().any(|d| d.stats()[0].queue_samples > 0)
        && drain.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let drained_in = drain.elapsed();
    let span = ((unix_ms() - first_ms) / 1000 + 5) as u64;
    // One query per metric name: count_over_time drops the name, and two names would clash.
    let mut names: Vec<&str> = template
        .iter()
        .filter_map(|(labels, _)| labels.iter().find(|(n, _)| n == "__name__"))
        .map(|(_, v)| v.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut stored = 0.0;
    for name in names {
        let query = format!("sum(count_over_time({name}{{job=\"{JOB}\"}}[{span}s]))");
        stored += query_values(addr, &query).await.first().copied().unwrap_or(0.0);
    }
    let (mut sent, mut rejected, mut overflowed, mut retried) = (0, 0, 0, 0);
    for delivery in &deliveries {
        let stats = &delivery.stats()[0];
        sent += stats.samples_sent;
        rejected += stats.samples_rejected;
        overflowed += stats.samples_overflowed;
        retried += stats.samples_retried;
    }
    let enqueued = enqueued.load(Ordering::Relaxed);

    println!(
        "ingest: {appended} samples appended by Prometheus in {receiving:.0} s of receiving: \
         {:.0} samples/s (the fleet produces {:.0}/s)",
        appended as f64 / receiving,
        (kiosks * samples_per_batch) as f64 / interval.as_secs_f64()
    );
    println!(
        "sender CPU: {cpu:.1} s over {elapsed:.0} s ({:.1} % of one core): {:.2} ms per kiosk \
         and minute",
        cpu / elapsed * 100.0,
        cpu * 1000.0 / kiosks as f64 / (elapsed / 60.0)
    );
    let delays = Durations::of(std::mem::take(&mut *delays.lock().await));
    if !delays.is_empty() {
        println!(
            "end-to-end delay (timestamp to visible in a query), {} probes outside the outage: \
             median {}, p99 {}, max {}",
            delays.len(),
            ms(delays.median()),
            ms(delays.at(0.99)),
            ms(delays.max())
        );
    }
    println!(
        "samples: {enqueued} enqueued, {stored} stored (count_over_time), {} missing; \
         deliveries: {sent} sent, {retried} retried, {rejected} rejected, {overflowed} \
         overflowed; queues drained {} after the end",
        enqueued as f64 - stored,
        ms(drained_in)
    );
    for delivery in deliveries {
        delivery.shutdown(Duration::from_millis(100)).await;
    }
    prometheus.terminate().await;
}

/// A real kiosk's series (labels without job and instance, value) and the compressed size of
/// one collection's request: an in-process exporter remote-writing to a stand-in.
async fn real_kiosk() -> (Arc<Vec<(Vec<(String, String)>, f64)>>, usize) {
    let bodies: Arc<Mutex<Vec<AxumBytes>>> = Arc::default();
    let app = axum::Router::new().route(
        "/api/v1/write",
        axum::routing::post({
            let bodies = Arc::clone(&bodies);
            move |body: AxumBytes| async move {
                bodies.lock().await.push(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let receiver = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/write", receiver.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(receiver, app).await });
    // A Raspberry Pi 4's hardware (the fixture tree CI scrapes), the network collector probing
    // loopback only (no speed test), the stream collectors off (they need a live stream).
    let pi4 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../health-system/fixtures/pi4");
    let mut config = HealthConfig::default();
    config.hardware.sysfs_root = pi4.join("sys");
    config.hardware.procfs_root = pi4.join("proc");
    config.hardware.vcgencmd = health_server::config::ToolSetting::Off;
    config.hardware.cec = health_server::config::ToolSetting::Off;
    config.network.ping_hosts = vec!["127.0.0.1".to_owned()];
    config.network.ping_method = health_server::config::PingMethodSetting::Auto;
    config.network.speedtest_enabled = false;
    config.network.interval = Duration::from_secs(1);
    config.network.ping_timeout = Duration::from_millis(200);
    config.stream.enabled = false;
    config.hardware.interval = Duration::from_secs(1);
    config.remote_write.urls = vec![SignedUrl::new(url)];
    config.remote_write.interval = Duration::from_secs(1);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let exporter = Exporter::start_on(listener, &config).expect("start an exporter");
    let body = loop {
        if let Some(body) = bodies.lock().await.get(3) {
            break body.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    exporter.shutdown().await;
    server.abort();
    let request = WriteRequest::decompress(&body, 64 << 20).expect("a WriteRequest");
    let template = request
        .timeseries
        .iter()
        .map(|series| {
            let labels = series
                .labels
                .iter()
                .filter(|l| l.name != "job" && l.name != "instance")
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            (labels, series.samples.first().map_or(0.0, |s| s.value))
        })
        .collect();
    (Arc::new(template), body.len())
}

/// This process's CPU time (utime + stime), in ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15 (1-based, whole line).
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// Debian's Prometheus as a remote-write receiver.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Prometheus {
    async fn start(dir: &Path, addr: Option<SocketAddr>) -> Prometheus {
        std::fs::write(dir.join("prometheus.yml"), "global:\n  scrape_interval: 15s\n").unwrap();
        let addr = addr.unwrap_or_else(|| {
            let port =
                std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            SocketAddr::from(([127, 0, 0, 1], port))
        });
        let binary = Path::new("/usr/bin/prometheus");
        assert!(binary.exists(), "prometheus is missing: run ./scripts/setup");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--web.enable-remote-write-receiver")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start prometheus");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !matches!(get(addr, "/-/ready").await, Ok((200, _))) {
            assert!(Instant::now() < deadline, "prometheus did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Prometheus { child, addr }
    }

    /// `prometheus_tsdb_head_samples_appended_total`, every `type` summed, from its /metrics.
    /// A busy Prometheus (replaying its WAL, taking the fleet's backlog) is given a minute.
    async fn appended(&self) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(120);
        let text = loop {
            match get_within(self.addr, "/metrics", Duration::from_secs(60)).await {
                Ok((200, text)) => break text,
                answer if Instant::now() > deadline => {
                    eprintln!("Prometheus's /metrics: {answer:?}; counted as 0");
                    return 0;
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        };
        text.lines()
            .filter(|l| l.starts_with("prometheus_tsdb_head_samples_appended_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// SIGTERM, as systemd stops it; reaped.
    async fn terminate(mut self) {
        if let Some(pid) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

/// The values of an instant query's result vector.
async fn query_values(addr: SocketAddr, promql: &str) -> Vec<f64> {
    let path = format!("/api/v1/query?query={}", encode(promql));
    let Ok((status, body)) = get(addr, &path).await else { return Vec::new() };
    if status != 200 {
        // A probe during the outage gets 503 or nothing: not worth a line each.
        if status != 503 {
            eprintln!("{promql}: HTTP {status}: {body}");
        }
        return Vec::new();
    }
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    answer["data"]["result"]
        .as_array()
        .map(|r| r.iter().filter_map(|s| s["value"][1].as_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET over a fresh loopback connection: status and body, within 10 s.
async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    get_within(addr, path, Duration::from_secs(10)).await
}

/// The same within `limit` (a loaded Prometheus answers its own /metrics slowly).
async fn get_within(
    addr: SocketAddr,
    path: &str,
    limit: Duration,
) -> std::io::Result<(u16, String)> {
    let fetch = async {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(connection);
        let request = Request::get(path)
            .header("host", addr.to_string())
            .body(Empty::<Bytes>::new())
            .map_err(std::io::Error::other)?;
        let response = sender.send_request(request).await.map_err(std::io::Error::other)?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(limit, fetch)
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("timed out")))
}
