//! Keeps one mpv running and showing what the monitor asks for: restarted with backoff when it
//! exits, killed as a process group and restarted when it stops answering, and a stall (playback
//! not moving while live) reported so the monitor fetches a fresh URL.
//!
//! A stream mpv cannot open (a playlist answering 404 or 403, an expired signature, garbage)
//! would leave it idle, a black window. Instead the picture shown before the stream was asked
//! for (the holding or the error image) goes back on screen at once, and the failed load is
//! reported ([`Player::load_failures`]) so that the monitor retries with a fresh URL.
//!
//! One task owns the [`Mpv`]; the rest of the kiosk talks to it through a [`Player`] handle: a
//! `watch` channel down (what to show) and a `watch` channel up (what is shown), so neither side
//! ever waits on the other.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use health_script::{ScriptHealth, Thumbnail};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::health::{publish_restart, publish_state};
use super::mpv::{Mpv, MpvEvent, MpvOptions, PlayerError};
use super::picture::{self, MAX_SCREENSHOT_BYTES, Picture};
use super::picture_judge::{PictureJudge, PictureTrouble};
use super::playback_judge::{PlaybackJudge, PlaybackTrouble};
use super::quality::{OBSERVED, Quality};
use super::restart_backoff::RestartBackoff;
use super::vocabulary::{PlayerState, RestartReason, Screen, Showing};

/// How the supervisor watches the player.
#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    /// How to start mpv.
    pub mpv: MpvOptions,
    /// The holding image (`HOLDING_IMAGE`).
    pub holding_image: PathBuf,
    /// The error image (`ERROR_IMAGE`).
    pub error_image: PathBuf,
    /// Live playback that has not moved for this long is a stall (`PLAYER_STALL_TIMEOUT`).
    pub stall_timeout: Duration,
    /// How often the player is asked how it is doing.
    pub check_every: Duration,
    /// The first restart waits this long; each further one twice as long.
    pub restart_first: Duration,
    /// Restarts wait at most this long.
    pub restart_cap: Duration,
    /// A player that ran this long resets the restart delay to `restart_first`.
    pub healthy_after: Duration,
    /// SIGTERM to SIGKILL when stopping a player.
    pub stop_grace: Duration,
    /// Screenshots of what is shown, for the black and frozen screen figures; `None` takes
    /// none (health monitoring off).
    pub screen: Option<ScreenOptions>,
}

/// How the supervisor watches the picture (`HEALTH_SCREEN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenOptions {
    /// Time between screenshots while something is shown (`HEALTH_SCREEN_INTERVAL`).
    pub every: Duration,
    /// Hand the thumbnail to the health record for `/screen.jpg` (`HEALTH_SCREEN_THUMBNAIL`).
    pub thumbnail: bool,
}

impl SupervisorOptions {
    /// The figures: checks every second, restarts after 1 s doubling to 30 s, reset after
    /// a minute of good running, 3 s from SIGTERM to SIGKILL.
    pub fn new(mpv: MpvOptions, holding_image: PathBuf, error_image: PathBuf) -> Self {
        Self {
            mpv,
            holding_image,
            error_image,
            stall_timeout: Duration::from_secs(15),
            check_every: Duration::from_secs(1),
            restart_first: Duration::from_secs(1),
            restart_cap: Duration::from_secs(30),
            healthy_after: Duration::from_secs(60),
            stop_grace: Duration::from_secs(3),
            screen: None,
        }
    }
}

/// What the player is doing, as the monitor and the health handle see it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerReport {
    /// Its state.
    pub state: PlayerState,
    /// What is on screen.
    pub showing: Showing,
    /// The stream is on screen and moving.
    pub playing_well: bool,
    /// Restarts so far, for logs and tests.
    pub restarts: u64,
    /// The player's process id, while one runs.
    pub pid: Option<u32>,
}

/// Failed loads of the stream so far, and the picture put back on screen after the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailures {
    /// Loads of the stream that mpv could not open, since the player started.
    pub total: u64,
    /// The image shown instead: [`Screen::Holding`] or [`Screen::Error`].
    pub put_back: Screen,
}

