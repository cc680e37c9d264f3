//! The exporter's own footprint (resident memory, CPU) and the machine's boot time.
//!
//! Only this process is refreshed, with only its CPU times and memory, never the process table.
//! CPU usage is CPU time over wall time since the previous run; [`ThisProcess::new`] takes a
//! baseline, so the first run reports the time since the part was created, not since start-up.
//!
//! A process refresh with CPU times also makes sysinfo re-read the machine-wide CPU times (not
//! the per-core ones), so run `Cpu::sample` first in the same run (see `cpu.rs`).

use std::time::Instant;

use health_core::{MetricDesc, Snapshot, Unit};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

const RESIDENT: MetricDesc = MetricDesc::gauge(
    "process_resident_memory_bytes",
    Unit::Bytes,
    "Resident memory of this exporter process (RSS, from /proc/self/statm).",
);
const CPU: MetricDesc = MetricDesc::gauge(
    "process_cpu_usage_ratio",
    Unit::Ratio,
    "CPU time of this exporter process (user + system, all threads) over wall time since the \
     previous run, as a share of one core: above 1 when it keeps more than one core busy.",
);
const BOOT: MetricDesc = MetricDesc::gauge(
    "system_boot_time_seconds",
    Unit::Seconds,
    "Unix time the machine booted (btime in /proc/stat); moves when the clock is set, e.g. by the \
     first NTP sync of a Raspberry Pi without a real-time clock.",
);

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[RESIDENT, CPU, BOOT];

/// The process part: this process's id and its CPU time at the previous run.
#[derive(Debug)]
pub(crate) struct ThisProcess {
    /// `None` when the platform cannot tell (then only the boot time is reported).
    pid: Option<Pid>,
    /// CPU milliseconds used by this process and when they were read, at the previous run.
    previous: Option<(u64, Instant)>,
}

impl ThisProcess {
    /// Reads this process's CPU time once as the baseline of the first run.
    pub(crate) fn new(system: &mut System) -> Self {
        let pid = sysinfo::get_current_pid().ok();
        let previous = pid.and_then(|pid| refresh(system, pid)).map(|(cpu_ms, _)| cpu_ms);
        Self { pid, previous: previous.map(|cpu_ms| (cpu_ms, Instant::now())) }
    }

    /// Adds resident memory, CPU usage since the previous run and the boot time.
    pub(crate) fn sample(&mut self, system: &mut System, snapshot: &mut Snapshot) {
        match System::boot_time() {
            0 => snapshot.problem("process: boot time unknown (no btime in /proc/stat)"),
            boot => snapshot.gauge(BOOT.name, boot as f64),
        };
        let Some(pid) = self.pid else {
            snapshot.problem("process: this process's id is unknown on this platform");
            return;
        };
        let Some((cpu_ms, resident)) = refresh(system, pid) else {
            snapshot.problem(format!("process: /proc/{pid} could not be read"));
            return;
        };
        let now = Instant::now();
        snapshot.gauge(RESIDENT.name, resident as f64);
        if let Some(ratio) = self.previous.and_then(|previous| cpu_ratio(previous, (cpu_ms, now))) {
            snapshot.gauge(CPU.name, ratio);
        }
        self.previous = Some((cpu_ms, now));
    }
}

/// CPU time used between two readings over the wall time between them (share of one core).
///
/// `None` when no time passed. CPU time never goes back; if it seems to, the figure is 0.
fn cpu_ratio(
    (before_ms, before): (u64, Instant),
    (after_ms, after): (u64, Instant),
) -> Option<f64> {
    let wall = after.checked_duration_since(before)?.as_secs_f64();
    let ratio = after_ms.saturating_sub(before_ms) as f64 / 1000.0 / wall;
    (wall > 0.0 && ratio.is_finite()).then_some(ratio)
}

/// Refreshes this process only, with CPU times and memory; its CPU milliseconds and RSS bytes.
fn refresh(system: &mut System, pid: Pid) -> Option<(u64, u64)> {
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_cpu().with_memory(),
    );
    let process = system.process(pid)?;
    Some((process.accumulated_cpu_time(), process.memory()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::burn;
    use health_core::testing::{assert_described, gauge};
    use std::time::Duration;

    fn proc_field(file: &str, key: &str) -> f64 {
        let text = std::fs::read_to_string(file).unwrap();
        let line = text.lines().find(|l| l.starts_with(key)).unwrap();
        line[key.len()..].split_whitespace().next().unwrap().parse().unwrap()
    }

    #[test]
    fn resident_memory_matches_vmrss_and_boot_time_matches_btime() {
        let mut system = System::new();
        let mut part = ThisProcess::new(&mut system);
        let mut snapshot = Snapshot::new();
        part.sample(&mut system, &mut snapshot);
        let vmrss = proc_field("/proc/self/status", "VmRSS:") * 1024.0;
        let resident = gauge(&snapshot, &RESIDENT.name, &[]);
        assert!((resident - vmrss).abs() <= 0.2 * vmrss, "RSS {resident} vs VmRSS {vmrss}");
        let btime = proc_field("/proc/stat", "btime ");
        let boot = gauge(&snapshot, &BOOT.name, &[]);
        assert!((boot - btime).abs() <= 1.0, "boot {boot} vs btime {btime}");
        assert_described(DESCRIPTIONS, &snapshot);
        assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    }

    #[test]
    fn first_run_reports_cpu_since_creation() {
        let mut system = System::new();
        let mut part = ThisProcess::new(&mut system);
        burn(Duration::from_millis(300));
        let mut snapshot = Snapshot::new();
        part.sample(&mut system, &mut snapshot);
        let ratio = gauge(&snapshot, &CPU.name, &[]);
        // One thread busy the whole window (other tests may add to it, hence no upper bound 1).
        assert!(ratio > 0.2, "process CPU {ratio} after burning 300 ms");
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        assert!(ratio <= cores + 0.2, "process CPU {ratio} above {cores} cores");
    }

    #[test]
    fn cpu_ratio_is_a_share_of_one_core() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(250);
        assert_eq!(cpu_ratio((1000, t0), (1500, t1)), Some(2.0));
        assert_eq!(cpu_ratio((1000, t0), (1050, t1)), Some(0.2));
        assert_eq!(cpu_ratio((1000, t0), (900, t1)), Some(0.0));
        assert_eq!(cpu_ratio((1000, t0), (1500, t0)), None);
        assert_eq!(cpu_ratio((1000, t1), (1500, t0)), None);
    }

    #[test]
    fn each_run_measures_from_the_previous_one() {
        let mut system = System::new();
        let mut part = ThisProcess::new(&mut system);
        let baseline = part.previous.expect("no baseline at creation");
        burn(Duration::from_millis(100));
        part.sample(&mut system, &mut Snapshot::new());
        let after = part.previous.expect("no reading after a run");
        assert!(after.1 > baseline.1);
        assert!(after.0 >= baseline.0 + 50, "CPU ms {} then {}", baseline.0, after.0);
    }
}
