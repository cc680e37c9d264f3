//! The main loop: check the API, decide what the screen shows, tell the player, record it.
//!
//! It logs one line per change (live → offline, a new configuration problem, the error image),
//! never one per poll, and proves it is alive to systemd's watchdog only from inside the loop, so a
//! loop that hangs gets the kiosk restarted.

use std::time::Duration;

use health_script::{ApiResult, ScriptHealth, StreamState};
use tokio_util::sync::CancellationToken;

use crate::player::supervisor::Player;
use crate::vimeo::{Answer, Checked, VimeoClient};

mod decide;

pub use decide::{Decision, Policy, Screen, decide};

/// Told the playback URL while live, `None` otherwise.
pub type StreamHook = Box<dyn Fn(Option<&str>) + Send>;

/// What the loop tells the world besides the player.
#[derive(Default)]
pub struct Hooks {
    /// The health handle, when health monitoring is on.
    pub health: Option<ScriptHealth>,
    /// Called with the playback URL while live and `None` otherwise (the stream collectors'
    /// source, when health monitoring is on).
    pub on_stream: Option<StreamHook>,
    /// Called while the loop makes progress (systemd's `WATCHDOG=1`).
    pub alive: Option<Box<dyn Fn() + Send>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("health", &self.health.is_some())
            .field("on_stream", &self.on_stream.is_some())
            .field("alive", &self.alive.is_some())
            .finish()
    }
}

/// How often the loop shows it is alive while it waits or checks.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Runs the kiosk until `cancel`: the first check at once, then as [`decide`] says.
pub async fn run(
    client: VimeoClient,
    player: &mut Player,
    policy: Policy,
    hooks: Hooks,
    cancel: CancellationToken,
) {
    let mut current = Screen::Holding;
    let mut failures = 0u32;
    let mut next_check = Duration::ZERO;
    let mut last_problem: Option<String> = None;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    loop {
        // Wait for the next check, a stall, or the end; stay alive meanwhile.
        let sleep = tokio::time::sleep(next_check);
        tokio::pin!(sleep);
        let mut stalled = false;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = &mut sleep => break,
                () = player.stalled() => { stalled = true; break; }
                _ = heartbeat.tick() => alive(&hooks),
            }
        }
        let check = client.check();
        tokio::pin!(check);
        let checked = loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                checked = &mut check => break checked,
                _ = heartbeat.tick() => alive(&hooks),
            }
        };
        record_request(&hooks, &checked);
        let playing = player.report().playing_well && !stalled;
        let decision = decide(&checked.answer, &current, playing, failures, policy);
        log_change(&checked.answer, &current, &decision, failures, policy, &mut last_problem);
        if stalled && matches!(decision.screen, Screen::Stream(_)) {
            tracing::info!(target: "monitor", "loading a fresh playback URL after the stall");
            player.reload(decision.screen.clone());
        } else {
            player.show(decision.screen.clone());
        }
        if let Some(on_stream) = &hooks.on_stream {
            match &decision.screen {
                Screen::Stream(url) => on_stream(Some(url.expose())),
                _ => on_stream(None),
            }
        }
        if let Some(health) = &hooks.health {
            health.set_stream_state(match decision.screen {
                Screen::Stream(_) => StreamState::Live,
                Screen::Holding => StreamState::Offline,
                Screen::Error => StreamState::Error,
            });
            health.tick();
        }
        alive(&hooks);
        current = decision.screen;
        failures = decision.consecutive_failures;
        next_check = decision.next_check;
    }
}

fn alive(hooks: &Hooks) {
    if let Some(alive) = &hooks.alive {
        alive();
    }
}

/// Counts the request (unless the client sent none, holding back for a rate limit).
fn record_request(hooks: &Hooks, checked: &Checked) {
    let Some(health) = &hooks.health else { return };
    if checked.attempts == 0 {
        return;
    }
    let label = checked.answer.result_label();
    if let Some(result) = ApiResult::ALL.iter().copied().find(|r| r.label() == label) {
        let remaining = checked.rate_limit.as_ref().and_then(|limit| limit.remaining);
        health.api_request(result, checked.duration, remaining);
    }
}

/// One line per change of screen, per new configuration problem, and for the first failure of a
/// streak; nothing for a poll that changes nothing.
fn log_change(
    answer: &Answer,
    before: &Screen,
    decision: &Decision,
    failures_before: u32,
    policy: Policy,
    last_problem: &mut Option<String>,
) {
    match answer {
        Answer::Misconfigured { .. } => {
            // The answer names the fix itself.
            let problem = answer.to_string();
            if last_problem.as_deref() != Some(problem.as_str()) {
                tracing::error!(
                    target: "monitor",
                    "{problem}; checking again every {} s",
                    policy.misconfigured_interval().as_secs()
                );
                *last_problem = Some(problem);
            }
        }
        Answer::Transient { .. } if failures_before == 0 => {
            tracing::warn!(target: "monitor", "the Vimeo API check failed: {answer}");
        }
        Answer::RateLimited { wait } => {
            tracing::warn!(
                target: "monitor",
                "rate limited by the Vimeo API; next request in {} s",
                wait.as_secs()
            );
        }
        _ => {
            if last_problem.take().is_some() {
                tracing::info!(target: "monitor", "the Vimeo API answers again");
            }
        }
    }
    if before.name() != decision.screen.name() {
        tracing::info!(
            target: "monitor",
            from = before.name(),
            to = decision.screen.name(),
            failures = decision.consecutive_failures,
            "screen: {} → {}",
            before.name(),
            decision.screen.name()
        );
    }
}
