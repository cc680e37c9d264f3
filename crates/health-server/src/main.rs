//! `health-server`: the vimeo-monitor health exporter as a standalone service.
//!
//! Serves until SIGTERM/SIGINT, reloads its configuration on SIGHUP, and offers
//! `--check-config` and `--once` for operators.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use health_core::{Exposition, Scheduler};
use health_server::config::{ConfigSources, HealthConfig, Loaded};
use health_server::{Exporter, compose};
use tokio::signal::unix::{SignalKind, signal};

/// Exit code for an invalid configuration, as `--check-config` documents.
const EXIT_BAD_CONFIG: u8 = 2;

/// Prometheus exporter for a vimeo-monitor kiosk's health.
#[derive(Debug, Parser)]
#[command(name = "health-server", version, about)]
struct Cli {
    /// TOML configuration file (else $HEALTH_CONFIG); `.env` and the environment override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Validate the configuration, print the effective settings (secrets redacted) and exit:
    /// 0 when valid, 2 with every problem listed otherwise.
    #[arg(long, conflicts_with = "once")]
    check_config: bool,
    /// Run every enabled collector once (the speed test excepted), print the exposition text to
    /// stdout and exit (1 if a collector failed).
    #[arg(long)]
    once: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let loaded = match load(&cli) {
        Ok(loaded) => loaded,
        Err(problems) => {
            eprintln!("health-server: invalid configuration:\n{problems}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    if cli.check_config {
        print!("{}", loaded.describe_effective());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("health-server")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("health-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if cli.once {
        runtime.block_on(once(&loaded.config))
    } else {
        runtime.block_on(serve(&cli, loaded.config)).map(|()| ExitCode::SUCCESS)
    };
    // A collector stuck in blocking I/O must not hold the process after shutdown.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("health-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    // `RUST_LOG`: a level or `target=level` directives (`info,health_server=debug`). `Targets`,
    // not `EnvFilter`: the same directives without span and field matching, and no regex
    // engine in the binary (about 0.3 MB on aarch64).
    let requested = std::env::var("RUST_LOG").ok().filter(|text| !text.trim().is_empty());
    let parsed = requested.as_deref().map(|text| {
        text.split(',').map(str::trim).collect::<Vec<_>>().join(",").parse::<Targets>()
    });
    let default = || Targets::new().with_default(LevelFilter::INFO);
    let (filter, refused) = match parsed {
        Some(Ok(filter)) => (filter, None),
        Some(Err(error)) => (default(), Some(error)),
        None => (default(), None),
    };
    // Colours only for a person at a terminal, not for journald or a log file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .finish()
        .with(filter)
        .init();
    // A typo in the log level must not silence the exporter, nor pass unnoticed.
    if let (Some(value), Some(error)) = (requested, refused) {
        tracing::warn!(
            "RUST_LOG={value:?} is not a log filter ({error}): logging at info. Allowed: trace, \
             debug, info, warn, error or off, or target=level directives such as \
             info,health_server=debug"
        );
    }
}

/// Loads and validates the configuration, logging its warnings.
fn load(cli: &Cli) -> Result<Loaded, String> {
    let loaded =
        HealthConfig::load(&ConfigSources::from_process(cli.config.clone())).map_err(|errors| {
            // A misspelt variable is often why a value did not take: show the warnings too.
            for warning in &errors.warnings {
                tracing::warn!(target: "health.server", "{warning}");
            }
            errors.to_string()
        })?;
    for warning in &loaded.warnings {
        tracing::warn!(target: "health.server", "{warning}");
    }
    Ok(loaded)
}

async fn once(config: &HealthConfig) -> anyhow::Result<ExitCode> {
    // A one-shot run must not start a speed test it would abandon on exit (and whose start,
    // recorded in the state file, would then hold off the service's next real test).
    let mut config = config.clone();
    config.network.speedtest_enabled = false;
    let composition = compose(&config)?;
    for note in &composition.notes {
        tracing::warn!(target: "health.server", "{note}");
    }
    let exposition = Exposition::default();
    let board = Scheduler::builder(exposition.clone())
        .version(env!("CARGO_PKG_VERSION"))
        .collect_once(composition.collectors)
        .await?;
    print!("{}", exposition.render());
    let mut failed = false;
    for (name, status) in board.snapshot() {
        if !status.is_up() {
            failed = true;
            eprintln!(
                "health-server: collector {name} failed: {}",
                status.last_error.unwrap_or_default()
            );
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn serve(cli: &Cli, config: HealthConfig) -> anyhow::Result<()> {
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut exporter = Exporter::start(&config).await?;
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => reload(cli, &mut exporter).await,
        }
    }
    tracing::info!(target: "health.server", "stopping");
    exporter.shutdown().await;
    Ok(())
}

/// SIGHUP: re-read the file, `.env` and environment; keep the old configuration if invalid.
async fn reload(cli: &Cli, exporter: &mut Exporter) {
    let loaded = match load(cli) {
        Ok(loaded) => loaded,
        Err(problems) => {
            tracing::error!(
                target: "health.server",
                "reload rejected, the previous configuration stays in force:\n{problems}"
            );
            return;
        }
    };
    match exporter.reload(&loaded.config).await {
        Ok(()) => tracing::info!(target: "health.server", "configuration reloaded"),
        Err(e) => {
            tracing::error!(
                target: "health.server",
                "reload rejected, the previous configuration stays in force: {e}",
            );
        }
    }
}
