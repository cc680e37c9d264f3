//! CPU usage of the whole machine and of each core, and each core's clock frequency.
//!
//! Usage is the busy share of the time between two runs, never since boot: [`Cpu::new`] takes a
//! baseline, so the first run after start-up reports the time since the part was created.
//! Only CPU usage and frequency are refreshed, never the rest of the shared [`System`].
//!
//! sysinfo refreshes CPU times at most every [`MINIMUM_CPU_UPDATE_INTERVAL`] (200 ms) and a
//! process refresh with CPU figures (see `process.rs`) also moves the machine-wide times but not
//! the per-core ones: call [`Cpu::sample`] before the process part in the same run.

use std::time::Instant;

use health_core::{MetricDesc, Snapshot, Unit};
use sysinfo::{CpuRefreshKind, MINIMUM_CPU_UPDATE_INTERVAL, System};

const USAGE: MetricDesc = MetricDesc::gauge(
    "cpu_usage_ratio",
    Unit::Ratio,
    "Busy share of all CPUs (user, nice, system, irq, softirq, steal, guest; not idle or iowait) \
     since the previous run, from /proc/stat.",
);
const CORE_USAGE: MetricDesc = MetricDesc::gauge(
    "cpu_core_usage_ratio",
    Unit::Ratio,
    "Busy share of one logical CPU since the previous run, from /proc/stat.",
)
.labels(&["core"]);
const FREQUENCY: MetricDesc = MetricDesc::gauge(
    "cpu_frequency_hertz",
    Unit::Hertz,
    "Current clock frequency of one logical CPU (cpufreq scaling_cur_freq, else /proc/cpuinfo); \
     lower than usual on a throttled Raspberry Pi. Absent when the kernel does not say.",
)
.labels(&["core"]);

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[USAGE, CORE_USAGE, FREQUENCY];

/// The CPU part: remembers when CPU times were last read, so a run never reads them too soon.
#[derive(Debug)]
pub(crate) struct Cpu {
    /// Taken just after the last refresh of CPU times (so never before sysinfo's own mark).
    last_refresh: Instant,
}

impl Cpu {
    /// Reads the CPU times once as the baseline of the first run.
    pub(crate) fn new(system: &mut System) -> Self {
        system.refresh_cpu_specifics(CpuRefreshKind::nothing().with_cpu_usage());
        Self { last_refresh: Instant::now() }
    }

    /// Adds usage since the previous run (or since [`new`](Self::new)) and frequencies.
    ///
    /// A run less than 200 ms after the previous one first waits out the rest: sysinfo would
    /// otherwise skip the refresh and repeat the old figures (or report 0 on the first run).
    pub(crate) fn sample(&mut self, system: &mut System, snapshot: &mut Snapshot) {
        let since = self.last_refresh.elapsed();
        if since < MINIMUM_CPU_UPDATE_INTERVAL {
            std::thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL - since);
        }
        system.refresh_cpu_specifics(CpuRefreshKind::nothing().with_cpu_usage().with_frequency());
        self.last_refresh = Instant::now();

        let cpus = system.cpus();
        if cpus.is_empty() {
            snapshot.problem("cpu: no CPU found in /proc/stat");
            return;
        }
        if let Some(usage) = ratio(system.global_cpu_usage()) {
            snapshot.gauge(USAGE.name, usage);
        }
        for (index, cpu) in cpus.iter().enumerate() {
            let core = core_label(cpu.name(), index);
            if let Some(usage) = ratio(cpu.cpu_usage()) {
                snapshot.gauge_with(CORE_USAGE.name, vec![("core", core.clone())], usage);
            }
            // sysinfo reports MHz; 0 means the kernel exposes no frequency for this core.
            let mhz = cpu.frequency();
            if mhz > 0 {
                snapshot.gauge_with(FREQUENCY.name, vec![("core", core)], mhz as f64 * 1e6);
            }
        }
    }
}

/// A sysinfo percentage as a ratio in 0..=1; `None` when it is not a number.
fn ratio(percent: f32) -> Option<f64> {
    let ratio = f64::from(percent) / 100.0;
    ratio.is_finite().then(|| ratio.clamp(0.0, 1.0))
}

