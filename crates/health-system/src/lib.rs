//! The hardware collector of vimeo-monitor (`HEALTH_HARDWARE_*`).
//!
//! One collector, `hardware`, built from parts that each own a file:
//! - sysinfo: `cpu` (usage since the previous run, per core, frequency), `memory`, `load`,
//!   `disk` (real filesystems only), `process` (this exporter's own memory and CPU);
//! - the kernel's files, re-rootable for fixtures ([`Roots`]): `thermal` (thermal zones and
//!   hwmon), `pi` (throttling from the firmware file, `vcgencmd` or hwmon `rpi_volt`, and the
//!   device-tree model), `display` (the DRM connectors: plugged in, driven, awake, preferred mode;
//!   and the TV's power state over HDMI-CEC with `cec-ctl`).
//!
//! A missing sensor is no data: its series are absent and the run succeeds. A file that exists
//! but cannot be parsed is a problem of that run (logged with its path and content) while the
//! other figures still publish.

mod cpu;
mod disk;
mod display;
mod load;
mod memory;
mod pi;
mod process;
mod roots;
#[cfg(test)]
mod test_support;
mod thermal;

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
    /// Where `cec-ctl` is, or whether to ask the TV at all (`HEALTH_HARDWARE_CEC`).
    pub cec: Cec,
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

/// How to ask the TV for its power state over HDMI-CEC: `cec-ctl`, from v4l-utils. Each run of
/// the collector sends the TV one CEC message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cec {
    /// `/usr/bin/cec-ctl`, when it and `/dev/cec0` exist; any failure is no data.
    #[default]
    Auto,
    /// Never ask.
    Off,
    /// This path, on `/dev/cec0`; a failed run is a problem of the run.
    Path(PathBuf),
}

impl HardwareOptions {
    /// The defaults for this interval: the real `/sys` and `/proc`, every disk, `vcgencmd` and
    /// `cec-ctl` found automatically.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            roots: Roots::default(),
            disk_mountpoints: None,
            vcgencmd: Vcgencmd::Auto,
            cec: Cec::Auto,
        }
    }
}

/// CPU, memory, disks, temperatures, this process, Raspberry Pi throttling and the display.
#[derive(Debug)]
pub struct HardwareCollector {
    options: HardwareOptions,
    /// Kept between runs: sysinfo refreshes in place, and CPU figures are deltas.
    state: Arc<Mutex<State>>,
    pi: pi::Pi,
    tv: display::TvPower,
}

/// The sysinfo-backed parts, used together on a blocking thread.
#[derive(Debug)]
struct State {
    system: System,
    cpu: cpu::Cpu,
    process: process::ThisProcess,
    disks: disk::DiskSpace,
}

impl HardwareCollector {
    /// A collector with these options. Takes the CPU baselines now, so its first run reports
    /// usage since it was created, not since boot.
    pub fn new(options: HardwareOptions) -> Self {
        let mut system = System::new();
        let cpu = cpu::Cpu::new(&mut system);
        let process = process::ThisProcess::new(&mut system);
        let disks = disk::DiskSpace::new(options.disk_mountpoints.clone());
        let pi = pi::Pi::new(options.vcgencmd.clone());
        let tv = display::TvPower::new(options.cec.clone());
        let state = Arc::new(Mutex::new(State { system, cpu, process, disks }));
        Self { options, state, pi, tv }
    }
}

#[async_trait]
impl Collector for HardwareCollector {
    fn name(&self) -> &str {
        NAME
    }

    fn describe(&self) -> Vec<MetricDesc> {
        [
            cpu::DESCRIPTIONS,
            load::DESCRIPTIONS,
            memory::DESCRIPTIONS,
            disk::DESCRIPTIONS,
            process::DESCRIPTIONS,
            thermal::DESCRIPTIONS,
            pi::DESCRIPTIONS,
            display::DESCRIPTIONS,
        ]
        .concat()
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(self.options.interval)
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let state = Arc::clone(&self.state);
        let roots = self.options.roots.clone();
        // sysinfo and sysfs reads are synchronous: keep them off the async workers.
        let mut snapshot = tokio::task::spawn_blocking(move || {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let State { system, cpu, process, disks } = &mut *state;
            let mut snapshot = Snapshot::new();
            // CPU first: refreshing the process also refreshes the machine-wide CPU times,
            // which would make the per-core refresh right after it a no-op.
            cpu.sample(system, &mut snapshot);
            process.sample(system, &mut snapshot);
            memory::sample(system, &mut snapshot);
            load::sample(&mut snapshot);
            disks.sample(&mut snapshot);
            thermal::sample(&roots, &mut snapshot);
            display::sample(&roots, &mut snapshot);
            snapshot
        })
        .await
        .map_err(|e| CollectError::from_source("reading hardware figures", &e))?;
        // The throttling state may need `vcgencmd` and the TV's power state needs `cec-ctl`: child
        // processes with timeouts, run side by side so the run takes the longer, not the sum.
        let (mut pi, mut tv) = (Snapshot::new(), Snapshot::new());
        tokio::join!(self.pi.sample(&self.options.roots, &mut pi), self.tv.sample(&mut tv));
        snapshot.extend(pi);
        snapshot.extend(tv);
        Ok(snapshot)
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
