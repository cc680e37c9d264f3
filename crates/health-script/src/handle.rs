//! [`ScriptHealth`]: the handle the kiosk records into as it works, and reads nothing back from.
//!
//! Recording never waits: each call takes a standard mutex for a few field writes and never holds
//! it across an `.await`, so the kiosk's loop and the collector cannot slow each other down.
//! Ages are measured with Tokio's monotonic clock (a Pi has no real-time clock and its wall clock
//! jumps at the first NTP sync; tests pause Tokio's clock instead of sleeping); the wall clock is
//! read only for `api_last_success_timestamp_seconds`.
//!
//! The handle keeps no history beyond what the metrics need: totals, the current states, and
//! the API durations observed since the collector last ran.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::collector::ScriptCollector;
use crate::player::{PlayerFigures, PlayerRecord};
use crate::report::{PlayerReport, Report, label_value};
use crate::screen::{ScreenFigures, Thumbnail};
use crate::states::{ApiResult, Display, Labelled, PlayerState, RestartReason, StreamState};

/// At most this many API durations wait for the collector; later ones are dropped until it runs.
/// The kiosk asks the API once per check, and the collector runs every few seconds, so only a
/// kiosk whose health monitoring is off ever fills it, and then it costs 8 KiB.
const MAX_PENDING_DURATIONS: usize = 1024;

/// The kiosk's health as it records it: cheap to clone, every clone the same record.
///
/// The kiosk creates one at start, records into it from its main loop, the API client and the
/// player supervisor, and hands [`collector`](Self::collector) to the exporter. Until told
/// otherwise the stream counts as offline, the screen as showing nothing and the player as
/// stopped, so `script_healthy` is 0 until the kiosk first shows what it should; the main loop
/// has two check intervals from [`new`](Self::new) for its first [`tick`](Self::tick).
///
/// ```
/// use std::time::Duration;
/// use health_script::{ApiResult, Display, PlayerState, ScriptHealth, StreamState};
///
/// let health = ScriptHealth::new(Duration::from_secs(30));
/// health.api_request(ApiResult::Live, Duration::from_millis(180), Some(97));
/// health.set_stream_state(StreamState::Live);
/// health.set_player_state(PlayerState::Playing);
/// health.set_display(Display::Stream);
/// health.tick();
/// let collector = health.collector(Duration::from_secs(5));
/// # let _ = collector;
/// ```
#[derive(Clone)]
pub struct ScriptHealth {
    shared: Arc<Shared>,
}

struct Shared {
    check_interval: Duration,
    started: Instant,
    state: Mutex<State>,
}

/// Everything recorded, behind the mutex.
#[derive(Debug)]
struct State {
    last_tick: Instant,
    api_requests: [u64; 7],
    pending_durations: Vec<f64>,
    consecutive_errors: u64,
    last_success: Option<SystemTime>,
    rate_limit_remaining: Option<u64>,
    stream_state: StreamState,
    live_since: Option<Instant>,
    display: Display,
    player_state: PlayerState,
    restarts: [u64; 4],
    stalls: u64,
    player: PlayerRecord,
    info: Option<(String, String)>,
    screen: Option<ScreenFigures>,
    thumbnail: Option<Thumbnail>,
}

impl ScriptHealth {
    /// A record for a kiosk whose main loop checks every `check_interval` (`CHECK_INTERVAL`).
    /// `uptime_seconds` counts from here.
    pub fn new(check_interval: Duration) -> Self {
        let now = Instant::now();
        let state = State {
            last_tick: now,
            api_requests: [0; 7],
            pending_durations: Vec::new(),
            consecutive_errors: 0,
            last_success: None,
            rate_limit_remaining: None,
            stream_state: StreamState::Offline,
            live_since: None,
            display: Display::Nothing,
            player_state: PlayerState::Stopped,
            restarts: [0; 4],
            stalls: 0,
            player: PlayerRecord::default(),
            info: None,
            screen: None,
            thumbnail: None,
        };
        let shared = Shared { check_interval, started: now, state: Mutex::new(state) };
        Self { shared: Arc::new(shared) }
    }

