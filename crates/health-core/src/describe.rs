//! What a collector may emit: one [`MetricDesc`] per metric family.
//!
//! Descriptions are the public contract of a collector. The exposition uses them for the
//! `# HELP`/`# TYPE` lines and histogram buckets, rejects samples that do not match them, and the
//! metrics reference in `docs/metrics.md` is generated from them.

use std::borrow::Cow;

use serde::Serialize;

/// The Prometheus type of a metric family.
///
/// Exhaustive on purpose, like [`SampleValue`](crate::SampleValue): these are the types of the
/// Prometheus text format this crate writes, and whoever renders or checks samples should be told
/// by the compiler when one is added (which would be a new major version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// A value that goes up and down.
    Gauge,
    /// A monotonically increasing total; its name ends in `_total`.
    Counter,
    /// Observations counted into the explicit buckets of the description.
    Histogram,
}

impl MetricKind {
    /// The lowercase name Prometheus uses in `# TYPE` lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Counter => "counter",
            Self::Histogram => "histogram",
        }
    }
}

/// The base unit of a metric, as Prometheus conventions want it in the name.
///
/// `#[non_exhaustive]`: a new collector may bring a new unit (volts, amperes) in a minor release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unit {
    /// A plain number (a count, a load average, a flag).
    None,
    /// Seconds, also for timestamps (`_timestamp_seconds`).
    Seconds,
    /// Bytes.
    Bytes,
    /// Bytes per second.
    BytesPerSecond,
    /// A ratio between 0 and 1.
    Ratio,
    /// Degrees Celsius.
    Celsius,
    /// Hertz.
    Hertz,
    /// Decibel-milliwatts (Wi-Fi signal level).
    Dbm,
    /// Pixels.
    Pixels,
    /// A metadata series whose value is always 1 (`_info`).
    Info,
}

impl Unit {
    /// The word used in the metrics reference; also the name suffix the unit implies, if any.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Seconds => "seconds",
            Self::Bytes => "bytes",
            Self::BytesPerSecond => "bytes_per_second",
            Self::Ratio => "ratio",
            Self::Celsius => "celsius",
            Self::Hertz => "hertz",
            Self::Dbm => "dbm",
            Self::Pixels => "pixels",
            Self::Info => "info",
        }
    }
}

/// The description of one metric family a collector may emit.
///
/// `name` is given without the namespace: the exposition prefixes it (`memory_total_bytes` is
/// rendered as `vimeo_monitor_memory_total_bytes` by default).
///
/// Name, help text and buckets are [`Cow`]s: the `const` constructors ([`gauge`](Self::gauge),
/// [`counter`](Self::counter), [`histogram`](Self::histogram)) borrow `'static` text, as the
/// built-in collectors do, and [`new`](Self::new) takes a `String` made at run time (a metric
/// named from configuration) without leaking it. Label names stay `&'static str`: they are the
/// series' schema, fixed in code, and every sample repeats them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricDesc {
    /// Name without the namespace, in `snake_case`, ending in the unit.
    pub name: Cow<'static, str>,
    /// Gauge, counter or histogram.
    pub kind: MetricKind,
    /// Base unit.
    pub unit: Unit,
    /// One sentence for `# HELP`.
    pub help: Cow<'static, str>,
    /// Names of the labels every sample of this family carries, in order.
    pub labels: &'static [&'static str],
    /// Upper bounds of the histogram buckets (histograms only; `+Inf` is implied).
    pub buckets: Cow<'static, [f64]>,
}

impl MetricDesc {
    /// A gauge without labels.
    pub const fn gauge(name: &'static str, unit: Unit, help: &'static str) -> Self {
        Self::borrowed(name, MetricKind::Gauge, unit, help, &[])
    }

    /// A counter without labels; `name` ends in `_total`.
    pub const fn counter(name: &'static str, unit: Unit, help: &'static str) -> Self {
        Self::borrowed(name, MetricKind::Counter, unit, help, &[])
    }

    /// A histogram with explicit bucket upper bounds (ascending).
    pub const fn histogram(
        name: &'static str,
        unit: Unit,
        help: &'static str,
        buckets: &'static [f64],
    ) -> Self {
        Self::borrowed(name, MetricKind::Histogram, unit, help, buckets)
    }

    const fn borrowed(
        name: &'static str,
        kind: MetricKind,
        unit: Unit,
        help: &'static str,
        buckets: &'static [f64],
    ) -> Self {
        Self {
            name: Cow::Borrowed(name),
            kind,
            unit,
            help: Cow::Borrowed(help),
            labels: &[],
            buckets: Cow::Borrowed(buckets),
        }
    }

