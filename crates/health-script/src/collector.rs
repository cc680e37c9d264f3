//! The `script` collector inside the kiosk: publishes what the kiosk recorded into its
//! [`ScriptHealth`] handle. A run only reads memory, so it cannot fail or time out.

use std::time::Duration;

use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot};

use crate::handle::ScriptHealth;
use crate::report;

/// The collector's name (both the kiosk's and the sidecar's): the `collector` label of the
/// self-metrics.
pub const NAME: &str = "script";

/// Publishes a [`ScriptHealth`] every interval. Made by [`ScriptHealth::collector`].
///
/// Every run takes the API durations recorded since the previous one into the histogram. The
/// exposition rebuilds a collector's series when one of them leaves (the player's figures became
/// unknown, its `hwdec` changed), and the histogram then starts again from zero, which Prometheus
/// reads as a counter reset: `rate()` and `histogram_quantile()` over it stay right.
#[derive(Debug, Clone)]
pub struct ScriptCollector {
    health: ScriptHealth,
    interval: Duration,
}

impl ScriptCollector {
    pub(crate) fn new(health: ScriptHealth, interval: Duration) -> Self {
        Self { health, interval }
    }
}

#[health_core::async_trait]
impl Collector for ScriptCollector {
    fn name(&self) -> &str {
        NAME
    }

    fn describe(&self) -> Vec<MetricDesc> {
        report::DESCRIPTIONS.to_vec()
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(self.interval)
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let mut snapshot = Snapshot::new();
        self.health.report().sample(&mut snapshot);
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use health_core::testing::{collect_checked, gauge};
    use health_core::{Exposition, SampleValue};
    use tokio::time::advance;

    use super::*;
    use crate::states::{ApiResult, Display, PlayerState, RestartReason, StreamState};

    fn health() -> ScriptHealth {
        ScriptHealth::new(Duration::from_secs(30))
    }

    fn counter(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
        match snapshot.get(name, labels) {
            Some(SampleValue::Counter(total)) => *total,
            other => panic!("{name} {labels:?}: {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_kiosk_playing_a_live_event_conforms_and_reads_back() {
        let health = health();
        health.api_request(ApiResult::Live, Duration::from_millis(300), Some(95));
        health.set_stream_state(StreamState::Live);
        health.set_display(Display::Stream);
        health.set_player_state(PlayerState::Playing);
        health.player_info("mpv", "drm-copy");
        health.set_player_figures(crate::PlayerFigures {
            frames_dropped_output: Some(2),
            frames_dropped_decoder: Some(0),
            buffer_seconds: Some(6.0),
            buffering: Some(false),
            ..crate::PlayerFigures::default()
        });
        health.tick();
        advance(Duration::from_secs(12)).await;
        let collector = health.collector(Duration::from_secs(5));
        assert_eq!(collector.schedule().interval, Duration::from_secs(5));
        let snapshot = collect_checked(&collector).await;
        assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
        assert_eq!(gauge(&snapshot, "script_healthy", &[]), 1.0);
        assert_eq!(gauge(&snapshot, "uptime_seconds", &[]), 12.0);
        assert_eq!(gauge(&snapshot, "stream_uptime_seconds", &[]), 12.0);
        assert_eq!(gauge(&snapshot, "api_rate_limit_remaining", &[]), 95.0);
        assert_eq!(gauge(&snapshot, "player_buffer_seconds", &[]), 6.0);
        assert_eq!(gauge(&snapshot, "player_buffering", &[]), 0.0);
        assert_eq!(counter(&snapshot, "player_frames_dropped_total", &[("stage", "output")]), 2);
        assert_eq!(counter(&snapshot, "player_rebuffer_total", &[]), 0);
        assert_eq!(counter(&snapshot, "api_requests_total", &[("result", "live")]), 1);
        assert_eq!(
            gauge(&snapshot, "player_info", &[("player", "mpv"), ("hwdec", "drm-copy")]),
            1.0
        );
        assert_eq!(
            snapshot.get("api_request_duration_seconds", &[]),
            Some(&SampleValue::Histogram(vec![0.3]))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn state_gauges_have_exactly_one_one_and_counters_start_at_zero() {
        let health = health();
        let collector = health.collector(Duration::from_secs(5));
        for (stream_state, player_state) in [
            (StreamState::Live, PlayerState::Starting),
            (StreamState::Error, PlayerState::Restarting),
            (StreamState::Offline, PlayerState::Idle),
        ] {
            health.set_stream_state(stream_state);
            health.set_player_state(player_state);
            let snapshot = collect_checked(&collector).await;
            let ones = |name: &str| {
                let one = SampleValue::Gauge(1.0);
                snapshot.samples().iter().filter(|s| s.name == name && s.value == one).count()
            };
            assert_eq!((ones("stream_state"), ones("player_state")), (1, 1));
            assert_eq!(gauge(&snapshot, "stream_state", &[("state", stream_state.label())]), 1.0);
            assert_eq!(gauge(&snapshot, "player_state", &[("state", player_state.label())]), 1.0);
            let streams = snapshot.samples().iter().filter(|s| s.name == "stream_state").count();
            let players = snapshot.samples().iter().filter(|s| s.name == "player_state").count();
            assert_eq!((streams, players), (3, 6));
        }
        let snapshot = collect_checked(&collector).await;
        for result in ApiResult::ALL {
            assert_eq!(counter(&snapshot, "api_requests_total", &[("result", result.label())]), 0);
        }
        for reason in RestartReason::ALL {
            assert_eq!(
                counter(&snapshot, "player_restarts_total", &[("reason", reason.label())]),
                0
            );
        }
        assert_eq!(counter(&snapshot, "player_stalls_total", &[]), 0);
        for unknown in ["player_buffer_seconds", "player_buffering", "player_fps", "player_info"] {
            assert!(snapshot.samples().iter().all(|s| s.name != unknown), "{unknown} is unknown");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_histogram_counts_each_request_once_across_runs() {
        let health = health();
        let collector = health.collector(Duration::from_secs(5));
        let exposition = Exposition::default();
        exposition.register(NAME, &collector.describe()).unwrap();
        let runs: [&[u64]; 3] = [&[40, 700], &[], &[3000]];
        for millis in runs {
            for ms in millis {
                health.api_request(ApiResult::Offline, Duration::from_millis(*ms), None);
            }
            exposition.publish(NAME, collector.collect().await.unwrap());
        }
        let text = exposition.render();
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
                .rsplit(' ')
                .next()
                .unwrap()
                .to_owned()
        };
        let name = "vimeo_monitor_api_request_duration_seconds";
        assert_eq!(line(&format!("{name}_count")), "3");
        assert_eq!(line(&format!("{name}_bucket{{le=\"0.05\"}}")), "1");
        assert_eq!(line(&format!("{name}_bucket{{le=\"1\"}}")), "2");
        assert_eq!(line(&format!("{name}_bucket{{le=\"5\"}}")), "3");
        assert_eq!(line(&format!("{name}_sum")), "3.74");
        assert_eq!(line("vimeo_monitor_api_requests_total{result=\"offline\"}"), "3");
    }
}
