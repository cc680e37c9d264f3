//! What the hardware collector costs: the latency of one run, and the CPU share of an exporter
//! that runs only this collector at the default 10 s interval.
//!
//! Run with `cargo bench -p health-system --bench collect [-- --seconds N]` (default 120 s for
//! the second figure). It measures `HardwareCollector` through `Collector::collect`, so it
//! covers whatever parts are wired into it. Figures are printed; nothing is asserted (a timed
//! assert flakes on a shared machine).

use std::error::Error;
use std::time::{Duration, Instant};

use health_core::{Collector, Exposition, Scheduler};
use health_system::{HardwareCollector, HardwareOptions, NAME};
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeValLike;

const WARM_UP: usize = 10;
const RUNS: usize = 200;
/// Longer than sysinfo's minimum CPU refresh interval (200 ms): closer runs would make the CPU
/// part wait out the rest, and the figure would measure that wait instead of the work.
const SPACING: Duration = Duration::from_millis(250);
const INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_SECONDS: u64 = 120;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs benches without `--bench`: nothing to measure then.
        eprintln!("run with `cargo bench -p health-system --bench collect [-- --seconds N]`");
        return Ok(());
    }
    let seconds = seconds_arg(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        latency().await?;
        exporter_share(seconds).await
    })
}

/// `--seconds N` or `--seconds=N`; the default when absent.
fn seconds_arg(args: &[String]) -> Result<u64, Box<dyn Error>> {
    let value = args.iter().enumerate().find_map(|(i, arg)| match arg.strip_prefix("--seconds") {
        Some("") => Some(args.get(i + 1).cloned().unwrap_or_default()),
        Some(rest) => rest.strip_prefix('=').map(str::to_owned),
        None => None,
    });
    match value {
        None => Ok(DEFAULT_SECONDS),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => {
                Err(format!("--seconds takes a whole number of seconds above 0 (got `{v}`)").into())
            }
        },
    }
}

/// Wall time of `collect()`, runs spaced as a real schedule would, after a warm-up; and its CPU
/// time per run.
async fn latency() -> Result<(), Box<dyn Error>> {
    let collector = HardwareCollector::new(HardwareOptions::new(INTERVAL));
    for _ in 0..WARM_UP {
        tokio::time::sleep(SPACING).await;
        collector.collect().await?;
    }
    let ticks = clock_ticks_per_second();
    let cpu_before = cpu_seconds(ticks)?;
    let rusage_before = rusage_seconds()?;
    let mut times = Vec::with_capacity(RUNS);
    let mut samples = 0;
    for _ in 0..RUNS {
        tokio::time::sleep(SPACING).await;
        let start = Instant::now();
        let snapshot = collector.collect().await?;
        times.push(start.elapsed());
        samples = snapshot.len();
    }
    let cpu_per_run = (cpu_seconds(ticks)? - cpu_before) / RUNS as f64;
    let rusage_per_run = (rusage_seconds()? - rusage_before) / RUNS as f64;
    times.sort();
    println!(
        "collect(): {RUNS} runs {} ms apart after {WARM_UP} warm-ups, {samples} samples per run",
        SPACING.as_millis()
    );
    println!(
        "  median {:?}  p90 {:?}  p99 {:?}  (max {:?})",
        percentile(&times, 0.50),
        percentile(&times, 0.90),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default(),
    );
    println!(
        "  CPU time per run: {:.1} µs (getrusage), {:.1} µs (/proc/self/stat, {:.0} ms ticks)",
        rusage_per_run * 1e6,
        cpu_per_run * 1e6,
        1000.0 / ticks.0,
    );
    Ok(())
}

/// Nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied().unwrap_or_default()
}

/// CPU share of this process while a scheduler runs only the hardware collector every 10 s.
async fn exporter_share(seconds: u64) -> Result<(), Box<dyn Error>> {
    let ticks = clock_ticks_per_second();
    let exposition = Exposition::new("vimeo_monitor")?;
    let collector = HardwareCollector::new(HardwareOptions::new(INTERVAL));
    let cpu_before = cpu_seconds(ticks)?;
    let rusage_before = rusage_seconds()?;
    let start = Instant::now();
    let scheduler = Scheduler::builder(exposition)
        .startup_jitter(Duration::ZERO)
        .start(vec![Box::new(collector) as Box<dyn Collector>])?;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu = cpu_seconds(ticks)? - cpu_before;
    let rusage = rusage_seconds()? - rusage_before;
    let wall = start.elapsed().as_secs_f64();
    let runs: u64 = scheduler.status().get(NAME).map_or(0, |s| s.runs.values().sum());
    scheduler.shutdown(Duration::from_secs(5)).await;
    println!(
        "scheduler with the hardware collector every {}s, {seconds}s ({runs} runs):",
        INTERVAL.as_secs()
    );
    println!(
        "  /proc/self/stat: CPU {cpu:.3} s over {wall:.1} s wall = {:.4}% of one core \
         (clock ticks of {:.0} Hz: {})",
        cpu / wall * 100.0,
        ticks.0,
        if ticks.1 { "getconf CLK_TCK" } else { "getconf failed, assumed 100" },
    );
    println!(
        "  getrusage:       CPU {rusage:.4} s over {wall:.1} s wall = {:.5}% of one core",
        rusage / wall * 100.0,
    );
    Ok(())
}

/// Clock ticks per second from `getconf CLK_TCK`, and whether it came from there (else 100).
fn clock_ticks_per_second() -> (f64, bool) {
    let output = std::process::Command::new("getconf").arg("CLK_TCK").output();
    let parsed = output
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0);
    parsed.map_or((100.0, false), |t| (t, true))
}

/// User + system CPU time of this process, all threads, from getrusage (microseconds).
fn rusage_seconds() -> Result<f64, Box<dyn Error>> {
    let usage = getrusage(UsageWho::RUSAGE_SELF)?;
    let micros = usage.user_time().num_microseconds() + usage.system_time().num_microseconds();
    Ok(micros as f64 / 1e6)
}

/// User + system CPU time of this process, all threads, from `/proc/self/stat`.
fn cpu_seconds((ticks, _): (f64, bool)) -> Result<f64, Box<dyn Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces: the first one
    // is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    let after_name =
        stat.rsplit_once(')').map(|(_, rest)| rest).ok_or("no `)` in /proc/self/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |i: usize| -> Result<f64, Box<dyn Error>> {
        Ok(fields.get(i).ok_or("/proc/self/stat is too short")?.parse::<f64>()?)
    };
    Ok((field(11)? + field(12)?) / ticks)
}
