//! `/metrics` latency and idle memory, against Debian's prometheus-node-exporter.
//!
//! Run with `cargo bench -p health-server --bench scrape`. Both exporters run as separate
//! processes on 127.0.0.1 and are scraped by the same keep-alive HTTP/1.1 client:
//! - ours: this bench re-executes itself with `--serve`, serving the real router with the
//!   hardware collector plus a synthetic collector, about 150 series in all;
//! - theirs: `prometheus-node-exporter` with its default collectors (it collects on every
//!   scrape, which is most of its latency; the series counts are printed beside the figures);
//! - idle memory: the real `health-server` binary with its default collectors, and node_exporter;
//! - idle CPU: the same binary over `--idle-seconds N` (default 120), from /proc/PID/stat.
//!
//! Figures are printed; nothing is asserted (a timed assert flakes on a shared machine).

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use health_core::{
    CollectError, Collector, Exposition, MetricDesc, Schedule, Scheduler, Snapshot, Unit,
};
use health_server::{AppState, BearerAuth, router, serve};
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

const SEQUENTIAL_REQUESTS: usize = 2000;
const CONCURRENT_REQUESTS_PER_CLIENT: usize = 100;
const WARM_UP: usize = 100;

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if std::env::args().any(|a| a == "--serve") {
        runtime.block_on(serve_synthetic());
    } else if std::env::args().any(|a| a == "--bench") {
        runtime.block_on(bench());
    } else {
        // `cargo test --all-targets` runs benches without `--bench`: nothing to measure then.
        eprintln!("run with `cargo bench -p health-server --bench scrape`");
    }
}

// ---------------------------------------------------------------------------------------------
// The measured exporter: the real router and scheduler, ~150 series.

const HOSTS: usize = 12;
const IFACES: usize = 4;
const GAUGE: MetricDesc =
    MetricDesc::gauge("bench_up", Unit::None, "Synthetic per-host gauge.").labels(&["host"]);
const RTT: MetricDesc =
    MetricDesc::gauge("bench_rtt_seconds", Unit::Seconds, "Synthetic per-host RTT.")
        .labels(&["host"]);
const LOSS: MetricDesc =
    MetricDesc::gauge("bench_loss_ratio", Unit::Ratio, "Synthetic per-host loss.")
        .labels(&["host"]);
const SENT: MetricDesc =
    MetricDesc::counter("bench_sent_total", Unit::None, "Synthetic per-host counter.")
        .labels(&["host"]);
const BYTES: MetricDesc =
    MetricDesc::counter("bench_receive_bytes_total", Unit::Bytes, "Synthetic per-interface bytes.")
        .labels(&["interface"]);
const HIST: MetricDesc = MetricDesc::histogram(
    "bench_probe_seconds",
    Unit::Seconds,
    "Synthetic probe durations.",
    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
)
.labels(&["interface"]);

struct Synthetic;

#[async_trait]
impl Collector for Synthetic {
    fn name(&self) -> &str {
        "synthetic"
    }
    fn describe(&self) -> Vec<MetricDesc> {
        vec![GAUGE, RTT, LOSS, SENT, BYTES, HIST]
    }
    fn schedule(&self) -> Schedule {
        Schedule::every(Duration::from_secs(5))
    }
    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let mut s = Snapshot::new();
        for h in 0..HOSTS {
            let host = || vec![("host", format!("host-{h}.example"))];
            s.gauge_with(GAUGE.name, host(), 1.0)
                .gauge_with(RTT.name, host(), 0.012 + h as f64 / 1000.0)
                .gauge_with(LOSS.name, host(), 0.0)
                .counter_with(SENT.name, host(), 3 * h as u64);
        }
        for i in 0..IFACES {
            let iface = || vec![("interface", format!("eth{i}"))];
            s.counter_with(BYTES.name, iface(), 1_000_000 * i as u64);
            s.observe_with(HIST.name, iface(), vec![0.02, 0.3]);
        }
        Ok(s)
    }
}

async fn serve_synthetic() {
    let exposition = Exposition::default();
    let collectors: Vec<Box<dyn Collector>> = vec![
        Box::new(health_system::HardwareCollector::new(health_system::HardwareOptions::new(
            Duration::from_secs(10),
        ))),
        Box::new(Synthetic),
    ];
    let scheduler = Scheduler::builder(exposition.clone())
        .startup_jitter(Duration::ZERO)
        .start(collectors)
        .unwrap();
    let state = AppState::new(exposition, scheduler.status(), BearerAuth::new(None));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap());
    let counters = health_core::ConnectionCounters::default();
    serve(listener, router(state), std::future::pending(), Duration::from_millis(100), counters)
        .await;
}

// ---------------------------------------------------------------------------------------------
// The client side.

struct Figures {
    median: Duration,
    p99: Duration,
    per_second: f64,
}

