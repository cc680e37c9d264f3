//! The whole exporter: collectors, scheduler and HTTP server, started and stopped as one.
//!
//! [`Exporter::builder`] is how a program composes it: the collectors the configuration enables,
//! plus collectors of the caller's own, under the caller's namespace, realm and version.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use health_core::{Collector, ConnectionCounters, Exposition, ExpositionError, Scheduler};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::compose::{ComposeError, Inputs, compose_with};
use crate::config::HealthConfig;
use crate::history::{History, Tapped};
use crate::http::{AppState, BearerAuth, InvalidRealm, Realm, router};
use crate::push::{self, PushError};
use crate::remote_write::{RemoteWriteError, Running};
use crate::screen::ScreenImage;
use crate::serve::serve;

/// How long shutdown waits for a running collection, and separately for busy connections.
/// Together they keep SIGTERM-to-exit under 2 s.
const COLLECTOR_DEADLINE: Duration = Duration::from_millis(700);
const CONNECTION_GRACE: Duration = Duration::from_millis(700);
/// How long shutdown lets remote-write send its queues, beside the two above: still under 2 s.
const DELIVERY_DEADLINE: Duration = Duration::from_millis(1200);

/// Why the exporter could not start or reload.
///
/// `#[non_exhaustive]`: new ways to fail come with new features in minor releases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// The collectors' descriptions conflict, or the namespace is not a valid metric prefix.
    #[error(transparent)]
    Exposition(#[from] ExpositionError),
    /// The builder's realm cannot be sent in a header.
    #[error(transparent)]
    Realm(#[from] InvalidRealm),
    /// Push mode cannot be set up.
    #[error(transparent)]
    Push(#[from] PushError),
    /// Remote-write cannot be set up.
    #[error(transparent)]
    RemoteWrite(#[from] RemoteWriteError),
}

/// A running exporter. Stop it with [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct Exporter {
    scheduler: Scheduler,
    auth: BearerAuth,
    screen: ScreenImage,
    history: History,
    inputs: Inputs,
    /// The caller's own collectors, handed to the scheduler again at every reload.
    own: Own,
    local_addr: SocketAddr,
    configured_addr: SocketAddr,
    /// Remote-write's delivery (its queues), kept across reloads that leave its settings be.
    remote_write: Option<Running>,
    /// Stops the server when the exporter is shut down, or dropped without a shutdown.
    stop: DropGuard,
    server: JoinHandle<()>,
}

/// The caller's own collectors, shared so that every reload hands the scheduler the same
/// instances; `Debug` shows their names.
#[derive(Default)]
struct Own(Vec<Arc<dyn Collector>>);

impl std::fmt::Debug for Own {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|c| c.name())).finish()
    }
}

/// The collectors `config` enables, each feeding `history`, the caller's `own` collectors, the
/// push collector in push mode and the remote_write collector feeding `remote_write`; logs the
/// notes.
fn collectors(
    config: &HealthConfig,
    inputs: &Inputs,
    own: &Own,
    exposition: &Exposition,
    history: &History,
    remote_write: Option<&Running>,
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
    collectors.extend(own.0.iter().map(|c| Box::new(Arc::clone(c)) as Box<dyn Collector>));
    if let Some(pusher) = push::from_config(&config.push, exposition)? {
        tracing::info!(
            target: "health.server",
            target_url = %pusher.target(),
            interval = ?config.push.interval,
            "pushing to a Pushgateway",
        );
        collectors.push(Box::new(pusher));
    }
    if let Some(running) = remote_write {
        tracing::info!(
            target: "health.server",
            receivers = ?config.remote_write.urls,
            interval = ?config.remote_write.interval,
            "sending with Prometheus remote-write",
        );
        collectors.push(Box::new(running.collector(config, exposition)));
    }
    Ok(collectors)
}

/// The address `config` asks to listen on.
pub fn listen_addr(config: &HealthConfig) -> SocketAddr {
    SocketAddr::new(config.metrics.host, config.metrics.port)
}

/// Composes an [`Exporter`]: start from [`Exporter::builder`], add collectors of your own,
/// then [`start`](Self::start) or [`start_on`](Self::start_on).
///
/// ```no_run
/// # use health_server::{Exporter, config::HealthConfig};
/// # async fn example(my_collector: impl health_core::Collector) -> Result<(), health_server::ExporterError> {
/// let config = HealthConfig::default();
/// let exporter = Exporter::builder(&config)
///     .collector(my_collector)
///     .namespace("acme")
///     .realm("acme-kiosks")
///     .version("2.1.0")
///     .start()
///     .await?;
/// # exporter.shutdown().await; Ok(()) }
/// ```
///
/// A collector added here is kept for the exporter's whole life: [`Exporter::reload`] rebuilds
/// the configured collectors and hands the scheduler the same instance of yours again, so it
/// keeps the state it holds between runs (it is shared through an [`Arc`], which is why a
/// collector is `Send + Sync` and keeps its state behind a `Mutex`).
#[derive(Debug)]
#[must_use = "an exporter builder does nothing until started"]
pub struct ExporterBuilder {
    config: HealthConfig,
    own: Own,
    namespace: String,
    inputs: Inputs,
    realm: String,
    version: String,
}

impl ExporterBuilder {
    /// Adds a collector of your own, served beside the configured ones and kept across every
    /// [`reload`](Exporter::reload). Its name and metric names must not clash with another's
    /// (checked at start).
    pub fn collector(mut self, collector: impl Collector) -> Self {
        self.own.0.push(Arc::new(collector));
        self
    }

