//! The plugin contract: what a collector is and how the scheduler drives it.

use std::time::Duration;

use async_trait::async_trait;

use crate::{MetricDesc, Snapshot};

/// When and for how long a collector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Time between the starts of two runs.
    pub interval: Duration,
    /// A run that takes longer is cancelled and counted as `timeout`.
    pub timeout: Duration,
}

impl Schedule {
    /// A schedule with this interval and a timeout of 80% of it (a run never overlaps the next).
    pub fn every(interval: Duration) -> Self {
        Self { interval, timeout: interval.mul_f64(0.8) }
    }

    /// The same schedule with another per-run timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Why a run failed. The message is shown in `/status` and logged; it must not hold secrets.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CollectError {
    message: String,
}

impl CollectError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    /// An error from a source error, with context: `context: source`.
    pub fn from_source(context: &str, source: &dyn std::error::Error) -> Self {
        Self { message: format!("{context}: {source}") }
    }
}

/// A source of metrics, run by the [`Scheduler`](crate::Scheduler) on its own [`Schedule`].
///
/// Implement it for your own collectors; `health-server` composes built-in ones the same way.
/// A collector is shared with the task that runs it, so state kept between runs (the previous CPU
/// counters, a resolver) lives behind a `Mutex`. Blocking work belongs in
/// [`tokio::task::spawn_blocking`], never on the async worker: the per-run timeout can only cancel
/// a run at an `.await`.
///
/// ```
/// use std::time::Duration;
/// use async_trait::async_trait;
/// use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot, Unit};
///
/// /// Reports how many files wait in a spool directory.
/// struct Spool { dir: std::path::PathBuf }
///
/// const QUEUE: MetricDesc = MetricDesc::gauge("spool_files", Unit::None, "Files waiting in the spool.");
///
/// #[async_trait]
/// impl Collector for Spool {
///     fn name(&self) -> &str { "spool" }
///     fn describe(&self) -> Vec<MetricDesc> { vec![QUEUE] }
///     fn schedule(&self) -> Schedule { Schedule::every(Duration::from_secs(30)) }
///     async fn collect(&self) -> Result<Snapshot, CollectError> {
///         let mut entries = tokio::fs::read_dir(&self.dir)
///             .await
///             .map_err(|e| CollectError::from_source("reading the spool", &e))?;
///         let mut files = 0;
///         while let Ok(Some(_)) = entries.next_entry().await { files += 1; }
///         let mut snapshot = Snapshot::new();
///         snapshot.gauge(QUEUE.name, f64::from(files));
///         Ok(snapshot)
///     }
/// }
///
/// # #[cfg(feature = "exposition")]
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let dir = std::env::temp_dir();
/// let collectors: Vec<Box<dyn Collector>> = vec![Box::new(Spool { dir })];
/// let exposition = health_core::Exposition::new("my_kiosk").unwrap();
/// let scheduler = health_core::Scheduler::builder(exposition.clone())
///     .startup_jitter(Duration::ZERO)
///     .start(collectors)
///     .unwrap();
/// tokio::time::sleep(Duration::from_millis(200)).await;
/// assert!(exposition.render().contains("my_kiosk_spool_files "));
/// scheduler.shutdown(Duration::from_secs(1)).await;
/// # }
/// # #[cfg(not(feature = "exposition"))] fn main() {}
/// ```
#[async_trait]
pub trait Collector: Send + Sync + 'static {
    /// A short, stable name: the `collector` label of the self-metrics and the key in `/status`.
    fn name(&self) -> &str;

    /// Every metric family this collector may emit. Samples not described here are dropped.
    fn describe(&self) -> Vec<MetricDesc>;

    /// Its interval and per-run timeout.
    fn schedule(&self) -> Schedule;

    /// Takes one snapshot. Every series not in it leaves the exposition.
    async fn collect(&self) -> Result<Snapshot, CollectError>;
}

/// A shared collector is a collector: the same instance can be handed to the scheduler again and
/// again (health-server keeps a caller's own collectors this way across configuration reloads,
/// with the state they keep between runs).
#[async_trait]
impl<C: Collector + ?Sized> Collector for std::sync::Arc<C> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn describe(&self) -> Vec<MetricDesc> {
        (**self).describe()
    }

    fn schedule(&self) -> Schedule {
        (**self).schedule()
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        (**self).collect().await
    }
}
