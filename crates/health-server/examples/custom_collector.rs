//! A collector of your own, served with the standard collectors through `Exporter::builder`.
//!
//! ```text
//! cargo run -p health-server --example custom_collector                    # the configured address
//! cargo run -p health-server --example custom_collector -- 127.0.0.1:0     # any free port
//! ```
//!
//! The configuration is health-server's (`HEALTH_*` variables, `.env`, `$HEALTH_CONFIG`); the
//! metrics are named `acme_…`; `acme_spool_files` counts the files waiting in `$SPOOL_DIR` (the
//! temporary directory by default). It prints `listening on http://ADDR` once serving, reloads its
//! configuration on SIGHUP (the spool collector stays) and stops on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot, Unit, async_trait};
use health_server::Exporter;
use health_server::config::{ConfigSources, HealthConfig};
use tokio::signal::unix::{SignalKind, signal};

/// What the spool collector emits. `const`: the name and help are `'static` text.
const FILES: MetricDesc =
    MetricDesc::gauge("spool_files", Unit::None, "Files waiting in the spool directory.");

/// Counts the files in a directory: a missing directory is no data, not an error.
struct Spool {
    dir: PathBuf,
}

#[async_trait]
impl Collector for Spool {
    fn name(&self) -> &str {
        "spool"
    }

    fn describe(&self) -> Vec<MetricDesc> {
        vec![FILES]
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(Duration::from_secs(5)).with_timeout(Duration::from_secs(2))
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        // Reading a directory blocks: it runs off the async workers, as every collector's
        // blocking work should (the per-run timeout can only stop a run at an `.await`).
        let dir = self.dir.clone();
        let files = tokio::task::spawn_blocking(move || count_files(&dir))
            .await
            .map_err(|e| CollectError::from_source("counting the spool", &e))?
            .map_err(|e| CollectError::from_source("reading the spool directory", &e))?;
        let mut snapshot = Snapshot::new();
        if let Some(files) = files {
            snapshot.gauge(FILES.name, f64::from(files));
        }
        Ok(snapshot)
    }
}

/// The regular files in `dir`; `None` if it does not exist.
fn count_files(dir: &Path) -> std::io::Result<Option<u32>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut files = 0;
    for entry in entries {
        if entry?.file_type()?.is_file() {
            files += 1;
        }
    }
    Ok(Some(files))
}

fn load() -> Result<HealthConfig, String> {
    HealthConfig::load(&ConfigSources::from_process(None))
        .map(|loaded| loaded.config)
        .map_err(|errors| errors.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = load()?;
    let dir = std::env::var_os("SPOOL_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let builder = Exporter::builder(&config)
        .collector(Spool { dir })
        .namespace("acme")
        .realm("acme-kiosks")
        .version("1.0.0");
    let mut exporter = match std::env::args().nth(1) {
        Some(addr) => {
            let addr: SocketAddr = addr.parse().map_err(|e| format!("address `{addr}`: {e}"))?;
            builder.start_on(tokio::net::TcpListener::bind(addr).await?)?
        }
        None => builder.start().await?,
    };
    println!("listening on http://{}", exporter.local_addr());

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => match load() {
                // The configured collectors are rebuilt; the spool collector stays as it is.
                Ok(config) => exporter.reload(&config).await?,
                Err(problems) => eprintln!("reload rejected:\n{problems}"),
            },
        }
    }
    exporter.shutdown().await;
    println!("stopped");
    Ok(())
}
