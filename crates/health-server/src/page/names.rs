//! Every metric the page reads, in one list, held against the catalogue by a test.
//!
//! A lookup in [`Samples`](super::samples::Samples) or the [`History`](crate::history::History)
//! takes a [`Metric`], and a `Metric` can only be one of the constants below (its field is
//! private to this file): a page that reads a metric no collector describes, say after a
//! rename, fails `every_metric_the_page_reads_is_described_by_a_collector` instead of showing
//! "—" for ever.

/// The name of a metric the page reads, as described (without the namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Metric(&'static str);

impl Metric {
    /// The name as described, without the namespace.
    pub(crate) const fn name(self) -> &'static str {
        self.0
    }
}

/// Declares each metric as a constant named like it, and [`ALL`] listing every one.
macro_rules! metrics {
    ($($constant:ident = $name:literal,)*) => {
        $(
            #[doc = concat!("`", $name, "`.")]
            pub(crate) const $constant: Metric = Metric($name);
        )*
        /// Every metric the page reads.
        #[cfg_attr(
            not(all(
                test,
                feature = "system",
                feature = "network",
                feature = "stream",
                feature = "script"
            )),
            expect(dead_code, reason = "only the catalogue test, with every collector, lists them")
        )]
        pub(crate) const ALL: &[Metric] = &[$($constant),*];
    };
}

metrics! {
    // The kiosk (`script`).
    STREAM_STATE = "stream_state",
    STREAM_UPTIME_SECONDS = "stream_uptime_seconds",
    PLAYER_STATE = "player_state",
    SCRIPT_HEALTHY = "script_healthy",
    SCRIPT_PROCESS_UP = "script_process_up",
    API_CONSECUTIVE_ERRORS = "api_consecutive_errors",
    API_LAST_SUCCESS_TIMESTAMP_SECONDS = "api_last_success_timestamp_seconds",
    PLAYER_RESTARTS_TOTAL = "player_restarts_total",
    UPTIME_SECONDS = "uptime_seconds",
    SCREEN_LUMA_RATIO = "screen_luma_ratio",
    SCREEN_BLACK = "screen_black",
    SCREEN_FROZEN_SECONDS = "screen_frozen_seconds",
    PLAYER_HWDEC_ACTIVE = "player_hwdec_active",
    PLAYER_FRAMES_DROPPED_TOTAL = "player_frames_dropped_total",
    PLAYER_BUFFERING = "player_buffering",
    PLAYER_BUFFER_SECONDS = "player_buffer_seconds",
    PLAYER_REBUFFER_TOTAL = "player_rebuffer_total",
    PLAYER_REBUFFER_SECONDS_TOTAL = "player_rebuffer_seconds_total",
    // The Raspberry Pi and its display (`hardware`).
    PI_INFO = "pi_info",
    PI_THROTTLED = "pi_throttled",
    CPU_TEMPERATURE_CELSIUS = "cpu_temperature_celsius",
    CPU_USAGE_RATIO = "cpu_usage_ratio",
    LOAD1 = "load1",
    MEMORY_AVAILABLE_BYTES = "memory_available_bytes",
    MEMORY_TOTAL_BYTES = "memory_total_bytes",
    DISPLAY_CONNECTED = "display_connected",
    DISPLAY_ENABLED = "display_enabled",
    DISPLAY_DPMS_ON = "display_dpms_on",
    DISPLAY_MODE_INFO = "display_mode_info",
    DISPLAY_POWER_ON = "display_power_on",
    // The network (`network`).
    NETWORK_UP = "network_up",
    NETWORK_RTT_SECONDS = "network_rtt_seconds",
    NETWORK_PACKET_LOSS_RATIO = "network_packet_loss_ratio",
    NETWORK_WIFI_SIGNAL_DBM = "network_wifi_signal_dbm",
    NETWORK_SPEEDTEST_RUNS_TOTAL = "network_speedtest_runs_total",
    NETWORK_SPEEDTEST_POSTPONED = "network_speedtest_postponed",
    NETWORK_SPEEDTEST_LAST_SUCCESS_TIMESTAMP_SECONDS =
        "network_speedtest_last_success_timestamp_seconds",
    NETWORK_DOWNLOAD_BYTES_PER_SECOND = "network_download_bytes_per_second",
    NETWORK_UPLOAD_BYTES_PER_SECOND = "network_upload_bytes_per_second",
    // The stream (`stream`, `stream_playlist`).
    STREAM_AVAILABLE = "stream_available",
    STREAM_BITRATE_BYTES_PER_SECOND = "stream_bitrate_bytes_per_second",
    STREAM_WIDTH_PIXELS = "stream_width_pixels",
    STREAM_HEIGHT_PIXELS = "stream_height_pixels",
    STREAM_FRAMES_PER_SECOND = "stream_frames_per_second",
    STREAM_STALLED = "stream_stalled",
    STREAM_ENDED = "stream_ended",
    STREAM_SECONDS_SINCE_PLAYLIST_ADVANCED = "stream_seconds_since_playlist_advanced",
    STREAM_VARIANT_BANDWIDTH_BYTES_PER_SECOND = "stream_variant_bandwidth_bytes_per_second",
    STREAM_SEGMENT_DOWNLOAD_RATIO = "stream_segment_download_ratio",
}

#[cfg(all(test, feature = "system", feature = "network", feature = "stream", feature = "script"))]
mod tests {
    use health_core::MetricKind;

    use super::*;

    /// The page reads the samples of the collectors' runs (the status board keeps them), so
    /// each of its metrics must be described by a collector, with a single value per series: a
    /// gauge or a counter. The exporter's self-metrics are not samples of a run: the page reads
    /// those records from the board itself.
    #[test]
    fn every_metric_the_page_reads_is_described_by_a_collector() {
        let catalogue = crate::catalogue();
        let collectors: Vec<_> = catalogue.iter().filter(|e| e.collector != "exporter").collect();
        let mut problems = Vec::new();
        for metric in ALL {
            let desc = collectors.iter().flat_map(|e| &e.metrics).find(|d| d.name == metric.name());
            match desc.map(|d| d.kind) {
                None => problems.push(format!("`{}` is described by no collector", metric.name())),
                Some(MetricKind::Histogram) => {
                    problems.push(format!("`{}` is a histogram", metric.name()));
                }
                Some(MetricKind::Gauge | MetricKind::Counter) => {}
            }
            if ALL.iter().filter(|m| *m == metric).count() > 1 {
                problems.push(format!("`{}` is listed twice", metric.name()));
            }
        }
        assert!(problems.is_empty(), "the page's metrics against the catalogue: {problems:#?}");
    }
}
