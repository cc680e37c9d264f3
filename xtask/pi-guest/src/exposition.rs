//! Reading values out of a `/metrics` text: just enough to see what the exporter reports
//! (`name{label="value",…} number` lines; comments skipped).

/// The sum of every series named `name` whose labels include all of `labels`; `None` when no
/// series matches.
pub(crate) fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut total = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let (series_name, label_text) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let has = |(k, v): &(&str, &str)| {
            label_text.split(',').any(|pair| pair == format!("{k}=\"{v}\""))
        };
        if labels.iter().all(has)
            && let Ok(value) = value.parse::<f64>()
        {
            *total.get_or_insert(0.0) += value;
        }
    }
    total
}

/// The values of label `label` on the series named `name`, in order of appearance, deduplicated.
pub(crate) fn label_values(text: &str, name: &str, label: &str) -> Vec<String> {
    let prefix = format!("{name}{{");
    let key = format!("{label}=\"");
    let mut values: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with(&prefix)) {
        let Some(start) = line.find(&key) else { continue };
        let rest = &line[start + key.len()..];
        let Some(end) = rest.find('"') else { continue };
        if !values.iter().any(|v| v == &rest[..end]) {
            values.push(rest[..end].to_owned());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# HELP vimeo_monitor_collector_runs_total Runs.
# TYPE vimeo_monitor_collector_runs_total counter
vimeo_monitor_collector_runs_total{collector=\"hardware\",result=\"success\"} 4
vimeo_monitor_collector_runs_total{collector=\"hardware\",result=\"error\"} 1
vimeo_monitor_collector_runs_total{collector=\"stream\",result=\"success\"} 2
vimeo_monitor_collector_runs_total_extra{collector=\"stream\",result=\"success\"} 100
vimeo_monitor_uptime_seconds 12.5
";

    #[test]
    fn sums_the_matching_series_only() {
        let runs = "vimeo_monitor_collector_runs_total";
        assert_eq!(sum(TEXT, runs, &[]), Some(7.0));
        assert_eq!(sum(TEXT, runs, &[("result", "success")]), Some(6.0));
        assert_eq!(sum(TEXT, runs, &[("collector", "hardware"), ("result", "success")]), Some(4.0));
        assert_eq!(sum(TEXT, runs, &[("collector", "network")]), None);
        assert_eq!(sum(TEXT, "vimeo_monitor_uptime_seconds", &[]), Some(12.5));
    }

    #[test]
    fn label_values_in_order_without_repeats() {
        let names = label_values(TEXT, "vimeo_monitor_collector_runs_total", "collector");
        assert_eq!(names, ["hardware", "stream"]);
    }
}
