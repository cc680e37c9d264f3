//! What the screen should show, from the API's answers: a pure function of the answer, what the
//! screen shows now, how many checks failed in a row and how many loads of the live stream
//! failed in a row, so every rule is a table test.

use std::time::Duration;

use crate::player::Screen;
use crate::vimeo::Answer;

/// How the polling goes: the thresholds from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Time between checks (`CHECK_INTERVAL`).
    pub check_interval: Duration,
    /// Consecutive failed checks before the error image (`ERROR_THRESHOLD`).
    pub error_threshold: u32,
}

/// The longest wait between retries of a live stream that cannot be opened.
pub const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(300);

impl Policy {
    /// Polling while the configuration is wrong: a token does not fix itself every 10 s, but an
    /// operator who fixed it should not wait long either.
    pub fn misconfigured_interval(&self) -> Duration {
        (self.check_interval * 6).clamp(Duration::from_secs(60), Duration::from_secs(300))
    }

    /// The next check after `failed_loads` loads of the live stream failed in a row: every
    /// check below `error_threshold`, then twice as long for each further failure, at most
    /// [`MAX_RETRY_INTERVAL`] (never less than the check interval). A stream that will not open
    /// is then retried 2, 4, 8 ... intervals apart instead of hammering the CDN and the API.
    pub fn retry_interval(&self, failed_loads: u32) -> Duration {
        let every = self.check_interval;
        let Some(beyond) = failed_loads.checked_sub(self.error_threshold) else { return every };
        let factor = 2u32.saturating_pow(beyond.saturating_add(1).min(16));
        every.saturating_mul(factor).min(MAX_RETRY_INTERVAL).max(every)
    }
}

/// How the last loads of the live stream went: the monitor's count, and this check's look at
/// the playlist of the URL the API just gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loads {
    /// Loads that failed in a row before this check: mpv could not open the stream, or a look
    /// at its playlist failed.
    pub failed: u32,
    /// Whether this check's URL answered with a playlist to a bounded GET; `None` when it was
    /// not looked at ([`check_playlist_first`] says when it is).
    pub playlist_ok: Option<bool>,
}

/// Whether the URL of this `answer` has its playlist looked at (one bounded GET) before the
/// player gets it: only while retrying after failed loads, and not while the stream plays. A
/// retry that fails there costs no black screen; only a URL that answers goes to mpv.
pub fn check_playlist_first(answer: &Answer, current: &Screen, playing: bool, failed: u32) -> bool {
    let plays = matches!(current, Screen::Stream(_)) && playing;
    matches!(answer, Answer::Live { .. }) && failed > 0 && !plays
}

/// What goes on screen right after a load of the stream failed and the player put `put_back`
/// back: that image, or the error image once `failed` (this one included) reaches
/// `error_threshold`.
pub fn after_failed_load(put_back: &Screen, failed: u32, policy: Policy) -> Screen {
    if failed >= policy.error_threshold { Screen::Error } else { put_back.clone() }
}

/// Where the last checks leave the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What to show.
    pub screen: Screen,
    /// Failed checks in a row, after this one.
    pub consecutive_failures: u32,
    /// Failed loads of the live stream in a row, after this check.
    pub failed_loads: u32,
    /// When to check again.
    pub next_check: Duration,
}

/// What the API says about the event, as the monitor sees it after a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    /// Live: the stream should be on screen.
    Live,
    /// Not live: the holding image.
    Offline,
    /// The API cannot be used: the error image.
    Error,
}

impl Decision {
    /// What the API says about the event, from this decision. A live event whose stream cannot
    /// be opened stays live while the screen shows an image (the holding image, then the error
    /// image): `script_healthy` is 0 and the "live event not playing" alert fires, which is what
    /// the operator must hear. An API that fails is an error.
    pub fn event_state(&self) -> EventState {
        match self.screen {
            Screen::Stream(_) => EventState::Live,
            _ if self.failed_loads > 0 && self.consecutive_failures == 0 => EventState::Live,
            Screen::Holding => EventState::Offline,
            Screen::Error => EventState::Error,
        }
    }
}

