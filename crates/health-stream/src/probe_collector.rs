//! The `stream` collector: what the stream is (resolution, frame rate, audio, bitrate), by
//! running ffprobe on the watched variant every `HEALTH_STREAM_INTERVAL`.
//!
//! Inside the kiosk the player already has the stream open and knows all of this: the collector
//! then reads the player's figures ([`PlayerView`]) and runs no ffprobe, which saves a download
//! of three segments a minute and a child process. ffprobe runs only where the exporter is not
//! the player (a standalone `health-server`, beside another kiosk script).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot, Unit};

use crate::PlayerView;
use crate::fetch::FetchError;
use crate::probe::{self, ProbeError, ProbeOptions, StreamFacts};
use crate::source::PlaybackUrl;
use crate::watch::StreamWatch;

/// The collector's name: the `collector` label of the self-metrics.
pub const NAME: &str = "stream";

/// How many of the newest segments ffprobe reads: about as far back as a player starts
/// (RFC 8216 §6.3.3: three target durations from the end).
const PROBED_SEGMENTS: usize = 3;

/// Each playlist GET before ffprobe runs gets this long, or the ffprobe timeout if shorter.
const PLAYLIST_TIMEOUT: Duration = Duration::from_secs(5);

const AVAILABLE: MetricDesc = MetricDesc::gauge(
    "stream_available",
    Unit::None,
    "1 when the last ffprobe run read the stream (inside the kiosk: when the player plays it); 0 \
     when it failed or no stream is live.",
);
const BITRATE: MetricDesc = MetricDesc::gauge(
    "stream_bitrate_bytes_per_second",
    Unit::BytesPerSecond,
    "Bitrate of the watched variant, measured over the packets ffprobe read.",
);
const WIDTH: MetricDesc =
    MetricDesc::gauge("stream_width_pixels", Unit::Pixels, "Width of the video stream.");
const HEIGHT: MetricDesc =
    MetricDesc::gauge("stream_height_pixels", Unit::Pixels, "Height of the video stream.");
const FRAME_RATE: MetricDesc = MetricDesc::gauge(
    "stream_frames_per_second",
    Unit::None,
    "Frame rate of the video stream (average, else nominal).",
);
const CHANNELS: MetricDesc =
    MetricDesc::gauge("stream_audio_channels", Unit::None, "Channels of the audio stream.");
const SAMPLE_RATE: MetricDesc = MetricDesc::gauge(
    "stream_audio_sample_rate_hertz",
    Unit::Hertz,
    "Sample rate of the audio stream.",
);
const INFO: MetricDesc = MetricDesc::gauge(
    "stream_info",
    Unit::Info,
    "Codecs of the watched variant as ffprobe names them (`none` when absent); always 1.",
)
.labels(&["video_codec", "audio_codec"]);
const PROBE_DURATION: MetricDesc = MetricDesc::gauge(
    "stream_probe_duration_seconds",
    Unit::Seconds,
    "How long the last probe took: fetching the playlists and running ffprobe.",
);
const LAST_SUCCESS: MetricDesc = MetricDesc::gauge(
    "stream_last_probe_success_timestamp_seconds",
    Unit::Seconds,
    "Unix time of the last successful probe; 0 before the first.",
);
const PROBES: MetricDesc = MetricDesc::counter(
    "stream_probes_total",
    Unit::None,
    "Probes by result: success, timeout (a playlist GET or ffprobe ran out of time), error.",
)
.labels(&["result"]);

/// Every metric this collector may emit.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[
    AVAILABLE,
    BITRATE,
    WIDTH,
    HEIGHT,
    FRAME_RATE,
    CHANNELS,
    SAMPLE_RATE,
    INFO,
    PROBE_DURATION,
    LAST_SUCCESS,
    PROBES,
];

/// How a probe ended, as `stream_probes_total{result}` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Timeout,
    Error,
}

impl Outcome {
    const ALL: [Self; 3] = [Self::Success, Self::Timeout, Self::Error];

    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Timeout => "timeout",
            Self::Error => "error",
        }
    }
}

/// Why a probe gave no facts.
#[derive(Debug, thiserror::Error)]
enum ProbeRunError {
    #[error("playlist: {0}")]
    Playlist(#[from] FetchError),
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("writing the playlist for ffprobe: {0}")]
    Write(#[from] std::io::Error),
}

impl ProbeRunError {
    fn outcome(&self) -> Outcome {
        match self {
            Self::Playlist(e) if e.is_timeout() => Outcome::Timeout,
            Self::Probe(ProbeError::Timeout { .. }) => Outcome::Timeout,
            _ => Outcome::Error,
        }
    }
}

/// Stream analysis with ffprobe.
#[derive(Debug)]
pub struct StreamProbeCollector {
    watch: Arc<StreamWatch>,
    interval: Duration,
    probe: ProbeOptions,
    player: Option<PlayerView>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    totals: [u64; 3],
    last_success: Option<f64>,
    last_duration: Option<f64>,
}

impl StreamProbeCollector {
    pub(crate) fn new(
        watch: Arc<StreamWatch>,
        interval: Duration,
        probe: ProbeOptions,
        player: Option<PlayerView>,
    ) -> Self {
        Self { watch, interval, probe, player, state: Mutex::default() }
    }

