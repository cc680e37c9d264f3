//! Whether a run starts the speed test: a pure decision on readings of both clocks taken once by
//! the caller, so tests drive it with explicit instants instead of sleeping through an interval.
//!
//! A test starts only when none is running, `interval` has passed since the last start by the
//! monotonic clock of this process (a wall clock set forward cannot shorten the wait) and by the
//! wall-clock start kept in the state file (a restart cannot either; a start in the future counts
//! as due, see [`State::due`]), and the stream is not on screen. The screen is asked last, and
//! only then: a test that is not due costs the player nothing.

use std::time::{Duration, Instant, SystemTime};

use super::state::State;

/// Both clocks, read once per run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    /// For the state file, which outlives this process.
    pub(crate) wall: SystemTime,
    /// For this process's own last start.
    pub(crate) monotonic: Instant,
}

impl Now {
    /// The clocks now.
    pub(crate) fn current() -> Self {
        Self { wall: SystemTime::now(), monotonic: Instant::now() }
    }
}

/// What one run does about the speed test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// A test is still running: nothing to decide.
    Running,
    /// `interval` has not passed since the last start, by one clock or the other.
    NotDue,
    /// Due, but the stream is on screen: held back, asked again at the next run.
    Postponed,
    /// Start a test now.
    Start,
}

/// The decision at `now` for a test last started at `last_start` by this process (monotonic)
/// and at `stored.last_start` by any process (wall clock); `on_screen` is asked only when a test
/// is otherwise due.
pub(crate) fn decide(
    now: Now,
    running: bool,
    last_start: Option<Instant>,
    stored: &State,
    interval: Duration,
    on_screen: impl FnOnce() -> bool,
) -> Decision {
    if running {
        return Decision::Running;
    }
    let waited =
        last_start.is_none_or(|start| now.monotonic.saturating_duration_since(start) >= interval);
    if !waited || !stored.due(now.wall, interval) {
        Decision::NotDue
    } else if on_screen() {
        Decision::Postponed
    } else {
        Decision::Start
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::UNIX_EPOCH;

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    /// In the table, this process started a test at monotonic second 0 and stored it as wall-clock
    /// second `T0`.
    const T0: u64 = 100_000;
    const MINE: Option<u64> = Some(0);
    const STORED: Option<u64> = Some(T0);
    type D = Decision;

    #[test]
    fn decisions_follow_both_clocks_the_running_test_and_the_screen() {
        let boot = Instant::now();
        let wall = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        let mono = |secs: u64| boot + Duration::from_secs(secs);
        let stored_at = |secs: Option<u64>| {
            let mut state = State::default();
            if let Some(secs) = secs {
                state.started(wall(secs));
            }
            state
        };
        // (why, wall now, monotonic now, running, this process's start, stored start, on screen,
        //  decision)
        let table = [
            ("first run", T0, 0, false, None, None, false, D::Start),
            ("first run, on screen", T0, 0, false, None, None, true, D::Postponed),
            ("running wins", T0, 0, true, None, None, false, D::Running),
            ("running, not due", T0 + 10, 10, true, MINE, STORED, false, D::Running),
            ("just started", T0 + 10, 10, false, MINE, STORED, false, D::NotDue),
            ("a second early", T0 + 3599, 3599, false, MINE, STORED, false, D::NotDue),
            ("on the interval", T0 + 3600, 3600, false, MINE, STORED, false, D::Start),
            ("due, on screen", T0 + 3600, 3600, false, MINE, STORED, true, D::Postponed),
            ("not due, on screen", T0 + 10, 10, false, MINE, STORED, true, D::NotDue),
            // The wall clock jumped forward a day: the monotonic clock still holds the test back.
            ("wall clock forward", T0 + 86_400, 10, false, MINE, STORED, false, D::NotDue),
            // A restart: no start in this process, the stored one within the interval or not.
            ("restart, stored recent", T0 + 1000, 5, false, None, STORED, false, D::NotDue),
            ("restart, stored old", T0 + 4000, 5, false, None, STORED, false, D::Start),
            // A Pi that booted with its clock in the past: a stored start in the future is due.
            ("stored in the future", T0 - 50_000, 5, false, None, STORED, false, D::Start),
        ];
        for (why, wall_now, mono_now, running, start, stored, screen, expected) in table {
            let now = Now { wall: wall(wall_now), monotonic: mono(mono_now) };
            let asked = Cell::new(false);
            let on_screen = || {
                asked.set(true);
                screen
            };
            let decision =
                decide(now, running, start.map(mono), &stored_at(stored), HOUR, on_screen);
            assert_eq!(decision, expected, "{why}");
            let should_ask = matches!(expected, Decision::Start | Decision::Postponed);
            assert_eq!(asked.get(), should_ask, "{why}: the screen asked only when due");
        }
    }

    #[test]
    fn a_zero_interval_is_always_due_once_nothing_runs() {
        let now = Now::current();
        let mut stored = State::default();
        stored.started(now.wall);
        let decide_at =
            |running| decide(now, running, Some(now.monotonic), &stored, Duration::ZERO, || false);
        assert_eq!(decide_at(false), Decision::Start);
        assert_eq!(decide_at(true), Decision::Running);
    }
}
