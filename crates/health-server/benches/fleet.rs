//! A simulated fleet: 50 real `health-server` processes on 127.0.0.1, listed in a `file_sd`
//! targets file, scraped every 5 s by one real Prometheus (Debian's `prometheus`).
//!
//! Run with `cargo bench -p health-server --bench fleet [-- --seconds N --exporters N]`.
//! Each exporter runs its default collectors (hardware, the script sidecar idle) with the
//! network and stream collectors off, as a headless kiosk's would be minus the probes that
//! would leave the machine. After a warm-up it measures, over `--seconds` (default 60):
//! - Prometheus's own view: `up`, and `scrape_duration_seconds` and `scrape_samples_scraped`
//!   per target (median, p90 and max over the targets' last scrapes);
//! - each exporter's CPU (utime + stime from /proc/PID/stat over the window, as a share of one
//!   core) and resident memory (VmRSS), median and max over the fleet;
//! - Prometheus's own resident memory.
//!
//! Figures are printed; nothing is asserted (a timed assert flakes on a shared machine).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use health_core::testing::bench::{self, Durations, ms};
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const DEFAULT_EXPORTERS: usize = 50;
const DEFAULT_SECONDS: u64 = 60;
const SCRAPE_INTERVAL: &str = "5s";
/// Long enough for Prometheus to discover every target and scrape each a few times.
const WARM_UP: Duration = Duration::from_secs(15);
/// Linux reports /proc/PID/stat times in USER_HZ, 100 per second on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let exporters = arg(&args, "--exporters").unwrap_or(DEFAULT_EXPORTERS as u64) as usize;
    let seconds = arg(&args, "--seconds").unwrap_or(DEFAULT_SECONDS);
    bench::run("cargo bench -p health-server --bench fleet", || {
        fleet(exporters, Duration::from_secs(seconds))
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

async fn fleet(count: usize, window: Duration) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut exporters = Vec::with_capacity(count);
    for _ in 0..count {
        exporters.push(Exporter::start().await);
    }
    let targets: Vec<String> = exporters.iter().map(|e| format!("\"{}\"", e.addr)).collect();
    let sd = format!(
        "[{{\"targets\": [{}], \"labels\": {{\"fleet\": \"bench\"}}}}]",
        targets.join(", ")
    );
    std::fs::write(dir.path().join("targets.json"), sd).expect("write targets.json");
    let prometheus = Prometheus::start(dir.path()).await;
    println!(
        "fleet: {count} health-server processes on 127.0.0.1, file_sd, scraped every \
         {SCRAPE_INTERVAL} by one Prometheus; warm-up {WARM_UP:?}, window {window:?}"
    );

    tokio::time::sleep(WARM_UP).await;
    let cpu_before: Vec<u64> = exporters.iter().map(|e| cpu_ticks(e.pid())).collect();
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after: Vec<u64> = exporters.iter().map(|e| cpu_ticks(e.pid())).collect();

    let up = prometheus.query("sum(up{fleet=\"bench\"})").await;
    let durations = prometheus.query("scrape_duration_seconds{fleet=\"bench\"}").await;
    let samples = prometheus.query("scrape_samples_scraped{fleet=\"bench\"}").await;
    let durations = Durations::of(durations.iter().map(|v| Duration::from_secs_f64(*v)).collect());
    let mut samples = samples;
    samples.sort_by(f64::total_cmp);

    let mut cpu: Vec<f64> = cpu_before
        .iter()
        .zip(&cpu_after)
        .map(|(before, after)| (after - before) as f64 / TICKS_PER_SECOND / elapsed)
        .collect();
    cpu.sort_by(f64::total_cmp);
    let mut rss: Vec<u64> = exporters.iter().map(|e| rss_kib(e.pid())).collect();
    rss.sort_unstable();

    println!("targets up: {} of {count}", up.first().copied().unwrap_or(0.0));
    println!(
        "scrape duration per target: median {}, p90 {}, max {} ({} samples per scrape, median)",
        ms(durations.median()),
        ms(durations.at(0.9)),
        ms(durations.max()),
        samples[samples.len() / 2],
    );
    println!(
        "exporter CPU (share of one core): median {:.2} %, max {:.2} %; fleet total {:.1} %",
        cpu[cpu.len() / 2] * 100.0,
        cpu[cpu.len() - 1] * 100.0,
        cpu.iter().sum::<f64>() * 100.0,
    );
    println!(
        "exporter RSS: median {:.1} MB, max {:.1} MB; Prometheus RSS {:.1} MB",
        rss[rss.len() / 2] as f64 / 1024.0,
        rss[rss.len() - 1] as f64 / 1024.0,
        rss_kib(prometheus.pid()) as f64 / 1024.0,
    );
}

/// One `health-server` process on its own loopback port.
struct Exporter {
    child: Child,
    addr: SocketAddr,
}

impl Exporter {
    async fn start() -> Exporter {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_health-server"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HEALTH_METRICS_HOST", "127.0.0.1")
            .env("HEALTH_METRICS_PORT", port.to_string())
            .env("HEALTH_NETWORK_ENABLED", "false")
            .env("HEALTH_STREAM_ENABLED", "false")
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start health-server");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_until_answers(addr, "/metrics").await;
        Exporter { child, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }
}

/// Debian's Prometheus with the fleet's `file_sd` targets file.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Prometheus {
    async fn start(dir: &Path) -> Prometheus {
        let config = format!(
            "global:\n  scrape_interval: {SCRAPE_INTERVAL}\n  scrape_timeout: 4s\n\
             scrape_configs:\n  - job_name: fleet\n    file_sd_configs:\n      \
             - files: ['{}']\n        refresh_interval: 5s\n",
            dir.join("targets.json").display()
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let binary = Path::new("/usr/bin/prometheus");
        assert!(binary.exists(), "prometheus is missing: run ./scripts/setup");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start prometheus");
        wait_until_answers(addr, "/-/ready").await;
        Prometheus { child, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// The values of an instant query's result vector.
    async fn query(&self, promql: &str) -> Vec<f64> {
        let path = format!("/api/v1/query?query={}", encode(promql));
        let (status, body) = get(self.addr, &path).await.expect("query Prometheus");
        assert_eq!(status, 200, "{promql}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        answer["data"]["result"]
            .as_array()
            .expect("a vector")
            .iter()
            .filter_map(|series| series["value"][1].as_str()?.parse().ok())
            .collect()
    }
}

/// Percent-encodes what PromQL needs in a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("an address").port()
}

async fn wait_until_answers(addr: SocketAddr, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(get(addr, path).await, Ok((200, _))) {
        assert!(Instant::now() < deadline, "{addr}{path} did not answer within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await??;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    let request = Request::get(path)
        .header("host", addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(std::io::Error::other)?;
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await?
        .map_err(std::io::Error::other)?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// utime + stime of a process, in ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}