    async fn probe(&self, url: &PlaybackUrl) -> Result<StreamFacts, ProbeRunError> {
        let current = self.watch.current(url, self.playlist_timeout()).await?;
        let text = current.view.tail_as_vod(PROBED_SEGMENTS);
        // A private directory (0700) and file (0600): the segment URIs are signed.
        let dir = tempfile::Builder::new().prefix("vimeo-monitor-probe-").tempdir()?;
        let path = dir.path().join("stream.m3u8");
        write_private(&path, &text).await?;
        Ok(probe::probe(&path, &url.redacted(), &self.probe).await?)
    }

    fn playlist_timeout(&self) -> Duration {
        PLAYLIST_TIMEOUT.min(self.probe.timeout)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[health_core::async_trait]
impl Collector for StreamProbeCollector {
    fn name(&self) -> &str {
        NAME
    }

    fn describe(&self) -> Vec<MetricDesc> {
        DESCRIPTIONS.to_vec()
    }

    fn schedule(&self) -> Schedule {
        // A master playlist and a variant, then ffprobe with its own hard timeout.
        let budget = self.playlist_timeout() * 2 + self.probe.timeout + Duration::from_secs(1);
        Schedule::every(self.interval).with_timeout(budget)
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let mut snapshot = Snapshot::new();
        let Some(url) = self.watch.url() else {
            // Offline: nothing to probe, and that is not a failure.
            snapshot.gauge(AVAILABLE.name, 0.0);
            self.publish_history(&mut snapshot);
            return Ok(snapshot);
        };
        if let Some(player) = &self.player {
            // The player plays it: its figures, no probe (the probe counters stay as they are).
            match player.facts() {
                Some(facts) => {
                    snapshot.gauge(AVAILABLE.name, 1.0);
                    add_facts(&facts, &mut snapshot);
                }
                None => {
                    snapshot.gauge(AVAILABLE.name, 0.0);
                }
            }
            self.publish_history(&mut snapshot);
            return Ok(snapshot);
        }
        let started = Instant::now();
        let result = self.probe(&url).await;
        let elapsed = started.elapsed().as_secs_f64();
        let outcome = match &result {
            Ok(_) => Outcome::Success,
            Err(e) => e.outcome(),
        };
        {
            let mut state = self.lock();
            state.totals[outcome as usize] += 1;
            state.last_duration = Some(elapsed);
            if outcome == Outcome::Success {
                state.last_success = Some(unix_now());
            }
        }
        match result {
            Ok(facts) => {
                snapshot.gauge(AVAILABLE.name, 1.0);
                add_facts(&facts, &mut snapshot);
            }
            Err(e) => {
                // No quality figure survives a failed probe: they would pose as current.
                snapshot.gauge(AVAILABLE.name, 0.0);
                snapshot.problem(e.to_string());
            }
        }
        self.publish_history(&mut snapshot);
        Ok(snapshot)
    }
}

impl StreamProbeCollector {
    /// The counters, the last duration and the last success, whatever this run did.
    fn publish_history(&self, snapshot: &mut Snapshot) {
        let state = self.lock();
        for outcome in Outcome::ALL {
            let labels = vec![("result", outcome.label().to_owned())];
            snapshot.counter_with(PROBES.name, labels, state.totals[outcome as usize]);
        }
        snapshot.gauge(LAST_SUCCESS.name, state.last_success.unwrap_or(0.0));
        if let Some(duration) = state.last_duration {
            snapshot.gauge(PROBE_DURATION.name, duration);
        }
    }
}

fn add_facts(facts: &StreamFacts, snapshot: &mut Snapshot) {
    let figures = [
        (BITRATE.name, facts.bitrate_bytes_per_second),
        (WIDTH.name, facts.width.map(f64::from)),
        (HEIGHT.name, facts.height.map(f64::from)),
        (FRAME_RATE.name, facts.frames_per_second),
        (CHANNELS.name, facts.audio_channels.map(f64::from)),
        (SAMPLE_RATE.name, facts.audio_sample_rate_hertz),
    ];
    for (name, value) in figures {
        if let Some(value) = value {
            snapshot.gauge(name, value);
        }
    }
    let codec = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".to_owned());
    let labels = vec![
        ("video_codec", codec(&facts.video_codec)),
        ("audio_codec", codec(&facts.audio_codec)),
    ];
    snapshot.gauge_with(INFO.name, labels, 1.0);
}

/// Writes `text` to a new file only its owner can read.
async fn write_private(path: &std::path::Path, text: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let mut file =
        tokio::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).await?;
    file.write_all(text).await?;
    file.flush().await
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
