//! How long the supervisor waits before starting the player again: a pure decision with the
//! times passed in, so every rule is a table test on explicit instants.
//!
//! The first start is at once. Each restart waits the first delay, then twice as long as the
//! last, at most the cap: a player that dies at once (a broken mpv, a display that is gone)
//! is retried 1, 2, 4 ... 30 s apart rather than in a busy loop. A player that ran for the
//! healthy time before it went away was fine: its restart waits the first delay again.

use std::time::Duration;

use tokio::time::Instant;

/// The delays between starts of the player, and the last one.
#[derive(Debug, Clone)]
pub struct RestartBackoff {
    first: Duration,
    cap: Duration,
    healthy_after: Duration,
    last: Duration,
}

impl RestartBackoff {
    /// Restarts wait `first`, doubling to `cap`; a player that ran `healthy_after` resets them.
    pub fn new(first: Duration, cap: Duration, healthy_after: Duration) -> Self {
        Self { first, cap, healthy_after, last: Duration::ZERO }
    }

    /// The player could not be started: the wait before the next try.
    pub fn failed_to_start(&mut self) -> Duration {
        self.last = self.doubled();
        self.last
    }

    /// The player started at `started` went away at `now` (exited or hung): the wait before
    /// the next start.
    pub fn ended(&mut self, started: Instant, now: Instant) -> Duration {
        self.last = if now.duration_since(started) >= self.healthy_after {
            self.first
        } else {
            self.doubled()
        };
        self.last
    }

    /// The first delay, then twice the last, at most the cap.
    fn doubled(&self) -> Duration {
        if self.last.is_zero() { self.first } else { (self.last * 2).min(self.cap) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn backoff() -> RestartBackoff {
        RestartBackoff::new(secs(1), secs(30), secs(60))
    }

    #[test]
    fn restarts_of_a_player_that_dies_at_once_double_from_one_second_to_the_cap() {
        let mut backoff = backoff();
        let start = Instant::now();
        let seen: Vec<u64> = (0..7)
            .map(|i| {
                let started = start + secs(100 * i);
                backoff.ended(started, started + secs(2)).as_secs()
            })
            .collect();
        assert_eq!(seen, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn a_player_that_ran_its_healthy_time_restarts_after_the_first_delay() {
        let mut backoff = backoff();
        let start = Instant::now();
        // (ran for, wait before the next start)
        let runs = [(5, 1), (5, 2), (5, 4), (59, 8), (60, 1), (5, 2), (3600, 1)];
        let mut at = start;
        for (ran, wait) in runs {
            let ended = at + secs(ran);
            assert_eq!(backoff.ended(at, ended), secs(wait), "after running {ran} s");
            at = ended + secs(wait);
        }
    }

    #[test]
    fn failed_starts_back_off_like_quick_deaths() {
        let mut backoff = backoff();
        let start = Instant::now();
        assert_eq!(backoff.failed_to_start(), secs(1));
        assert_eq!(backoff.failed_to_start(), secs(2));
        assert_eq!(backoff.ended(start, start + secs(1)), secs(4));
        assert_eq!(backoff.failed_to_start(), secs(8));
        assert_eq!(backoff.ended(start, start + secs(60)), secs(1), "a healthy run resets");
    }
}
