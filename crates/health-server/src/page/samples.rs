//! The figures the page shows, read back from the text `/metrics` serves.
//!
//! The exposition keeps each collector's last snapshot only as rendered Prometheus text, so the
//! page parses that text: the same figures a scrape at the same moment would return, and no
//! second copy of them in memory. Only the sample lines of the text format are read (name,
//! labels, value); `# HELP`/`# TYPE` comments, timestamps and anything this parser does not
//! understand are skipped, never an error: a line the page cannot read shows as "—".

use std::collections::HashMap;

/// Label pairs as read, unescaped.
type LabelPairs = Vec<(String, String)>;

/// One series: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Series {
    labels: LabelPairs,
    /// The sample value.
    pub(super) value: f64,
}

impl Series {
    /// The value of label `name`, if the series has it.
    pub(super) fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Every series of one exposition, by metric name without the namespace.
#[derive(Debug, Default)]
pub(super) struct Samples {
    families: HashMap<String, Vec<Series>>,
}

impl Samples {
    /// Reads the sample lines of `text` whose names start with `<namespace>_`.
    pub(super) fn parse(text: &str, namespace: &str) -> Self {
        let prefix = format!("{namespace}_");
        let mut families: HashMap<String, Vec<Series>> = HashMap::new();
        for line in text.lines() {
            let Some((name, labels, value)) = parse_line(line) else { continue };
            let Some(short) = name.strip_prefix(&prefix) else { continue };
            families.entry(short.to_owned()).or_default().push(Series { labels, value });
        }
        Self { families }
    }

    /// Every series of metric `name`.
    pub(super) fn series(&self, name: &str) -> &[Series] {
        self.families.get(name).map_or(&[], Vec::as_slice)
    }

    /// The value of metric `name`'s first series (for metrics without labels).
    pub(super) fn value(&self, name: &str) -> Option<f64> {
        self.series(name).first().map(|s| s.value).filter(|v| v.is_finite())
    }

    /// The value of metric `name`'s series whose label `label` is `value`.
    pub(super) fn value_with(&self, name: &str, label: &str, value: &str) -> Option<f64> {
        self.series(name).iter().find(|s| s.label(label) == Some(value)).map(|s| s.value)
    }

    /// A 0/1 gauge as a flag.
    pub(super) fn flag(&self, name: &str) -> Option<bool> {
        self.value(name).map(|v| v == 1.0)
    }

    /// The label `label` of the series of `name` that is 1: the current state of a state gauge
    /// (`stream_state{state}`) or the value of an info gauge (`pi_info{model}`).
    pub(super) fn current(&self, name: &str, label: &str) -> Option<&str> {
        self.series(name).iter().find(|s| s.value == 1.0).and_then(|s| s.label(label))
    }

    /// Sum of every series of `name` (a counter over all its labels), if it has any.
    pub(super) fn sum(&self, name: &str) -> Option<f64> {
        let series = self.series(name);
        (!series.is_empty()).then(|| series.iter().map(|s| s.value).sum())
    }
}

/// `name{label="value",...} value [timestamp]`, or `None` for a comment or a line it cannot read.
fn parse_line(line: &str) -> Option<(&str, LabelPairs, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let (name, mut rest) = line.split_at(name_end);
    let mut labels = Vec::new();
    if let Some(inside) = rest.strip_prefix('{') {
        (labels, rest) = parse_labels(inside)?;
    }
    let value = rest.split_whitespace().next()?.parse::<f64>().ok()?;
    Some((name, labels, value))
}

/// The label pairs up to the closing `}`, and what follows it. Values are unescaped
/// (`\\`, `\"`, `\n`).
fn parse_labels(mut rest: &str) -> Option<(LabelPairs, &str)> {
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let (key, after_key) = rest.split_once('=')?;
        let quoted = after_key.trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (at, '"') => break at,
                (_, c) => value.push(c),
            }
        };
        labels.push((key.trim().to_owned(), value));
        rest = &quoted[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP vimeo_monitor_stream_state What the API says.
# TYPE vimeo_monitor_stream_state gauge
vimeo_monitor_stream_state{state="live"} 1
vimeo_monitor_stream_state{state="offline"} 0
vimeo_monitor_stream_state{state="error"} 0
vimeo_monitor_cpu_temperature_celsius 51.45
vimeo_monitor_pi_info{model="Raspberry Pi 5 Model B Rev 1.0"} 1
vimeo_monitor_network_up{host="a \"quoted\\\" host\nnext"} 0
vimeo_monitor_player_restarts_total{reason="exited"} 2
vimeo_monitor_player_restarts_total{reason="hung"} 1
vimeo_monitor_load1 0.5 1700000000000
vimeo_monitor_stream_segment_download_ratio NaN
other_namespace_up 1
vimeo_monitor_broken{label="never closed} 1
vimeo_monitor_no_value
vimeo_monitor_bad_value{a="b"} one
"#;

    #[test]
    fn reads_names_labels_and_values_and_skips_the_rest() {
        let samples = Samples::parse(TEXT, "vimeo_monitor");
        assert_eq!(samples.current("stream_state", "state"), Some("live"));
        assert_eq!(samples.value_with("stream_state", "state", "offline"), Some(0.0));
        assert_eq!(samples.value("cpu_temperature_celsius"), Some(51.45));
        assert_eq!(samples.current("pi_info", "model"), Some("Raspberry Pi 5 Model B Rev 1.0"));
        assert_eq!(
            samples.series("network_up")[0].label("host"),
            Some("a \"quoted\\\" host\nnext")
        );
        assert_eq!(samples.sum("player_restarts_total"), Some(3.0));
        assert_eq!(samples.value("load1"), Some(0.5), "a timestamp is not the value");
        assert_eq!(samples.value("stream_segment_download_ratio"), None, "NaN reads as missing");
        assert!(samples.series("stream_segment_download_ratio")[0].value.is_nan());
        for absent in ["broken", "no_value", "bad_value", "up", "other_namespace_up"] {
            assert!(samples.series(absent).is_empty(), "{absent}");
        }
        assert_eq!(samples.sum("nothing"), None);
        assert_eq!(samples.flag("nothing"), None);
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "{",
            "}",
            "a{",
            "a{b",
            "a{b=",
            "a{b=\"",
            "a{b=\"\\",
            "a{} x",
            "\u{0}",
            "é{é=\"é\"} 1",
        ] {
            let _ = Samples::parse(text, "a");
        }
        let samples = Samples::parse("ns_é{é=\"é\"} 1", "ns");
        assert_eq!(samples.value_with("é", "é", "é"), Some(1.0));
    }
}
