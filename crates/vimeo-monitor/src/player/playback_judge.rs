//! Is live playback moving? A pure judgement over the player's successive status reads, with
//! `now` passed in, so every rule is a table test on a driven clock.
//!
//! - **Moving**: the position rose since the last read (or is known for the first time), mpv is
//!   not waiting for the network and not idle. Only that counts as progress.
//! - **Stall**: no progress for the stall timeout (`PLAYER_STALL_TIMEOUT`) after the stream was
//!   opened: one stall, reported once, and the clock starts again (one more stall per timeout
//!   while it lasts, never one per read).
//! - **Never opened**: no position at all within the stall timeout after a load (a server that
//!   does not answer): a failed load, not a stall; the supervisor puts its image back.
//!
//! What a read shows is also what the player is doing: playing when it moves, buffering while
//! mpv waits for the network, unchanged otherwise.

use std::time::Duration;

use tokio::time::Instant;

use super::mpv::PlayerStatus;
use super::vocabulary::PlayerState;

/// What went wrong with playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackTrouble {
    /// The stream never showed a position within the stall timeout: a failed load.
    NeverOpened,
    /// The stream played, then did not move for the stall timeout.
    Stalled,
}

/// What one status read leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// What the player is doing now, when the read says ([`PlayerState::Playing`] or
    /// [`PlayerState::Buffering`]); `None` leaves it as it was.
    pub state: Option<PlayerState>,
    /// A stall or a load that never opened, at most once per stall timeout.
    pub trouble: Option<PlaybackTrouble>,
}

/// The judgement's memory between reads of one loaded stream.
#[derive(Debug, Clone)]
pub struct PlaybackJudge {
    stall_timeout: Duration,
    position: Option<f64>,
    moved_at: Instant,
}

impl PlaybackJudge {
    /// A judge for a stream loaded at `now` that stalls after `stall_timeout` without progress.
    pub fn new(stall_timeout: Duration, now: Instant) -> Self {
        Self { stall_timeout, position: None, moved_at: now }
    }

    /// Something new was loaded at `now`: no position yet, and the timeout starts again.
    pub fn loaded(&mut self, now: Instant) {
        self.position = None;
        self.moved_at = now;
    }

    /// mpv said playback (re)started at `now` (after a seek or a reconnect): progress.
    pub fn restarted(&mut self, now: Instant) {
        self.moved_at = now;
    }

    /// Takes the status read at `now`.
    pub fn observe(&mut self, status: &PlayerStatus, now: Instant) -> Reading {
        let moved = match (status.time_pos, self.position) {
            (Some(position), Some(before)) => position > before,
            (Some(_), None) => true,
            (None, _) => false,
        };
        self.position = status.time_pos.or(self.position);
        let state = if moved && !status.paused_for_cache && !status.idle {
            self.moved_at = now;
            Some(PlayerState::Playing)
        } else if status.paused_for_cache {
            Some(PlayerState::Buffering)
        } else {
            None
        };
        let trouble = if now.duration_since(self.moved_at) < self.stall_timeout {
            None
        } else if self.position.is_none() {
            Some(PlaybackTrouble::NeverOpened)
        } else {
            // Reported once: the next one is a whole timeout away.
            self.moved_at = now;
            Some(PlaybackTrouble::Stalled)
        };
        Reading { state, trouble }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(15);

    fn status(time_pos: Option<f64>, paused_for_cache: bool) -> PlayerStatus {
        PlayerStatus {
            idle: false,
            time_pos,
            paused_for_cache,
            path: None,
            eof_reached: false,
            paused: false,
        }
    }

    /// One read: (seconds from the start, position, paused for cache) → (state, trouble).
    type Read = (u64, Option<f64>, bool, Option<PlayerState>, Option<PlaybackTrouble>);

    /// Takes `reads` in order, each at its time from `start`, and checks what each leads to.
    fn run(judge: &mut PlaybackJudge, start: Instant, reads: &[Read]) {
        for &(at, position, buffering, state, trouble) in reads {
            let reading = judge.observe(&status(position, buffering), start + secs(at));
            assert_eq!(reading, Reading { state, trouble }, "at {at} s");
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_stream_that_stops_moving_stalls_once_per_timeout() {
        use PlaybackTrouble::Stalled;
        use PlayerState::{Buffering, Playing};
        let start = Instant::now();
        let mut judge = PlaybackJudge::new(TIMEOUT, start);
        run(
            &mut judge,
            start,
            &[
                (1, Some(0.5), false, Some(Playing), None),
                (2, Some(1.5), false, Some(Playing), None),
                // Stuck at 1.5 s from here on, waiting for the network.
                (3, Some(1.5), true, Some(Buffering), None),
                (16, Some(1.5), true, Some(Buffering), None),
                (17, Some(1.5), true, Some(Buffering), Some(Stalled)),
                // Not again at the next read: a whole timeout later.
                (18, Some(1.5), true, Some(Buffering), None),
                (31, Some(1.5), false, None, None),
                (32, Some(1.5), false, None, Some(Stalled)),
                // Moving again: progress, and the clock starts from here.
                (33, Some(2.5), false, Some(Playing), None),
                (47, Some(2.5), false, None, None),
                (48, Some(2.5), false, None, Some(Stalled)),
            ],
        );
    }

    #[test]
    fn moving_while_buffering_or_idle_is_no_progress() {
        let start = Instant::now();
        let mut judge = PlaybackJudge::new(TIMEOUT, start);
        run(
            &mut judge,
            start,
            &[
                (1, Some(1.0), false, Some(PlayerState::Playing), None),
                // The position creeps on while mpv waits for the network: still a stall.
                (5, Some(1.1), true, Some(PlayerState::Buffering), None),
                (16, Some(1.2), true, Some(PlayerState::Buffering), Some(PlaybackTrouble::Stalled)),
            ],
        );
        let mut idle = status(Some(9.0), false);
        idle.idle = true;
        assert_eq!(judge.observe(&idle, start + secs(17)).state, None, "idle is no progress");
    }

    #[test]
    fn a_stream_without_a_position_never_opened() {
        let start = Instant::now();
        let mut judge = PlaybackJudge::new(TIMEOUT, start);
        run(
            &mut judge,
            start,
            &[
                (1, None, false, None, None),
                (14, None, true, Some(PlayerState::Buffering), None),
                (15, None, true, Some(PlayerState::Buffering), Some(PlaybackTrouble::NeverOpened)),
            ],
        );
    }

    #[test]
    fn a_load_or_a_playback_restart_starts_the_clock_again() {
        let start = Instant::now();
        let mut judge = PlaybackJudge::new(TIMEOUT, start);
        assert_eq!(judge.observe(&status(Some(4.0), false), start + secs(1)).trouble, None);
        judge.restarted(start + secs(10));
        let still = status(Some(4.0), false);
        assert_eq!(judge.observe(&still, start + secs(24)).trouble, None, "14 s after the restart");
        assert_eq!(judge.observe(&still, start + secs(25)).trouble, Some(PlaybackTrouble::Stalled));
        // A new load forgets the position: 4.0 is progress again, then nothing for 15 s.
        judge.loaded(start + secs(30));
        let reading = judge.observe(&status(Some(4.0), false), start + secs(31));
        assert_eq!(reading, Reading { state: Some(PlayerState::Playing), trouble: None });
        judge.loaded(start + secs(40));
        let never = judge.observe(&status(None, false), start + secs(55));
        assert_eq!(never.trouble, Some(PlaybackTrouble::NeverOpened), "no position since the load");
    }
}
