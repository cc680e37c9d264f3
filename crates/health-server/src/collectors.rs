//! The collectors this crate knows: one row each, the only list of them.
//!
//! A row says what the exporter needs to know about a collector wherever it appears: its name,
//! the cargo feature that builds it, what turns it on, a line on what it watches, and, when its
//! feature is compiled in, the collectors it runs with their metrics and how to build them.
//! [`compose_with`](crate::compose_with) builds from the rows, [`catalogue`](crate::catalogue)
//! (and so `docs/metrics.md`) lists their metrics, and the status page lists them with how to turn
//! on those that are off.
//!
//! Adding a collector: its own file here (the row, its constructor behind its feature), one line
//! in [`COLLECTORS`], and its settings (`config/keys.rs`, the field in `config.rs`).

mod hardware;
mod network;
mod push;
mod remote_write;
mod script;
mod stream;

use std::borrow::Cow;

use health_core::MetricDesc;

use crate::compose::{Composition, Inputs};
use crate::config::HealthConfig;

/// Every collector, in the order they are built, catalogued and shown.
pub(crate) const COLLECTORS: &[CollectorEntry] = &[
    hardware::ENTRY,
    network::ENTRY,
    stream::ENTRY,
    script::ENTRY,
    push::ENTRY,
    remote_write::ENTRY,
];

/// One collector: everything the exporter knows about it, in one place.
#[derive(Debug)]
pub(crate) struct CollectorEntry {
    /// How messages and the status page call it ("the stream collector").
    pub name: &'static str,
    /// The cargo feature of `health-server` that builds it; `None`: always built in.
    pub feature: Option<&'static str>,
    /// What it watches, in a line.
    pub description: &'static str,
    /// What in the configuration turns it on.
    pub enable: Enable,
    /// What this build has of it: `None` when its feature is not compiled in.
    pub compiled: Option<Compiled>,
}

/// What turns a collector on.
#[derive(Debug)]
pub(crate) enum Enable {
    /// A `HEALTH_..._ENABLED` switch, and where the configuration keeps it. The collector is built
    /// only when it is on.
    Switch { key: &'static str, on: fn(&HealthConfig) -> bool },
    /// Settings whose presence asks for it: `set` names the first one set, if any; `hint` says
    /// how to ask. Its constructor is called whatever they say, since an embedding program may
    /// ask for it through its [`Inputs`] (the kiosk hands over its own health record).
    Presence { set: fn(&HealthConfig) -> Option<&'static str>, hint: &'static str },
}

/// The part of a collector that exists only when its feature is compiled in.
#[derive(Debug)]
pub(crate) struct Compiled {
    /// The collectors it runs: each one's `collector` label, interval and metrics.
    pub runs: &'static [Run],
    /// How [`compose_with`](crate::compose_with) builds them; `None`: the exporter does, since
    /// only it holds what they need (the push collector pushes the exporter's exposition).
    pub compose: Option<Compose>,
}

/// One collector the scheduler runs.
#[derive(Debug)]
pub(crate) struct Run {
    /// Its `collector` label and `/status` key ([`health_core::Collector::name`]).
    pub name: &'static str,
    /// The setting that decides how often it runs, as the metrics reference shows it.
    pub interval: &'static str,
    /// Everything it may emit, whatever the configuration.
    pub metrics: fn() -> Vec<MetricDesc>,
}

/// A constructor: adds the collectors the configuration and the inputs ask for to the
/// composition, with notes for the log.
pub(crate) type Compose = fn(&HealthConfig, &Inputs, &mut Composition);

impl Enable {
    /// The setting in `config` that asks for the collector, if any.
    pub(crate) fn asked_by(&self, config: &HealthConfig) -> Option<&'static str> {
        match self {
            Self::Switch { key, on } => on(config).then_some(*key),
            Self::Presence { set, .. } => set(config),
        }
    }

    /// Whether compose calls the constructor for `config`: a switch decides alone, settings
    /// whose presence asks are decided by the constructor (see [`Enable::Presence`]).
    pub(crate) fn builds(&self, config: &HealthConfig) -> bool {
        match self {
            Self::Switch { on, .. } => on(config),
            Self::Presence { .. } => true,
        }
    }

    /// What to set to turn the collector on: `set HEALTH_NETWORK_ENABLED=true`.
    pub(crate) fn hint(&self) -> Cow<'static, str> {
        match self {
            Self::Switch { key, .. } => Cow::Owned(format!("set {key}=true")),
            Self::Presence { hint, .. } => Cow::Borrowed(hint),
        }
    }
}

/// The row named `name`. Panics on a name no row has: callers name rows by literal.
pub(crate) fn entry(name: &str) -> &'static CollectorEntry {
    COLLECTORS
        .iter()
        .find(|entry| entry.name == name)
        .unwrap_or_else(|| panic!("no collector row is named {name:?}"))
}

impl CollectorEntry {
    /// What would turn it on: its setting, or the cargo feature when it is not compiled in.
    pub(crate) fn turn_on(&self) -> Cow<'static, str> {
        match (&self.compiled, self.feature) {
            (None, Some(feature)) => {
                Cow::Owned(format!("build health-server with `--features {feature}`"))
            }
            _ => self.enable.hint(),
        }
    }

    /// The collectors it runs in this build; none when its feature is not compiled in.
    pub(crate) fn runs(&self) -> &'static [Run] {
        self.compiled.as_ref().map_or(&[], |compiled| compiled.runs)
    }
}

#[cfg(test)]
mod tests;
