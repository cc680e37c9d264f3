//! What the workspace's bench binaries share: the `--bench` guard and run-time figures.
//!
//! The benches are plain binaries (`harness = false`) that print medians and tails; these
//! keep their figures computed and printed the same way.

use std::future::Future;
use std::time::Duration;

/// True when run by `cargo bench`. `cargo test --all-targets` runs bench binaries without
/// `--bench`; then this prints how to run them (`command`) and there is nothing to measure.
pub fn invoked_by_cargo_bench(command: &str) -> bool {
    let bench = std::env::args().any(|arg| arg == "--bench");
    if !bench {
        eprintln!("run with `{command}`");
    }
    bench
}

/// Runs `bench` on a two-worker runtime (a Pi 4 or 5 has four cores; the kiosk shares them with
/// mpv) when [`invoked_by_cargo_bench`]; otherwise prints how to run it and returns.
pub fn run<F: Future>(command: &str, bench: impl FnOnce() -> F) {
    if !invoked_by_cargo_bench(command) {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(bench());
}

/// The durations of repeated runs, sorted, for quantiles.
#[derive(Debug, Clone)]
pub struct Durations(Vec<Duration>);

impl Durations {
    /// Sorts `times`. Panics when empty: a bench that measured nothing has a bug.
    pub fn of(mut times: Vec<Duration>) -> Self {
        assert!(!times.is_empty(), "nothing measured");
        times.sort();
        Self(times)
    }

    /// The `q` quantile (0-1), nearest rank.
    pub fn at(&self, q: f64) -> Duration {
        let last = self.0.len() - 1;
        let rank = (last as f64 * q.clamp(0.0, 1.0)).round() as usize;
        self.0[rank]
    }

    /// How many runs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never: [`Durations::of`] refuses an empty list.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The median.
    pub fn median(&self) -> Duration {
        self.at(0.5)
    }

    /// The shortest run.
    pub fn min(&self) -> Duration {
        self.0[0]
    }

    /// The longest run.
    pub fn max(&self) -> Duration {
        self.0[self.0.len() - 1]
    }
}

/// Milliseconds for a report: two decimals below 10 ms, one above.
pub fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.1} ms") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let times = Durations::of((1..=11).rev().map(Duration::from_millis).collect());
        assert_eq!(times.min(), Duration::from_millis(1));
        assert_eq!(times.median(), Duration::from_millis(6));
        assert_eq!(times.at(0.9), Duration::from_millis(10));
        assert_eq!(times.at(2.0), Duration::from_millis(11));
        assert_eq!(times.max(), Duration::from_millis(11));
    }

    #[test]
    fn milliseconds_read_well() {
        assert_eq!(ms(Duration::from_micros(1_234)), "1.23 ms");
        assert_eq!(ms(Duration::from_micros(16_049)), "16.0 ms");
    }
}
