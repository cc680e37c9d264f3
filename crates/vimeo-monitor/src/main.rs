//! `vimeo-monitor`: the kiosk. Plays the Vimeo live event full-screen, shows the holding image
//! while it is offline and the error image when the API fails, and heals itself.
//!
//! `--check-config` prints the effective settings (token redacted) and exits 0, or lists every
//! problem and exits 2. SIGTERM and SIGINT stop the player and exit within 5 s. Under systemd
//! (`Type=notify`), READY=1 is sent once the first screen is up and WATCHDOG=1 while the main loop
//! makes progress.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;
use vimeo_monitor::config::{KioskConfig, KioskSources};

/// Self-healing Raspberry Pi kiosk for a Vimeo live event.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML file with a `[kiosk]` section (and the `[health]` ones); `.env` and the
    /// environment override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective settings and exit (2 when any is invalid).
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match KioskConfig::load(&KioskSources::from_process(cli.config.clone())) {
        Ok(loaded) => loaded,
        Err(errors) => {
            eprintln!("vimeo-monitor: invalid configuration:\n{errors}");
            // A misspelt name is often why a value did not take: show the hints too.
            for line in errors.warnings.iter().chain(&errors.notes) {
                eprintln!("note: {line}");
            }
            return ExitCode::from(2);
        }
    };
    let health = health_settings(cli.config.clone());
    if cli.check_config {
        print!("{}", loaded.describe_effective());
        for line in loaded.warnings.iter().chain(&loaded.notes) {
            eprintln!("note: {line}");
        }
        return match health {
            Err(problems) => {
                eprintln!("health monitoring settings:\n{problems}");
                ExitCode::from(2)
            }
            Ok(_) => ExitCode::SUCCESS,
        };
    }
    let _guard = match vimeo_monitor::logging::init(&loaded.config.log) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("vimeo-monitor: {e}");
            return ExitCode::from(2);
        }
    };
    for line in loaded.warnings.iter().chain(&loaded.notes) {
        tracing::warn!(target: "monitor", "{line}");
    }
    // Health monitoring is optional: settings it cannot use turn it off, never the kiosk.
    let health = health.unwrap_or_else(|problems| {
        tracing::error!(target: "health", "health monitoring is off:\n{problems}");
        None
    });
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("vimeo-monitor: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
    runtime.block_on(async move {
        let cancel = CancellationToken::new();
        tokio::spawn(stop_on_signals(cancel.clone()));
        let ready = Box::new(|| notify(&[sd_notify::NotifyState::Ready]));
        let alive = Box::new(|| notify(&[sd_notify::NotifyState::Watchdog]));
        match vimeo_monitor::app::run(loaded.config, health, ready, alive, cancel).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(target: "monitor", "{e}");
                ExitCode::from(2)
            }
        }
    })
}

/// The health settings when monitoring is enabled, `None` when it is off, or the problems.
#[cfg(feature = "health")]
fn health_settings(file: Option<PathBuf>) -> Result<vimeo_monitor::app::HealthSettings, String> {
    use health_server::config::{ConfigSources, HealthConfig};
    match HealthConfig::load(&ConfigSources::from_process(file)) {
        Ok(loaded) if loaded.config.monitoring_enabled => Ok(Some(loaded.config)),
        Ok(_) => Ok(None),
        Err(errors) => Err(errors.to_string()),
    }
}

/// Built without health monitoring.
#[cfg(not(feature = "health"))]
fn health_settings(_: Option<PathBuf>) -> Result<vimeo_monitor::app::HealthSettings, String> {
    Ok(None)
}

/// Tells systemd, when it listens (`NOTIFY_SOCKET`); a no-op otherwise.
fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some()
        && let Err(e) = sd_notify::notify(false, state)
    {
        tracing::debug!(target: "monitor", error = %e, "sd_notify");
    }
}

/// Cancels on SIGTERM or SIGINT.
async fn stop_on_signals(cancel: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!(target: "monitor", "cannot listen for SIGTERM/SIGINT");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!(target: "monitor", "SIGTERM"),
        _ = int.recv() => tracing::info!(target: "monitor", "SIGINT"),
    }
    notify(&[sd_notify::NotifyState::Stopping]);
    cancel.cancel();
}
