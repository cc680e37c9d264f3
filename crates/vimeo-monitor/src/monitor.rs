//! The main loop: check the API, decide what the screen shows, tell the player, record it.
//!
//! It logs one line per change (live → offline, a new configuration problem, the error image),
//! never one per poll, and proves it is alive to systemd's watchdog only from inside the loop, so a
//! loop that hangs gets the kiosk restarted.
//!
//! A live stream that mpv cannot open is an episode: the player puts the last image back and
//! says so, the loop counts the failed loads, retries at each check with the fresh URL the API
//! gives (once its playlist answers, [`playlist`]), shows the error image from
//! `ERROR_THRESHOLD` failed loads on, and logs the episode's start, its error image and its end,
//! not each retry.

use std::future::Future;
use std::time::Duration;

use health_script::ScriptHealth;
use tokio::time::Interval;
use tokio_util::sync::CancellationToken;

use crate::player::Screen;
use crate::player::supervisor::{LoadFailures, Player};
use crate::vimeo::{Answer, Checked, VimeoClient};

mod decide;
mod health;
pub mod playlist;

pub use decide::{
    Decision, EventState, Loads, MAX_RETRY_INTERVAL, Policy, after_failed_load,
    check_playlist_first, decide,
};
use playlist::{PLAYLIST_TIMEOUT, PlaylistCheck};

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
    let playlists = PlaylistCheck::new(PLAYLIST_TIMEOUT.min(policy.check_interval));
    let mut current = Screen::Holding;
    let mut failures = 0u32;
    let mut next_check = Duration::ZERO;
    let mut last_problem: Option<String> = None;
    let mut loads = LoadEpisode::default();
    let mut load_failures = player.load_failures();
    let mut seen_load_failures = load_failures.borrow_and_update().total;
    let mut reports = player.reports();
    let mut player_alive = true;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    loop {
        // Wait for the next check, a stall, or the end; stay alive meanwhile. A failed load
        // puts its image up at once and waits for the next check to retry; a retried stream
        // that plays ends the episode at once, and the checks are back to every interval.
        let sleep = tokio::time::sleep(next_check);
        tokio::pin!(sleep);
        let mut stalled = false;
        loop {
            let retrying = loads.failed > 0 && matches!(current, Screen::Stream(_));
            tokio::select! {
                () = cancel.cancelled() => return,
                () = &mut sleep => break,
                () = player.stalled() => { stalled = true; break; }
                changed = load_failures.changed(), if player_alive => {
                    if changed.is_err() {
                        player_alive = false;
                        continue;
                    }
                    let failed = load_failures.borrow_and_update().clone();
                    let new = failed.total.saturating_sub(seen_load_failures);
                    seen_load_failures = failed.total;
                    if let Some(screen) = loads.failed(new, &failed, &current, policy) {
                        log_screen(&current, &screen, failures);
                        player.show(screen.clone());
                        current = screen;
                    }
                }
                changed = reports.changed(), if player_alive && retrying => {
                    if changed.is_err() {
                        player_alive = false;
                        continue;
                    }
                    if reports.borrow_and_update().playing_well {
                        loads.played();
                        let soon = tokio::time::Instant::now() + policy.check_interval;
                        if soon < sleep.deadline() {
                            sleep.as_mut().reset(soon);
                        }
                    }
                }
                _ = heartbeat.tick() => alive(&hooks),
            }
        }
        let Some(checked) = alive_while(client.check(), &hooks, &mut heartbeat, &cancel).await
        else {
            return;
        };
        record_request(&hooks, &checked);
        let playing = player.report().playing_well && !stalled;
        let mut these_loads = Loads { failed: loads.failed, playlist_ok: None };
        let mut playlist_error = None;
        if let Answer::Live { url } = &checked.answer
            && check_playlist_first(&checked.answer, &current, playing, loads.failed)
        {
            let look = playlists.check(url);
            let Some(looked) = alive_while(look, &hooks, &mut heartbeat, &cancel).await else {
                return;
            };
            these_loads.playlist_ok = Some(looked.is_ok());
            if let Err(e) = looked {
                tracing::debug!(target: "monitor", "the playlist of {url} does not answer: {e}");
                playlist_error = Some(e.to_string());
            }
        }
        let decision = decide(&checked.answer, &current, playing, failures, these_loads, policy);
        log_change(&checked.answer, &current, &decision, failures, policy, &mut last_problem);
        loads.checked(&decision, playlist_error, policy);
        if stalled && matches!(decision.screen, Screen::Stream(_)) {
            tracing::info!(target: "monitor", "loading a fresh playback URL after the stall");
            player.reload(decision.screen.clone());
        } else {
            player.show(decision.screen.clone());
        }
        if let Some(on_stream) = &hooks.on_stream {
            // While its loads fail, the stream collectors keep watching the URL: they tell why.
            match (&decision.screen, &checked.answer) {
                (Screen::Stream(url), _) => on_stream(Some(url.expose())),
                (_, Answer::Live { url }) if decision.failed_loads > 0 => {
                    on_stream(Some(url.expose()));
                }
                _ => on_stream(None),
            }
        }
        if let Some(health) = &hooks.health {
            health::record_check(health, &decision);
        }
        alive(&hooks);
        current = decision.screen;
        failures = decision.consecutive_failures;
        next_check = decision.next_check;
    }
}