/// The next screen, given the `answer` of a check, the `current` screen, whether the player is
/// playing it well (`playing`), the failures before this check and how the stream's last
/// `loads` went.
///
/// - live → the stream; offline → the holding image (both reset the failure count);
/// - live while loads of the stream fail (mpv could not open it, see [`after_failed_load`]):
///   the URL is retried at each check, but only once its playlist answers
///   ([`check_playlist_first`]); a playlist that does not answer is one more failed load and
///   the screen keeps its image, the error image from `error_threshold` failed loads on (the
///   API works but the stream cannot be played: an error the operator must see), with checks
///   further apart ([`Policy::retry_interval`]). A stream that plays, or an offline answer,
///   ends the episode;
/// - a configuration problem (401, 403, 404) → the error image at once, checked less often;
/// - rate limited → nothing changes, and no request before the API allows one;
/// - a transient failure → one more failure; a stream that plays well keeps playing (an API outage
///   does not stop a healthy stream), anything else turns to the error image once
///   `error_threshold` checks in a row have failed.
pub fn decide(
    answer: &Answer,
    current: &Screen,
    playing: bool,
    failures: u32,
    loads: Loads,
    policy: Policy,
) -> Decision {
    let every = policy.check_interval;
    let plays = matches!(current, Screen::Stream(_)) && playing;
    match answer {
        Answer::Live { url } if plays || loads.failed == 0 => Decision {
            screen: Screen::Stream(url.clone()),
            consecutive_failures: 0,
            failed_loads: 0,
            next_check: every,
        },
        Answer::Live { url } => {
            let (screen, failed) = if loads.playlist_ok == Some(false) {
                let failed = loads.failed.saturating_add(1);
                let screen =
                    if failed >= policy.error_threshold { Screen::Error } else { current.clone() };
                (screen, failed)
            } else {
                (Screen::Stream(url.clone()), loads.failed)
            };
            Decision {
                screen,
                consecutive_failures: 0,
                failed_loads: failed,
                next_check: policy.retry_interval(failed),
            }
        }
        Answer::Offline { .. } => Decision {
            screen: Screen::Holding,
            consecutive_failures: 0,
            failed_loads: 0,
            next_check: every,
        },
        Answer::Misconfigured { .. } => Decision {
            screen: Screen::Error,
            consecutive_failures: failures.saturating_add(1),
            failed_loads: loads.failed,
            next_check: policy.misconfigured_interval(),
        },
        Answer::RateLimited { wait } => Decision {
            screen: current.clone(),
            consecutive_failures: failures,
            failed_loads: loads.failed,
            next_check: (*wait).max(every),
        },
        Answer::Transient { .. } => {
            let failures = failures.saturating_add(1);
            let screen = if plays || failures < policy.error_threshold {
                current.clone()
            } else {
                Screen::Error
            };
            Decision {
                screen,
                consecutive_failures: failures,
                failed_loads: loads.failed,
                next_check: every,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vimeo::{OfflineReason, PlaybackUrl, TransientKind};

    const POLICY: Policy = Policy { check_interval: Duration::from_secs(10), error_threshold: 3 };

    fn url() -> PlaybackUrl {
        PlaybackUrl::new("https://live.example/e/playlist.m3u8?sig=s".to_owned())
    }

    fn live() -> Answer {
        Answer::Live { url: url() }
    }

    fn offline() -> Answer {
        Answer::Offline { why: OfflineReason::NotStarted }
    }

    fn outage() -> Answer {
        Answer::Transient { kind: TransientKind::ServerError(500), detail: String::new() }
    }

    fn unauthorized() -> Answer {
        Answer::Misconfigured {
            status: 401,
            error_code: Some(8000),
            fix: "set VIMEO_TOKEN",
            developer_message: None,
        }
    }

    #[test]
    fn every_answer_in_every_situation() {
        let stream = Screen::Stream(url());
        let wait = Duration::from_secs(42);
        // (answer, current, playing well, failures before) → (screen, failures after, next check)
        let table = [
            (live(), Screen::Holding, false, 2, stream.clone(), 0, 10),
            (offline(), stream.clone(), true, 0, Screen::Holding, 0, 10),
            (offline(), Screen::Error, false, 7, Screen::Holding, 0, 10),
            (unauthorized(), stream.clone(), true, 0, Screen::Error, 1, 60),
            (Answer::RateLimited { wait }, stream.clone(), true, 1, stream.clone(), 1, 42),
            (
                Answer::RateLimited { wait: Duration::from_secs(1) },
                Screen::Holding,
                false,
                0,
                Screen::Holding,
                0,
                10,
            ),
            // An outage while a healthy stream plays: it keeps playing, however long.
            (outage(), stream.clone(), true, 9, stream.clone(), 10, 10),
            // A stream that is not playing well turns to the error image at the threshold.
            (outage(), stream.clone(), false, 1, stream.clone(), 2, 10),
            (outage(), stream.clone(), false, 2, Screen::Error, 3, 10),
            (outage(), Screen::Holding, false, 1, Screen::Holding, 2, 10),
            (outage(), Screen::Holding, false, 2, Screen::Error, 3, 10),
            (outage(), stream, false, 5, Screen::Error, 6, 10),
        ];
        for (answer, current, playing, failures, screen, after, next) in table {
            let decision = decide(&answer, &current, playing, failures, Loads::default(), POLICY);
            let expected = Decision {
                screen,
                consecutive_failures: after,
                failed_loads: 0,
                next_check: Duration::from_secs(next),
            };
            assert_eq!(
                decision, expected,
                "{answer:?} on {current:?}, playing {playing}, {failures} failures"
            );
        }
    }

    fn loads(failed: u32, playlist_ok: Option<bool>) -> Loads {
        Loads { failed, playlist_ok }
    }

    #[test]
    fn a_live_stream_that_cannot_be_opened() {
        let stream = Screen::Stream(url());
        let (holding, error) = (Screen::Holding, Screen::Error);
        let wait = Duration::from_secs(42);
        // (answer, current, playing, API failures, loads before) →
        //     (screen, failed loads after, next check in s); error threshold 3, every 10 s.
        let table = [
            // The playlist does not answer: one more failure; the image stays, below the
            // threshold.
            (live(), holding.clone(), false, 0, loads(1, Some(false)), holding.clone(), 2, 10),
            (live(), error.clone(), false, 0, loads(1, Some(false)), error.clone(), 2, 10),
            // ... the error image from the threshold on, checked less and less often.
            (live(), holding.clone(), false, 0, loads(2, Some(false)), error.clone(), 3, 20),
            (live(), error.clone(), false, 0, loads(3, Some(false)), error.clone(), 4, 40),
            (live(), error.clone(), false, 0, loads(5, Some(false)), error.clone(), 6, 160),
            (live(), error.clone(), false, 0, loads(9, Some(false)), error.clone(), 10, 300),
            // The playlist answers: mpv gets the fresh URL; the count stays until it plays.
            (live(), holding.clone(), false, 0, loads(1, Some(true)), stream.clone(), 1, 10),
            (live(), error.clone(), false, 0, loads(4, Some(true)), stream.clone(), 4, 40),
            (live(), stream.clone(), false, 0, loads(4, Some(true)), stream.clone(), 4, 40),
            // A stream that plays ends the episode; so does an offline answer.
            (live(), stream.clone(), true, 0, loads(4, None), stream, 0, 10),
            (offline(), error.clone(), false, 0, loads(7, None), holding.clone(), 0, 10),
            // API trouble meanwhile leaves the count as it is.
            (outage(), holding.clone(), false, 0, loads(2, None), holding.clone(), 2, 10),
            (
                Answer::RateLimited { wait },
                error.clone(),
                false,
                0,
                loads(3, None),
                error.clone(),
                3,
                42,
            ),
            (unauthorized(), holding, false, 0, loads(1, None), error, 1, 60),
        ];
        for (answer, current, playing, failures, loads, screen, failed_loads, next) in table {
            let decision = decide(&answer, &current, playing, failures, loads, POLICY);
            let consecutive_failures = match answer {
                Answer::Transient { .. } | Answer::Misconfigured { .. } => failures + 1,
                _ => failures,
            };
            let expected = Decision {
                screen,
                consecutive_failures,
                failed_loads,
                next_check: Duration::from_secs(next),
            };
            assert_eq!(
                decision, expected,
                "{answer:?} on {current:?}, playing {playing}, {loads:?}"
            );
        }
    }

    #[test]
    fn the_playlist_is_looked_at_only_when_retrying_a_stream_that_does_not_play() {
        let stream = Screen::Stream(url());
        // (answer, current, playing, failed loads) → look first
        let table = [
            (live(), Screen::Holding, false, 0, false),
            (live(), Screen::Holding, false, 1, true),
            (live(), Screen::Error, false, 7, true),
            (live(), stream.clone(), false, 2, true),
            (live(), stream, true, 2, false),
            (offline(), Screen::Holding, false, 2, false),
            (outage(), Screen::Holding, false, 2, false),
        ];
        for (answer, current, playing, failed, expected) in table {
            assert_eq!(
                check_playlist_first(&answer, &current, playing, failed),
                expected,
                "{answer:?} on {current:?}, playing {playing}, {failed} failed loads"
            );
        }
    }

    #[test]
    fn a_failed_load_shows_the_image_put_back_until_the_threshold() {
        // (image put back, failed loads with this one) → on screen; threshold 3
        let table = [
            (Screen::Holding, 1, Screen::Holding),
            (Screen::Error, 1, Screen::Error),
            (Screen::Holding, 2, Screen::Holding),
            (Screen::Holding, 3, Screen::Error),
            (Screen::Holding, 40, Screen::Error),
        ];
        for (put_back, failed, expected) in table {
            assert_eq!(
                after_failed_load(&put_back, failed, POLICY),
                expected,
                "{put_back:?} {failed}"
            );
        }
    }

    #[test]
    fn retries_double_from_the_threshold_up_to_five_minutes() {
        let seen: Vec<u64> = (0..10).map(|n| POLICY.retry_interval(n).as_secs()).collect();
        assert_eq!(seen, [10, 10, 10, 20, 40, 80, 160, 300, 300, 300]);
        let hourly = Policy { check_interval: Duration::from_secs(600), error_threshold: 1 };
        assert_eq!(hourly.retry_interval(5), Duration::from_secs(600), "never below the interval");
        assert_eq!(POLICY.retry_interval(u32::MAX), MAX_RETRY_INTERVAL);
    }

    #[test]
    fn a_wrong_configuration_is_checked_less_often_but_within_five_minutes() {
        let at = |secs| Policy { check_interval: Duration::from_secs(secs), error_threshold: 5 };
        assert_eq!(at(1).misconfigured_interval(), Duration::from_secs(60));
        assert_eq!(at(30).misconfigured_interval(), Duration::from_secs(180));
        assert_eq!(at(120).misconfigured_interval(), Duration::from_secs(300));
    }

    #[test]
    fn a_live_event_whose_stream_fails_is_still_live() {
        let decision = |screen: Screen, failures: u32, failed_loads: u32| Decision {
            screen,
            consecutive_failures: failures,
            failed_loads,
            next_check: Duration::from_secs(10),
        };
        // (screen, failed checks, failed loads) → what the API says about the event
        let table = [
            (Screen::Stream(url()), 0, 0, EventState::Live),
            (Screen::Stream(url()), 2, 0, EventState::Live),
            (Screen::Holding, 0, 0, EventState::Offline),
            (Screen::Holding, 0, 1, EventState::Live),
            (Screen::Error, 0, 3, EventState::Live),
            (Screen::Error, 3, 0, EventState::Error),
            (Screen::Error, 1, 2, EventState::Error),
        ];
        for (screen, failures, loads, expected) in table {
            let name = screen.name();
            assert_eq!(
                decision(screen, failures, loads).event_state(),
                expected,
                "{name} {failures} {loads}"
            );
        }
    }
}
