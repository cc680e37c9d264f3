//! The kiosk's figures as plain values, and the one function that turns them into samples.
//!
//! Both sources fill a [`Report`]: the in-process handle (every field known) and the sidecar's
//! status file (any field may be missing). Writing the samples in one place is what keeps the two
//! emitting the same names, labels and pre-initialised label values.

use health_core::{MetricDesc, Snapshot, Unit};

use crate::screen::ScreenFigures;
use crate::states::{ApiResult, Labelled, PlayerState, RestartReason, StreamState};

/// Upper bounds for one call to the Vimeo API: a healthy call takes a few hundred milliseconds;
/// the kiosk's own timeout is around 10 s, which the last finite bucket catches.
pub(crate) const DURATION_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub(crate) const HEALTHY: MetricDesc = MetricDesc::gauge(
    "script_healthy",
    Unit::None,
    "1 when the kiosk's main loop ran within twice its check interval and the screen shows what \
     the stream state calls for (live: the stream, offline: the holding image, error: the error \
     image).",
);
pub(crate) const UPTIME: MetricDesc =
    MetricDesc::gauge("uptime_seconds", Unit::Seconds, "Seconds since the kiosk started.");
pub(crate) const API_REQUESTS: MetricDesc = MetricDesc::counter(
    "api_requests_total",
    Unit::None,
    "Requests to the Vimeo API by result: live, offline, rate_limited, client_error, \
     server_error, network_error, invalid_response.",
)
.labels(&["result"]);
pub(crate) const API_DURATION: MetricDesc = MetricDesc::histogram(
    "api_request_duration_seconds",
    Unit::Seconds,
    "How long requests to the Vimeo API took, whatever their result (inside the kiosk only: a \
     status file cannot carry single requests).",
    DURATION_BUCKETS,
);
pub(crate) const API_CONSECUTIVE_ERRORS: MetricDesc = MetricDesc::gauge(
    "api_consecutive_errors",
    Unit::None,
    "Failed API requests since the last answer (live or offline); rate limiting leaves it as it \
     was.",
);
pub(crate) const API_LAST_SUCCESS: MetricDesc = MetricDesc::gauge(
    "api_last_success_timestamp_seconds",
    Unit::Seconds,
    "Unix time of the last API answer (live or offline); 0 before the first.",
);
pub(crate) const API_RATE_LIMIT_REMAINING: MetricDesc = MetricDesc::gauge(
    "api_rate_limit_remaining",
    Unit::None,
    "Requests the API said were left in its rate-limit window, as of the last answer that said.",
);
pub(crate) const STREAM_STATE: MetricDesc = MetricDesc::gauge(
    "stream_state",
    Unit::None,
    "What the API says about the event: 1 for the current state (live, offline, error), 0 for \
     the others.",
)
.labels(&["state"]);
pub(crate) const STREAM_UPTIME: MetricDesc = MetricDesc::gauge(
    "stream_uptime_seconds",
    Unit::Seconds,
    "Seconds since the stream state last became live; 0 while it is not live.",
);
pub(crate) const PLAYER_STATE: MetricDesc = MetricDesc::gauge(
    "player_state",
    Unit::None,
    "1 for what the player is doing (starting, playing, buffering, idle, restarting, stopped), 0 \
     for the others.",
)
.labels(&["state"]);
pub(crate) const PLAYER_RESTARTS: MetricDesc = MetricDesc::counter(
    "player_restarts_total",
    Unit::None,
    "Player restarts by reason: exited, hung, stalled, failed (could not start).",
)
.labels(&["reason"]);
pub(crate) const PLAYER_STALLS: MetricDesc = MetricDesc::counter(
    "player_stalls_total",
    Unit::None,
    "Times playback stopped moving while the player still answered.",
);
pub(crate) const PLAYER_FRAMES_DROPPED: MetricDesc = MetricDesc::counter(
    "player_frames_dropped_total",
    Unit::None,
    "Frames the player dropped, by stage: output (mpv's frame-drop-count: too late for the \
     display) and decoder (decoder-frame-drop-count: too slow to decode); summed over new files \
     and player restarts.",
)
.labels(&["stage"]);
pub(crate) const PLAYER_BUFFERING: MetricDesc = MetricDesc::gauge(
    "player_buffering",
    Unit::None,
    "1 while playback waits for the network (mpv's paused-for-cache), else 0; absent while \
     nothing plays.",
);
pub(crate) const PLAYER_REBUFFERS: MetricDesc = MetricDesc::counter(
    "player_rebuffer_total",
    Unit::None,
    "Times playback started waiting for the network (paused-for-cache turned on).",
);
pub(crate) const PLAYER_REBUFFER_SECONDS: MetricDesc = MetricDesc::counter(
    "player_rebuffer_seconds_total",
    Unit::Seconds,
    "Whole seconds playback has spent waiting for the network, the current wait included.",
);
pub(crate) const PLAYER_BUFFER: MetricDesc = MetricDesc::gauge(
    "player_buffer_seconds",
    Unit::Seconds,
    "Seconds of media the player has buffered ahead (mpv's demuxer-cache-duration); absent while \
     unknown.",
);
pub(crate) const PLAYER_FPS: MetricDesc = MetricDesc::gauge(
    "player_fps",
    Unit::None,
    "Frames per second the player shows, as it measures them (mpv's estimated-vf-fps); compare \
     with vimeo_monitor_stream_frames_per_second.",
);
pub(crate) const PLAYER_HWDEC_ACTIVE: MetricDesc = MetricDesc::gauge(
    "player_hwdec_active",
    Unit::None,
    "1 when the player decodes video in hardware; the hwdec label names the decoder (mpv's \
     hwdec-current), `no` with 0 for software decoding.",
)
.labels(&["hwdec"]);
pub(crate) const PLAYER_VIDEO_WIDTH: MetricDesc = MetricDesc::gauge(
    "player_video_width_pixels",
    Unit::Pixels,
    "Width of the picture the player decodes (mpv's video-params).",
);
pub(crate) const PLAYER_VIDEO_HEIGHT: MetricDesc = MetricDesc::gauge(
    "player_video_height_pixels",
    Unit::Pixels,
    "Height of the picture the player decodes (mpv's video-params).",
);
pub(crate) const PLAYER_INPUT_RATE: MetricDesc = MetricDesc::gauge(
    "player_input_bytes_per_second",
    Unit::BytesPerSecond,
    "Bytes per second the player receives from the network (mpv's demuxer-cache-state \
     raw-input-rate).",
);
pub(crate) const PLAYER_INFO: MetricDesc = MetricDesc::gauge(
    "player_info",
    Unit::Info,
    "The player and its hardware decoding mode (mpv's hwdec-current, `no` for software); always \
     1.",
)
.labels(&["player", "hwdec"]);