/// Failed loads of the live stream in a row, and what of them has been logged: the episode's
/// start, its error image and its end, each once.
#[derive(Debug, Default)]
struct LoadEpisode {
    /// Failed loads in a row.
    failed: u32,
    /// The error image has been logged in this episode.
    error_logged: bool,
    /// Why the last look at the playlist failed, for the error image's line.
    last_error: Option<String>,
}

impl LoadEpisode {
    /// `new` more loads failed and the player put `failed.put_back` back: what goes on screen
    /// now, or `None` when the stream was not what the monitor asked for (a late report).
    fn failed(
        &mut self,
        new: u64,
        failed: &LoadFailures,
        current: &Screen,
        policy: Policy,
    ) -> Option<Screen> {
        let Screen::Stream(url) = current else { return None };
        if new == 0 {
            return None;
        }
        let before = self.failed;
        self.failed = self.failed.saturating_add(u32::try_from(new).unwrap_or(u32::MAX));
        let screen = after_failed_load(&failed.put_back, self.failed, policy);
        if before == 0 {
            tracing::warn!(
                target: "monitor",
                "the live stream cannot be opened (mpv could not load {url}): showing the {} \
                 image, retrying at each check with a fresh URL; the error image after {} \
                 failed loads",
                screen.name(),
                policy.error_threshold
            );
        } else {
            tracing::debug!(target: "monitor", failed = self.failed, "mpv could not load {url}");
        }
        self.note_error_image(&screen, policy);
        Some(screen)
    }

    /// The retried stream plays: the episode is over.
    fn played(&mut self) {
        tracing::info!(
            target: "monitor",
            "the live stream plays again after {} failed loads",
            self.failed
        );
        *self = Self::default();
    }

    /// Follows a check's `decision`; `playlist_error` is why its look at the playlist failed.
    fn checked(&mut self, decision: &Decision, playlist_error: Option<String>, policy: Policy) {
        if playlist_error.is_some() {
            self.last_error = playlist_error;
        }
        if decision.failed_loads == 0 {
            if self.failed > 0 && matches!(decision.screen, Screen::Stream(_)) {
                self.played();
            }
            *self = Self::default();
            return;
        }
        self.failed = decision.failed_loads;
        self.note_error_image(&decision.screen, policy);
    }

    /// Logs the error image once per episode, with why and how often it is retried.
    fn note_error_image(&mut self, screen: &Screen, policy: Policy) {
        if self.error_logged || *screen != Screen::Error {
            return;
        }
        self.error_logged = true;
        let why =
            self.last_error.as_deref().map(|e| format!(" (its playlist: {e})")).unwrap_or_default();
        tracing::warn!(
            target: "monitor",
            "the live stream still cannot be opened after {} failed loads{why}: showing the \
             error image; retrying {} s later, then less and less often, at least every {} s",
            self.failed,
            policy.retry_interval(self.failed).as_secs(),
            MAX_RETRY_INTERVAL.as_secs()
        );
    }
}

fn alive(hooks: &Hooks) {
    if let Some(alive) = &hooks.alive {
        alive();
    }
}

/// Runs `work` to its end while telling the watchdog the loop is alive; `None` on `cancel`.
async fn alive_while<T>(
    work: impl Future<Output = T>,
    hooks: &Hooks,
    heartbeat: &mut Interval,
    cancel: &CancellationToken,
) -> Option<T> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return None,
            done = &mut work => return Some(done),
            _ = heartbeat.tick() => alive(hooks),
        }
    }
}

/// Counts the request (unless the client sent none, holding back for a rate limit).
fn record_request(hooks: &Hooks, checked: &Checked) {
    if let Some(health) = &hooks.health {
        health::record_request(health, checked);
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
    log_screen(before, &decision.screen, decision.consecutive_failures);
}

/// One line when the screen changes.
fn log_screen(before: &Screen, after: &Screen, failures: u32) {
    if before.name() != after.name() {
        tracing::info!(
            target: "monitor",
            from = before.name(),
            to = after.name(),
            failures,
            "screen: {} → {}",
            before.name(),
            after.name()
        );
    }
}