/// The kernel's CPU number (`cpu3` → `3`), or the position in the list if the name has none.
fn core_label(name: &str, index: usize) -> String {
    match name.strip_prefix("cpu") {
        Some(number) if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
            number.to_owned()
        }
        _ => index.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::burn;
    use health_core::SampleValue;
    use health_core::testing::{assert_described, gauge};
    use std::time::Duration;

    /// Busy and total ticks summed over all CPUs, as sysinfo counts them (first 8 fields).
    fn proc_stat_ticks() -> (u64, u64) {
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let line = stat.lines().find(|l| l.starts_with("cpu ")).unwrap();
        let fields: Vec<u64> =
            line.split_whitespace().skip(1).take(8).map(|f| f.parse().unwrap()).collect();
        let total: u64 = fields.iter().sum();
        let idle = fields[3] + fields[4];
        (total - idle, total)
    }

    fn logical_cpus() -> usize {
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        stat.lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count()
    }

    #[test]
    fn first_run_reports_usage_since_creation_not_since_boot() {
        let mut system = System::new();
        let mut cpu = Cpu::new(&mut system);
        let (busy0, total0) = proc_stat_ticks();
        burn(Duration::from_millis(400));
        let (busy1, total1) = proc_stat_ticks();
        let mut snapshot = Snapshot::new();
        cpu.sample(&mut system, &mut snapshot);

        let ncpus = logical_cpus() as f64;
        let window = (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64;
        let reported = gauge(&snapshot, &USAGE.name, &[]);
        assert!(reported <= 1.0, "usage {reported} above 1");
        // One core was busy the whole window: since boot would be far lower on an idle machine.
        assert!(reported >= 0.5 / ncpus, "usage {reported} with {ncpus} CPUs and one burning");
        assert!(
            (reported - window).abs() < 0.15,
            "usage {reported} vs /proc/stat over the same window {window}"
        );
        assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
        assert_described(DESCRIPTIONS, &snapshot);
    }

    #[test]
    fn one_ratio_per_logical_cpu_and_plausible_frequencies() {
        let mut system = System::new();
        let mut cpu = Cpu::new(&mut system);
        let mut snapshot = Snapshot::new();
        cpu.sample(&mut system, &mut snapshot);

        let cores: Vec<_> =
            snapshot.samples().iter().filter(|s| s.name == CORE_USAGE.name).collect();
        assert_eq!(cores.len(), logical_cpus());
        for sample in &cores {
            let SampleValue::Gauge(v) = sample.value else { panic!("{sample:?}") };
            assert!((0.0..=1.0).contains(&v), "{sample:?}");
            assert_eq!(sample.labels[0].0, "core");
            assert!(sample.labels[0].1.parse::<usize>().is_ok(), "{sample:?}");
        }
        for sample in snapshot.samples().iter().filter(|s| s.name == FREQUENCY.name) {
            let SampleValue::Gauge(hz) = sample.value else { panic!("{sample:?}") };
            assert!(hz > 1e8, "{sample:?}");
        }
    }

    #[test]
    fn a_second_run_soon_after_still_reads_fresh_times() {
        let mut system = System::new();
        let mut cpu = Cpu::new(&mut system);
        let mut first = Snapshot::new();
        cpu.sample(&mut system, &mut first);
        let start = Instant::now();
        let mut second = Snapshot::new();
        cpu.sample(&mut system, &mut second);
        assert!(start.elapsed() >= Duration::from_millis(150), "no wait before a re-read");
        assert!(second.get(&USAGE.name, &[]).is_some());
    }

    #[test]
    fn ratios_are_clamped_and_non_numbers_dropped() {
        assert_eq!(ratio(150.0), Some(1.0));
        assert_eq!(ratio(-3.0), Some(0.0));
        assert_eq!(ratio(25.0), Some(0.25));
        assert_eq!(ratio(f32::NAN), None);
        assert_eq!(ratio(f32::INFINITY), None);
    }

    #[test]
    fn core_labels_come_from_the_kernel_name() {
        assert_eq!(core_label("cpu0", 5), "0");
        assert_eq!(core_label("cpu12", 1), "12");
        assert_eq!(core_label("", 3), "3");
        assert_eq!(core_label("cpu", 2), "2");
        assert_eq!(core_label("cpuX", 4), "4");
    }
}