    /// A description made at run time, without labels or buckets: name and help may be
    /// `String`s (a metric named from configuration). Add buckets to a histogram with
    /// [`with_buckets`](Self::with_buckets).
    pub fn new(
        kind: MetricKind,
        name: impl Into<Cow<'static, str>>,
        unit: Unit,
        help: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            name: name.into(),
            kind,
            unit,
            help: help.into(),
            labels: &[],
            buckets: Cow::Borrowed(&[]),
        }
    }

    /// The same description with these label names.
    pub const fn labels(mut self, labels: &'static [&'static str]) -> Self {
        self.labels = labels;
        self
    }

    /// The same description with these histogram buckets (ascending), e.g. from configuration.
    pub fn with_buckets(mut self, buckets: impl Into<Cow<'static, [f64]>>) -> Self {
        self.buckets = buckets.into();
        self
    }

    /// Problems with this description against Prometheus naming conventions; empty when fine.
    ///
    /// Checked when a collector is registered, so a bad name fails at start-up, not in a dashboard.
    pub fn convention_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let name = &*self.name;
        if !is_snake_identifier(name) {
            problems.push(format!(
                "metric `{name}`: names are lowercase snake_case ([a-z_][a-z0-9_]*)"
            ));
        }
        for label in self.labels {
            if !is_snake_identifier(label) || label.starts_with("__") || *label == "le" {
                problems.push(format!(
                    "metric `{name}`: label `{label}` is not a valid, non-reserved snake_case label name"
                ));
            }
        }
        let counter_suffix = name.ends_with("_total");
        match self.kind {
            MetricKind::Counter if !counter_suffix => {
                problems.push(format!("counter `{name}` must end in `_total`"));
            }
            MetricKind::Gauge | MetricKind::Histogram if counter_suffix => {
                problems.push(format!("{} `{name}` must not end in `_total`", self.kind.as_str()));
            }
            _ => {}
        }
        let stem = name.strip_suffix("_total").unwrap_or(name);
        let suffix = self.unit.as_str();
        // An age may say what it counts from: `..._seconds_since_<event>`.
        let age = format!("_{suffix}_since_");
        if !suffix.is_empty() && !stem.ends_with(suffix) && !stem.contains(&age) {
            problems.push(format!(
                "metric `{name}` in {suffix} must end in `_{suffix}` (or be `..._{suffix}_since_<event>`)"
            ));
        }
        match (self.kind, self.buckets.is_empty()) {
            (MetricKind::Histogram, true) => {
                problems.push(format!("histogram `{name}` needs explicit buckets"));
            }
            (MetricKind::Histogram, false) => {
                if !self.buckets.windows(2).all(|w| w[0] < w[1])
                    || self.buckets.iter().any(|b| !b.is_finite())
                {
                    problems
                        .push(format!("histogram `{name}`: buckets must be finite and ascending"));
                }
            }
            (_, false) => problems.push(format!("only histograms have buckets (`{name}`)")),
            (_, true) => {}
        }
        if self.help.trim().is_empty() {
            problems.push(format!("metric `{name}` needs help text"));
        }
        problems
    }
}

fn is_snake_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions_accept_good_names() {
        for desc in [
            MetricDesc::gauge("memory_total_bytes", Unit::Bytes, "Total memory."),
            MetricDesc::counter("runs_total", Unit::None, "Runs.").labels(&["result"]),
            MetricDesc::gauge("build_info", Unit::Info, "Build.").labels(&["version"]),
            MetricDesc::histogram("run_seconds", Unit::Seconds, "Runs.", &[0.1, 1.0]),
            MetricDesc::gauge("stream_seconds_since_playlist_advanced", Unit::Seconds, "Age."),
        ] {
            assert_eq!(desc.convention_problems(), Vec::<String>::new(), "{}", desc.name);
        }
    }

    #[test]
    fn a_description_made_at_run_time_equals_the_static_one() {
        let prefix = String::from("spool");
        let made = MetricDesc::new(
            MetricKind::Histogram,
            format!("{prefix}_wait_seconds"),
            Unit::Seconds,
            format!("Time a file waits in the {prefix}."),
        )
        .with_buckets(vec![0.5, 1.0]);
        let fixed = MetricDesc::histogram(
            "spool_wait_seconds",
            Unit::Seconds,
            "Time a file waits in the spool.",
            &[0.5, 1.0],
        );
        assert_eq!(made, fixed);
        assert!(matches!(made.name, Cow::Owned(_)), "kept, not leaked: {:?}", made.name);
        assert_eq!(made.convention_problems(), Vec::<String>::new());
        let bad = MetricDesc::new(MetricKind::Counter, String::from("spool_runs"), Unit::None, "x");
        assert_eq!(bad.convention_problems(), ["counter `spool_runs` must end in `_total`"]);
    }

    #[test]
    fn conventions_reject_bad_names() {
        let cases = [
            (MetricDesc::gauge("Memory", Unit::None, "x"), "snake_case"),
            (MetricDesc::counter("runs", Unit::None, "x"), "must end in `_total`"),
            (MetricDesc::gauge("runs_total", Unit::None, "x"), "must not end in `_total`"),
            (MetricDesc::gauge("memory_total", Unit::Bytes, "x"), "must end in `_bytes`"),
            (MetricDesc::histogram("run_seconds", Unit::Seconds, "x", &[]), "explicit buckets"),
            (MetricDesc::histogram("run_seconds", Unit::Seconds, "x", &[1.0, 0.5]), "ascending"),
            (MetricDesc::gauge("up", Unit::None, "x").labels(&["le"]), "label `le`"),
            (MetricDesc::gauge("up", Unit::None, " "), "help text"),
        ];
        for (desc, expected) in cases {
            let problems = desc.convention_problems();
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{}: expected a problem containing {expected:?}, got {problems:?}",
                desc.name
            );
        }
    }
}
