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
mod exposition;
pub mod files;
pub mod redact;
mod roots;
mod scheduler;
mod self_metrics;
mod snapshot;
mod status;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod url;

pub use async_trait::async_trait;
pub use collector::{CollectError, Collector, Schedule};
pub use describe::{MetricDesc, MetricKind, Unit};
pub use exposition::{Exposition, ExpositionError};
pub use roots::Roots;
pub use scheduler::{Scheduler, SchedulerBuilder};
pub use self_metrics::{ConnectionCounters, DESCRIPTIONS as SELF_METRICS};
pub use snapshot::{Labels, Sample, SampleValue, Snapshot};
pub use status::{CollectorStatus, RunResult, StatusBoard};
