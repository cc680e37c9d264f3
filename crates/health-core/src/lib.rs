//! The contract every vimeo-monitor collector implements, and the machinery that runs them.
//!
//! - [`Collector`]: a plugin with a name, a description of every metric it may emit, a
//!   [`Schedule`] and an async `collect` that returns a [`Snapshot`].
//! - [`Scheduler`]: one task per collector, with start-up jitter, a per-run timeout and isolation
//!   from errors, timeouts and panics; cooperative shutdown with a deadline; reconfiguration.
//! - [`Exposition`]: the caller-owned set of metrics-exporter-prometheus recorders the scheduler
//!   publishes into; [`Exposition::render`] is what `/metrics` returns. No global recorder.
//! - [`StatusBoard`]: the last run of every collector, for `/status`, and the self-metrics
//!   (`<namespace>_collector_up`, `_duration_seconds`, `_last_success_timestamp_seconds`,
//!   `_runs_total`, `_run_duration_seconds`, and `build_info`).
//!
//! | Feature | What it adds | Default |
//! |---|---|---|
//! | `exposition` | [`Exposition`], the [`Scheduler`] that publishes into it (metrics-exporter-prometheus), [`StatusBoard`] and the self-metrics | yes |
//! | `test-util` | [`testing`]: run a collector once and check it emits only what it describes | no |
//!
//! - [`files`] and [`child_output`]: the small I/O rules every collector follows (missing is no
//!   data; a child's pipes are drained while it runs; errors quote a bounded part of its output).
//! - [`redact`]: signed URLs without their secrets, for everything that is shown or logged.
//!
//! What it deliberately does not do: serve HTTP (that is `health-server`) or read configuration.

pub mod child_output;
mod collector;
mod describe;
#[cfg(feature = "exposition")]
mod exposition;
pub mod files;
pub mod redact;
mod roots;
#[cfg(feature = "exposition")]
mod scheduler;
#[cfg(feature = "exposition")]
mod self_metrics;
mod snapshot;
#[cfg(feature = "exposition")]
mod status;
#[cfg(any(all(test, feature = "exposition"), feature = "test-util"))]
pub mod testing;
pub mod url;

pub use async_trait::async_trait;
pub use collector::{CollectError, Collector, Schedule};
pub use describe::{MetricDesc, MetricKind, Unit};
#[cfg(feature = "exposition")]
pub use exposition::{ExposedSeries, Exposition, ExpositionError};
pub use roots::Roots;
#[cfg(feature = "exposition")]
pub use scheduler::{Scheduler, SchedulerBuilder};
#[cfg(feature = "exposition")]
pub use self_metrics::{ConnectionCounters, DESCRIPTIONS as SELF_METRICS};
pub use snapshot::{Labels, Sample, SampleValue, Snapshot};
#[cfg(feature = "exposition")]
pub use status::{CollectorStatus, RunResult, StatusBoard};
