//! The `stream_playlist` collector: every couple of seconds, is the live playlist still gaining
//! segments, and can this link download them in time?

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot, Unit};

use crate::segment::{self, SegmentMeter};
use crate::tracker::Tracker;
use crate::watch::StreamWatch;

/// The collector's name: the `collector` label of the self-metrics.
pub const NAME: &str = "stream_playlist";

const VARIANTS: MetricDesc = MetricDesc::gauge(
    "stream_variants",
    Unit::None,
    "Variants in the stream's master playlist (1 when the URL is a media playlist).",
);
const VARIANT_BANDWIDTH: MetricDesc = MetricDesc::gauge(
    "stream_variant_bandwidth_bytes_per_second",
    Unit::BytesPerSecond,
    "Peak bandwidth the master playlist declares for the watched variant (BANDWIDTH / 8).",
);
const MEDIA_SEQUENCE: MetricDesc = MetricDesc::gauge(
    "stream_media_sequence",
    Unit::None,
    "EXT-X-MEDIA-SEQUENCE of the watched media playlist.",
);
const TARGET_DURATION: MetricDesc = MetricDesc::gauge(
    "stream_target_duration_seconds",
    Unit::Seconds,
    "EXT-X-TARGETDURATION of the watched media playlist.",
);
const SINCE_ADVANCED: MetricDesc = MetricDesc::gauge(
    "stream_seconds_since_playlist_advanced",
    Unit::Seconds,
    "Seconds since the watched playlist last gained a segment (or was first fetched).",
);
const STALLED: MetricDesc = MetricDesc::gauge(
    "stream_stalled",
    Unit::None,
    "1 when the live playlist has not advanced for HEALTH_STREAM_STALL_FACTOR target durations.",
);
const ENDED: MetricDesc = MetricDesc::gauge(
    "stream_ended",
    Unit::None,
    "1 when the watched playlist carries EXT-X-ENDLIST: the event has finished.",
);
const FETCH_DURATION: MetricDesc = MetricDesc::gauge(
    "stream_playlist_fetch_duration_seconds",
    Unit::Seconds,
    "How long the last successful fetch of the watched media playlist took.",
);
const ERRORS: MetricDesc = MetricDesc::counter(
    "stream_playlist_errors_total",
    Unit::None,
    "Playlist fetches that failed, by HTTP status, or timeout, network, parse.",
)
.labels(&["status"]);

/// Every metric this collector may emit.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[
    VARIANTS,
    VARIANT_BANDWIDTH,
    MEDIA_SEQUENCE,
    TARGET_DURATION,
    SINCE_ADVANCED,
    STALLED,
    ENDED,
    FETCH_DURATION,
    ERRORS,
    segment::RATIO,
    segment::ERRORS,
];

/// Error labels shown from the start, so a rate() over them has a zero to start from.
const KNOWN_ERRORS: [&str; 3] = ["timeout", "network", "parse"];

/// Live playlist health: advancing, stalled, ended, and the segment download ratio.
#[derive(Debug)]
pub struct PlaylistCollector {
    watch: Arc<StreamWatch>,
    interval: Duration,
    stall_factor: f64,
    meter: Option<SegmentMeter>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    tracker: Tracker,
    errors: BTreeMap<String, u64>,
}

impl PlaylistCollector {
    pub(crate) fn new(
        watch: Arc<StreamWatch>,
        interval: Duration,
        stall_factor: f64,
        segment_download: bool,
    ) -> Self {
        let meter = segment_download.then(|| SegmentMeter::new(watch.http.clone()));
        Self { watch, interval, stall_factor, meter, state: Mutex::default() }
    }

    /// Each GET of a run gets most of the interval, leaving room to publish before the next.
    fn fetch_timeout(&self) -> Duration {
        self.interval.mul_f64(0.75)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[health_core::async_trait]
impl Collector for PlaylistCollector {
    fn name(&self) -> &str {
        NAME
    }

    fn describe(&self) -> Vec<MetricDesc> {
        DESCRIPTIONS.to_vec()
    }

    fn schedule(&self) -> Schedule {
        // A master playlist and its variant may both be fetched, each within `fetch_timeout`.
        Schedule::every(self.interval)
            .with_timeout(self.fetch_timeout() * 2 + Duration::from_secs(1))
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let mut snapshot = Snapshot::new();
        let Some(url) = self.watch.url() else {
            // Offline: nothing to watch, nothing stale left behind (the counters are kept).
            self.lock().tracker.reset();
            if let Some(meter) = &self.meter {
                meter.forget();
            }
            return Ok(snapshot);
        };
        let stream = url.redacted();
        let fetched = self.watch.current(&url, self.fetch_timeout()).await;
        let now = Instant::now();
        let mut state = self.lock();
        match fetched {
            Ok(current) => {
                state.tracker.observe(&stream, &current.view, now);
                snapshot
                    .gauge(VARIANTS.name, current.variants as f64)
                    .gauge(MEDIA_SEQUENCE.name, current.view.media_sequence as f64)
                    .gauge(TARGET_DURATION.name, current.view.target_duration)
                    .gauge(ENDED.name, f64::from(u8::from(current.view.ended)))
                    .gauge(FETCH_DURATION.name, current.fetch_duration.as_secs_f64());
                if let Some(bits) = current.bandwidth {
                    snapshot.gauge(VARIANT_BANDWIDTH.name, bits as f64 / 8.0);
                }
                if let (Some(meter), false) = (&self.meter, current.view.ended)
                    && let Some(newest) = current.view.newest()
                {
                    meter.offer(&stream, newest);
                }
            }
            Err(e) => {
                *state.errors.entry(e.label()).or_default() += 1;
                snapshot.problem(format!("playlist: {e}"));
            }
        }
        // After a failed fetch the stream is no more advanced than before: the clock runs on.
        if let Some(progress) = state.tracker.progress(&stream, now, self.stall_factor) {
            snapshot
                .gauge(SINCE_ADVANCED.name, progress.seconds_since_advanced)
                .gauge(STALLED.name, f64::from(u8::from(progress.stalled)));
        }
        for status in KNOWN_ERRORS {
            state.errors.entry(status.to_owned()).or_default();
        }
        for (status, total) in &state.errors {
            snapshot.counter_with(ERRORS.name, vec![("status", status.clone())], *total);
        }
        drop(state);
        if let Some(meter) = &self.meter {
            meter.sample(&stream, &mut snapshot);
        }
        Ok(snapshot)
    }
}
