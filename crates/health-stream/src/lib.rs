//! The stream collectors of vimeo-monitor (`HEALTH_STREAM_*`): on a kiosk the question is not
//! only "what is the stream" but "is it still moving, and can this link keep up with it".
//!
//! - [`StreamProbeCollector`] (`stream`, every `HEALTH_STREAM_INTERVAL`): ffprobe on the watched
//!   variant: availability, resolution, frame rate, audio, bitrate, codecs.
//! - [`PlaylistCollector`] (`stream_playlist`, every `HEALTH_STREAM_PLAYLIST_INTERVAL`): the live
//!   playlist's media sequence, whether it is stalled or ended, and the segment download ratio.
//!
//! Both watch the URL in a [`StreamSource`]: the kiosk sets it while an event is live, or
//! `HEALTH_STREAM_URL` fixes it. With no URL nothing is fetched or probed. Playback URLs are
//! signed: logs, errors and `/status` show them without their query string, they never become a
//! label, and ffprobe reads them from a private file rather than its argv.

use std::sync::Arc;
use std::time::Duration;

mod fetch;
mod playlist;
mod playlist_collector;
pub mod probe;
mod probe_collector;
mod segment;
mod source;
mod tracker;
mod watch;

pub use playlist::VariantChoice;
pub use playlist_collector::{NAME as PLAYLIST_COLLECTOR, PlaylistCollector};
pub use probe::StreamFacts;
pub use probe_collector::{NAME as PROBE_COLLECTOR, StreamProbeCollector};
pub use source::{PlaybackUrl, StreamSource};

/// What the stream collectors need to know.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// The URL to watch, shared with whoever sets it.
    pub source: StreamSource,
    /// Time between ffprobe runs (`HEALTH_STREAM_INTERVAL`, default 60 s).
    pub probe_interval: Duration,
    /// The ffprobe binary and its hard timeout (`HEALTH_STREAM_FFPROBE_PATH`, `_TIMEOUT`).
    pub probe: probe::ProbeOptions,
    /// Time between playlist fetches (`HEALTH_STREAM_PLAYLIST_INTERVAL`, default 2 s).
    pub playlist_interval: Duration,
    /// Stalled after this many target durations without a new segment
    /// (`HEALTH_STREAM_STALL_FACTOR`, default 3).
    pub stall_factor: f64,
    /// Which variant of a master playlist to watch (`HEALTH_STREAM_VARIANT`).
    pub variant: VariantChoice,
    /// Download each newer segment to measure the download ratio
    /// (`HEALTH_STREAM_SEGMENT_DOWNLOAD_ENABLED`, default on).
    pub segment_download: bool,
    /// The player that plays the watched stream, when the exporter runs inside it (the kiosk):
    /// the `stream` collector then takes its figures from the player, at no network cost, and
    /// runs no ffprobe.
    pub player: Option<PlayerView>,
}

/// What the player playing the watched stream says it is: `None` while it does not play it.
#[derive(Clone)]
pub struct PlayerView(Arc<dyn Fn() -> Option<StreamFacts> + Send + Sync>);

impl PlayerView {
    /// A view that asks `facts` at each run.
    pub fn new(facts: impl Fn() -> Option<StreamFacts> + Send + Sync + 'static) -> Self {
        Self(Arc::new(facts))
    }

    /// What the player says now.
    pub(crate) fn facts(&self) -> Option<StreamFacts> {
        (self.0)()
    }
}

impl std::fmt::Debug for PlayerView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlayerView")
    }
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            source: StreamSource::new(),
            probe_interval: Duration::from_secs(60),
            probe: probe::ProbeOptions::default(),
            playlist_interval: Duration::from_secs(2),
            stall_factor: 3.0,
            variant: VariantChoice::Highest,
            segment_download: true,
            player: None,
        }
    }
}

/// Why the collectors cannot be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client for the stream collectors: {0}")]
pub struct StreamSetupError(#[from] reqwest::Error);

/// The two stream collectors, sharing one source, one HTTP client and one variant choice.
pub fn collectors(
    options: StreamOptions,
) -> Result<(StreamProbeCollector, PlaylistCollector), StreamSetupError> {
    let http = fetch::Http::new()?;
    let watch = Arc::new(watch::StreamWatch::new(options.source, http, options.variant));
    let probe = StreamProbeCollector::new(
        Arc::clone(&watch),
        options.probe_interval,
        options.probe,
        options.player,
    );
    let playlist = PlaylistCollector::new(
        watch,
        options.playlist_interval,
        options.stall_factor,
        options.segment_download,
    );
    Ok((probe, playlist))
}

/// Every metric the `stream` (ffprobe) collector may emit.
pub fn probe_descriptions() -> Vec<health_core::MetricDesc> {
    probe_collector::DESCRIPTIONS.to_vec()
}

/// Every metric the `stream_playlist` collector may emit.
pub fn playlist_descriptions() -> Vec<health_core::MetricDesc> {
    playlist_collector::DESCRIPTIONS.to_vec()
}
