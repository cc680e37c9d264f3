//! Helpers shared by this crate's unit tests.

use std::time::{Duration, Instant};

/// Keeps one thread busy for `duration`, so CPU figures have something to see.
pub(crate) fn burn(duration: Duration) {
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut x = 0_u64;
        while start.elapsed() < duration {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
    })
    .join()
    .unwrap();
}

/// Serialises the tests that write and run scripts (fake `vcgencmd`, fake `cec-ctl`), across
/// modules: a script written while another test forks can fail to execute with ETXTBSY (the
/// forked child briefly holds the write descriptor).
pub(crate) static SCRIPTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