async fn bench() {
    let node_exporter = "/usr/bin/prometheus-node-exporter";
    assert!(
        std::path::Path::new(node_exporter).exists(),
        "run ./scripts/setup (apt-get install prometheus-node-exporter)"
    );

    let (mut ours, ours_addr) = start_synthetic().await;
    let (mut theirs, theirs_addr) = start_node_exporter(node_exporter).await;
    let our_series = count_series(ours_addr).await;
    let their_series = count_series(theirs_addr).await;
    println!("series exposed: health-server (bench) {our_series}, node_exporter {their_series}\n");
    println!("{:<32} {:>12} {:>12} {:>12}", "/metrics latency", "median", "p99", "req/s");
    let mut ratios = Vec::new();
    for clients in [1, 16, 64] {
        let a = measure(ours_addr, clients).await;
        let b = measure(theirs_addr, clients).await;
        let label = if clients == 1 {
            "sequential".to_owned()
        } else {
            format!("{clients} concurrent clients")
        };
        print_row(&format!("health-server, {label}"), &a);
        print_row(&format!("node_exporter, {label}"), &b);
        ratios.push((label, ratio(a.median, b.median), ratio(a.p99, b.p99)));
    }
    let _ = ours.kill().await;
    let _ = theirs.kill().await;

    println!("\nratio health-server / node_exporter (lower is better)");
    for (label, median, p99) in ratios {
        println!("  {label:<26} median {median:.3}  p99 {p99:.3}");
    }

    // Idle memory: the real binary with its default collectors, left alone for 3 s.
    let (mut binary, _) = start_real_binary().await;
    let (mut node, _) = start_node_exporter(node_exporter).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ours_rss = rss_bytes(&binary);
    let theirs_rss = rss_bytes(&node);
    println!("\nidle resident memory");
    println!("  health-server  {:>8.1} MB", ours_rss as f64 / 1e6);
    println!("  node_exporter  {:>8.1} MB", theirs_rss as f64 / 1e6);
    println!("  ratio          {:>8.3}", ours_rss as f64 / theirs_rss as f64);
    let _ = node.kill().await;

    // CPU share of the real binary left alone: the hardware collector every 10 s, no scrapes.
    let seconds = idle_seconds();
    let before = cpu_ticks(&binary);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let used = (cpu_ticks(&binary) - before) as f64 / 100.0; // USER_HZ is 100 on Linux
    println!("\nidle CPU of health-server (hardware collector every 10 s) over {seconds} s");
    println!("  {used:.2} s of CPU = {:.4} % of one core", used / seconds as f64 * 100.0);
    let _ = binary.kill().await;
}

/// `--idle-seconds N` (default 120): how long to watch the idle binary's CPU time.
fn idle_seconds() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--idle-seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
}

/// utime + stime of a child, in clock ticks (fields 14 and 15 of /proc/PID/stat).
fn cpu_ticks(child: &Child) -> u64 {
    let pid = child.id().expect("running");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn print_row(label: &str, f: &Figures) {
    println!("{label:<32} {:>9.3} ms {:>9.3} ms {:>12.0}", ms(f.median), ms(f.p99), f.per_second);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

async fn measure(addr: SocketAddr, clients: usize) -> Figures {
    let per_client =
        if clients == 1 { SEQUENTIAL_REQUESTS } else { CONCURRENT_REQUESTS_PER_CLIENT };
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        tasks.spawn(async move {
            let mut client = Client::connect(addr).await;
            for _ in 0..WARM_UP.min(per_client) {
                client.scrape().await;
            }
            let mut latencies = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                let t = Instant::now();
                client.scrape().await;
                latencies.push(t.elapsed());
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(latencies) = tasks.join_next().await {
        all.extend(latencies.unwrap());
    }
    let wall = started.elapsed();
    all.sort();
    Figures {
        median: all[all.len() / 2],
        p99: all[(all.len() * 99) / 100],
        per_second: (clients * (per_client + WARM_UP.min(per_client))) as f64 / wall.as_secs_f64(),
    }
}

struct Client {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        Self { sender }
    }

    async fn scrape(&mut self) -> Bytes {
        self.sender.ready().await.unwrap();
        let request =
            Request::get("/metrics").header("host", "127.0.0.1").body(Empty::new()).unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap().to_bytes()
    }
}

async fn count_series(addr: SocketAddr) -> usize {
    let body = Client::connect(addr).await.scrape().await;
    String::from_utf8_lossy(&body).lines().filter(|l| !l.is_empty() && !l.starts_with('#')).count()
}

async fn start_synthetic() -> (Child, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).await.unwrap();
    let addr: SocketAddr = line.trim().parse().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // first collection
    (child, addr)
}

/// Binds port 0, releases it and hands the number to a child; retried if the child cannot bind.
async fn start_on_free_port(mut spawn: impl FnMut(SocketAddr) -> Child) -> (Child, SocketAddr) {
    for _ in 0..5 {
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let mut child = spawn(addr);
        for _ in 0..100 {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if TcpStream::connect(addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(300)).await;
                return (child, addr);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill().await;
    }
    panic!("could not start a child exporter");
}

async fn start_node_exporter(path: &'static str) -> (Child, SocketAddr) {
    start_on_free_port(|addr| {
        Command::new(path)
            .arg(format!("--web.listen-address={addr}"))
            // Its default of 40 in-flight requests answers 503 to the 64-client run.
            .arg("--web.max-requests=0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    })
    .await
}

async fn start_real_binary() -> (Child, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    start_on_free_port(|addr| {
        Command::new(env!("CARGO_BIN_EXE_health-server"))
            .current_dir(dir.path())
            .env_clear()
            .env("HEALTH_METRICS_HOST", addr.ip().to_string())
            .env("HEALTH_METRICS_PORT", addr.port().to_string())
            .env("HEALTH_NETWORK_ENABLED", "false")
            .env("HEALTH_STREAM_ENABLED", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    })
    .await
}

fn rss_bytes(child: &Child) -> u64 {
    let pid = child.id().expect("running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}
