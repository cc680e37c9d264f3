//! How long to wait before retrying a transient failure: exponential backoff with full jitter
//! (a uniform delay between zero and `min(cap, base * 2^retry)`), so kiosks that lost the API at
//! the same moment do not come back in lockstep.
//!
//! Only the delays live here; which answers are retried is [`super::VimeoClient::check`]'s call.

use std::time::Duration;

/// Exponential backoff with full jitter between the retries of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay; each further retry doubles it.
    pub base: Duration,
    /// No delay is ever longer than this.
    pub cap: Duration,
}

impl Backoff {
    /// Base 1 s, cap 30 s.
    pub const DEFAULT: Self = Self { base: Duration::from_secs(1), cap: Duration::from_secs(30) };

    /// The longest delay before retry number `retry` (0 for the first retry):
    /// `min(cap, base * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2_u32.saturating_pow(retry);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before retry number `retry`: uniform in `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = u64::try_from(self.ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.u64(0..=ceiling))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let backoff = Backoff::DEFAULT;
        let ceilings: Vec<u64> = (0..8).map(|retry| backoff.ceiling(retry).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(30));
        let huge = Backoff { base: Duration::MAX, cap: Duration::MAX };
        assert_eq!(huge.ceiling(40), Duration::MAX);
        assert!(huge.delay(40, &mut fastrand::Rng::with_seed(1)) <= Duration::MAX);
    }

    #[test]
    fn full_jitter_stays_under_the_ceiling_and_its_mean_grows() {
        let backoff = Backoff { base: 10 * MS, cap: 1000 * MS };
        let mut rng = fastrand::Rng::with_seed(6);
        let mut means = Vec::new();
        for retry in 0..5 {
            let samples: Vec<Duration> =
                (0..2000).map(|_| backoff.delay(retry, &mut rng)).collect();
            assert!(samples.iter().all(|delay| *delay <= backoff.ceiling(retry)));
            let total: Duration = samples.iter().sum();
            means.push(total / 2000);
        }
        // Full jitter: the mean is half the ceiling (5, 10, 20, 40, 80 ms), within a few percent.
        for (retry, mean) in means.iter().enumerate() {
            let half = backoff.ceiling(retry as u32) / 2;
            let error = mean.abs_diff(half);
            assert!(error < half / 10, "retry {retry}: mean {mean:?}, expected about {half:?}");
        }
    }

    #[test]
    fn a_zero_base_never_waits() {
        let backoff = Backoff { base: Duration::ZERO, cap: Duration::from_secs(1) };
        assert_eq!(backoff.delay(3, &mut fastrand::Rng::with_seed(2)), Duration::ZERO);
    }
}