pub(crate) const SCREEN_LUMA: MetricDesc = MetricDesc::gauge(
    "screen_luma_ratio",
    Unit::Ratio,
    "Mean brightness (luma) of the kiosk's latest screenshot, 0 black to 1 white; absent while \
     no screenshot is known (HEALTH_SCREEN_INTERVAL).",
);
pub(crate) const SCREEN_BLACK: MetricDesc = MetricDesc::gauge(
    "screen_black",
    Unit::None,
    "1 when the last 3 screenshots in a row were dark (mean luma below 0.04) while the stream \
     was shown, else 0.",
);
pub(crate) const SCREEN_FROZEN: MetricDesc = MetricDesc::gauge(
    "screen_frozen_seconds",
    Unit::Seconds,
    "How long the picture has not changed between screenshots while the stream was shown; 0 \
     when it changes or something else is shown.",
);

/// Every metric both sources may emit.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[
    HEALTHY,
    UPTIME,
    API_REQUESTS,
    API_DURATION,
    API_CONSECUTIVE_ERRORS,
    API_LAST_SUCCESS,
    API_RATE_LIMIT_REMAINING,
    STREAM_STATE,
    STREAM_UPTIME,
    PLAYER_STATE,
    PLAYER_RESTARTS,
    PLAYER_STALLS,
    PLAYER_FRAMES_DROPPED,
    PLAYER_BUFFERING,
    PLAYER_REBUFFERS,
    PLAYER_REBUFFER_SECONDS,
    PLAYER_BUFFER,
    PLAYER_FPS,
    PLAYER_HWDEC_ACTIVE,
    PLAYER_VIDEO_WIDTH,
    PLAYER_VIDEO_HEIGHT,
    PLAYER_INPUT_RATE,
    PLAYER_INFO,
    SCREEN_LUMA,
    SCREEN_BLACK,
    SCREEN_FROZEN,
];

