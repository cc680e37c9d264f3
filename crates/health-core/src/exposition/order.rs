//! The exposition in a stable order, as the Prometheus client libraries write it: families by
//! name, series by labels, a histogram's buckets by `le` (`+Inf` last) then `_sum` and `_count`.
//!
//! metrics-exporter-prometheus writes families and series in hash order, so two scrapes of the
//! same state differ. A section's text is cut into families and sorted once per publish
//! ([`families`]); a scrape only merges the sections' sorted families by name ([`merge`]).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

/// One metric family's text: its `# HELP` and `# TYPE` lines, its series in order, a blank line.
#[derive(Debug)]
pub(super) struct Family {
    name: Box<str>,
    text: Box<str>,
}

/// The families of one section's text, sorted by name, each with its series sorted.
pub(super) fn families(text: &str) -> Vec<Family> {
    let mut families = Vec::new();
    let mut current: Option<Building<'_>> = None;
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(name) = comment_name(line) {
            if current.as_ref().is_none_or(|f| f.name != name || !f.series.is_empty()) {
                families.extend(current.take().map(Building::finish));
                current = Some(Building { name, comments: Vec::new(), series: Vec::new() });
            }
            if let Some(family) = current.as_mut() {
                family.comments.push(line);
            }
            continue;
        }
        let family = current.get_or_insert_with(|| Building {
            name: series_name(line),
            comments: Vec::new(),
            series: Vec::new(),
        });
        family.series.push(line);
    }
    families.extend(current.map(Building::finish));
    families.sort_by(|a, b| a.name.cmp(&b.name));
    families
}

/// The families of every section as one text, by name across sections.
pub(super) fn merge(sections: &[Arc<[Family]>]) -> String {
    let mut all: Vec<&Family> = sections.iter().flat_map(|s| s.iter()).collect();
    // Each section is sorted already and names are unique across sections (checked at
    // registration), so this is a merge of a few dozen references.
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::with_capacity(all.iter().map(|f| f.text.len()).sum());
    for family in all {
        out.push_str(&family.text);
    }
    out
}

/// Every series line of the sections' families as values, families in name order: the text's
/// own labels parser, so what is sent elsewhere is exactly what a scrape reads.
pub(super) fn series(sections: &[Arc<[Family]>]) -> Vec<super::ExposedSeries> {
    let mut all: Vec<&Family> = sections.iter().flat_map(|s| s.iter()).collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let lines = all.iter().flat_map(|f| f.text.lines());
    lines.filter(|l| !l.is_empty() && !l.starts_with('#')).filter_map(read_series).collect()
}

/// `name{labels} value` back to values; `None` for a line that has no readable value.
fn read_series(line: &str) -> Option<super::ExposedSeries> {
    let name = series_name(line);
    // The value is the last field: no timestamps are written, and it never holds a space.
    let value = match line.rsplit(' ').next()? {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    let labels = parse_labels(&line[name.len()..])
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_owned()))
        .collect();
    Some(super::ExposedSeries { name: name.to_owned(), labels, value })
}

/// A family being cut out of a section's text.
struct Building<'a> {
    name: &'a str,
    comments: Vec<&'a str>,
    series: Vec<&'a str>,
}

impl Building<'_> {
    fn finish(self) -> Family {
        let mut series: Vec<(SeriesKey<'_>, &str)> =
            self.series.iter().map(|line| (SeriesKey::of(self.name, line), *line)).collect();
        series.sort_by(|(a, line_a), (b, line_b)| a.compare(b).then_with(|| line_a.cmp(line_b)));
        let len = self.comments.iter().chain(&self.series).map(|l| l.len() + 1).sum::<usize>();
        let mut text = String::with_capacity(len + 1);
        for line in self.comments.iter().chain(series.iter().map(|(_, line)| line)) {
            text.push_str(line);
            text.push('\n');
        }
        text.push('\n');
        Family { name: self.name.into(), text: text.into() }
    }
}

/// The metric name of a `# HELP name …` or `# TYPE name …` line.
fn comment_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# HELP ").or_else(|| line.strip_prefix("# TYPE "))?;
    Some(rest.split(' ').next().unwrap_or(rest))
}

/// The metric name of a series line (`name{labels} value` or `name value`).
fn series_name(line: &str) -> &str {
    let end = line.find(['{', ' ']).unwrap_or(line.len());
    &line[..end]
}

/// Where a series goes within its family.
struct SeriesKey<'a> {
    /// Its labels but `le`, in the family's label order; values compare unescaped.
    labels: Vec<(&'a str, Cow<'a, str>)>,
    /// 0 for the series itself or a histogram bucket, 1 for `_sum`, 2 for `_count`.
    part: u8,
    /// A bucket's upper bound; `+Inf` is the largest.
    le: f64,
}

impl<'a> SeriesKey<'a> {
    fn of(family: &str, line: &'a str) -> Self {
        let name = series_name(line);
        let part = match name.strip_prefix(family).unwrap_or(name) {
            "_sum" => 1,
            "_count" => 2,
            _ => 0,
        };
        let mut labels = parse_labels(&line[name.len()..]);
        let mut le = f64::NEG_INFINITY;
        if let Some(pos) = labels.iter().position(|(k, _)| *k == "le") {
            le = bound(&labels.remove(pos).1);
        }
        Self { labels, part, le }
    }

