//! The result of one collection: a list of samples, built with a few small methods.

use std::borrow::Cow;

use crate::describe::MetricKind;

/// Label pairs of one sample, in the order of the description's label names.
pub type Labels = Vec<(&'static str, String)>;

/// The value of one sample.
///
/// Exhaustive on purpose: one variant per [`MetricKind`], and code that publishes or checks a
/// sample should be made to handle every kind.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    /// The current value of a gauge.
    Gauge(f64),
    /// The current total of a counter, as the source reports it (absolute, not an increment).
    Counter(u64),
    /// Observations made during this run; empty means the series exists but saw nothing.
    Histogram(Vec<f64>),
}

impl SampleValue {
    /// The kind of metric family this value belongs to.
    pub const fn kind(&self) -> MetricKind {
        match self {
            Self::Gauge(_) => MetricKind::Gauge,
            Self::Counter(_) => MetricKind::Counter,
            Self::Histogram(_) => MetricKind::Histogram,
        }
    }
}

/// One series value: a metric name (without namespace), its labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name as described, without the namespace: usually a description's `'static`
    /// name, or a `String` for a metric named at run time.
    pub name: Cow<'static, str>,
    /// Label pairs.
    pub labels: Labels,
    /// The value.
    pub value: SampleValue,
}

/// Everything one collector run observed.
///
/// A series that is not in the snapshot is gone: the exposition drops it, so a removed ping host or
/// an unplugged interface leaves `/metrics` at the next run instead of lingering with its last value.
///
/// A run can also be a partial failure: the parts that worked add their samples, the part that
/// failed adds a [`problem`](Self::problem). The samples are published, and the run is still
/// counted as an `error` with the problems as its message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    samples: Vec<Sample>,
    problems: Vec<String>,
    notes: Vec<String>,
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a gauge without labels.
    pub fn gauge(&mut self, name: impl Into<Cow<'static, str>>, value: f64) -> &mut Self {
        self.push(name, Vec::new(), SampleValue::Gauge(value))
    }

    /// Sets a gauge with labels.
    pub fn gauge_with(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        labels: Labels,
        value: f64,
    ) -> &mut Self {
        self.push(name, labels, SampleValue::Gauge(value))
    }

    /// Sets a counter's total without labels.
    pub fn counter(&mut self, name: impl Into<Cow<'static, str>>, total: u64) -> &mut Self {
        self.push(name, Vec::new(), SampleValue::Counter(total))
    }

    /// Sets a counter's total with labels.
    pub fn counter_with(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        labels: Labels,
        total: u64,
    ) -> &mut Self {
        self.push(name, labels, SampleValue::Counter(total))
    }

    /// Records this run's observations into a histogram series (possibly none).
    pub fn observe_with(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        labels: Labels,
        observations: Vec<f64>,
    ) -> &mut Self {
        self.push(name, labels, SampleValue::Histogram(observations))
    }

    /// Adds a sample.
    pub fn push(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        labels: Labels,
        value: SampleValue,
    ) -> &mut Self {
        self.samples.push(Sample { name: name.into(), labels, value });
        self
    }

    /// Moves every sample and problem of `other` into this snapshot (for collectors built from
    /// parts).
    pub fn extend(&mut self, other: Snapshot) -> &mut Self {
        self.samples.extend(other.samples);
        self.problems.extend(other.problems);
        self.notes.extend(other.notes);
        self
    }

    /// Records that part of the run failed; the run counts as an `error`, its samples still count.
    pub fn problem(&mut self, message: impl Into<String>) -> &mut Self {
        self.problems.push(message.into());
        self
    }

    /// Records something an operator should know about this run that is not a failure (a speed
    /// test held back while the stream plays): shown in `/status` as `last_notes`, and the run
    /// still counts as a success.
    pub fn note(&mut self, message: impl Into<String>) -> &mut Self {
        self.notes.push(message.into());
        self
    }

    /// The notes recorded by this run.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The problems recorded by this run.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The samples, in insertion order.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The value of the first sample with this name and these label values, if any.
    ///
    /// Handy in tests: `snapshot.get("load1", &[])`.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<&SampleValue> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && s.labels.iter().zip(labels).all(|((k, v), (ek, ev))| k == ek && v == ev)
            })
            .map(|s| &s.value)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether the snapshot holds no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

impl IntoIterator for Snapshot {
    type Item = Sample;
    type IntoIter = std::vec::IntoIter<Sample>;

    fn into_iter(self) -> Self::IntoIter {
        self.samples.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_knows_its_kind() {
        let cases = [
            (SampleValue::Gauge(0.5), MetricKind::Gauge),
            (SampleValue::Counter(3), MetricKind::Counter),
            (SampleValue::Histogram(vec![]), MetricKind::Histogram),
        ];
        for (value, kind) in cases {
            assert_eq!(value.kind(), kind, "{value:?}");
        }
    }

    #[test]
    fn names_made_at_run_time_are_kept_and_found() {
        let mut snapshot = Snapshot::new();
        snapshot.gauge(format!("queue_{}_files", "spool"), 2.0).gauge("static_files", 1.0);
        assert_eq!(snapshot.get("queue_spool_files", &[]), Some(&SampleValue::Gauge(2.0)));
        assert_eq!(snapshot.get("static_files", &[]), Some(&SampleValue::Gauge(1.0)));
        assert!(
            matches!(snapshot.samples()[1].name, Cow::Borrowed(_)),
            "a static name is not copied"
        );
    }
}
