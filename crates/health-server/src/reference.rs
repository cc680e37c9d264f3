//! The metrics reference (`docs/metrics.md`), generated from the collectors' own descriptions.
//!
//! `cargo xtask docs` writes it and a test fails when the committed copy drifts, so the
//! reference can never promise a metric the code does not emit, nor miss one it does.

use std::fmt::Write as _;

use health_core::{Exposition, MetricDesc, SELF_METRICS};

/// One collector's entry in the reference.
#[derive(Debug, Clone)]
pub struct CatalogueEntry {
    /// The collector's name (`collector` label), or `exporter` for the self-metrics.
    pub collector: &'static str,
    /// The cargo feature of `health-server` that builds it.
    pub feature: Option<&'static str>,
    /// The setting that decides how often it runs.
    pub interval: &'static str,
    /// What it may emit.
    pub metrics: Vec<MetricDesc>,
}

/// Every metric this build can emit, by collector, the self-metrics first.
pub fn catalogue() -> Vec<CatalogueEntry> {
    #[cfg_attr(
        not(any(feature = "system", feature = "network", feature = "stream", feature = "script")),
        expect(unused_mut, reason = "nothing is added without a collector feature")
    )]
    let mut entries = vec![CatalogueEntry {
        collector: "exporter",
        feature: None,
        interval: "after every collector run",
        metrics: SELF_METRICS.to_vec(),
    }];
    #[cfg(feature = "system")]
    {
        let defaults = crate::config::HealthConfig::default();
        let options = health_system::HardwareOptions::new(defaults.hardware.interval);
        let collector = health_system::HardwareCollector::new(options);
        entries.push(CatalogueEntry {
            collector: health_system::NAME,
            feature: Some("system"),
            interval: "HEALTH_HARDWARE_INTERVAL",
            metrics: health_core::Collector::describe(&collector),
        });
    }
    #[cfg(feature = "network")]
    entries.push(CatalogueEntry {
        collector: health_network::NAME,
        feature: Some("network"),
        interval: "HEALTH_NETWORK_INTERVAL (the speed test: HEALTH_NETWORK_SPEEDTEST_INTERVAL)",
        metrics: health_network::descriptions(true),
    });
    #[cfg(feature = "stream")]
    entries.push(CatalogueEntry {
        collector: health_stream::PROBE_COLLECTOR,
        feature: Some("stream"),
        interval: "HEALTH_STREAM_INTERVAL",
        metrics: health_stream::probe_descriptions(),
    });
    #[cfg(feature = "stream")]
    entries.push(CatalogueEntry {
        collector: health_stream::PLAYLIST_COLLECTOR,
        feature: Some("stream"),
        interval: "HEALTH_STREAM_PLAYLIST_INTERVAL",
        metrics: health_stream::playlist_descriptions(),
    });
    #[cfg(feature = "script")]
    entries.push(CatalogueEntry {
        collector: health_script::NAME,
        feature: Some("script"),
        interval: "HEALTH_SCRIPT_INTERVAL",
        metrics: health_script::descriptions(),
    });
    entries.push(CatalogueEntry {
        collector: crate::push::NAME,
        feature: None,
        interval: "HEALTH_PUSH_INTERVAL, in push mode (HEALTH_PUSHGATEWAY_URL)",
        metrics: crate::push::descriptions(),
    });
    entries
}

/// PromQL for the questions operators ask most, as `(question, query)`. They are printed in
/// the reference and run against a real Prometheus by the end-to-end tests, so they stay valid.
pub const EXAMPLE_QUERIES: &[(&str, &str)] = &[
    (
        "Is the screen showing the live event?",
        r#"vimeo_monitor_stream_state{state="live"} == 1 and on (instance) vimeo_monitor_player_state{state="playing"} == 1"#,
    ),
    (
        "Which kiosks should be showing the event but are not?",
        r#"vimeo_monitor_stream_state{state="live"} == 1 unless on (instance) vimeo_monitor_player_state{state="playing"} == 1"#,
    ),
    (
        "Is each kiosk's main loop healthy (ticking, and showing what the API calls for)?",
        "vimeo_monitor_script_healthy",
    ),
    (
        "Which kiosks are throttled now (under-voltage, frequency capped, hot)?",
        r#"max by (instance, condition) (vimeo_monitor_pi_throttled{scope="now"}) == 1"#,
    ),
    (
        "Packet loss per host over the last hour",
        "avg_over_time(vimeo_monitor_network_packet_loss_ratio[1h])",
    ),
    (
        "Vimeo API answers per second, by result",
        "sum by (instance, result) (rate(vimeo_monitor_api_requests_total[5m]))",
    ),
    (
        "95th percentile of Vimeo API request time",
        "histogram_quantile(0.95, sum by (instance, le) (rate(vimeo_monitor_api_request_duration_seconds_bucket[15m])))",
    ),
    (
        "Player restarts in the last hour, by reason",
        "sum by (instance, reason) (increase(vimeo_monitor_player_restarts_total[1h]))",
    ),
    (
        "Is the link fast enough for the stream? (segment download ratio; below 1.5 is tight)",
        "vimeo_monitor_stream_segment_download_ratio",
    ),
    (
        "Does the measured download bandwidth cover the stream's variant?",
        "vimeo_monitor_network_download_bytes_per_second / on (instance) vimeo_monitor_stream_variant_bandwidth_bytes_per_second",
    ),
    (
        "Disks more than 90 % full",
        "1 - vimeo_monitor_disk_available_bytes / vimeo_monitor_disk_total_bytes > 0.9",
    ),
    ("Collectors whose last run failed", "vimeo_monitor_collector_up == 0"),
];

/// The Markdown text of `docs/metrics.md`.
pub fn metrics_reference() -> String {
    let namespace = Exposition::default().namespace().to_owned();
    let mut out = String::new();
    out.push_str(
        "# Metrics reference\n\n\
         Generated by `cargo xtask docs` from the collectors' descriptions; do not edit by hand \
         (CI runs `cargo xtask docs --check`). Names carry the default namespace `vimeo_monitor`.\n\n\
         A collector whose run fails (error, timeout or panic) publishes none of its series until \
         it succeeds again; `vimeo_monitor_collector_up` and `/status` say why. A series whose \
         labels disappear (a host removed, an interface gone) leaves at the collector's next run.\n",
    );
    for entry in catalogue() {
        let _ = write!(out, "\n## `{}`\n\n", entry.collector);
        match entry.feature {
            Some(feature) => {
                let _ =
                    writeln!(out, "Cargo feature `{feature}`; runs every `{}`.\n", entry.interval);
            }
            None => {
                let _ = writeln!(out, "Always present; updated {}.\n", entry.interval);
            }
        }
        out.push_str("| Metric | Type | Unit | Labels | Help |\n|---|---|---|---|---|\n");
        let mut metrics = entry.metrics;
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        for m in metrics {
            let unit = if m.unit.as_str().is_empty() { "-" } else { m.unit.as_str() };
            let labels = if m.labels.is_empty() { "-".to_owned() } else { m.labels.join(", ") };
            let _ = writeln!(
                out,
                "| `{namespace}_{}` | {} | {unit} | {labels} | {} |",
                m.name,
                m.kind.as_str(),
                m.help.replace('|', "\\|")
            );
        }
    }
    out.push_str(
        "\n## Example queries\n\n\
         Each is run against a real Prometheus by the end-to-end tests.\n",
    );
    for (question, query) in EXAMPLE_QUERIES {
        let _ = write!(out, "\n{question}\n\n```promql\n{query}\n```\n");
    }
    out
}
