//! A downstream program: adds its own collector to the exporter through `Exporter::builder`,
//! serves on 127.0.0.1:0, scrapes itself over HTTP, reloads with a changed configuration (what
//! SIGHUP does in `health-server`) and checks that its collector is still served. Exits 1 with
//! the reason on the first failure.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use health_core::{CollectError, Collector, MetricDesc, MetricKind, Schedule, Snapshot, Unit};
use health_server::Exporter;
use health_server::config::HealthConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Pending orders of one shop, its metric named at run time from the shop's name.
struct Orders {
    metric: String,
    runs: AtomicU64,
}

impl Orders {
    fn new(shop: &str) -> Self {
        Self { metric: format!("{shop}_orders_pending"), runs: AtomicU64::new(0) }
    }
}

#[health_core::async_trait]
impl Collector for Orders {
    fn name(&self) -> &str {
        "orders"
    }

    fn describe(&self) -> Vec<MetricDesc> {
        vec![MetricDesc::new(
            MetricKind::Gauge,
            self.metric.clone(),
            Unit::None,
            "Orders waiting to be packed.",
        )]
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(Duration::from_millis(200))
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let runs = self.runs.fetch_add(1, Ordering::Relaxed) + 1;
        let mut snapshot = Snapshot::new();
        snapshot.gauge(self.metric.clone(), (runs % 5) as f64);
        Ok(snapshot)
    }
}

/// The body of `GET /metrics`, over a plain HTTP/1.1 connection.
async fn scrape(addr: SocketAddr) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.map_err(|e| format!("read: {e}"))?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no end of headers")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("answer: {}", head.lines().next().unwrap_or_default()));
    }
    Ok(body.to_owned())
}

/// Scrapes until every `wanted` name starts a series line and no `unwanted` one does (5 s at most).
async fn wait_for(addr: SocketAddr, wanted: &[&str], unwanted: &[&str]) -> Result<String, String> {
    let started = Instant::now();
    loop {
        let text = scrape(addr).await?;
        let has = |name: &str| text.lines().any(|l| !l.starts_with('#') && l.starts_with(name));
        if wanted.iter().all(|n| has(n)) && !unwanted.iter().any(|n| has(n)) {
            return Ok(text);
        }
        if started.elapsed() > Duration::from_secs(5) {
            return Err(format!("wanted {wanted:?} and not {unwanted:?}, got:\n{text}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn check() -> Result<(), String> {
    let mut config = HealthConfig::default();
    config.network.enabled = false;
    config.stream.enabled = false;
    config.hardware.interval = Duration::from_secs(1);
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind: {e}"))?;
    let mut exporter = Exporter::builder(&config)
        .collector(Orders::new("shop"))
        .namespace("downstream")
        .version("0.1.0")
        .start_on(listener)
        .map_err(|e| format!("start: {e}"))?;
    let addr = exporter.local_addr();
    let own = "downstream_shop_orders_pending ";
    let hardware = "downstream_memory_total_bytes ";
    wait_for(addr, &[own, hardware, "downstream_build_info{version=\"0.1.0\"}"], &[]).await?;
    println!("serving on {addr}: its own collector and the hardware collector");

    // The reloads SIGHUP makes in health-server: the configured collectors change, ours stays.
    let mut without = config.clone();
    without.hardware.enabled = false;
    exporter.reload(&without).await.map_err(|e| format!("reload: {e}"))?;
    wait_for(addr, &[own], &[hardware]).await?;
    println!("reloaded without the hardware collector: its own collector is still served");
    config.hardware.interval = Duration::from_secs(2);
    exporter.reload(&config).await.map_err(|e| format!("reload: {e}"))?;
    wait_for(addr, &[own, hardware, "downstream_collector_up{collector=\"orders\"} 1"], &[])
        .await?;
    println!("reloaded with it again: both served");
    exporter.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match tokio::time::timeout(Duration::from_secs(30), check()).await {
        Ok(Ok(())) => {
            println!("downstream: ok");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("downstream: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("downstream: no result within 30 s");
            ExitCode::FAILURE
        }
    }
}
