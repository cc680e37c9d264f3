//! Physical memory and swap, in bytes.

use health_core::{MetricDesc, Snapshot, Unit};
use sysinfo::System;

const TOTAL: MetricDesc =
    MetricDesc::gauge("memory_total_bytes", Unit::Bytes, "Physical memory installed.");
const AVAILABLE: MetricDesc = MetricDesc::gauge(
    "memory_available_bytes",
    Unit::Bytes,
    "Memory available for new work without swapping (MemAvailable).",
);
const SWAP_TOTAL: MetricDesc =
    MetricDesc::gauge("swap_total_bytes", Unit::Bytes, "Swap space configured.");
const SWAP_USED: MetricDesc =
    MetricDesc::gauge("swap_used_bytes", Unit::Bytes, "Swap space in use.");

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[TOTAL, AVAILABLE, SWAP_TOTAL, SWAP_USED];

/// Refreshes memory figures only (not processes, not CPUs) and adds them to `snapshot`.
pub(crate) fn sample(system: &mut System, snapshot: &mut Snapshot) {
    system.refresh_memory();
    // u64 → f64 is exact up to 2^53 bytes (8 PiB).
    snapshot
        .gauge(TOTAL.name, system.total_memory() as f64)
        .gauge(AVAILABLE.name, system.available_memory() as f64)
        .gauge(SWAP_TOTAL.name, system.total_swap() as f64)
        .gauge(SWAP_USED.name, system.used_swap() as f64);
}
