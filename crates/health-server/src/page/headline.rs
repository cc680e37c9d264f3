//! The one line at the top: what the screen should show, and whether it does.
//!
//! Read from the `script` collector's figures (`stream_state`, `player_state`,
//! `script_healthy`, a sidecar's `script_process_up`, and the kiosk's own look at its picture:
//! `screen_black`, `screen_frozen_seconds`), plus `stream_stalled` from the playlist watcher and
//! the TV's power (`display_power_on`, HDMI-CEC) from the hardware collector. The order of the
//! checks is the order of what a person in the room sees first: no kiosk, no player, a TV in
//! standby, then what the event calls for, and whether the picture is really there.

use super::format::Tone;
use super::names;
use super::samples::Samples;

/// A picture frozen this long while the stream is shown is a frozen screen, not a still scene.
pub(super) const FROZEN_SECONDS: f64 = 60.0;

/// The kiosk's figures the headline is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Kiosk<'a> {
    /// Whether a `script` collector is configured at all.
    pub(super) monitored: bool,
    /// `stream_state`: live, offline or error.
    pub(super) stream_state: Option<&'a str>,
    /// `player_state`: starting, playing, buffering, idle, restarting or stopped.
    pub(super) player_state: Option<&'a str>,
    /// `script_healthy`: the main loop is on time and the screen shows what the state calls for.
    pub(super) healthy: Option<bool>,
    /// `script_process_up`, beside another kiosk script.
    pub(super) process_up: Option<bool>,
    /// `stream_stalled`: the live playlist stopped advancing.
    pub(super) stalled: Option<bool>,
    /// `screen_black`: the kiosk's screenshots are dark while the stream is shown.
    pub(super) black: Option<bool>,
    /// `screen_frozen_seconds` at least [`FROZEN_SECONDS`].
    pub(super) frozen: Option<bool>,
    /// `display_power_on`: the TV is on (HDMI-CEC), or in standby.
    pub(super) tv_on: Option<bool>,
}

impl<'a> Kiosk<'a> {
    /// The figures in `samples`; `monitored` when the status board has a `script` collector.
    pub(super) fn read(samples: &Samples<'a>, monitored: bool) -> Self {
        Self {
            monitored,
            stream_state: samples.current(names::STREAM_STATE, "state"),
            player_state: samples.current(names::PLAYER_STATE, "state"),
            healthy: samples.flag(names::SCRIPT_HEALTHY),
            process_up: samples.flag(names::SCRIPT_PROCESS_UP),
            stalled: samples.flag(names::STREAM_STALLED),
            black: samples.flag(names::SCREEN_BLACK),
            frozen: samples.value(names::SCREEN_FROZEN_SECONDS).map(|s| s >= FROZEN_SECONDS),
            tv_on: samples.flag(names::DISPLAY_POWER_ON),
        }
    }

    /// The headline these figures call for.
    pub(super) fn headline(&self) -> Headline {
        let Self {
            monitored,
            stream_state,
            player_state,
            healthy,
            process_up,
            stalled,
            black,
            frozen,
            tv_on,
        } = *self;
        if !monitored {
            return Headline::new(
                Tone::Plain,
                "Kiosk not monitored",
                "This exporter has no script collector: run the kiosk with \
                 HEALTH_MONITORING_ENABLED=true, or set HEALTH_SCRIPT_PIDFILE or \
                 HEALTH_SCRIPT_STATUS_FILE to watch it.",
            );
        }
        if process_up == Some(false) {
            return Headline::new(
                Tone::Bad,
                "Kiosk down",
                "The kiosk's process is not running: nothing keeps the screen up to date.",
            );
        }
        if let Some(state @ ("stopped" | "restarting")) = player_state {
            return Headline::new(
                Tone::Bad,
                "Player down",
                format!("The player is {state}: the screen is blank or frozen until it is back."),
            );
        }
        if tv_on == Some(false) {
            return Headline::new(
                Tone::Bad,
                "TV in standby",
                "The TV answers HDMI-CEC as in standby: the room sees nothing, whatever the kiosk \
                 plays.",
            );
        }
        let off_screen = healthy == Some(false);
        match stream_state {
            Some("live") if off_screen => Headline::new(
                Tone::Bad,
                "Live event not on screen",
                "Vimeo says the event is live, but the screen does not show the stream (or the \
                 kiosk's main loop is late).",
            ),
            Some("live") if black == Some(true) => Headline::new(
                Tone::Bad,
                "Live event: screen black",
                "The event is live and the player plays, but its picture has been black for the \
                 last screenshots.",
            ),
            Some("live") if frozen == Some(true) => Headline::new(
                Tone::Bad,
                "Live event: picture frozen",
                "The event is live, but the picture has not changed for a minute or more.",
            ),
            Some("live") => match (player_state, stalled) {
                (Some(state @ ("starting" | "buffering")), _) => Headline::new(
                    Tone::Warn,
                    "Live event: player buffering",
                    format!("The event is live and the player is {state}."),
                ),
                (_, Some(true)) => Headline::new(
                    Tone::Warn,
                    "Live event: stream stalled",
                    "The live playlist has stopped advancing: the picture will freeze soon.",
                ),
                _ => Headline::new(
                    Tone::Good,
                    "Showing the live event",
                    "The event is live and the screen shows the stream.",
                ),
            },
            Some("offline") if off_screen => Headline::new(
                Tone::Bad,
                "Holding image not on screen",
                "The event is offline, but the screen does not show the holding image (or the \
                 kiosk's main loop is late).",
            ),
            Some("offline") => Headline::new(
                Tone::Warn,
                "Holding image: event offline",
                "Vimeo says the event is not live; the screen shows the holding image.",
            ),
            Some("error") if off_screen => Headline::new(
                Tone::Bad,
                "Error: screen not as expected",
                "The Vimeo API cannot be used, and the screen does not show the error image.",
            ),
            Some("error") => Headline::new(
                Tone::Bad,
                "Error image",
                "The Vimeo API cannot be used (see the API errors below); the screen shows the \
                 error image.",
            ),
            _ => Headline::new(
                Tone::Plain,
                "Waiting for the kiosk",
                "The kiosk has not reported what the event is doing yet.",
            ),
        }
    }
}

