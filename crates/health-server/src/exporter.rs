//! The whole exporter: collectors, scheduler and HTTP server, started and stopped as one.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use health_core::{Collector, ConnectionCounters, Exposition, ExpositionError, Scheduler};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::compose::{ComposeError, Inputs, compose_with};
use crate::config::HealthConfig;
use crate::history::{History, Tapped};
use crate::http::{AppState, BearerAuth, router};
use crate::push::{self, PushError};
use crate::screen::ScreenImage;
use crate::serve::serve;

/// How long shutdown waits for a running collection, and separately for busy connections.
/// Together they keep SIGTERM-to-exit under 2 s.
const COLLECTOR_DEADLINE: Duration = Duration::from_millis(700);
const CONNECTION_GRACE: Duration = Duration::from_millis(700);

/// Why the exporter could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    /// The listening address could not be bound. The OS's reason is part of the message and
    /// deliberately not the error's `source()`: printed with its chain (`{:#}`), it would read
    /// "Address already in use" twice.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address from `HEALTH_METRICS_HOST` and `HEALTH_METRICS_PORT`.
        addr: SocketAddr,
        /// What the OS said.
        reason: std::io::Error,
    },
    /// An enabled collector is not compiled in.
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// The collectors' descriptions conflict.
    #[error(transparent)]
    Exposition(#[from] ExpositionError),
    /// Push mode cannot be set up.
    #[error(transparent)]
    Push(#[from] PushError),
}

/// A running exporter. Stop it with [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct Exporter {
    scheduler: Scheduler,
    auth: BearerAuth,
    screen: ScreenImage,
    history: History,
    inputs: Inputs,
    local_addr: SocketAddr,
    configured_addr: SocketAddr,
    /// Stops the server when the exporter is shut down, or dropped without a shutdown.
    stop: DropGuard,
    server: JoinHandle<()>,
}

/// The collectors `config` enables, each feeding `history`, plus the push collector in push
/// mode; logs the notes.
fn collectors(
    config: &HealthConfig,
    inputs: &Inputs,
    exposition: &Exposition,
    history: &History,
) -> Result<Vec<Box<dyn Collector>>, ExporterError> {
    let composition = compose_with(config, inputs)?;
    for note in &composition.notes {
        tracing::warn!(target: "health.server", "{note}");
    }
    let mut collectors: Vec<Box<dyn Collector>> = composition
        .collectors
        .into_iter()
        .map(|c| Box::new(Tapped::new(c, history.clone())) as Box<dyn Collector>)
        .collect();
    if let Some(pusher) = push::from_config(&config.push, exposition)? {
        tracing::info!(
            target: "health.server",
            target_url = %pusher.target(),
            interval = ?config.push.interval,
            "pushing to a Pushgateway",
        );
        collectors.push(Box::new(pusher));
    }
    Ok(collectors)
}

/// The address `config` asks to listen on.
pub fn listen_addr(config: &HealthConfig) -> SocketAddr {
    SocketAddr::new(config.metrics.host, config.metrics.port)
}

impl Exporter {
    /// Binds the configured address and starts everything.
    pub async fn start(config: &HealthConfig) -> Result<Self, ExporterError> {
        let addr = listen_addr(config);
        let listener =
            TcpListener::bind(addr).await.map_err(|reason| ExporterError::Bind { addr, reason })?;
        Self::start_on(listener, config)
    }

    /// Starts everything on an already bound listener (tests bind port 0 and pass it here).
    pub fn start_on(listener: TcpListener, config: &HealthConfig) -> Result<Self, ExporterError> {
        Self::start_with(listener, config, Inputs::default())
    }

    /// [`start_on`](Self::start_on), with what the embedding program hands to the collectors
    /// (kept for every [`reload`](Self::reload)).
    pub fn start_with(
        listener: TcpListener,
        config: &HealthConfig,
        inputs: Inputs,
    ) -> Result<Self, ExporterError> {
        let local_addr = listener
            .local_addr()
            .map_err(|reason| ExporterError::Bind { addr: listen_addr(config), reason })?;
        let exposition = Exposition::default();
        let history = History::new();
        let collectors = collectors(config, &inputs, &exposition, &history)?;
        let counters = ConnectionCounters::default();
        let scheduler = Scheduler::builder(exposition.clone())
            .version(env!("CARGO_PKG_VERSION"))
            .connections(counters.clone())
            .start(collectors)?;
        let auth = BearerAuth::new(config.metrics.bearer_token.clone());
        let screen = ScreenImage::new(&inputs, config.screen.thumbnail);
        let state = AppState {
            screen: screen.clone(),
            history: history.clone(),
            ..AppState::new(exposition, scheduler.status(), auth.clone())
        };
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(
            listener,
            router(state),
            stop.clone().cancelled_owned(),
            CONNECTION_GRACE,
            counters,
        ));
        tracing::info!(
            target: "health.server",
            address = %local_addr,
            "serving /metrics, /healthz, /status, the status page / and /screen.jpg",
        );
        let configured_addr = listen_addr(config);
        Ok(Self {
            scheduler,
            auth,
            screen,
            history,
            inputs,
            local_addr,
            configured_addr,
            stop: stop.drop_guard(),
            server,
        })
    }

    /// The address actually listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Applies a new configuration without restarting the listener: collectors, their intervals
    /// and targets, the bearer token and whether the screenshot is shown. On error nothing
    /// changes. The history carries over.
    pub async fn reload(&mut self, config: &HealthConfig) -> Result<(), ExporterError> {
        let collectors =
            collectors(config, &self.inputs, self.scheduler.exposition(), &self.history)?;
        self.scheduler.reconfigure(collectors, COLLECTOR_DEADLINE).await?;
        self.auth.set(config.metrics.bearer_token.clone());
        self.screen.set_shown(config.screen.thumbnail);
        if listen_addr(config) != self.configured_addr {
            tracing::warn!(
                target: "health.server",
                "the listening address changed to {}; it applies at the next restart",
                listen_addr(config)
            );
        }
        Ok(())
    }

    /// Stops collecting and serving; returns within about 1.5 s even with busy or idle clients.
    pub async fn shutdown(self) {
        drop(self.stop);
        let server = self.server;
        let ((), _) = tokio::join!(self.scheduler.shutdown(COLLECTOR_DEADLINE), server);
    }
}

/// Runs the exporter for `config` until `shutdown` resolves.
pub async fn run(
    config: &HealthConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ExporterError> {
    let exporter = Exporter::start(config).await?;
    shutdown.await;
    exporter.shutdown().await;
    Ok(())
}