    /// The check interval given to [`new`](Self::new).
    pub fn check_interval(&self) -> Duration {
        self.shared.check_interval
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The main loop made progress. `script_healthy` needs one within two check intervals.
    pub fn tick(&self) {
        self.lock().last_tick = Instant::now();
    }

    /// One request to the Vimeo API: its result, how long it took, and the rate-limit headroom
    /// the answer announced (`None` when it said nothing; the last known value stays).
    pub fn api_request(
        &self,
        result: ApiResult,
        duration: Duration,
        rate_limit_remaining: Option<u64>,
    ) {
        let answered_at = result.is_answer().then(SystemTime::now);
        let mut state = self.lock();
        state.api_requests[result.index()] += 1;
        if state.pending_durations.len() < MAX_PENDING_DURATIONS {
            state.pending_durations.push(duration.as_secs_f64());
        }
        if result.is_error() {
            state.consecutive_errors += 1;
        } else if result.is_answer() {
            state.consecutive_errors = 0;
        }
        if answered_at.is_some() {
            state.last_success = answered_at;
        }
        if rate_limit_remaining.is_some() {
            state.rate_limit_remaining = rate_limit_remaining;
        }
    }

    /// What the API says about the event. `stream_uptime_seconds` counts from the last change
    /// to [`Live`](StreamState::Live); setting `Live` again while live keeps counting.
    pub fn set_stream_state(&self, stream_state: StreamState) {
        let now = Instant::now();
        let mut state = self.lock();
        state.live_since = match (stream_state, state.live_since) {
            (StreamState::Live, Some(since)) => Some(since),
            (StreamState::Live, None) => Some(now),
            _ => None,
        };
        state.stream_state = stream_state;
    }

    /// What the screen shows now.
    pub fn set_display(&self, display: Display) {
        self.lock().display = display;
    }

    /// What the player is doing now.
    pub fn set_player_state(&self, player_state: PlayerState) {
        self.lock().player_state = player_state;
    }

    /// The kiosk restarted its player. Its counts (dropped frames) start again with the new
    /// player, and are added to the totals so far.
    pub fn player_restart(&self, reason: RestartReason) {
        let now = Instant::now();
        let mut state = self.lock();
        state.restarts[reason.index()] += 1;
        state.player.restart(now);
    }

    /// Playback stopped moving while the player still answered.
    pub fn player_stall(&self) {
        self.lock().stalls += 1;
    }

    /// The player's figures as it reports them now (see [`PlayerFigures`]). Dropped-frame counts
    /// are the current file's: a count that falls (a new file, a new player) is added to the
    /// total, never subtracted. A change to buffering counts one rebuffer.
    pub fn set_player_figures(&self, figures: PlayerFigures) {
        let now = Instant::now();
        self.lock().player.update(figures, now);
    }

    /// The player's figures as last handed over, if any: the `stream` collector inside the kiosk
    /// reads what is played from here instead of running ffprobe.
    pub fn player_figures(&self) -> Option<PlayerFigures> {
        self.lock().player.figures.clone()
    }

    /// Which player runs and how it decodes, e.g. `("mpv", "v4l2m2m-copy")` or `("mpv", "no")`.
    /// Both become label values: lowercased, other characters than `[a-z0-9._+-]` replaced by
    /// `_`, at most 32 characters.
    pub fn player_info(&self, player: &str, hwdec: &str) {
        let info = (label_value(player), label_value(hwdec));
        self.lock().info = Some(info);
    }

    /// What the screen shows now, as last set by [`set_display`](Self::set_display).
    pub fn display(&self) -> Display {
        self.lock().display
    }

    /// The figures of the latest screenshot; `None` when there is none (nothing shown, or the
    /// screenshot failed): the series are absent until known again.
    pub fn set_screen(&self, figures: Option<ScreenFigures>) {
        self.lock().screen = figures.filter(|f| f.luma_ratio.is_finite());
    }

    /// The latest screenshot, scaled down, for `/screen.jpg`; `None` forgets the previous one.
    pub fn set_thumbnail(&self, thumbnail: Option<Thumbnail>) {
        self.lock().thumbnail = thumbnail;
    }

    /// The latest screenshot the kiosk handed over, if any.
    pub fn thumbnail(&self) -> Option<Thumbnail> {
        self.lock().thumbnail.clone()
    }

    /// The collector that publishes this record every `interval` (`HEALTH_SCRIPT_INTERVAL`).
    pub fn collector(&self, interval: Duration) -> ScriptCollector {
        ScriptCollector::new(self.clone(), interval)
    }

    /// The figures now, taking the API durations observed since the last call: the exposition
    /// adds each run's observations to the histogram, so each must be handed over once.
    pub(crate) fn report(&self) -> Report {
        let now = Instant::now();
        let check_interval = self.shared.check_interval;
        let mut state = self.lock();
        let ticked_in_time = now.saturating_duration_since(state.last_tick) <= check_interval * 2;
        let shows_what_it_should = state.display == state.stream_state.expected_display();
        let unix = |at: SystemTime| at.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let seconds_since = |since: Instant| now.saturating_duration_since(since).as_secs_f64();
        Report {
            healthy: Some(ticked_in_time && shows_what_it_should),
            uptime_seconds: Some(seconds_since(self.shared.started)),
            api_requests: Some(state.api_requests),
            api_durations: Some(std::mem::take(&mut state.pending_durations)),
            api_consecutive_errors: Some(state.consecutive_errors),
            api_last_success: Some(state.last_success.map_or(0.0, unix)),
            api_rate_limit_remaining: state.rate_limit_remaining,
            stream_state: Some(state.stream_state),
            stream_uptime_seconds: Some(state.live_since.map_or(0.0, seconds_since)),
            player_state: Some(state.player_state),
            player_restarts: Some(state.restarts),
            player_stalls: Some(state.stalls),
            player: Some(player_report(&state.player, now)),
            player_info: state.info.clone(),
            screen: state.screen,
        }
    }
}

/// The player's part of the report: counters always (they start at 0), figures while known.
fn player_report(record: &PlayerRecord, now: Instant) -> PlayerReport {
    let figures = record.figures.clone().unwrap_or_default();
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite() && *v >= 0.0);
    PlayerReport {
        frames_dropped: [Some(record.dropped_output.total()), Some(record.dropped_decoder.total())],
        rebuffers: Some(record.rebuffers),
        rebuffer_seconds: Some(record.rebuffer_seconds(now)),
        buffering: figures.buffering,
        buffer_seconds: finite(figures.buffer_seconds),
        fps: finite(figures.fps),
        hwdec: figures.hwdec.as_deref().map(label_value),
        video_width: figures.video_width,
        video_height: figures.video_height,
        input_bytes_per_second: finite(figures.input_bytes_per_second),
    }
}

