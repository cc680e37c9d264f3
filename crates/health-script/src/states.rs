//! The published vocabulary of a kiosk's health: what an API request returned, what the stream
//! is, what the screen shows, what the player does and why it was restarted.
//!
//! These are the metrics' words, not a kiosk's states: a kiosk keeps its own and maps them onto
//! these where it records (vimeo-monitor does so in `player/health.rs` and `monitor/health.rs`),
//! so the metrics can stay stable while a kiosk's logic changes, and the other way round.
//!
//! Every enum here becomes a label value, so each is a fixed, small set: a series per value is
//! created up front (counters at 0, state gauges at 0 but one), and nothing the kiosk receives
//! from outside can add a series. This module imports nothing and knows nothing of metrics.

/// What the metrics and the status file need of every enum here.
pub(crate) trait Labelled: Copy + 'static {
    /// Every value, in the order the metrics list them.
    fn all() -> &'static [Self];

    /// The label value.
    fn as_label(self) -> &'static str;

    /// Its position in [`all`](Self::all), for per-value arrays.
    fn index(self) -> usize;

    /// The value with this label, if any.
    fn from_label(label: &str) -> Option<Self> {
        Self::all().iter().copied().find(|v| v.as_label() == label)
    }

    /// The labels of every value, for messages: `live, offline, error`.
    fn allowed() -> String {
        Self::all().iter().map(|v| v.as_label()).collect::<Vec<_>>().join(", ")
    }
}

/// An enum whose variants each have a fixed `snake_case` label.
macro_rules! labelled {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $label:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order the metrics list them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The label value: lowercase `snake_case`.
            pub const fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)+
                }
            }
        }

        impl Labelled for $name {
            fn all() -> &'static [Self] {
                Self::ALL
            }

            fn as_label(self) -> &'static str {
                self.label()
            }

            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

labelled! {
    /// What one request to the Vimeo API came to (`api_requests_total{result}`).
    ///
    /// For `api_consecutive_errors`: [`Live`](Self::Live) and [`Offline`](Self::Offline) are
    /// answers and reset it to 0; the four error kinds add one; [`RateLimited`](Self::RateLimited)
    /// leaves it as it was, because being told to slow down says nothing about whether the API
    /// works, and a kiosk that backs off correctly should not look like one that is failing.
    pub enum ApiResult {
        /// The event is live: the answer carried a playback URL.
        Live => "live",
        /// The event is not live (not started, ended, or no playable stream yet).
        Offline => "offline",
        /// HTTP 429: the API asks the kiosk to slow down.
        RateLimited => "rate_limited",
        /// Another 4xx: a bad token or event id, which no retry will fix.
        ClientError => "client_error",
        /// A 5xx.
        ServerError => "server_error",
        /// No HTTP answer: DNS, connection, TLS or timeout.
        NetworkError => "network_error",
        /// An answer the kiosk could not make sense of.
        InvalidResponse => "invalid_response",
    }
}

impl ApiResult {
    /// Whether it counts towards `api_consecutive_errors` (the four error kinds).
    pub const fn is_error(self) -> bool {
        matches!(
            self,
            Self::ClientError | Self::ServerError | Self::NetworkError | Self::InvalidResponse
        )
    }

    /// Whether it is an answer about the event, which resets `api_consecutive_errors`.
    pub const fn is_answer(self) -> bool {
        matches!(self, Self::Live | Self::Offline)
    }
}

labelled! {
    /// What the API says about the event (`stream_state{state}`).
    pub enum StreamState {
        /// Live: the kiosk should play the stream.
        Live => "live",
        /// Not live: the kiosk should show its holding image.
        Offline => "offline",
        /// The kiosk cannot tell (the API keeps failing): it should show its error image.
        Error => "error",
    }
}

impl StreamState {
    /// What the screen should show in this state: the stream, the holding image, the error image.
    pub const fn expected_display(self) -> Display {
        match self {
            Self::Live => Display::Stream,
            Self::Offline => Display::Holding,
            Self::Error => Display::Error,
        }
    }
}

labelled! {
    /// What the screen shows now.
    pub enum Display {
        /// The live stream.
        Stream => "stream",
        /// The holding image ("the event starts soon").
        Holding => "holding",
        /// The error image.
        Error => "error",
        /// Nothing: the player is down or the screen is blank.
        Nothing => "nothing",
    }
}

labelled! {
    /// What the player is doing (`player_state{state}`).
    pub enum PlayerState {
        /// Launched, not yet playing.
        Starting => "starting",
        /// Playing: frames are moving.
        Playing => "playing",
        /// Waiting for data mid-stream.
        Buffering => "buffering",
        /// Running with nothing to play (showing an image, or waiting for a URL).
        Idle => "idle",
        /// Being stopped so that it can start again.
        Restarting => "restarting",
        /// Not running.
        Stopped => "stopped",
    }
}

labelled! {
    /// Why the kiosk restarted its player (`player_restarts_total{reason}`).
    pub enum RestartReason {
        /// The player exited on its own.
        Exited => "exited",
        /// It stopped answering (its IPC socket timed out).
        Hung => "hung",
        /// It answered but playback did not move.
        Stalled => "stalled",
        /// It could not be started at all.
        Failed => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_documented_ones_in_order_and_round_trip() {
        let labels = |all: &[&str]| all.join("|");
        let api: Vec<&str> = ApiResult::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(
            labels(&api),
            "live|offline|rate_limited|client_error|server_error|network_error|invalid_response"
        );
        let player: Vec<&str> = PlayerState::ALL.iter().map(|s| s.label()).collect();
        assert_eq!(labels(&player), "starting|playing|buffering|idle|restarting|stopped");
        let reasons: Vec<&str> = RestartReason::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels(&reasons), "exited|hung|stalled|failed");
        for (i, result) in ApiResult::ALL.iter().enumerate() {
            assert_eq!(result.index(), i);
            assert_eq!(ApiResult::from_label(result.label()), Some(*result));
        }
        assert_eq!(StreamState::from_label("Live"), None, "labels are exact");
        assert_eq!(Display::allowed(), "stream, holding, error, nothing");
    }

    #[test]
    fn rate_limited_is_neither_an_error_nor_an_answer() {
        let errors: Vec<_> = ApiResult::ALL.iter().filter(|r| r.is_error()).collect();
        assert_eq!(errors.len(), 4);
        assert!(!ApiResult::RateLimited.is_error() && !ApiResult::RateLimited.is_answer());
        assert!(ApiResult::Live.is_answer() && ApiResult::Offline.is_answer());
    }

    #[test]
    fn each_stream_state_calls_for_its_own_screen() {
        assert_eq!(StreamState::Live.expected_display(), Display::Stream);
        assert_eq!(StreamState::Offline.expected_display(), Display::Holding);
        assert_eq!(StreamState::Error.expected_display(), Display::Error);
    }
}
