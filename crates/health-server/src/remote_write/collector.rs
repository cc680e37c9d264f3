//! The `remote_write` collector: every `HEALTH_REMOTE_WRITE_INTERVAL` it takes what `/metrics`
//! would serve at that moment as one [`Batch`] stamped with that moment, and queues it for every
//! receiver; its own figures are the receivers' queues and counts.
//!
//! The remote-write equivalent of a scrape: the same series a scrape stores (the exporter's
//! self-metrics included, histograms as their `_bucket`/`_sum`/`_count` series), with `job`,
//! `instance` and the external labels a scrape's target would add, so dashboards and alert rules
//! work unchanged on remote-written series.
//!
//! The values come from [`Exposition::series`]: the exposition is the only place that holds
//! everything `/metrics` serves (the scheduler's self-metrics and the histograms' accumulated
//! buckets are not in the status board's per-run samples), and it reads its own text back with
//! the parser it already sorts by, so there is no second reader of the text format.
//!
//! Being a collector gives it an interval, a time limit, a panic fence and a `/status` entry;
//! queueing never blocks, so a run takes milliseconds whatever the receivers do. Its figures are
//! one run behind in what it sends, as the push collector's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use health_core::{
    CollectError, Collector, ExposedSeries, Exposition, MetricDesc, Schedule, Snapshot, Unit,
};

use super::{Batch, Delivery, EndpointStats, Series};

/// The collector's name in `/status` and the `collector` label.
pub const NAME: &str = "remote_write";

const SENT: MetricDesc = MetricDesc::counter(
    "remote_write_samples_sent_total",
    Unit::None,
    "Samples the receiver accepted, by endpoint (its index in HEALTH_REMOTE_WRITE_URL, 0 first).",
)
.labels(&["endpoint"]);
const RETRIED: MetricDesc = MetricDesc::counter(
    "remote_write_samples_retried_total",
    Unit::None,
    "Samples in requests that failed and were kept to retry (5xx, 429, network errors, timeouts), by endpoint.",
)
.labels(&["endpoint"]);
const DROPPED: MetricDesc = MetricDesc::counter(
    "remote_write_samples_dropped_total",
    Unit::None,
    "Samples given up, by endpoint and reason: rejected (the receiver answered another 4xx, never retried) or queue_full (the oldest dropped to make room).",
)
.labels(&["endpoint", "reason"]);
const QUEUE_SAMPLES: MetricDesc = MetricDesc::gauge(
    "remote_write_queue_samples",
    Unit::None,
    "Samples waiting to be sent, by endpoint.",
)
.labels(&["endpoint"]);
const QUEUE_BYTES: MetricDesc = MetricDesc::gauge(
    "remote_write_queue_bytes",
    Unit::Bytes,
    "Estimated memory of the samples waiting, by endpoint (capped by HEALTH_REMOTE_WRITE_QUEUE_MAX_BYTES).",
)
.labels(&["endpoint"]);
const OLDEST_AGE: MetricDesc = MetricDesc::gauge(
    "remote_write_queue_oldest_sample_age_seconds",
    Unit::Seconds,
    "Age of the oldest sample waiting, by endpoint; 0 with an empty queue.",
)
.labels(&["endpoint"]);
const LAST_SUCCESS: MetricDesc = MetricDesc::gauge(
    "remote_write_last_success_timestamp_seconds",
    Unit::Seconds,
    "Unix time the receiver last accepted a request, by endpoint; 0 before the first.",
)
.labels(&["endpoint"]);

/// What the remote_write collector emits.
pub fn descriptions() -> Vec<MetricDesc> {
    vec![SENT, RETRIED, DROPPED, QUEUE_SAMPLES, QUEUE_BYTES, OLDEST_AGE, LAST_SUCCESS]
}

/// The remote_write collector.
#[derive(Debug)]
pub struct RemoteWriteCollector {
    exposition: Exposition,
    delivery: Delivery,
    interval: Duration,
    /// `job`, `instance` and the external labels, added to every series that lacks them.
    labels: Vec<(String, String)>,
}

impl RemoteWriteCollector {
    /// Sends what `exposition` serves through `delivery` every `interval`, with `labels`
    /// (`job`, `instance` and the external labels) on every series.
    pub fn new(
        exposition: Exposition,
        delivery: Delivery,
        interval: Duration,
        labels: Vec<(String, String)>,
    ) -> Self {
        Self { exposition, delivery, interval, labels }
    }
}

/// `job` and `instance` as a scrape of this kiosk would set them (the same defaults as push
/// mode: `vimeo-monitor` and the host name), then the external labels; a name given in
/// `external` replaces the default.
pub fn target_labels(external: &[(String, String)], host_name: &str) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = [("job", "vimeo-monitor"), ("instance", host_name)]
        .into_iter()
        .filter(|(name, _)| !external.iter().any(|(n, _)| n == name))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    labels.extend(external.iter().cloned());
    labels
}

/// One collection as a batch: every series stamped `at_ms`, with `target` labels added where
/// the series has no label of that name (as Prometheus adds external labels: the series' own
/// label wins).
pub fn batch(series: Vec<ExposedSeries>, at_ms: i64, target: &[(String, String)]) -> Batch {
    let series = series
        .into_iter()
        .map(|s| {
            let mut labels = Vec::with_capacity(1 + s.labels.len() + target.len());
            labels.push(("__name__".to_owned(), s.name));
            for (name, value) in target {
                if !s.labels.iter().any(|(n, _)| n == name) {
                    labels.push((name.clone(), value.clone()));
                }
            }
            labels.extend(s.labels);
            Series { labels, samples: vec![(at_ms, s.value)] }
        })
        .collect();
    Batch { series }
}

