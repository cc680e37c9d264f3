//! The one place the player speaks health-script: its own states ([`super::vocabulary`]) mapped
//! onto the published vocabulary (`player_state{state}`, `display`, `player_restarts_total{reason}`).
//! A total `match` each way, so a new state of the player does not compile until it is published.

use health_script::ScriptHealth;

use super::vocabulary::{PlayerState, RestartReason, Showing};

/// Records what the player does and shows.
pub(crate) fn publish_state(health: &ScriptHealth, state: PlayerState, showing: Showing) {
    health.set_player_state(player_state(state));
    health.set_display(display(showing));
}

/// Counts a restart of the player.
pub(crate) fn publish_restart(health: &ScriptHealth, reason: RestartReason) {
    health.player_restart(restart_reason(reason));
}

/// The published player state.
pub(crate) const fn player_state(state: PlayerState) -> health_script::PlayerState {
    use health_script::PlayerState as Published;
    match state {
        PlayerState::Starting => Published::Starting,
        PlayerState::Playing => Published::Playing,
        PlayerState::Buffering => Published::Buffering,
        PlayerState::Idle => Published::Idle,
        PlayerState::Restarting => Published::Restarting,
        PlayerState::Stopped => Published::Stopped,
    }
}

/// The published display.
pub(crate) const fn display(showing: Showing) -> health_script::Display {
    use health_script::Display as Published;
    match showing {
        Showing::Stream => Published::Stream,
        Showing::Holding => Published::Holding,
        Showing::Error => Published::Error,
        Showing::Nothing => Published::Nothing,
    }
}

/// The published restart reason. The kiosk reloads a stalled stream rather than restarting the
/// player, so `stalled` is never one of its restarts.
pub(crate) const fn restart_reason(reason: RestartReason) -> health_script::RestartReason {
    use health_script::RestartReason as Published;
    match reason {
        RestartReason::Exited => Published::Exited,
        RestartReason::Hung => Published::Hung,
        RestartReason::Failed => Published::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_is_published_under_its_own_label() {
        let states = [
            (PlayerState::Starting, "starting"),
            (PlayerState::Playing, "playing"),
            (PlayerState::Buffering, "buffering"),
            (PlayerState::Idle, "idle"),
            (PlayerState::Restarting, "restarting"),
            (PlayerState::Stopped, "stopped"),
        ];
        for (state, label) in states {
            assert_eq!(player_state(state).label(), label, "{state:?}");
        }
        let shown = [
            (Showing::Stream, "stream"),
            (Showing::Holding, "holding"),
            (Showing::Error, "error"),
            (Showing::Nothing, "nothing"),
        ];
        for (showing, label) in shown {
            assert_eq!(display(showing).label(), label, "{showing:?}");
        }
        let reasons = [
            (RestartReason::Exited, "exited"),
            (RestartReason::Hung, "hung"),
            (RestartReason::Failed, "failed"),
        ];
        for (reason, label) in reasons {
            assert_eq!(restart_reason(reason).label(), label, "{reason:?}");
        }
    }

    #[test]
    fn the_record_shows_what_the_player_published() {
        let health = ScriptHealth::new(std::time::Duration::from_secs(10));
        publish_state(&health, PlayerState::Idle, Showing::Holding);
        assert_eq!(health.display(), health_script::Display::Holding);
        publish_state(&health, PlayerState::Playing, Showing::Stream);
        assert_eq!(health.display(), health_script::Display::Stream);
    }
}