/// What the monitor wants on screen; a new `generation` reloads even the same screen.
#[derive(Debug, Clone, PartialEq)]
struct Want {
    screen: Screen,
    generation: u64,
}

/// The handle to the supervised player.
#[derive(Debug)]
pub struct Player {
    want: watch::Sender<Want>,
    report: watch::Receiver<PlayerReport>,
    stalls: mpsc::Receiver<()>,
    load_failures: watch::Receiver<LoadFailures>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Player {
    /// Starts the supervisor, which starts mpv showing `first`.
    pub fn start(options: SupervisorOptions, first: Screen, health: Option<ScriptHealth>) -> Self {
        let (want_tx, want_rx) = watch::channel(Want { screen: first, generation: 0 });
        let (report_tx, report_rx) = watch::channel(PlayerReport {
            state: PlayerState::Starting,
            showing: Showing::Nothing,
            playing_well: false,
            restarts: 0,
            pid: None,
        });
        let (stall_tx, stall_rx) = mpsc::channel(1);
        let (failures_tx, failures_rx) =
            watch::channel(LoadFailures { total: 0, put_back: Screen::Holding });
        let cancel = CancellationToken::new();
        let supervisor = Supervisor {
            options,
            want: want_rx,
            report: report_tx,
            stalls: stall_tx,
            load_failures: failures_tx,
            last_image: Screen::Holding,
            health,
            cancel: cancel.clone(),
        };
        let task = tokio::spawn(supervisor.run());
        Self {
            want: want_tx,
            report: report_rx,
            stalls: stall_rx,
            load_failures: failures_rx,
            cancel,
            task,
        }
    }

    /// Shows `screen`; nothing happens when it is already what is wanted.
    pub fn show(&self, screen: Screen) {
        self.want.send_if_modified(|want| {
            if want.screen == screen {
                return false;
            }
            want.screen = screen;
            want.generation += 1;
            true
        });
    }

    /// Loads `screen` again even if it is already shown (a fresh URL after a stall).
    pub fn reload(&self, screen: Screen) {
        self.want.send_modify(|want| {
            want.screen = screen;
            want.generation += 1;
        });
    }

    /// What the player is doing now.
    pub fn report(&self) -> PlayerReport {
        self.report.borrow().clone()
    }

    /// A receiver of reports, to wait for a change.
    pub fn reports(&self) -> watch::Receiver<PlayerReport> {
        self.report.clone()
    }

    /// Resolves when live playback has stalled: fetch a fresh URL and [`reload`](Self::reload).
    pub async fn stalled(&mut self) {
        if self.stalls.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }

    /// A receiver of failed stream loads, changed at each one: mpv could not open the stream and
    /// the picture named in it went back on screen. Fetch a fresh URL and show it again. A
    /// receiver of its own, so that the monitor can wait for it and for [`stalled`](Self::stalled)
    /// at once; counted, so that no failure is missed while the monitor is busy.
    pub fn load_failures(&self) -> watch::Receiver<LoadFailures> {
        self.load_failures.clone()
    }

    /// Stops the player (SIGTERM, SIGKILL after the grace period) and the supervisor.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        if let Err(e) = self.task.await {
            tracing::error!(target: "player", error = %e, "the player supervisor panicked");
        }
    }
}

/// The task that owns mpv.
struct Supervisor {
    options: SupervisorOptions,
    want: watch::Receiver<Want>,
    report: watch::Sender<PlayerReport>,
    stalls: mpsc::Sender<()>,
    load_failures: watch::Sender<LoadFailures>,
    /// The image last loaded (at first the holding image): what goes back on screen when the
    /// stream cannot be opened.
    last_image: Screen,
    health: Option<ScriptHealth>,
    cancel: CancellationToken,
}

/// One running mpv and what it is known to show.
struct Running {
    mpv: Mpv,
    events: broadcast::Receiver<MpvEvent>,
    started: Instant,
    /// The generation loaded, and whether its screen has appeared.
    loaded: Option<u64>,
    /// The last load was of the stream (not of an image): a load error is the stream's.
    stream_loaded: bool,
    /// The stream could not be opened: this image goes back on screen (done by `apply_want`).
    put_back: Option<Screen>,
    /// The image put back, while it is on screen: the monitor asking for it loads nothing.
    put_back_shown: Option<Screen>,
    /// Whether live playback moves.
    playback: PlaybackJudge,
    /// The player's figures, from its property changes.
    quality: Quality,
    /// The picture's judgement, from its screenshots.
    judge: Option<PictureJudge>,
}