/// The kiosk's figures at one moment; `None` is "not known", and its series is left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Report {
    pub(crate) healthy: Option<bool>,
    pub(crate) uptime_seconds: Option<f64>,
    /// Totals per [`ApiResult::ALL`] index.
    pub(crate) api_requests: Option<[u64; 7]>,
    /// Durations observed since the previous run, in seconds; `None` leaves the histogram out.
    pub(crate) api_durations: Option<Vec<f64>>,
    pub(crate) api_consecutive_errors: Option<u64>,
    /// Unix seconds; 0 when there never was one.
    pub(crate) api_last_success: Option<f64>,
    pub(crate) api_rate_limit_remaining: Option<u64>,
    pub(crate) stream_state: Option<StreamState>,
    pub(crate) stream_uptime_seconds: Option<f64>,
    pub(crate) player_state: Option<PlayerState>,
    /// Totals per [`RestartReason::ALL`] index.
    pub(crate) player_restarts: Option<[u64; 4]>,
    pub(crate) player_stalls: Option<u64>,
    /// The player's own figures.
    pub(crate) player: Option<PlayerReport>,
    /// Already sanitised label values: player, hwdec.
    pub(crate) player_info: Option<(String, String)>,
    /// The latest screenshot's figures.
    pub(crate) screen: Option<ScreenFigures>,
}

/// The player's figures at one moment; counters are totals over players and files.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PlayerReport {
    /// Per stage: output, decoder.
    pub(crate) frames_dropped: [Option<u64>; 2],
    pub(crate) rebuffers: Option<u64>,
    pub(crate) rebuffer_seconds: Option<f64>,
    pub(crate) buffering: Option<bool>,
    pub(crate) buffer_seconds: Option<f64>,
    pub(crate) fps: Option<f64>,
    /// Already a sanitised label value.
    pub(crate) hwdec: Option<String>,
    pub(crate) video_width: Option<u32>,
    pub(crate) video_height: Option<u32>,
    pub(crate) input_bytes_per_second: Option<f64>,
}

/// The stages of `player_frames_dropped_total`, in [`PlayerReport::frames_dropped`]'s order.
const DROP_STAGES: [&str; 2] = ["output", "decoder"];

impl PlayerReport {
    fn sample(self, snapshot: &mut Snapshot) {
        for (stage, total) in DROP_STAGES.into_iter().zip(self.frames_dropped) {
            if let Some(total) = total {
                let labels = vec![("stage", stage.to_owned())];
                snapshot.counter_with(PLAYER_FRAMES_DROPPED.name, labels, total);
            }
        }
        if let Some(rebuffers) = self.rebuffers {
            snapshot.counter(PLAYER_REBUFFERS.name, rebuffers);
        }
        if let Some(seconds) = self.rebuffer_seconds {
            // Counters are whole numbers in the exposition: whole seconds are plenty here.
            snapshot.counter(PLAYER_REBUFFER_SECONDS.name, seconds.max(0.0) as u64);
        }
        if let Some(buffering) = self.buffering {
            snapshot.gauge(PLAYER_BUFFERING.name, f64::from(u8::from(buffering)));
        }
        let gauges = [
            (PLAYER_BUFFER.name, self.buffer_seconds),
            (PLAYER_FPS.name, self.fps),
            (PLAYER_VIDEO_WIDTH.name, self.video_width.map(f64::from)),
            (PLAYER_VIDEO_HEIGHT.name, self.video_height.map(f64::from)),
            (PLAYER_INPUT_RATE.name, self.input_bytes_per_second),
        ];
        for (name, value) in gauges {
            if let Some(value) = value {
                snapshot.gauge(name, value);
            }
        }
        if let Some(hwdec) = self.hwdec {
            let active = f64::from(u8::from(hwdec != "no"));
            snapshot.gauge_with(PLAYER_HWDEC_ACTIVE.name, vec![("hwdec", hwdec)], active);
        }
    }
}

