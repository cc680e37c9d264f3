//! The hardware collector of vimeo-monitor (`HEALTH_HARDWARE_*`).
//!
//! Reports memory, swap and load average through sysinfo. CPU usage, disks, temperatures and
//! Raspberry Pi throttling join it with the hardware issue; until then it emits nothing it
//! cannot measure.

mod load;
mod memory;
mod roots;

pub use roots::Roots;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot, async_trait};
use sysinfo::System;

/// The collector's name: the `collector` label of the self-metrics.
pub const NAME: &str = "hardware";

/// What the hardware collector needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct HardwareOptions {
    /// Time between runs (`HEALTH_HARDWARE_INTERVAL`).
    pub interval: Duration,
    /// Where `/sys` and `/proc` are (`HEALTH_HARDWARE_SYSFS_ROOT`, `HEALTH_HARDWARE_PROCFS_ROOT`).
    pub roots: Roots,
    /// Only these mount points, when set (`HEALTH_HARDWARE_DISK_MOUNTPOINTS`); else every real
    /// filesystem.
    pub disk_mountpoints: Option<Vec<PathBuf>>,
    /// Where `vcgencmd` is, or whether to use it (`HEALTH_HARDWARE_VCGENCMD`).
    pub vcgencmd: Vcgencmd,
}

/// How to find `vcgencmd`, the Pi firmware's command-line tool.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Vcgencmd {
    /// Look in `/usr/bin`, then `/opt/vc/bin`.
    #[default]
    Auto,
    /// Never run it.
    Off,
    /// This path.
    Path(PathBuf),
}

impl HardwareOptions {
    /// The defaults for this interval: the real `/sys` and `/proc`, every disk, `vcgencmd` found
    /// automatically.
    pub fn new(interval: Duration) -> Self {
        Self { interval, roots: Roots::default(), disk_mountpoints: None, vcgencmd: Vcgencmd::Auto }
    }
}

/// Memory and load of the machine the exporter runs on.
#[derive(Debug)]
pub struct HardwareCollector {
    options: HardwareOptions,
    /// Kept between runs: sysinfo refreshes in place instead of re-reading everything.
    system: Arc<Mutex<System>>,
}

impl HardwareCollector {
    /// A collector with these options; reads nothing until its first run.
    pub fn new(options: HardwareOptions) -> Self {
        Self { options, system: Arc::new(Mutex::new(System::new())) }
    }
}

#[async_trait]
impl Collector for HardwareCollector {
    fn name(&self) -> &str {
        NAME
    }

    fn describe(&self) -> Vec<MetricDesc> {
        [memory::DESCRIPTIONS, load::DESCRIPTIONS].concat()
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(self.options.interval)
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let system = Arc::clone(&self.system);
        // sysinfo reads /proc synchronously: keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            let mut system = system.lock().unwrap_or_else(PoisonError::into_inner);
            let mut snapshot = Snapshot::new();
            memory::sample(&mut system, &mut snapshot);
            load::sample(&mut snapshot);
            snapshot
        })
        .await
        .map_err(|e| CollectError::from_source("reading memory and load", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use health_core::SampleValue;
    use health_core::testing::collect_checked;

    #[tokio::test]
    async fn reports_this_machines_memory_and_load() {
        let collector = HardwareCollector::new(HardwareOptions::new(Duration::from_secs(10)));
        let snapshot = collect_checked(&collector).await;
        let gauge = |name| match snapshot.get(name, &[]) {
            Some(SampleValue::Gauge(v)) => *v,
            other => panic!("{name}: {other:?}"),
        };
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
        let kib = |field: &str| -> f64 {
            let line = meminfo.lines().find(|l| l.starts_with(field)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() * 1024.0
        };
        assert_eq!(gauge("memory_total_bytes"), kib("MemTotal:"));
        let available = gauge("memory_available_bytes");
        assert!(available > 0.0 && available <= gauge("memory_total_bytes"));
        assert_eq!(gauge("swap_total_bytes"), kib("SwapTotal:"));
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap();
        let load1: f64 = loadavg.split_whitespace().next().unwrap().parse().unwrap();
        assert!((gauge("load1") - load1).abs() < 2.0, "load1 {} vs /proc {load1}", gauge("load1"));
        assert!(gauge("load5") >= 0.0 && gauge("load15") >= 0.0);
    }
}
