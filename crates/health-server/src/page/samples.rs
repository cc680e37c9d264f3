//! The figures the page shows: the samples the collectors' last runs published, looked up by
//! [`Metric`].
//!
//! The status board keeps each collector's last published samples beside its record
//! ([`StatusBoard::snapshot_with_samples`](health_core::StatusBoard::snapshot_with_samples)), so
//! the page reads the same figures a scrape at the same moment would return, typed, without
//! rendering or parsing the Prometheus text, and whatever the namespace. The index here borrows
//! them: a page load copies no sample.

use std::collections::HashMap;

use health_core::{Labels, Sample, SampleValue};

use super::names::Metric;

/// One series: its labels and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Series<'a> {
    labels: &'a Labels,
    /// The sample value (a counter's total as a float).
    pub(super) value: f64,
}

impl<'a> Series<'a> {
    /// The value of label `name`, if the series has it.
    pub(super) fn label(&self, name: &str) -> Option<&'a str> {
        self.labels.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
    }
}

/// Every gauge and counter series of the published samples, by metric name.
#[derive(Debug, Default)]
pub(super) struct Samples<'a> {
    families: HashMap<&'a str, Vec<Series<'a>>>,
}

impl<'a> Samples<'a> {
    /// Indexes `samples`. Histograms are left out: their samples hold one run's observations,
    /// not a figure, and the page reads none.
    pub(super) fn new(samples: impl IntoIterator<Item = &'a Sample>) -> Self {
        let mut families: HashMap<&'a str, Vec<Series<'a>>> = HashMap::new();
        for sample in samples {
            let value = match &sample.value {
                SampleValue::Gauge(value) => *value,
                SampleValue::Counter(total) => *total as f64,
                SampleValue::Histogram(_) => continue,
            };
            let name: &'a str = AsRef::<str>::as_ref(&sample.name);
            families.entry(name).or_default().push(Series { labels: &sample.labels, value });
        }
        Self { families }
    }

    /// Every series of `metric`.
    pub(super) fn series(&self, metric: Metric) -> &[Series<'a>] {
        self.families.get(metric.name()).map_or(&[], Vec::as_slice)
    }

    /// The value of `metric`'s first series (for metrics without labels), if it is a number.
    pub(super) fn value(&self, metric: Metric) -> Option<f64> {
        self.series(metric).first().map(|s| s.value).filter(|v| v.is_finite())
    }

    /// The value of `metric`'s series whose label `label` is `value`.
    pub(super) fn value_with(&self, metric: Metric, label: &str, value: &str) -> Option<f64> {
        self.series(metric).iter().find(|s| s.label(label) == Some(value)).map(|s| s.value)
    }

    /// A 0/1 gauge as a flag.
    pub(super) fn flag(&self, metric: Metric) -> Option<bool> {
        self.value(metric).map(|v| v == 1.0)
    }

    /// The label `label` of the series of `metric` that is 1: the current state of a state
    /// gauge (`stream_state{state}`) or the value of an info gauge (`pi_info{model}`).
    pub(super) fn current(&self, metric: Metric, label: &str) -> Option<&'a str> {
        self.series(metric).iter().find(|s| s.value == 1.0).and_then(|s| s.label(label))
    }

    /// Sum of every series of `metric` (a counter over all its labels), if it has any.
    pub(super) fn sum(&self, metric: Metric) -> Option<f64> {
        let series = self.series(metric);
        (!series.is_empty()).then(|| series.iter().map(|s| s.value).sum())
    }
}

/// Test fixtures: samples as a collector would publish them.
#[cfg(test)]
pub(super) mod fixture {
    use health_core::{SampleValue, Snapshot};

    /// One sample: metric name, label pairs, value. A name ending in `_total` is a counter.
    pub(in crate::page) type Row = (&'static str, &'static [(&'static str, &'static str)], f64);

    /// The snapshot of `rows`.
    pub(in crate::page) fn snapshot(rows: &[Row]) -> Snapshot {
        let mut snapshot = Snapshot::new();
        for &(name, labels, value) in rows {
            let labels = labels.iter().map(|&(k, v)| (k, v.to_owned())).collect();
            let value = if name.ends_with("_total") {
                SampleValue::Counter(value as u64)
            } else {
                SampleValue::Gauge(value)
            };
            snapshot.push(name, labels, value);
        }
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::super::names;
    use super::fixture::{Row, snapshot};
    use super::*;

    const ROWS: &[Row] = &[
        ("stream_state", &[("state", "live")], 1.0),
        ("stream_state", &[("state", "offline")], 0.0),
        ("stream_state", &[("state", "error")], 0.0),
        ("cpu_temperature_celsius", &[], 51.45),
        ("pi_info", &[("model", "Raspberry Pi 5 Model B Rev 1.0")], 1.0),
        ("network_up", &[("host", "a \"quoted\\\" host\nnext")], 0.0),
        ("player_restarts_total", &[("reason", "exited")], 2.0),
        ("player_restarts_total", &[("reason", "hung")], 1.0),
        ("stream_segment_download_ratio", &[], f64::NAN),
    ];

    #[test]
    fn reads_names_labels_and_values() {
        let snapshot = snapshot(ROWS);
        let samples = Samples::new(snapshot.samples());
        assert_eq!(samples.current(names::STREAM_STATE, "state"), Some("live"));
        assert_eq!(samples.value_with(names::STREAM_STATE, "state", "offline"), Some(0.0));
        assert_eq!(samples.value(names::CPU_TEMPERATURE_CELSIUS), Some(51.45));
        assert_eq!(
            samples.current(names::PI_INFO, "model"),
            Some("Raspberry Pi 5 Model B Rev 1.0")
        );
        assert_eq!(
            samples.series(names::NETWORK_UP)[0].label("host"),
            Some("a \"quoted\\\" host\nnext"),
            "label values as the collector gave them"
        );
        assert_eq!(samples.series(names::NETWORK_UP)[0].label("other"), None);
        assert_eq!(samples.sum(names::PLAYER_RESTARTS_TOTAL), Some(3.0), "counters sum as floats");
        let ratio = names::STREAM_SEGMENT_DOWNLOAD_RATIO;
        assert_eq!(samples.value(ratio), None, "NaN reads as missing");
        assert!(samples.series(ratio)[0].value.is_nan());
        assert!(samples.series(names::LOAD1).is_empty());
        assert_eq!(samples.sum(names::LOAD1), None);
        assert_eq!(samples.flag(names::SCRIPT_HEALTHY), None);
    }

    #[test]
    fn histograms_are_left_out_and_several_collectors_read_as_one() {
        let mut hardware = snapshot(&[("load1", &[], 0.5)]);
        hardware.observe_with("cpu_usage_ratio", vec![], vec![0.1, 0.2]);
        let script = snapshot(&[("script_healthy", &[], 1.0)]);
        let samples = Samples::new(hardware.samples().iter().chain(script.samples()));
        assert_eq!(samples.value(names::LOAD1), Some(0.5));
        assert_eq!(samples.flag(names::SCRIPT_HEALTHY), Some(true));
        assert!(samples.series(names::CPU_USAGE_RATIO).is_empty());
    }
}
