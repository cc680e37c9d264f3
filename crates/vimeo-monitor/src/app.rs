//! The composition root: builds the kiosk from its configuration, starts health monitoring when
//! it is enabled, runs until cancelled, and stops everything within a few seconds.

use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use health_script::ScriptHealth;
use tokio_util::sync::CancellationToken;

use crate::config::KioskConfig;
use crate::monitor::{self, Hooks, Policy};
use crate::player::mpv::MpvOptions;
use crate::player::supervisor::{Player, ScreenOptions, SupervisorOptions};
use crate::player::{Screen, Showing};
use crate::vimeo::{Backoff, VimeoClient, VimeoOptions, VimeoSetupError};

/// Why the kiosk cannot start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The runtime directory for the player's socket cannot be made private.
    #[error("RUNTIME_DIR {dir}: {reason}")]
    RuntimeDir {
        /// The directory.
        dir: String,
        /// What is wrong.
        reason: String,
    },
    /// The Vimeo client refused its settings.
    #[error(transparent)]
    Vimeo(#[from] VimeoSetupError),
}

/// Health monitoring inside the kiosk: its configuration, when `HEALTH_MONITORING_ENABLED`.
#[cfg(feature = "health")]
pub type HealthSettings = Option<health_server::config::HealthConfig>;

/// Health monitoring is compiled out: nothing to configure.
#[cfg(not(feature = "health"))]
pub type HealthSettings = Option<std::convert::Infallible>;

/// Runs the kiosk until `cancel`, then stops the player and the exporter.
///
/// `ready` is called once the first screen is up (systemd's `READY=1`), `alive` while the main
/// loop makes progress (`WATCHDOG=1`).
pub async fn run(
    config: KioskConfig,
    health: HealthSettings,
    ready: Box<dyn FnOnce() + Send>,
    alive: Box<dyn Fn() + Send>,
    cancel: CancellationToken,
) -> Result<(), AppError> {
    let runtime_dir = config.runtime_dir();
    private_dir(&runtime_dir)?;
    let client = VimeoClient::new(VimeoOptions {
        api_url: config.vimeo.api_url.clone(),
        event_id: config.vimeo.event_id.clone(),
        token: config.vimeo.token.clone(),
        timeout: config.vimeo.api_timeout,
        max_retries: config.vimeo.max_retries,
        backoff: Backoff::DEFAULT,
    })?;
    let script = health.as_ref().map(|_| ScriptHealth::new(config.vimeo.check_interval));
    let screen = screen_options(&health);
    let monitoring = start_health(health, script.clone()).await;

    let mpv = MpvOptions {
        binary: config.player.kind.program().into(),
        extra_args: config.player.args.clone(),
        runtime_dir: runtime_dir.clone(),
        ipc_timeout: config.player.ipc_timeout,
        fullscreen: true,
    };
    let supervisor = SupervisorOptions {
        stall_timeout: config.player.stall_timeout,
        screen,
        ..SupervisorOptions::new(mpv, config.images.holding.clone(), config.images.error.clone())
    };
    let mut player = Player::start(supervisor, Screen::Holding, script.clone());
    let mut reports = player.reports();
    let readiness = tokio::spawn(async move {
        if reports.wait_for(|report| report.showing != Showing::Nothing).await.is_ok() {
            ready();
        }
    });

    let policy = Policy {
        check_interval: config.vimeo.check_interval,
        error_threshold: config.vimeo.error_threshold,
    };
    let hooks = Hooks { health: script, on_stream: monitoring.on_stream(), alive: Some(alive) };
    tracing::info!(
        target: "monitor",
        event = %config.vimeo.event_id,
        every = config.vimeo.check_interval.as_secs_f64(),
        "watching the live event"
    );
    monitor::run(client, &mut player, policy, hooks, cancel).await;

    tracing::info!(target: "monitor", "stopping");
    readiness.abort();
    tokio::join!(player.shutdown(), monitoring.shutdown());
    Ok(())
}

/// Screenshots only with health monitoring on: off, the kiosk takes none.
#[cfg(feature = "health")]
fn screen_options(health: &HealthSettings) -> Option<ScreenOptions> {
    health.as_ref().map(|config| ScreenOptions {
        every: config.screen.interval,
        thumbnail: config.screen.thumbnail,
    })
}

/// Health monitoring is compiled out: no screenshots.
#[cfg(not(feature = "health"))]
fn screen_options(_: &HealthSettings) -> Option<ScreenOptions> {
    None
}

/// Creates `dir` (mode 0700) or checks that an existing one is ours and private: the player's
/// socket goes there, and whoever can reach it can make mpv load anything.
fn private_dir(dir: &Path) -> Result<(), AppError> {
    let error = |reason: String| AppError::RuntimeDir { dir: dir.display().to_string(), reason };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| error(format!("cannot create it: {e}")))?;
    let meta = std::fs::metadata(dir).map_err(|e| error(format!("cannot read it: {e}")))?;
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(error("belongs to another user".to_owned()));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| error(format!("cannot make it private: {e}")))?;
    }
    Ok(())
}

/// The exporter running inside the kiosk, if health monitoring is on and its port could be bound.
struct Monitoring {
    #[cfg(feature = "health")]
    exporter: Option<health_server::Exporter>,
    #[cfg(feature = "health")]
    source: Option<health_stream::StreamSource>,
}

impl Monitoring {
    /// The hook handing the playback URL to the stream collectors.
    fn on_stream(&self) -> Option<monitor::StreamHook> {
        #[cfg(feature = "health")]
        if let Some(source) = self.source.clone() {
            return Some(Box::new(move |url: Option<&str>| match url {
                Some(url) => source.set(url),
                None => source.clear(),
            }));
        }
        None
    }

    async fn shutdown(self) {
        #[cfg(feature = "health")]
        if let Some(exporter) = self.exporter {
            exporter.shutdown().await;
        }
    }
}

/// Starts the exporter with every enabled collector plus the script collector. A port that
/// cannot be bound is logged and the kiosk plays on without it.
#[cfg(feature = "health")]
async fn start_health(health: HealthSettings, script: Option<ScriptHealth>) -> Monitoring {
    let Some(config) = health else { return Monitoring { exporter: None, source: None } };
    let source = health_stream::StreamSource::new();
    let addr = health_server::listen_addr(&config);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(
                target: "health",
                "cannot listen on {addr}: {e}; the kiosk plays on without health monitoring"
            );
            return Monitoring { exporter: None, source: None };
        }
    };
    let inputs = health_server::Inputs { stream_source: Some(source.clone()), script };
    match health_server::Exporter::start_with(listener, &config, inputs) {
        Ok(exporter) => Monitoring { exporter: Some(exporter), source: Some(source) },
        Err(e) => {
            tracing::error!(target: "health", "health monitoring is off: {e}");
            Monitoring { exporter: None, source: None }
        }
    }
}

/// Health monitoring is compiled out.
#[cfg(not(feature = "health"))]
async fn start_health(_: HealthSettings, _: Option<ScriptHealth>) -> Monitoring {
    Monitoring {}
}