    /// Label sets in order, each: its buckets by bound, then `_sum`, then `_count`.
    fn compare(&self, other: &Self) -> Ordering {
        self.labels
            .cmp(&other.labels)
            .then(self.part.cmp(&other.part))
            .then(self.le.total_cmp(&other.le))
    }
}

/// A bucket bound as Prometheus writes it (`0.5`, `+Inf`).
fn bound(value: &str) -> f64 {
    match value {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().unwrap_or(f64::INFINITY),
    }
}

/// The `(name, value)` pairs of `{a="x",b="y\"z"} 1`; empty without `{`.
fn parse_labels(rest: &str) -> Vec<(&str, Cow<'_, str>)> {
    let mut labels = Vec::new();
    let Some(mut rest) = rest.strip_prefix('{') else { return labels };
    while let Some((name, after)) = rest.split_once("=\"") {
        let bytes = after.as_bytes();
        let mut end = 0;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        let end = end.min(bytes.len());
        labels.push((name.trim_start_matches(','), unescape(&after[..end])));
        rest = after.get(end + 1..).unwrap_or("");
        if rest.starts_with('}') {
            break;
        }
    }
    labels
}

/// A label value as written (`\\`, `\"`, `\n` escaped) back to the value; borrowed when it has
/// no escape.
fn unescape(value: &str) -> Cow<'_, str> {
    if !value.contains('\\') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(text: &str) -> String {
        merge(&[families(text).into()])
    }

    #[test]
    fn families_go_by_name_and_series_by_labels() {
        let text = "# HELP b_total B.\n# TYPE b_total counter\nb_total{host=\"y\"} 2\n\
                    b_total{host=\"x\"} 1\n\n# HELP a A.\n# TYPE a gauge\na 0\n\n";
        assert_eq!(
            sorted(text),
            "# HELP a A.\n# TYPE a gauge\na 0\n\n\
             # HELP b_total B.\n# TYPE b_total counter\nb_total{host=\"x\"} 1\n\
             b_total{host=\"y\"} 2\n\n"
        );
    }

    #[test]
    fn buckets_go_by_bound_then_sum_and_count_per_label_set() {
        let text = "# TYPE h histogram\nh_count{i=\"b\"} 1\nh_bucket{i=\"b\",le=\"+Inf\"} 1\n\
                    h_sum{i=\"a\"} 3\nh_bucket{i=\"a\",le=\"10\"} 2\nh_bucket{i=\"a\",le=\"+Inf\"} 2\n\
                    h_bucket{i=\"a\",le=\"2.5\"} 1\nh_count{i=\"a\"} 2\nh_sum{i=\"b\"} 0.5\n\
                    h_bucket{i=\"b\",le=\"10\"} 1\nh_bucket{i=\"b\",le=\"2.5\"} 1\n\n";
        let lines: Vec<String> = sorted(text).lines().map(str::to_owned).collect();
        assert_eq!(
            lines,
            [
                "# TYPE h histogram",
                "h_bucket{i=\"a\",le=\"2.5\"} 1",
                "h_bucket{i=\"a\",le=\"10\"} 2",
                "h_bucket{i=\"a\",le=\"+Inf\"} 2",
                "h_sum{i=\"a\"} 3",
                "h_count{i=\"a\"} 2",
                "h_bucket{i=\"b\",le=\"2.5\"} 1",
                "h_bucket{i=\"b\",le=\"10\"} 1",
                "h_bucket{i=\"b\",le=\"+Inf\"} 1",
                "h_sum{i=\"b\"} 0.5",
                "h_count{i=\"b\"} 1",
                "",
            ]
        );
    }

    #[test]
    fn label_values_compare_as_values_even_with_quotes_spaces_and_commas() {
        assert_eq!(
            parse_labels("{a=\"x\\\"}, y\",b=\"\"} 1"),
            [("a", Cow::from("x\"}, y")), ("b", Cow::from(""))]
        );
        let text = "# TYPE g gauge\ng{v=\"a b\"} 1\ng{v=\"a\"} 1\ng{v=\"a\\\"\"} 1\n\n";
        let lines: Vec<String> = sorted(text).lines().map(str::to_owned).collect();
        assert_eq!(lines[1..4], ["g{v=\"a\"} 1", "g{v=\"a b\"} 1", "g{v=\"a\\\"\"} 1"]);
    }

    #[test]
    fn series_read_back_as_values() {
        let text = "# TYPE h histogram\nh_bucket{i=\"a b\",le=\"+Inf\"} 2\nh_sum{i=\"a b\"} 0.5\n\
                    h_count{i=\"a b\"} 2\n\n# TYPE g gauge\ng NaN\ng{v=\"x\\\"y\"} -Inf\n\n";
        let read = series(&[families(text).into()]);
        let shown: Vec<String> = read
            .iter()
            .map(|s| {
                let labels: Vec<String> =
                    s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{} {} {}", s.name, labels.join(","), s.value)
            })
            .collect();
        assert_eq!(
            shown,
            [
                "g  NaN",
                "g v=x\"y -inf",
                "h_bucket i=a b,le=+Inf 2",
                "h_sum i=a b 0.5",
                "h_count i=a b 2"
            ]
        );
    }

    #[test]
    fn sections_merge_by_family_name() {
        let one: Arc<[Family]> = families("# TYPE c gauge\nc 1\n\n# TYPE a gauge\na 1\n\n").into();
        let two: Arc<[Family]> = families("# TYPE b gauge\nb 1\n\n").into();
        let out = merge(&[one, two]);
        let names: Vec<&str> = out.lines().filter_map(comment_name).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }
}