impl Report {
    /// Adds every known figure to `snapshot`: all values of a counter's label, every state of a
    /// state gauge (exactly one at 1).
    pub(crate) fn sample(self, snapshot: &mut Snapshot) {
        let flag = |b: bool| f64::from(u8::from(b));
        if let Some(healthy) = self.healthy {
            snapshot.gauge(HEALTHY.name, flag(healthy));
        }
        if let Some(uptime) = self.uptime_seconds {
            snapshot.gauge(UPTIME.name, uptime);
        }
        if let Some(totals) = self.api_requests {
            for result in ApiResult::ALL {
                let labels = vec![("result", result.label().to_owned())];
                snapshot.counter_with(API_REQUESTS.name, labels, totals[result.index()]);
            }
        }
        if let Some(durations) = self.api_durations {
            snapshot.observe_with(API_DURATION.name, Vec::new(), durations);
        }
        if let Some(errors) = self.api_consecutive_errors {
            snapshot.gauge(API_CONSECUTIVE_ERRORS.name, errors as f64);
        }
        if let Some(at) = self.api_last_success {
            snapshot.gauge(API_LAST_SUCCESS.name, at);
        }
        if let Some(remaining) = self.api_rate_limit_remaining {
            snapshot.gauge(API_RATE_LIMIT_REMAINING.name, remaining as f64);
        }
        if let Some(current) = self.stream_state {
            for state in StreamState::ALL {
                let labels = vec![("state", state.label().to_owned())];
                snapshot.gauge_with(STREAM_STATE.name, labels, flag(*state == current));
            }
        }
        if let Some(uptime) = self.stream_uptime_seconds {
            snapshot.gauge(STREAM_UPTIME.name, uptime);
        }
        if let Some(current) = self.player_state {
            for state in PlayerState::ALL {
                let labels = vec![("state", state.label().to_owned())];
                snapshot.gauge_with(PLAYER_STATE.name, labels, flag(*state == current));
            }
        }
        if let Some(totals) = self.player_restarts {
            for reason in RestartReason::ALL {
                let labels = vec![("reason", reason.label().to_owned())];
                snapshot.counter_with(PLAYER_RESTARTS.name, labels, totals[reason.index()]);
            }
        }
        if let Some(stalls) = self.player_stalls {
            snapshot.counter(PLAYER_STALLS.name, stalls);
        }
        if let Some(player) = self.player {
            player.sample(snapshot);
        }
        if let Some((player, hwdec)) = self.player_info {
            snapshot.gauge_with(PLAYER_INFO.name, vec![("player", player), ("hwdec", hwdec)], 1.0);
        }
        if let Some(screen) = self.screen {
            snapshot.gauge(SCREEN_LUMA.name, screen.luma_ratio.clamp(0.0, 1.0));
            snapshot.gauge(SCREEN_BLACK.name, flag(screen.black));
            snapshot.gauge(SCREEN_FROZEN.name, screen.frozen_seconds.max(0.0));
        }
    }
}

/// The longest label value `player_info` carries.
const MAX_LABEL: usize = 32;

