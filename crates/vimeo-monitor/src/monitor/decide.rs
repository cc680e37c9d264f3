//! What the screen should show, from the API's answers: a pure function of the answer, what the
//! screen shows now and how many checks failed in a row, so every rule is a table test.

use std::time::Duration;

use crate::vimeo::{Answer, PlaybackUrl};

/// What the screen should show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// The live event.
    Stream(PlaybackUrl),
    /// The holding image: the event is not live (yet).
    Holding,
    /// The error image: the API cannot be used.
    Error,
}

impl Screen {
    /// A short name for logs and `/status`: never the URL.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Stream(_) => "stream",
            Self::Holding => "holding",
            Self::Error => "error",
        }
    }
}

/// How the polling goes: the thresholds from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Time between checks (`CHECK_INTERVAL`).
    pub check_interval: Duration,
    /// Consecutive failed checks before the error image (`ERROR_THRESHOLD`).
    pub error_threshold: u32,
}

impl Policy {
    /// Polling while the configuration is wrong: a token does not fix itself every 10 s, but an
    /// operator who fixed it should not wait long either.
    pub fn misconfigured_interval(&self) -> Duration {
        (self.check_interval * 6).clamp(Duration::from_secs(60), Duration::from_secs(300))
    }
}

/// Where the last checks leave the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What to show.
    pub screen: Screen,
    /// Failed checks in a row, after this one.
    pub consecutive_failures: u32,
    /// When to check again.
    pub next_check: Duration,
}

/// The next screen, given the `answer` of a check, the `current` screen, whether the player is
/// playing it well (`playing`), and the failures before this check.
///
/// - live → the stream; offline → the holding image (both reset the failure count);
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
    policy: Policy,
) -> Decision {
    let every = policy.check_interval;
    match answer {
        Answer::Live { url } => Decision {
            screen: Screen::Stream(url.clone()),
            consecutive_failures: 0,
            next_check: every,
        },
        Answer::Offline { .. } => {
            Decision { screen: Screen::Holding, consecutive_failures: 0, next_check: every }
        }
        Answer::Misconfigured { .. } => Decision {
            screen: Screen::Error,
            consecutive_failures: failures.saturating_add(1),
            next_check: policy.misconfigured_interval(),
        },
        Answer::RateLimited { wait } => Decision {
            screen: current.clone(),
            consecutive_failures: failures,
            next_check: (*wait).max(every),
        },
        Answer::Transient { .. } => {
            let failures = failures.saturating_add(1);
            let keep_stream = matches!(current, Screen::Stream(_)) && playing;
            let screen = if keep_stream || failures < policy.error_threshold {
                current.clone()
            } else {
                Screen::Error
            };
            Decision { screen, consecutive_failures: failures, next_check: every }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vimeo::{OfflineReason, TransientKind};

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
            let decision = decide(&answer, &current, playing, failures, POLICY);
            let expected = Decision {
                screen,
                consecutive_failures: after,
                next_check: Duration::from_secs(next),
            };
            assert_eq!(
                decision, expected,
                "{answer:?} on {current:?}, playing {playing}, {failures} failures"
            );
        }
    }

    #[test]
    fn a_wrong_configuration_is_checked_less_often_but_within_five_minutes() {
        let at = |secs| Policy { check_interval: Duration::from_secs(secs), error_threshold: 5 };
        assert_eq!(at(1).misconfigured_interval(), Duration::from_secs(60));
        assert_eq!(at(30).misconfigured_interval(), Duration::from_secs(180));
        assert_eq!(at(120).misconfigured_interval(), Duration::from_secs(300));
    }
}