/// Why a running player has to go.
enum Trouble {
    Exited,
    Hung,
}

impl Supervisor {
    async fn run(mut self) {
        let mut backoff = RestartBackoff::new(
            self.options.restart_first,
            self.options.restart_cap,
            self.options.healthy_after,
        );
        let mut delay = Duration::ZERO;
        let mut restarts = 0u64;
        loop {
            if !delay.is_zero() {
                tokio::select! {
                    () = self.cancel.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
            let mut running = match self.spawn().await {
                Ok(running) => running,
                Err(e) => {
                    tracing::error!(target: "player", error = %e, "cannot start mpv");
                    restarts += 1;
                    self.restarted(RestartReason::Failed, restarts, None);
                    delay = backoff.failed_to_start();
                    continue;
                }
            };
            let trouble = self.supervise(&mut running).await;
            let ended = Instant::now();
            let Some(trouble) = trouble else {
                // Shutting down.
                self.publish(PlayerState::Stopped, Showing::Nothing, false, None);
                running.mpv.stop(self.options.stop_grace).await;
                break;
            };
            let reason = match trouble {
                Trouble::Exited => {
                    let status = running.mpv.try_exited();
                    let output = running.mpv.recent_output().join(" | ");
                    tracing::warn!(target: "player", ?status, %output, "mpv exited; restarting it");
                    RestartReason::Exited
                }
                Trouble::Hung => {
                    tracing::warn!(
                        target: "player",
                        timeout = ?self.options.mpv.ipc_timeout,
                        "mpv stopped answering; killing its process group and restarting it"
                    );
                    RestartReason::Hung
                }
            };
            self.publish(PlayerState::Restarting, Showing::Nothing, false, None);
            running.mpv.stop(self.options.stop_grace).await;
            restarts += 1;
            self.restarted(reason, restarts, None);
            delay = backoff.ended(running.started, ended);
        }
    }

    async fn spawn(&mut self) -> Result<Running, PlayerError> {
        self.publish(PlayerState::Starting, Showing::Nothing, false, None);
        let mpv = Mpv::spawn(&self.options.mpv).await?;
        let pid = mpv.pid().unwrap_or_default();
        match mpv.version().await {
            Ok(version) => {
                tracing::info!(target: "player", %version, pid, "mpv started");
                if let Some(health) = &self.health {
                    health.player_info("mpv", "no");
                    health.set_screen(None);
                }
            }
            Err(e) => {
                tracing::debug!(target: "player", error = %e, pid, "mpv did not tell its version");
            }
        }
        let events = mpv.events();
        if self.health.is_some() {
            // Ids are the property's place in the list + 1; a property mpv does not know is
            // refused and stays unknown.
            for (id, name) in (1u64..).zip(OBSERVED) {
                if let Err(e) = mpv.observe(id, name).await {
                    tracing::debug!(target: "player", error = %e, property = name, "cannot observe");
                }
            }
        }
        Ok(Running {
            mpv,
            events,
            started: Instant::now(),
            loaded: None,
            stream_loaded: false,
            put_back: None,
            put_back_shown: None,
            playback: PlaybackJudge::new(self.options.stall_timeout, Instant::now()),
            quality: Quality::default(),
            judge: self.options.screen.map(|screen| PictureJudge::new(screen.every)),
        })
    }

    /// Watches `running` until it must be replaced, or `None` on shutdown.
    ///
    /// Every request to mpv races the cancellation: a hung mpv holds each one for up to the IPC
    /// timeout (a status round for two), and shutting down must not wait for that.
    async fn supervise(&mut self, running: &mut Running) -> Option<Trouble> {
        let cancel = self.cancel.clone();
        let mut ticker = tokio::time::interval(self.options.check_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Without screenshots, a timer that never fires keeps the `select!` below simple.
        let screen_every =
            self.options.screen.map_or(Duration::from_secs(86_400 * 365), |s| s.every);
        let mut screen_ticker =
            tokio::time::interval_at(Instant::now() + screen_every, screen_every);
        screen_ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let applied = tokio::select! {
                () = cancel.cancelled() => return None,
                applied = self.apply_want(running) => applied,
            };
            if let Err(trouble) = applied {
                return Some(trouble);
            }
            tokio::select! {
                () = cancel.cancelled() => return None,
                changed = self.want.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                event = running.events.recv() => match event {
                    Ok(event) => self.on_event(running, &event),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Some(Trouble::Exited),
                },
                _ = ticker.tick() => {
                    let checked = tokio::select! {
                        () = cancel.cancelled() => return None,
                        checked = self.check(running) => checked,
                    };
                    if let Err(trouble) = checked {
                        return Some(trouble);
                    }
                }
                _ = screen_ticker.tick(), if self.options.screen.is_some() => {
                    let looked = tokio::select! {
                        () = cancel.cancelled() => return None,
                        looked = self.look(running) => looked,
                    };
                    if let Err(trouble) = looked {
                        return Some(trouble);
                    }
                }
            }
        }
    }

    /// Puts an image back after a failed stream load, then loads what is wanted if it is not
    /// what was loaded.
    async fn apply_want(&mut self, running: &mut Running) -> Result<(), Trouble> {
        if let Some(image) = running.put_back.take() {
            self.put_back(running, image).await?;
        }
        let want = self.want.borrow_and_update().clone();
        if running.loaded == Some(want.generation) {
            return Ok(());
        }
        if running.put_back_shown.as_ref() == Some(&want.screen) {
            // The monitor now asks for the image put back: it is on screen already.
            running.loaded = Some(want.generation);
            return Ok(());
        }
        let target = match &want.screen {
            Screen::Stream(url) => url.expose().to_owned(),
            Screen::Holding => self.options.holding_image.display().to_string(),
            Screen::Error => self.options.error_image.display().to_string(),
        };
        match running.mpv.load(&target).await {
            Ok(()) => {
                tracing::info!(target: "player", screen = want.screen.name(), "loading");
                running.loaded = Some(want.generation);
                running.stream_loaded = matches!(want.screen, Screen::Stream(_));
                running.put_back_shown = None;
                if !running.stream_loaded {
                    self.last_image = want.screen.clone();
                }
                running.playback.loaded(Instant::now());
                let (state, showing) = match want.screen {
                    // The stream is on screen once playback (re)starts.
                    Screen::Stream(_) => (PlayerState::Buffering, self.report.borrow().showing),
                    Screen::Holding => (PlayerState::Idle, Showing::Holding),
                    Screen::Error => (PlayerState::Idle, Showing::Error),
                };
                self.publish(state, showing, false, running.mpv.pid());
                Ok(())
            }
            Err(PlayerError::Timeout { .. }) => Err(Trouble::Hung),
            Err(e @ (PlayerError::Ipc(_) | PlayerError::Exited { .. })) => {
                tracing::debug!(target: "player", error = %e, "mpv went away while loading");
                Err(Trouble::Exited)
            }
            Err(e) => {
                // mpv refused the command itself: retried at the next change or restart.
                tracing::error!(target: "player", error = %e, "mpv refused to load");
                running.loaded = Some(want.generation);
                Ok(())
            }
        }
    }

    /// Shows `image` again after the stream could not be opened, without changing what is
    /// wanted: the monitor decides what comes next.
    async fn put_back(&mut self, running: &mut Running, image: Screen) -> Result<(), Trouble> {
        let (target, showing) = match &image {
            Screen::Error => (&self.options.error_image, Showing::Error),
            _ => (&self.options.holding_image, Showing::Holding),
        };
        match running.mpv.load(&target.display().to_string()).await {
            Ok(()) => {
                tracing::debug!(target: "player", screen = image.name(), "putting the image back");
                running.stream_loaded = false;
                running.put_back_shown = Some(image);
                self.publish(PlayerState::Idle, showing, false, running.mpv.pid());
                Ok(())
            }
            Err(PlayerError::Timeout { .. }) => Err(Trouble::Hung),
            Err(PlayerError::Ipc(_) | PlayerError::Exited { .. }) => Err(Trouble::Exited),
            Err(e) => {
                tracing::error!(target: "player", error = %e, "mpv refused to load the image");
                Ok(())
            }
        }
    }

    /// The stream could not be opened: the last image goes back on screen (at the next turn of
    /// the loop) and the monitor hears of it.
    fn stream_failed(&mut self, running: &mut Running) {
        running.stream_loaded = false;
        running.put_back = Some(self.last_image.clone());
        let put_back = self.last_image.clone();
        self.load_failures.send_modify(|failures| {
            failures.total += 1;
            failures.put_back = put_back;
        });
    }

    fn on_event(&mut self, running: &mut Running, event: &MpvEvent) {
        // The stream is wanted, and loaded rather than an image put back in its place.
        let wanted_stream =
            matches!(self.want.borrow().screen, Screen::Stream(_)) && running.stream_loaded;
        match event {
            MpvEvent::PlaybackRestart if wanted_stream => {
                running.playback.restarted(Instant::now());
                self.publish(PlayerState::Playing, Showing::Stream, true, running.mpv.pid());
            }
            MpvEvent::PropertyChange { name, data } => {
                if running.quality.apply(name, data)
                    && let Some(health) = &self.health
                {
                    let figures = running.quality.figures();
                    if name == "hwdec-current"
                        && let Some(hwdec) = &figures.hwdec
                    {
                        health.player_info("mpv", hwdec);
                    }
                    health.set_player_figures(figures.clone());
                }
            }
            MpvEvent::EndFile { reason } if reason == "error" => {
                // A failed load leaves mpv idle: a black window. The stream's: the last image
                // goes back at once and the monitor retries with a fresh URL (it logs the
                // episode once). An image that cannot be shown is logged.
                if running.stream_loaded {
                    tracing::debug!(target: "player", "mpv could not open the stream");
                    self.stream_failed(running);
                    return;
                }
                tracing::warn!(target: "player", "mpv could not open the image it was given");
                self.publish(PlayerState::Idle, Showing::Nothing, false, running.mpv.pid());
            }
            _ => {}
        }
    }

    /// One health check: exited, answering, moving.
    async fn check(&mut self, running: &mut Running) -> Result<(), Trouble> {
        if running.mpv.try_exited().is_some() {
            return Err(Trouble::Exited);
        }
        let status = match running.mpv.status().await {
            Ok(status) => status,
            Err(PlayerError::Timeout { .. }) => return Err(Trouble::Hung),
            Err(PlayerError::Ipc(_) | PlayerError::Exited { .. }) => return Err(Trouble::Exited),
            Err(e) => {
                tracing::debug!(target: "player", error = %e, "status");
                return Ok(());
            }
        };
        if !matches!(self.want.borrow().screen, Screen::Stream(_)) {
            return Ok(());
        }
        if !running.stream_loaded {
            // An image put back after a failed load: no stream to watch until the next load.
            return Ok(());
        }
        let reading = running.playback.observe(&status, Instant::now());
        match reading.state {
            Some(PlayerState::Playing) => {
                self.publish(PlayerState::Playing, Showing::Stream, true, running.mpv.pid());
            }
            Some(state) => {
                let showing = self.report.borrow().showing;
                self.publish(state, showing, false, running.mpv.pid());
            }
            None => {}
        }
        match reading.trouble {
            None => {}
            Some(PlaybackTrouble::NeverOpened) => {
                // A server that does not answer: a failed load, not a stall.
                tracing::debug!(target: "player", "mpv has not opened the stream in time");
                self.stream_failed(running);
            }
            Some(PlaybackTrouble::Stalled) => {
                tracing::warn!(
                    target: "player",
                    seconds = self.options.stall_timeout.as_secs_f64(),
                    buffering = status.paused_for_cache,
                    "live playback has not moved; asking for a fresh URL"
                );
                if let Some(health) = &self.health {
                    health.player_stall();
                }
                // The monitor may still be busy with the last one: one pending stall is enough.
                let _ = self.stalls.try_send(());
            }
        }
        Ok(())
    }

    /// One screenshot of what is shown: its figures (and thumbnail) to the health record, and a
    /// black or frozen stream reported like a stall, once per episode.
    async fn look(&mut self, running: &mut Running) -> Result<(), Trouble> {
        let (Some(screen), Some(health), Some(judge)) =
            (self.options.screen, self.health.clone(), running.judge.as_mut())
        else {
            return Ok(());
        };
        let showing = self.report.borrow().showing;
        if showing == Showing::Nothing {
            judge.forget();
            health.set_screen(None);
            return Ok(());
        }
        let path = self.options.mpv.runtime_dir.join("screen.jpg");
        match running.mpv.screenshot(&path).await {
            Ok(()) => {}
            Err(PlayerError::Timeout { .. }) => return Err(Trouble::Hung),
            Err(PlayerError::Ipc(_) | PlayerError::Exited { .. }) => return Err(Trouble::Exited),
            Err(e) => {
                // Nothing to take a picture of yet (still loading): no figure rather than an old one.
                tracing::debug!(target: "player", error = %e, "no screenshot");
                health.set_screen(None);
                return Ok(());
            }
        }
        let measured = tokio::task::spawn_blocking(move || read_screenshot(&path)).await;
        let picture = match measured {
            Ok(Ok(picture)) => picture,
            Ok(Err(e)) => {
                tracing::warn!(target: "player", error = %e, "cannot read mpv's screenshot");
                health.set_screen(None);
                return Ok(());
            }
            Err(e) => {
                tracing::error!(target: "player", error = %e, "reading the screenshot panicked");
                return Ok(());
            }
        };
        let streaming = showing == Showing::Stream;
        let verdict = judge.observe(&picture, streaming, Instant::now());
        health.set_screen(Some(verdict.figures));
        if screen.thumbnail {
            health.set_thumbnail(Some(Thumbnail::new(picture.thumbnail_jpeg, SystemTime::now())));
        }
        if let Some(trouble) = verdict.heal {
            let what = match trouble {
                PictureTrouble::Black => "black",
                PictureTrouble::Frozen => "frozen",
            };
            tracing::warn!(
                target: "player",
                frozen_seconds = verdict.figures.frozen_seconds,
                luma = verdict.figures.luma_ratio,
                "the picture is {what} while the stream plays; asking for a fresh URL"
            );
            // The monitor may still be busy with the last one: one pending request is enough.
            let _ = self.stalls.try_send(());
        }
        Ok(())
    }

    fn publish(&self, state: PlayerState, showing: Showing, playing_well: bool, pid: Option<u32>) {
        if let Some(health) = &self.health {
            publish_state(health, state, showing);
        }
        self.report.send_if_modified(|report| {
            let next =
                PlayerReport { state, showing, playing_well, pid, restarts: report.restarts };
            let changed = *report != next;
            *report = next;
            changed
        });
    }

    fn restarted(&self, reason: RestartReason, restarts: u64, pid: Option<u32>) {
        if let Some(health) = &self.health {
            publish_restart(health, reason);
        }
        self.report.send_modify(|report| {
            report.restarts = restarts;
            report.pid = pid;
        });
    }
}

/// Reads the screenshot mpv wrote, makes it private (mpv creates it with the umask's mode, in a
/// directory only we can enter), removes it, and measures it. The file lives a few
/// milliseconds, in the runtime directory: nothing is written to the SD card.
fn read_screenshot(path: &Path) -> Result<Picture, ScreenshotError> {
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;

    let private = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    let file = std::fs::File::open(path);
    let removed = std::fs::remove_file(path);
    private?;
    let mut file = file?;
    removed?;
    let mut jpeg = Vec::new();
    file.by_ref().take(MAX_SCREENSHOT_BYTES).read_to_end(&mut jpeg)?;
    Ok(picture::measure(&jpeg)?)
}

/// Why a screenshot could not be read.
#[derive(Debug, thiserror::Error)]
enum ScreenshotError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Picture(#[from] picture::PictureError),
}
