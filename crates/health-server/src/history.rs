//! The last hour of a few figures, kept in memory for the status page's sparklines.
//!
//! Prometheus keeps the real history; this is only enough for a person at the status page to
//! see whether the SoC is warming up, the CPU is busy, the player's buffer drains, the round
//! trip grows or dropped frames pile up. It is fed from the snapshots the collectors hand to
//! the scheduler ([`Tapped`]), never by a page load, which only copies the points.
//!
//! Each [`Figure`] keeps one settled point per [`STEP`] (30 s) plus the latest value, over
//! [`WINDOW`] (one hour): at most [`CAPACITY`] points of 16 bytes, so about 2 KB a figure and
//! under 10 KB for all of them, whatever the uptime or the collectors' intervals.

mod tapped;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use health_core::{SampleValue, Snapshot};

use crate::page::names::{self, Metric};

pub(crate) use self::tapped::Tapped;

/// How much history is kept, in seconds.
pub(crate) const WINDOW: f64 = 3_600.0;
/// The spacing of settled points, in seconds: finer than a sparkline 120 px wide can show.
pub(crate) const STEP: f64 = 30.0;
/// The most points one figure holds: the settled ones of an hour, the oldest edge and the latest.
pub(crate) const CAPACITY: usize = (WINDOW / STEP) as usize + 2;

/// A figure whose recent past the page draws or reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Figure {
    /// `cpu_temperature_celsius`.
    Temperature,
    /// `cpu_usage_ratio`.
    Cpu,
    /// `player_buffer_seconds`.
    Buffer,
    /// The mean of every ping host's `network_rtt_seconds`.
    Rtt,
    /// `player_frames_dropped_total`, summed over its stages.
    DroppedFrames,
}

impl Figure {
    /// Every figure, in the order of [`History`]'s rings.
    pub(crate) const ALL: [Self; 5] =
        [Self::Temperature, Self::Cpu, Self::Buffer, Self::Rtt, Self::DroppedFrames];

    /// The metric it is read from.
    const fn metric(self) -> Metric {
        match self {
            Self::Temperature => names::CPU_TEMPERATURE_CELSIUS,
            Self::Cpu => names::CPU_USAGE_RATIO,
            Self::Buffer => names::PLAYER_BUFFER_SECONDS,
            Self::Rtt => names::NETWORK_RTT_SECONDS,
            Self::DroppedFrames => names::PLAYER_FRAMES_DROPPED_TOTAL,
        }
    }

    /// The figure's value in `snapshot`, if that collector's run gave it.
    fn read(self, snapshot: &Snapshot) -> Option<f64> {
        let wanted = self.metric().name();
        let mut values = snapshot.samples().iter().filter_map(|sample| {
            if sample.name != wanted {
                return None;
            }
            let value = match &sample.value {
                SampleValue::Gauge(v) => *v,
                SampleValue::Counter(v) => *v as f64,
                SampleValue::Histogram(_) => return None,
            };
            value.is_finite().then_some(value)
        });
        match self {
            // One series each.
            Self::Temperature | Self::Cpu | Self::Buffer => values.next(),
            Self::Rtt => {
                let (sum, n) = values.fold((0.0, 0_u32), |(sum, n), v| (sum + v, n + 1));
                (n > 0).then(|| sum / f64::from(n))
            }
            Self::DroppedFrames => values.reduce(|a, b| a + b),
        }
    }

    /// Its place in [`Self::ALL`].
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// One value at one moment: Unix seconds, value.
pub(crate) type Point = (f64, f64);

/// The last hour of SoC temperature, CPU, player buffer, mean round trip and dropped frames,
/// for the status page. Cheap to clone; every clone is the same history.
#[derive(Debug, Clone, Default)]
pub struct History {
    rings: Arc<Mutex<[VecDeque<Point>; Figure::ALL.len()]>>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the figures a collector's snapshot, taken at `at`, gives.
    pub fn record(&self, snapshot: &Snapshot, at: SystemTime) {
        let at = unix(at);
        for figure in Figure::ALL {
            if let Some(value) = figure.read(snapshot) {
                self.push(figure, at, value);
            }
        }
    }

    /// Adds one point of `figure` at Unix time `at`.
    pub(crate) fn push(&self, figure: Figure, at: f64, value: f64) {
        let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        add(&mut rings[figure.index()], (at, value));
    }