impl fmt::Debug for ScriptHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("ScriptHealth")
            .field("check_interval", &self.shared.check_interval)
            .field("stream_state", &state.stream_state)
            .field("display", &state.display)
            .field("player_state", &state.player_state)
            .field("consecutive_errors", &state.consecutive_errors)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::advance;

    use super::*;

    const CHECK: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn healthy_needs_a_recent_tick_and_the_screen_the_state_calls_for() {
        // (stream state, display, time since the last tick, healthy)
        let cases = [
            (StreamState::Live, Display::Stream, 0, true),
            (StreamState::Live, Display::Stream, 20, true),
            (StreamState::Live, Display::Stream, 21, false),
            (StreamState::Live, Display::Holding, 0, false),
            (StreamState::Live, Display::Nothing, 0, false),
            (StreamState::Offline, Display::Holding, 5, true),
            (StreamState::Offline, Display::Stream, 5, false),
            (StreamState::Error, Display::Error, 19, true),
            (StreamState::Error, Display::Holding, 0, false),
            (StreamState::Error, Display::Error, 60, false),
        ];
        for (stream_state, display, since_tick, expected) in cases {
            let health = ScriptHealth::new(CHECK);
            health.set_stream_state(stream_state);
            health.set_display(display);
            health.tick();
            advance(Duration::from_secs(since_tick)).await;
            assert_eq!(
                health.report().healthy,
                Some(expected),
                "{stream_state:?} showing {display:?}, {since_tick} s after the tick"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_record_is_unhealthy_until_the_screen_shows_something_and_then_needs_ticks() {
        let health = ScriptHealth::new(CHECK);
        let report = health.report();
        assert_eq!(report.healthy, Some(false), "the screen shows nothing yet");
        assert_eq!(report.stream_state, Some(StreamState::Offline));
        assert_eq!(report.player_state, Some(PlayerState::Stopped));
        health.set_display(Display::Holding);
        assert_eq!(health.report().healthy, Some(true), "new() counts as the first tick");
        advance(Duration::from_secs(21)).await;
        assert_eq!(health.report().healthy, Some(false), "no tick for two intervals");
        health.tick();
        assert_eq!(health.report().healthy, Some(true));
        assert_eq!(health.report().uptime_seconds, Some(21.0));
    }

    #[tokio::test(start_paused = true)]
    async fn consecutive_errors_count_failures_since_the_last_answer() {
        use ApiResult::*;
        // (results in order, consecutive errors after them)
        let cases: [(&[ApiResult], u64); 6] = [
            (&[], 0),
            (&[NetworkError, ServerError], 2),
            (&[NetworkError, ServerError, Live], 0),
            (&[ClientError, RateLimited, InvalidResponse], 2),
            (&[ServerError, Offline, NetworkError], 1),
            (&[RateLimited, RateLimited], 0),
        ];
        for (results, expected) in cases {
            let health = ScriptHealth::new(CHECK);
            for result in results {
                health.api_request(*result, Duration::from_millis(100), None);
            }
            let report = health.report();
            assert_eq!(report.api_consecutive_errors, Some(expected), "{results:?}");
            let total: u64 = report.api_requests.unwrap().iter().sum();
            assert_eq!(total, results.len() as u64, "{results:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn last_success_is_zero_until_an_answer_and_rate_limit_keeps_the_last_known() {
        let health = ScriptHealth::new(CHECK);
        health.api_request(ApiResult::ServerError, Duration::ZERO, None);
        let report = health.report();
        assert_eq!(report.api_last_success, Some(0.0));
        assert_eq!(report.api_rate_limit_remaining, None, "absent until an answer says");
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        health.api_request(ApiResult::Offline, Duration::ZERO, Some(42));
        health.api_request(ApiResult::RateLimited, Duration::ZERO, None);
        let report = health.report();
        let at = report.api_last_success.unwrap();
        assert!(at >= before && at < before + 60.0, "{at} vs {before}");
        assert_eq!(report.api_rate_limit_remaining, Some(42));
        health.api_request(ApiResult::RateLimited, Duration::ZERO, Some(0));
        let report = health.report();
        assert_eq!(report.api_rate_limit_remaining, Some(0));
        assert_eq!(report.api_last_success, Some(at), "being rate limited is not an answer");
    }

    #[tokio::test(start_paused = true)]
    async fn stream_uptime_counts_from_the_last_change_to_live() {
        let health = ScriptHealth::new(CHECK);
        let uptime = || health.report().stream_uptime_seconds.unwrap();
        assert_eq!(uptime(), 0.0);
        advance(Duration::from_secs(5)).await;
        health.set_stream_state(StreamState::Live);
        advance(Duration::from_secs(30)).await;
        health.set_stream_state(StreamState::Live);
        advance(Duration::from_secs(10)).await;
        assert_eq!(uptime(), 40.0, "live again while live keeps counting");
        health.set_stream_state(StreamState::Error);
        assert_eq!(uptime(), 0.0);
        advance(Duration::from_secs(10)).await;
        health.set_stream_state(StreamState::Live);
        advance(Duration::from_secs(3)).await;
        assert_eq!(uptime(), 3.0, "counts from the new change to live");
    }

    #[tokio::test(start_paused = true)]
    async fn durations_are_handed_over_once_and_bounded_while_nobody_collects() {
        let health = ScriptHealth::new(CHECK);
        health.api_request(ApiResult::Live, Duration::from_millis(250), None);
        health.api_request(ApiResult::NetworkError, Duration::from_secs(10), None);
        assert_eq!(health.report().api_durations, Some(vec![0.25, 10.0]));
        assert_eq!(health.report().api_durations, Some(vec![]), "each observation once");
        for _ in 0..MAX_PENDING_DURATIONS + 10 {
            health.api_request(ApiResult::Live, Duration::from_millis(1), None);
        }
        let report = health.report();
        assert_eq!(report.api_durations.map(|d| d.len()), Some(MAX_PENDING_DURATIONS));
        assert_eq!(report.api_requests.unwrap()[0], MAX_PENDING_DURATIONS as u64 + 11);
    }

    #[tokio::test(start_paused = true)]
    async fn player_figures_add_up_over_restarts_and_unknown_figures_are_absent() {
        let health = ScriptHealth::new(CHECK);
        let player = |report: Report| report.player.unwrap();
        assert_eq!(player(health.report()).frames_dropped, [Some(0), Some(0)]);
        assert_eq!(player(health.report()).buffer_seconds, None);
        health.set_player_figures(PlayerFigures {
            frames_dropped_output: Some(10),
            frames_dropped_decoder: Some(1),
            buffer_seconds: Some(4.5),
            buffering: Some(true),
            hwdec: Some("V4L2M2M-copy".to_owned()),
            ..PlayerFigures::default()
        });
        advance(Duration::from_secs(2)).await;
        let report = player(health.report());
        assert_eq!(report.frames_dropped, [Some(10), Some(1)]);
        assert_eq!(report.buffer_seconds, Some(4.5));
        assert_eq!((report.rebuffers, report.rebuffer_seconds), (Some(1), Some(2.0)));
        assert_eq!(report.hwdec.as_deref(), Some("v4l2m2m-copy"));
        // A new player whose count has already passed the old one by the time it is read.
        health.player_restart(RestartReason::Hung);
        health.set_player_figures(PlayerFigures {
            frames_dropped_output: Some(12),
            buffer_seconds: Some(f64::NAN),
            ..PlayerFigures::default()
        });
        advance(Duration::from_secs(5)).await;
        let report = player(health.report());
        assert_eq!(report.frames_dropped, [Some(22), Some(1)]);
        assert_eq!(report.buffer_seconds, None, "NaN is unknown");
        assert_eq!(
            (report.rebuffers, report.rebuffer_seconds),
            (Some(1), Some(2.0)),
            "ended by the restart"
        );
        assert_eq!(health.report().player_restarts, Some([0, 1, 0, 0]));
        assert_eq!(health.player_figures().unwrap().frames_dropped_output, Some(12));
    }

    #[test]
    fn clones_share_one_record_across_threads_and_debug_is_short() {
        let health = ScriptHealth::new(CHECK);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let health = health.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        health.player_stall();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        health.player_info("MPV", "v4l2m2m-copy");
        let report = health.report();
        assert_eq!(report.player_stalls, Some(400));
        assert_eq!(report.player_info, Some(("mpv".to_owned(), "v4l2m2m-copy".to_owned())));
        let debug = format!("{health:?}");
        assert!(debug.starts_with("ScriptHealth {") && debug.contains("Offline"), "{debug}");
    }
}
