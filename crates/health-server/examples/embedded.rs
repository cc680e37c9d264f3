//! The exporter inside another tokio program: the program does its own work in its own task and
//! shows its figures through a collector of its own, beside the hardware collector; Ctrl-C or
//! SIGTERM stops both cleanly.
//!
//! ```text
//! cargo run -p health-server --example embedded -- 127.0.0.1:9464
//! curl -s http://127.0.0.1:9464/metrics | grep jobs
//! ```
//!
//! No configuration file is read: the program builds the configuration it wants in code.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot, Unit, async_trait};
use health_server::Exporter;
use health_server::config::HealthConfig;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

const JOBS: MetricDesc =
    MetricDesc::counter("worker_jobs_total", Unit::None, "Jobs the worker has finished.");

/// The program's own figures, shared between its worker and its collector. The collector only
/// reads them, so a scrape never waits for the worker.
#[derive(Default)]
struct Figures {
    jobs: AtomicU64,
}

struct Worker(Arc<Figures>);

#[async_trait]
impl Collector for Worker {
    fn name(&self) -> &str {
        "worker"
    }

    fn describe(&self) -> Vec<MetricDesc> {
        vec![JOBS]
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(Duration::from_secs(1))
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let mut snapshot = Snapshot::new();
        snapshot.counter(JOBS.name, self.0.jobs.load(Ordering::Relaxed));
        Ok(snapshot)
    }
}

/// The program's real work: here, one job every 100 ms until told to stop.
async fn work(figures: Arc<Figures>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while stop.run_until_cancelled(tick.tick()).await.is_some() {
        figures.jobs.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = HealthConfig::default();
    // Only what this program needs: the hardware collector if compiled in, nothing that probes
    // the network or a stream.
    config.hardware.enabled = cfg!(feature = "system");
    config.network.enabled = false;
    config.stream.enabled = false;

    let figures = Arc::new(Figures::default());
    let stop = CancellationToken::new();
    let worker = tokio::spawn(work(Arc::clone(&figures), stop.clone()));

    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9464".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let exporter = Exporter::builder(&config)
        .collector(Worker(figures))
        .namespace("embedded_app")
        .start_on(listener)?;
    println!("listening on http://{}", exporter.local_addr());

    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    // The program's own work first, then the exporter: its last scrape still sees the totals.
    stop.cancel();
    worker.await?;
    exporter.shutdown().await;
    println!("stopped");
    Ok(())
}