/// A label value from text the player reports: lowercase ASCII letters, digits and `._+-`, other
/// characters replaced by `_`, at most 32 of them; `unknown` when nothing is left.
///
/// mpv's `hwdec-current` is one of a few dozen short names (`no`, `v4l2m2m-copy`, `drm`), but it
/// is still text from outside: bounding it keeps a surprise from becoming a new series per run.
pub(crate) fn label_value(text: &str) -> String {
    let value: String = text
        .trim()
        .chars()
        .take(MAX_LABEL)
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-') { c } else { '_' }
        })
        .collect();
    if value.is_empty() { "unknown".to_owned() } else { value }
}

#[cfg(test)]
mod tests {
    use health_core::SampleValue;
    use health_core::testing::{assert_described, gauge};

    use super::*;

    #[test]
    fn a_full_report_samples_every_label_value_and_one_state() {
        let report = Report {
            healthy: Some(true),
            uptime_seconds: Some(3.0),
            api_requests: Some([1, 2, 0, 0, 0, 3, 0]),
            api_durations: Some(vec![0.2]),
            api_consecutive_errors: Some(0),
            api_last_success: Some(0.0),
            api_rate_limit_remaining: Some(10),
            stream_state: Some(StreamState::Offline),
            stream_uptime_seconds: Some(0.0),
            player_state: Some(PlayerState::Idle),
            player_restarts: Some([0, 1, 0, 0]),
            player_stalls: Some(2),
            player: Some(PlayerReport {
                frames_dropped: [Some(7), Some(1)],
                rebuffers: Some(2),
                rebuffer_seconds: Some(3.5),
                buffering: Some(false),
                buffer_seconds: Some(1.5),
                fps: Some(25.0),
                hwdec: Some("no".to_owned()),
                video_width: Some(1920),
                video_height: Some(1080),
                input_bytes_per_second: Some(500_000.0),
            }),
            player_info: Some(("mpv".into(), "no".into())),
            screen: Some(ScreenFigures { luma_ratio: 0.5, black: false, frozen_seconds: 0.0 }),
        };
        let mut snapshot = Snapshot::new();
        report.sample(&mut snapshot);
        assert_described(DESCRIPTIONS, &snapshot);
        // 20 single series (player_info among them), and 7 + 3 + 6 + 4 + 2 + 1 series of the
        // labelled families.
        assert_eq!(snapshot.len(), 20 + 7 + 3 + 6 + 4 + 2 + 1);
        assert_eq!(gauge(&snapshot, "player_hwdec_active", &[("hwdec", "no")]), 0.0);
        assert_eq!(
            snapshot.get("player_frames_dropped_total", &[("stage", "decoder")]),
            Some(&SampleValue::Counter(1))
        );
        let states: Vec<f64> = StreamState::ALL
            .iter()
            .map(|s| gauge(&snapshot, "stream_state", &[("state", s.label())]))
            .collect();
        assert_eq!(states, [0.0, 1.0, 0.0]);
        assert_eq!(
            snapshot.get("api_requests_total", &[("result", "network_error")]),
            Some(&SampleValue::Counter(3))
        );
        assert_eq!(
            snapshot.get("api_requests_total", &[("result", "invalid_response")]),
            Some(&SampleValue::Counter(0))
        );
    }

    #[test]
    fn an_empty_report_samples_nothing() {
        let mut snapshot = Snapshot::new();
        Report::default().sample(&mut snapshot);
        assert!(snapshot.is_empty());
    }

    #[test]
    fn label_values_are_short_and_tame() {
        assert_eq!(label_value("v4l2m2m-copy"), "v4l2m2m-copy");
        assert_eq!(label_value(" NO "), "no");
        assert_eq!(label_value("drm\"}\nevil"), "drm___evil");
        assert_eq!(label_value(""), "unknown");
        assert_eq!(label_value(&"x".repeat(100)).len(), MAX_LABEL);
        assert_eq!(label_value("é"), "_");
    }
}