    /// The prefix of every metric name (default `vimeo_monitor`): lowercase letters, digits and
    /// `_`, starting with a letter and not ending in `_`. Checked at start.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// What the embedding program hands to the collectors (the kiosk's stream URL and health
    /// record), kept for every reload.
    pub fn inputs(mut self, inputs: Inputs) -> Self {
        self.inputs = inputs;
        self
    }

    /// The realm of the `WWW-Authenticate: Bearer realm="…"` challenge of a refused request
    /// (default `vimeo-monitor`): printable ASCII without `"` or `\`. Checked at start.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// The version `/status` reports and `build_info` carries (default: health-server's own).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Binds the configured address (`HEALTH_METRICS_HOST`, `HEALTH_METRICS_PORT`) and starts.
    /// A bad namespace or realm is reported before anything is bound.
    pub async fn start(self) -> Result<Exporter, ExporterError> {
        self.check()?;
        let addr = listen_addr(&self.config);
        let listener =
            TcpListener::bind(addr).await.map_err(|reason| ExporterError::Bind { addr, reason })?;
        self.start_on(listener)
    }

    /// Starts on an already bound listener (tests bind port 0 and pass it here).
    pub fn start_on(self, listener: TcpListener) -> Result<Exporter, ExporterError> {
        let (exposition, realm) = self.check()?;
        let config = &self.config;
        let local_addr = listener
            .local_addr()
            .map_err(|reason| ExporterError::Bind { addr: listen_addr(config), reason })?;
        let history = History::new();
        let remote_write = Running::start(config)?;
        let collectors = collectors(
            config,
            &self.inputs,
            &self.own,
            &exposition,
            &history,
            remote_write.as_ref(),
        )?;
        let counters = ConnectionCounters::default();
        let scheduler = Scheduler::builder(exposition.clone())
            .version(self.version.clone())
            .connections(counters.clone())
            .start(collectors)?;
        let auth = BearerAuth::new(config.metrics.bearer_token.clone());
        let screen = ScreenImage::new(&self.inputs, config.screen.thumbnail);
        let state = AppState {
            screen: screen.clone(),
            history: history.clone(),
            realm,
            version: self.version.into(),
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
        Ok(Exporter {
            scheduler,
            auth,
            screen,
            history,
            inputs: self.inputs,
            own: self.own,
            local_addr,
            configured_addr: listen_addr(config),
            remote_write,
            stop: stop.drop_guard(),
            server,
        })
    }

    /// The exposition for the namespace and the realm, or why they are not valid.
    fn check(&self) -> Result<(Exposition, Realm), ExporterError> {
        Ok((Exposition::new(&self.namespace)?, Realm::new(&self.realm)?))
    }
}

impl Exporter {
    /// A builder for an exporter of `config`'s collectors, to which you can add your own.
    pub fn builder(config: &HealthConfig) -> ExporterBuilder {
        ExporterBuilder {
            config: config.clone(),
            own: Own::default(),
            namespace: Exposition::default().namespace().to_owned(),
            inputs: Inputs::default(),
            realm: Realm::DEFAULT.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Binds the configured address and starts everything.
    pub async fn start(config: &HealthConfig) -> Result<Self, ExporterError> {
        Self::builder(config).start().await
    }

    /// Starts everything on an already bound listener (tests bind port 0 and pass it here).
    pub fn start_on(listener: TcpListener, config: &HealthConfig) -> Result<Self, ExporterError> {
        Self::builder(config).start_on(listener)
    }

    /// [`start_on`](Self::start_on), with what the embedding program hands to the collectors
    /// (kept for every [`reload`](Self::reload)).
    pub fn start_with(
        listener: TcpListener,
        config: &HealthConfig,
        inputs: Inputs,
    ) -> Result<Self, ExporterError> {
        Self::builder(config).inputs(inputs).start_on(listener)
    }

    /// The address actually listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Applies a new configuration without restarting the listener: collectors, their intervals
    /// and targets, the bearer token and whether the screenshot is shown. The collectors added
    /// with [`ExporterBuilder::collector`] stay, the same instances. On error nothing changes.
    /// The history carries over.
    pub async fn reload(&mut self, config: &HealthConfig) -> Result<(), ExporterError> {
        // Remote-write's queues stay unless its own settings changed; a new delivery is started
        // before anything else changes, and the old one retired only once the reload holds.
        let kept = self.remote_write.as_ref().is_some_and(|r| r.serves(config));
        let fresh = if kept { None } else { Some(Running::start(config)?) };
        let remote_write = match &fresh {
            Some(fresh) => fresh.as_ref(),
            None => self.remote_write.as_ref(),
        };
        let exposition = self.scheduler.exposition();
        let built =
            collectors(config, &self.inputs, &self.own, exposition, &self.history, remote_write);
        let applied = match built {
            Ok(collectors) => self.scheduler.reconfigure(collectors, COLLECTOR_DEADLINE).await,
            Err(error) => {
                if let Some(fresh) = fresh.flatten() {
                    fresh.retire();
                }
                return Err(error);
            }
        };
        if let Err(error) = applied {
            if let Some(fresh) = fresh.flatten() {
                fresh.retire();
            }
            return Err(error.into());
        }
        if let Some(fresh) = fresh
            && let Some(old) = std::mem::replace(&mut self.remote_write, fresh)
        {
            old.retire();
        }
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

    /// Stops collecting and serving, and gives remote-write its last chance to send its
    /// queues (keeping the rest on disk with persistence); returns within about 1.5 s even with
    /// busy or idle clients and an unreachable receiver.
    pub async fn shutdown(self) {
        drop(self.stop);
        let server = self.server;
        let delivery = async {
            if let Some(running) = self.remote_write {
                running.shutdown(DELIVERY_DEADLINE).await;
            }
        };
        let ((), _, ()) =
            tokio::join!(self.scheduler.shutdown(COLLECTOR_DEADLINE), server, delivery);
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
