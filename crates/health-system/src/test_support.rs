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
