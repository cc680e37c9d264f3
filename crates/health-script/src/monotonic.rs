//! Totals that never go back, from counts that start again at zero.
//!
//! mpv's `frame-drop-count` and the counters in a script's status file restart from zero when
//! their process does. The exposition takes a counter's total as given and keeps the largest it
//! has seen, so a count that fell would freeze the series until it climbed past its old value.
//! Folding the count seen before the fall into a base keeps the total moving, as Prometheus
//! expects of a counter.

/// One total built from a count that may start again at zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Monotonic {
    /// Everything counted by sources that have since started again.
    base: u64,
    /// The current source's count, as last seen.
    last: u64,
}

impl Monotonic {
    /// Takes the source's current count and returns the total. A count below the last one means
    /// the source started again.
    pub(crate) fn observe(&mut self, count: u64) -> u64 {
        if count < self.last {
            self.restart();
        }
        self.last = count;
        self.total()
    }

    /// The source starts again from zero, whatever its next count (a restarted player whose
    /// count may already have passed the old one by the time it is read).
    pub(crate) fn restart(&mut self) {
        self.base = self.base.saturating_add(self.last);
        self.last = 0;
    }

    /// The total so far.
    pub(crate) fn total(&self) -> u64 {
        self.base.saturating_add(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_that_falls_or_restarts_is_added_to_not_replaced() {
        let mut total = Monotonic::default();
        let seen: Vec<u64> = [0, 5, 9, 2, 4].into_iter().map(|c| total.observe(c)).collect();
        assert_eq!(seen, [0, 5, 9, 11, 13]);
        total.restart();
        assert_eq!(total.total(), 13);
        assert_eq!(total.observe(20), 33, "a restarted source's count counts in full");
        assert_eq!(total.observe(20), 33, "the same count again adds nothing");
    }
}