/// The headline: a tone, a title and one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Headline {
    pub(super) tone: Tone,
    pub(super) title: &'static str,
    pub(super) detail: String,
}

impl Headline {
    fn new(tone: Tone, title: &'static str, detail: impl Into<String>) -> Self {
        Self { tone, title, detail: detail.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::fixture::snapshot;
    use super::*;

    fn kiosk(stream: &'static str, player: &'static str, healthy: bool) -> Kiosk<'static> {
        Kiosk {
            monitored: true,
            stream_state: Some(stream),
            player_state: Some(player),
            healthy: Some(healthy),
            ..Kiosk::default()
        }
    }

    #[test]
    fn the_headline_follows_what_a_person_in_the_room_sees_first() {
        let stalled = Kiosk { stalled: Some(true), ..kiosk("live", "playing", true) };
        let script_gone = Kiosk { process_up: Some(false), ..kiosk("live", "playing", true) };
        let sidecar_live = Kiosk {
            monitored: true,
            stream_state: Some("live"),
            healthy: Some(true),
            process_up: Some(true),
            ..Kiosk::default()
        };
        let cases = [
            (Kiosk::default(), Tone::Plain, "Kiosk not monitored"),
            (Kiosk { monitored: true, ..Kiosk::default() }, Tone::Plain, "Waiting for the kiosk"),
            (kiosk("live", "playing", true), Tone::Good, "Showing the live event"),
            (sidecar_live, Tone::Good, "Showing the live event"),
            (kiosk("live", "buffering", true), Tone::Warn, "Live event: player buffering"),
            (stalled, Tone::Warn, "Live event: stream stalled"),
            (kiosk("live", "idle", false), Tone::Bad, "Live event not on screen"),
            (kiosk("offline", "idle", true), Tone::Warn, "Holding image: event offline"),
            (kiosk("offline", "playing", false), Tone::Bad, "Holding image not on screen"),
            (kiosk("error", "idle", true), Tone::Bad, "Error image"),
            (kiosk("error", "idle", false), Tone::Bad, "Error: screen not as expected"),
            (kiosk("live", "stopped", false), Tone::Bad, "Player down"),
            (kiosk("offline", "restarting", false), Tone::Bad, "Player down"),
            (script_gone, Tone::Bad, "Kiosk down"),
            (
                Kiosk { black: Some(true), ..kiosk("live", "playing", true) },
                Tone::Bad,
                "Live event: screen black",
            ),
            (
                Kiosk { frozen: Some(true), ..kiosk("live", "playing", true) },
                Tone::Bad,
                "Live event: picture frozen",
            ),
            (
                Kiosk { black: Some(false), frozen: Some(false), ..kiosk("live", "playing", true) },
                Tone::Good,
                "Showing the live event",
            ),
            // A black holding image is the holding image, not a black screen.
            (
                Kiosk { black: Some(true), ..kiosk("offline", "idle", true) },
                Tone::Warn,
                "Holding image: event offline",
            ),
            (
                Kiosk { tv_on: Some(false), ..kiosk("live", "playing", true) },
                Tone::Bad,
                "TV in standby",
            ),
            (
                Kiosk { tv_on: Some(true), ..kiosk("live", "playing", true) },
                Tone::Good,
                "Showing the live event",
            ),
        ];
        for (kiosk, tone, title) in cases {
            let headline = kiosk.headline();
            assert_eq!((headline.tone, headline.title), (tone, title), "{kiosk:?}");
            assert!(!headline.detail.is_empty());
        }
    }

    #[test]
    fn reads_the_script_collector_figures() {
        let snapshot = snapshot(&[
            ("stream_state", &[("state", "live")], 1.0),
            ("stream_state", &[("state", "offline")], 0.0),
            ("player_state", &[("state", "playing")], 1.0),
            ("script_healthy", &[], 1.0),
            ("stream_stalled", &[], 0.0),
            ("screen_black", &[], 0.0),
            ("screen_frozen_seconds", &[], 75.0),
            ("display_power_on", &[], 1.0),
        ]);
        let samples = Samples::new(snapshot.samples());
        let kiosk = Kiosk::read(&samples, true);
        assert_eq!(kiosk.stream_state, Some("live"));
        assert_eq!(kiosk.player_state, Some("playing"));
        assert_eq!(
            (kiosk.healthy, kiosk.stalled, kiosk.process_up),
            (Some(true), Some(false), None)
        );
        assert_eq!((kiosk.black, kiosk.frozen, kiosk.tv_on), (Some(false), Some(true), Some(true)));
    }
}