/// The receivers' figures, `endpoint` being each one's index: its URL would bring secrets and
/// cardinality into a label.
pub fn figures(stats: &[EndpointStats], now: SystemTime) -> Snapshot {
    let mut snapshot = Snapshot::new();
    let unix_ms = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let now_ms = unix_ms(now);
    for (index, stats) in stats.iter().enumerate() {
        let endpoint = || vec![("endpoint", index.to_string())];
        snapshot.counter_with(SENT.name, endpoint(), stats.samples_sent);
        snapshot.counter_with(RETRIED.name, endpoint(), stats.samples_retried);
        for (reason, count) in
            [("rejected", stats.samples_rejected), ("queue_full", stats.samples_overflowed)]
        {
            let labels = vec![("endpoint", index.to_string()), ("reason", reason.to_owned())];
            snapshot.counter_with(DROPPED.name, labels, count);
        }
        #[allow(clippy::cast_precision_loss, reason = "queue sizes and ages fit an f64")]
        {
            snapshot.gauge_with(QUEUE_SAMPLES.name, endpoint(), stats.queue_samples as f64);
            snapshot.gauge_with(QUEUE_BYTES.name, endpoint(), stats.queue_bytes as f64);
            let age_ms = stats
                .oldest_queued_ms
                .map_or(0, |oldest| now_ms.saturating_sub(u128::try_from(oldest).unwrap_or(0)));
            snapshot.gauge_with(OLDEST_AGE.name, endpoint(), age_ms as f64 / 1000.0);
            let last = stats.last_success.map_or(0.0, |t| unix_ms(t) as f64 / 1000.0);
            snapshot.gauge_with(LAST_SUCCESS.name, endpoint(), last);
        }
    }
    snapshot
}

/// A problem for `/status` when a receiver has had samples waiting for over `patience`: the
/// figures say how many, this says which receiver (redacted) and since when.
fn backlog(stats: &[EndpointStats], now: SystemTime, patience: Duration) -> Vec<String> {
    let now_ms = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    stats
        .iter()
        .enumerate()
        .filter_map(|(index, s)| {
            let oldest = u128::try_from(s.oldest_queued_ms?).unwrap_or(0);
            let age = Duration::from_millis(
                u64::try_from(now_ms.saturating_sub(oldest)).unwrap_or(u64::MAX),
            );
            (age > patience).then(|| {
                format!(
                    "endpoint {index} ({}): {} samples waiting, the oldest {} s old",
                    s.url,
                    s.queue_samples,
                    age.as_secs()
                )
            })
        })
        .collect()
}

fn unix_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[async_trait]
impl Collector for RemoteWriteCollector {
    fn name(&self) -> &str {
        NAME
    }

    fn describe(&self) -> Vec<MetricDesc> {
        descriptions()
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(self.interval)
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let now = SystemTime::now();
        let batch = batch(self.exposition.series(), unix_millis(now), &self.labels);
        self.delivery.enqueue(batch);
        let stats = self.delivery.stats();
        let mut snapshot = figures(&stats, now);
        // Three intervals and at least a minute: a retry or two is normal, not a problem.
        let patience = (self.interval * 3).max(Duration::from_secs(60));
        for problem in backlog(&stats, now, patience) {
            snapshot.problem(problem);
        }
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn job_and_instance_default_and_external_labels_may_replace_them() {
        type Pairs = &'static [(&'static str, &'static str)];
        let cases: [(Pairs, Pairs); 3] = [
            (&[], &[("job", "vimeo-monitor"), ("instance", "pi-7")]),
            (
                &[("kiosk", "hall-a"), ("site", "berlin")],
                &[
                    ("job", "vimeo-monitor"),
                    ("instance", "pi-7"),
                    ("kiosk", "hall-a"),
                    ("site", "berlin"),
                ],
            ),
            (
                &[("instance", "hall-a:1"), ("job", "kiosks")],
                &[("instance", "hall-a:1"), ("job", "kiosks")],
            ),
        ];
        for (external, expected) in cases {
            assert_eq!(target_labels(&labels(external), "pi-7"), labels(expected), "{external:?}");
        }
    }

    #[test]
    fn every_series_gets_its_name_the_time_and_the_labels_it_lacks() {
        let series = vec![
            ExposedSeries {
                name: "vimeo_monitor_up".to_owned(),
                labels: labels(&[("collector", "hardware")]),
                value: 1.0,
            },
            ExposedSeries {
                name: "vimeo_monitor_x_bucket".to_owned(),
                labels: labels(&[("le", "+Inf"), ("instance", "own")]),
                value: 3.0,
            },
        ];
        let target = labels(&[("job", "vimeo-monitor"), ("instance", "pi-7")]);
        let batch = batch(series, 1_700_000_000_123, &target);
        assert_eq!(batch.samples(), 2);
        assert_eq!(
            batch.series[0].labels,
            labels(&[
                ("__name__", "vimeo_monitor_up"),
                ("job", "vimeo-monitor"),
                ("instance", "pi-7"),
                ("collector", "hardware"),
            ])
        );
        assert_eq!(batch.series[0].samples, [(1_700_000_000_123, 1.0)]);
        assert_eq!(
            batch.series[1].labels,
            labels(&[
                ("__name__", "vimeo_monitor_x_bucket"),
                ("job", "vimeo-monitor"),
                ("le", "+Inf"),
                ("instance", "own"),
            ])
        );
    }
}
