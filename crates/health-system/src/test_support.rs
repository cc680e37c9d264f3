//! Helpers shared by this crate's unit tests.

use std::time::{Duration, Instant};

/// Keeps one thread busy for `duration`, so CPU figures have something to see.
pub(crate) fn burn(duration: Duration) {
    std::thread::spawn(move || {
        // Until the thread has had `duration` of CPU, not of wall time: on a loaded machine (CI
        // running beside the tests) a thread gets only a share of the time that passes. A wall
        // clock limit of ten times the duration keeps a broken reading from looping forever.
        let start = Instant::now();
        let cpu_start = thread_cpu();
        let mut x = 0_u64;
        while thread_cpu().saturating_sub(cpu_start) < duration && start.elapsed() < duration * 10 {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
    })
    .join()
    .unwrap();
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Serialises the tests that write and run scripts (fake `vcgencmd`, fake `cec-ctl`), across
/// modules: a script written while another test forks can fail to execute with ETXTBSY (the
/// forked child briefly holds the write descriptor).
pub(crate) static SCRIPTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
