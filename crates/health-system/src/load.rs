//! Load averages over 1, 5 and 15 minutes, as the kernel reports them.

use health_core::{MetricDesc, Snapshot, Unit};
use sysinfo::System;

const LOAD1: MetricDesc =
    MetricDesc::gauge("load1", Unit::None, "System load average over 1 minute.");
const LOAD5: MetricDesc =
    MetricDesc::gauge("load5", Unit::None, "System load average over 5 minutes.");
const LOAD15: MetricDesc =
    MetricDesc::gauge("load15", Unit::None, "System load average over 15 minutes.");

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[LOAD1, LOAD5, LOAD15];

/// Adds the load averages to `snapshot`.
pub(crate) fn sample(snapshot: &mut Snapshot) {
    let load = System::load_average();
    snapshot
        .gauge(LOAD1.name, load.one)
        .gauge(LOAD5.name, load.five)
        .gauge(LOAD15.name, load.fifteen);
}