    /// The points of `figure` within the hour before Unix time `now`, oldest first.
    pub(crate) fn points(&self, figure: Figure, now: f64) -> Vec<Point> {
        let rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        rings[figure.index()].iter().copied().filter(|(t, _)| *t >= now - WINDOW).collect()
    }
}

/// Adds `point` to `ring`: the latest point moves forward until it is [`STEP`] past the one
/// before it, then settles and a new latest point starts; what is older than [`WINDOW`] or
/// beyond [`CAPACITY`] goes. A point older than the latest (the clock went back) replaces
/// everything after it.
fn add(ring: &mut VecDeque<Point>, point: Point) {
    while ring.back().is_some_and(|(t, _)| *t > point.0) {
        ring.pop_back();
    }
    let len = ring.len();
    if len >= 2 && ring[len - 1].0 - ring[len - 2].0 < STEP {
        ring[len - 1] = point;
    } else {
        ring.push_back(point);
    }
    while ring.len() > CAPACITY || ring.front().is_some_and(|(t, _)| *t < point.0 - WINDOW) {
        ring.pop_front();
    }
}

/// Unix seconds of `at` (0 before 1970).
pub(crate) fn unix(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_settle_every_step_and_the_latest_follows_the_collector() {
        let mut ring = VecDeque::new();
        for t in (0..=70).step_by(5) {
            add(&mut ring, (f64::from(t), f64::from(t)));
        }
        let times: Vec<f64> = ring.iter().map(|p| p.0).collect();
        assert_eq!(times, [0.0, 30.0, 60.0, 70.0]);
    }

    #[test]
    fn a_day_of_five_second_runs_stays_within_the_hour_and_the_capacity() {
        let mut ring = VecDeque::new();
        for t in 0..(86_400 / 5) {
            add(&mut ring, (f64::from(t * 5), 1.0));
        }
        assert!(ring.len() <= CAPACITY, "{} points", ring.len());
        assert!(ring.len() >= CAPACITY - 2, "{} points", ring.len());
        let (first, last) = (ring.front().unwrap().0, ring.back().unwrap().0);
        assert_eq!(last, 86_395.0);
        assert!(last - first <= WINDOW, "{first}..{last}");
    }

    #[test]
    fn a_clock_that_goes_back_drops_the_points_after_it() {
        let mut ring = VecDeque::new();
        for t in [0.0, 40.0, 80.0, 120.0] {
            add(&mut ring, (t, 1.0));
        }
        add(&mut ring, (50.0, 2.0));
        assert_eq!(
            ring.iter().copied().collect::<Vec<_>>(),
            [(0.0, 1.0), (40.0, 1.0), (50.0, 2.0)]
        );
    }

    #[test]
    fn snapshots_feed_the_figures_they_carry_and_leave_the_others_alone() {
        let history = History::new();
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let mut hardware = Snapshot::new();
        hardware.gauge("cpu_temperature_celsius", 51.5).gauge("cpu_usage_ratio", 0.25);
        history.record(&hardware, at);
        let mut network = Snapshot::new();
        network
            .gauge_with("network_rtt_seconds", vec![("host", "a".into())], 0.010)
            .gauge_with("network_rtt_seconds", vec![("host", "b".into())], 0.030)
            .gauge_with("network_rtt_seconds", vec![("host", "down".into())], f64::NAN);
        history.record(&network, at);
        let mut script = Snapshot::new();
        script
            .counter_with("player_frames_dropped_total", vec![("stage", "output".into())], 7)
            .counter_with("player_frames_dropped_total", vec![("stage", "decoder".into())], 3);
        history.record(&script, at);
        let now = 1_000.0;
        assert_eq!(history.points(Figure::Temperature, now), [(1_000.0, 51.5)]);
        assert_eq!(history.points(Figure::Cpu, now), [(1_000.0, 0.25)]);
        assert_eq!(history.points(Figure::Rtt, now), [(1_000.0, 0.020)]);
        assert_eq!(history.points(Figure::DroppedFrames, now), [(1_000.0, 10.0)]);
        assert!(history.points(Figure::Buffer, now).is_empty());
        assert!(history.points(Figure::Temperature, 1_000.0 + WINDOW + 1.0).is_empty());
    }
}
