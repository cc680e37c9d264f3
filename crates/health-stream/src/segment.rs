//! Can this link keep up with the stream? Each newer segment of the watched variant is
//! downloaded once, in a task of its own (a playlist run never waits for it), and
//! download time / segment duration is published: above 1, buffering is only a matter of time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use health_core::{MetricDesc, Snapshot, Unit};
use tokio_util::task::AbortOnDropHandle;

use crate::fetch::{FetchError, Http};
use crate::playlist::Segment;

/// No segment of a live stream is this large; a larger body is not measured.
const SEGMENT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A download is cut off at this many times the segment's duration, and that limit is published
/// as the ratio (the link is this slow at least).
pub(crate) const RATIO_LIMIT: f64 = 4.0;

/// The shortest time a download is given, for very short segments.
const MIN_BUDGET: Duration = Duration::from_secs(1);

pub(crate) const RATIO: MetricDesc = MetricDesc::gauge(
    "stream_segment_download_ratio",
    Unit::None,
    "Time to download the newest segment of the watched variant over its duration; above 1 this link cannot keep up with the stream (capped at 4).",
);
pub(crate) const ERRORS: MetricDesc = MetricDesc::counter(
    "stream_segment_errors_total",
    Unit::None,
    "Segment downloads that failed, by HTTP status or network/parse.",
)
.labels(&["status"]);

/// Measures segments one at a time and keeps the last figure.
#[derive(Debug)]
pub(crate) struct SegmentMeter {
    http: Http,
    shared: Arc<Mutex<Measured>>,
    task: Mutex<Option<AbortOnDropHandle<()>>>,
}

#[derive(Debug, Default)]
struct Measured {
    stream: Option<String>,
    last_sequence: Option<u64>,
    ratio: Option<f64>,
    errors: BTreeMap<String, u64>,
    busy: bool,
}

impl SegmentMeter {
    pub(crate) fn new(http: Http) -> Self {
        Self { http, shared: Arc::default(), task: Mutex::new(None) }
    }

    /// Starts downloading `newest` of `stream` unless a download is running or this segment (or
    /// a newer one) was measured already.
    pub(crate) fn offer(&self, stream: &str, newest: Segment) {
        {
            let mut measured = lock(&self.shared);
            if measured.stream.as_deref() != Some(stream) {
                *measured = Measured { stream: Some(stream.to_owned()), ..Measured::default() };
            }
            let seen = measured.last_sequence.is_some_and(|last| newest.sequence <= last);
            if measured.busy || seen || newest.duration <= 0.0 {
                return;
            }
            measured.busy = true;
            measured.last_sequence = Some(newest.sequence);
        }
        let (http, shared, stream) =
            (self.http.clone(), Arc::clone(&self.shared), stream.to_owned());
        let task = tokio::spawn(async move {
            let result = measure(&http, &newest).await;
            let mut measured = lock(&shared);
            if measured.stream.as_deref() != Some(stream.as_str()) {
                return;
            }
            measured.busy = false;
            match result {
                Ok(ratio) => measured.ratio = Some(ratio),
                Err(e) => {
                    tracing::debug!(target: "health.stream", error = %e, "segment download failed");
                    *measured.errors.entry(e.label()).or_default() += 1;
                }
            }
        });
        *self.task.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(AbortOnDropHandle::new(task));
    }

    /// Adds the last ratio of `stream` and the error counts.
    pub(crate) fn sample(&self, stream: &str, snapshot: &mut Snapshot) {
        let measured = lock(&self.shared);
        if measured.stream.as_deref() != Some(stream) {
            return;
        }
        if let Some(ratio) = measured.ratio {
            snapshot.gauge(RATIO.name, ratio);
        }
        for (status, total) in &measured.errors {
            snapshot.counter_with(ERRORS.name, vec![("status", status.clone())], *total);
        }
    }

    /// No stream is watched: stop any download and forget the figures.
    pub(crate) fn forget(&self) {
        self.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        *lock(&self.shared) = Measured::default();
    }
}

/// Downloads `segment` and returns download time / duration, at most [`RATIO_LIMIT`].
async fn measure(http: &Http, segment: &Segment) -> Result<f64, FetchError> {
    let budget = Duration::from_secs_f64(segment.duration * RATIO_LIMIT).max(MIN_BUDGET);
    let started = Instant::now();
    match http.get(&segment.url, SEGMENT_MAX_BYTES, budget).await {
        Ok(fetched) => Ok((fetched.elapsed.as_secs_f64() / segment.duration).min(RATIO_LIMIT)),
        Err(e) if e.is_timeout() => {
            Ok((started.elapsed().as_secs_f64() / segment.duration).min(RATIO_LIMIT))
        }
        Err(e) => Err(e),
    }
}

fn lock(shared: &Mutex<Measured>) -> MutexGuard<'_, Measured> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}
