//! Configuration + compiled-in features → the list of collectors to run.
//!
//! Each collector's row in [`COLLECTORS`] says which cargo feature builds it, what turns it on and
//! how it is built; this module walks the rows. A collector that the configuration enables but the
//! build left out is a start-up error naming the feature, so a minimal deployment never silently
//! reports less than its operator asked for.

use health_core::Collector;

use crate::collectors::COLLECTORS;
use crate::config::HealthConfig;

/// A collector the configuration asks for but this build does not contain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NotCompiledIn {
    /// The collector's name.
    pub collector: &'static str,
    /// The cargo feature that adds it.
    pub feature: &'static str,
    /// The variable that enables it: a `..._ENABLED` switch, or a setting whose presence asks
    /// for the collector (`HEALTH_SCRIPT_PIDFILE`).
    pub toggle: &'static str,
}

impl std::fmt::Display for NotCompiledIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { collector, feature, toggle } = self;
        let (given, undo) = if toggle.ends_with("_ENABLED") {
            (format!("{toggle}=true"), format!("set {toggle}=false"))
        } else {
            (format!("{toggle} is set"), format!("unset {toggle}"))
        };
        write!(
            f,
            "{given}, but the {collector} collector was not compiled in: build health-server with \
             `--features {feature}`, or {undo}"
        )
    }
}

/// Every collector that cannot be built as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ComposeError(pub Vec<NotCompiledIn>);

/// The enabled collectors, plus notes for the log about what was left out and why.
pub struct Composition {
    /// Collectors to hand to the scheduler.
    pub collectors: Vec<Box<dyn Collector>>,
    /// Enabled parts that this version cannot collect yet (logged as warnings at start).
    pub notes: Vec<String>,
}

impl std::fmt::Debug for Composition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.collectors.iter().map(|c| c.name()).collect();
        f.debug_struct("Composition")
            .field("collectors", &names)
            .field("notes", &self.notes)
            .finish()
    }
}

/// What a program embedding the exporter hands to its collectors.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The kiosk's current playback URL, which it sets and clears as the event goes live and
    /// offline. Without it the stream collectors watch `HEALTH_STREAM_URL`, if set.
    #[cfg(feature = "stream")]
    pub stream_source: Option<health_stream::StreamSource>,
    /// The kiosk's own health record. With it, the `script` collector publishes it every
    /// `HEALTH_SCRIPT_INTERVAL` and the sidecar settings (`HEALTH_SCRIPT_PIDFILE`, ...) are
    /// ignored with a note; without it, they make `health-server` watch a script from outside.
    #[cfg(feature = "script")]
    pub script: Option<health_script::ScriptHealth>,
}

/// Builds the collectors `config` enables from those compiled in.
pub fn compose(config: &HealthConfig) -> Result<Composition, ComposeError> {
    compose_with(config, &Inputs::default())
}

/// [`compose`], with what the embedding program provides.
pub fn compose_with(config: &HealthConfig, inputs: &Inputs) -> Result<Composition, ComposeError> {
    let mut composition = Composition { collectors: Vec::new(), notes: Vec::new() };
    let mut missing = Vec::new();
    for entry in COLLECTORS {
        match &entry.compiled {
            Some(compiled) => {
                if let Some(build) = compiled.compose
                    && entry.enable.builds(config)
                {
                    build(config, inputs, &mut composition);
                }
            }
            None => {
                if let Some(toggle) = entry.enable.asked_by(config) {
                    missing.push(NotCompiledIn {
                        collector: entry.name,
                        // Only a collector behind a feature can be left out.
                        feature: entry.feature.unwrap_or_default(),
                        toggle,
                    });
                }
            }
        }
    }
    if missing.is_empty() { Ok(composition) } else { Err(ComposeError(missing)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(composition: &Composition) -> Vec<&str> {
        composition.collectors.iter().map(|c| c.name()).collect()
    }

    #[test]
    fn disabled_collectors_are_not_built() {
        let mut config = HealthConfig::default();
        config.hardware.enabled = false;
        config.network.enabled = false;
        config.stream.enabled = false;
        let composition = compose(&config).unwrap();
        assert!(names(&composition).is_empty());
        assert!(composition.notes.is_empty());
    }

    #[cfg(feature = "system")]
    #[test]
    fn the_hardware_collector_follows_its_interval() {
        let mut config = HealthConfig::default();
        config.network.enabled = false;
        config.stream.enabled = false;
        config.hardware.interval = std::time::Duration::from_secs(7);
        let composition = compose(&config).unwrap();
        assert_eq!(names(&composition), ["hardware"]);
        assert_eq!(composition.collectors[0].schedule().interval.as_secs(), 7);
    }

    #[cfg(feature = "system")]
    #[tokio::test]
    async fn the_hardware_collector_asks_the_cec_tool_it_is_given() {
        use std::os::unix::fs::PermissionsExt as _;

        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("cec-ctl");
        std::fs::write(&tool, "#!/bin/sh\nprintf '\\tpwr-state: standby (0x01)\\n'\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut config = HealthConfig::default();
        config.network.enabled = false;
        config.stream.enabled = false;
        config.hardware.vcgencmd = crate::config::ToolSetting::Off;
        config.hardware.sysfs_root = dir.path().join("sys");
        config.hardware.procfs_root = dir.path().join("proc");
        config.hardware.cec = crate::config::ToolSetting::Path(tool);
        let composition = compose(&config).unwrap();
        let snapshot = composition.collectors[0].collect().await.unwrap();
        assert_eq!(
            snapshot.get("display_power_on", &[]),
            Some(&health_core::SampleValue::Gauge(0.0)),
            "a TV in standby"
        );

        config.hardware.cec = crate::config::ToolSetting::Off;
        let composition = compose(&config).unwrap();
        let snapshot = composition.collectors[0].collect().await.unwrap();
        assert_eq!(snapshot.get("display_power_on", &[]), None);
    }

    #[cfg(all(feature = "system", feature = "network", feature = "stream"))]
    #[test]
    fn the_defaults_build_every_collector() {
        let composition = compose(&HealthConfig::default()).unwrap();
        assert_eq!(names(&composition), ["hardware", "network", "stream", "stream_playlist"]);
        assert!(composition.notes.is_empty(), "{:?}", composition.notes);
    }

    #[cfg(feature = "stream")]
    #[test]
    fn the_stream_collectors_take_their_intervals() {
        let mut config = HealthConfig::default();
        config.hardware.enabled = false;
        config.network.enabled = false;
        config.stream.interval = std::time::Duration::from_secs(90);
        config.stream.playlist_interval = std::time::Duration::from_secs(4);
        let composition = compose(&config).unwrap();
        let intervals: Vec<u64> =
            composition.collectors.iter().map(|c| c.schedule().interval.as_secs()).collect();
        assert_eq!(intervals, [90, 4]);
    }

    #[cfg(feature = "network")]
    #[test]
    fn the_network_collector_takes_its_settings_and_speed_test_toggle() {
        let mut config = HealthConfig::default();
        config.hardware.enabled = false;
        config.stream.enabled = false;
        config.network.interval = std::time::Duration::from_secs(45);
        config.network.speedtest_enabled = false;
        let composition = compose(&config).unwrap();
        let network = &composition.collectors[0];
        assert_eq!(network.schedule().interval.as_secs(), 45);
        let descs = network.describe();
        let names: Vec<&str> = descs.iter().map(|d| &*d.name).collect();
        assert!(names.contains(&"network_up") && names.contains(&"network_interface_up"));
        assert!(!names.iter().any(|n| n.contains("speedtest")), "{names:?}");
    }

    /// A local server that answers every request with 5 bytes and counts the requests.
    #[cfg(all(feature = "network", feature = "script"))]
    async fn counting_server() -> (
        std::net::SocketAddr,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
        tokio_util::task::AbortOnDropHandle<()>,
    ) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request).await;
                counted.fetch_add(1, Ordering::SeqCst);
                let reply =
                    b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello";
                let _ = stream.write_all(reply).await;
            }
        });
        (addr, requests, tokio_util::task::AbortOnDropHandle::new(task))
    }

    /// The kiosk's network collector, pinging nothing but a listener on 127.0.0.1 and testing
    /// against `download`.
    #[cfg(all(feature = "network", feature = "script"))]
    fn kiosk_network(
        download: std::net::SocketAddr,
        ping: std::net::SocketAddr,
        state_dir: &std::path::Path,
        during_playback: bool,
        health: &health_script::ScriptHealth,
    ) -> Box<dyn Collector> {
        let mut config = HealthConfig::default();
        config.hardware.enabled = false;
        config.stream.enabled = false;
        config.state_dir = Some(state_dir.to_owned());
        config.network.ping_hosts = vec!["127.0.0.1".to_owned()];
        config.network.ping_count = 1;
        config.network.ping_method = crate::config::PingMethodSetting::Tcp;
        config.network.tcp_port = ping.port();
        config.network.speedtest_download_url = format!("http://{download}/down?bytes={{bytes}}");
        config.network.speedtest_during_playback = during_playback;
        let inputs = Inputs {
            script: Some(health.clone()),
            #[cfg(feature = "stream")]
            stream_source: None,
        };
        let composition = compose_with(&config, &inputs).unwrap();
        assert_eq!(names(&composition), ["network", "script"]);
        composition.collectors.into_iter().next().unwrap()
    }

    #[cfg(all(feature = "network", feature = "script"))]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_kiosk_postpones_the_speed_test_while_it_shows_the_stream() {
        use health_core::SampleValue;
        use health_script::Display;
        use std::sync::atomic::Ordering;

        let (download, requests, _server) = counting_server().await;
        let ping = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let health = health_script::ScriptHealth::new(std::time::Duration::from_secs(10));
        health.set_display(Display::Stream);
        let dir = tempfile::tempdir().unwrap();
        let network =
            kiosk_network(download, ping.local_addr().unwrap(), dir.path(), false, &health);
        let postponed = |snapshot: &health_core::Snapshot| {
            snapshot.get("network_speedtest_postponed", &[]).cloned()
        };

        let snapshot = network.collect().await.unwrap();
        assert_eq!(postponed(&snapshot), Some(SampleValue::Gauge(1.0)));
        let snapshot = network.collect().await.unwrap();
        assert_eq!(postponed(&snapshot), Some(SampleValue::Gauge(1.0)));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(requests.load(Ordering::SeqCst), 0, "no test while the stream is shown");

        // The holding image: the next run tests.
        health.set_display(Display::Holding);
        let snapshot = network.collect().await.unwrap();
        assert_eq!(postponed(&snapshot), Some(SampleValue::Gauge(0.0)));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while requests.load(Ordering::SeqCst) == 0 {
            assert!(std::time::Instant::now() < deadline, "the test never started");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }

        // HEALTH_NETWORK_SPEEDTEST_DURING_PLAYBACK=true: the stream on screen does not hold it.
        health.set_display(Display::Stream);
        let dir = tempfile::tempdir().unwrap();
        let network =
            kiosk_network(download, ping.local_addr().unwrap(), dir.path(), true, &health);
        let snapshot = network.collect().await.unwrap();
        assert_eq!(postponed(&snapshot), Some(SampleValue::Gauge(0.0)));
        while requests.load(Ordering::SeqCst) == 1 {
            assert!(std::time::Instant::now() < deadline, "the second test never started");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[cfg(not(feature = "network"))]
    #[test]
    fn a_collector_left_out_of_the_build_is_an_error_naming_its_feature() {
        let err = compose(&HealthConfig::default()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("network collector was not compiled in"), "{message}");
        assert!(message.contains("--features network"), "{message}");
        assert!(message.contains("HEALTH_NETWORK_ENABLED=false"), "{message}");
    }

    fn only_script(configure: impl FnOnce(&mut crate::config::ScriptConfig)) -> HealthConfig {
        let mut config = HealthConfig::default();
        config.hardware.enabled = false;
        config.network.enabled = false;
        config.stream.enabled = false;
        configure(&mut config.script);
        config
    }

    #[cfg(feature = "script")]
    #[test]
    fn a_script_to_watch_builds_the_sidecar_at_its_interval() {
        type Set = fn(&mut crate::config::ScriptConfig);
        let cases: [(&str, Set); 3] = [
            ("pidfile", |s| s.pidfile = Some("/run/kiosk.pid".into())),
            ("process name", |s| s.process_name = Some("vimeo_monitor.py".into())),
            ("status file", |s| s.status_file = Some("/run/kiosk/status.json".into())),
        ];
        for (what, set) in cases {
            let config = only_script(|s| {
                set(s);
                s.interval = std::time::Duration::from_secs(7);
            });
            let composition = compose(&config).unwrap();
            assert_eq!(names(&composition), ["script"], "{what}");
            let script = &composition.collectors[0];
            assert_eq!(script.schedule().interval.as_secs(), 7, "{what}");
            let descs = script.describe();
            let metrics: Vec<&str> = descs.iter().map(|d| &*d.name).collect();
            assert!(metrics.contains(&"script_process_up"), "{what}: the sidecar, {metrics:?}");
            assert!(metrics.contains(&"script_healthy"), "{what}: {metrics:?}");
        }
        assert!(compose(&only_script(|_| {})).unwrap().collectors.is_empty(), "nothing to watch");
    }

    #[cfg(feature = "script")]
    #[test]
    fn the_kiosk_record_wins_over_the_sidecar_settings_with_a_note() {
        let config = only_script(|s| s.pidfile = Some("/run/kiosk.pid".into()));
        let health = health_script::ScriptHealth::new(std::time::Duration::from_secs(10));
        let inputs = Inputs {
            script: Some(health),
            #[cfg(feature = "stream")]
            stream_source: None,
        };
        let composition = compose_with(&config, &inputs).unwrap();
        assert_eq!(names(&composition), ["script"]);
        let descs = composition.collectors[0].describe();
        let metrics: Vec<&str> = descs.iter().map(|d| &*d.name).collect();
        assert!(metrics.contains(&"api_request_duration_seconds"), "{metrics:?}");
        assert!(!metrics.contains(&"script_process_up"), "the handle, not the sidecar");
        assert_eq!(composition.notes.len(), 1, "{:?}", composition.notes);
        assert!(composition.notes[0].starts_with("HEALTH_SCRIPT_PIDFILE is ignored"));
        // Without sidecar settings the kiosk's record runs without a note.
        let composition = compose_with(&only_script(|_| {}), &inputs).unwrap();
        assert_eq!((names(&composition), composition.notes.len()), (vec!["script"], 0));
    }

    #[cfg(not(feature = "script"))]
    #[test]
    fn a_script_to_watch_without_the_feature_names_the_setting_and_the_feature() {
        let config = only_script(|s| s.status_file = Some("/run/kiosk/status.json".into()));
        let err = compose(&config).unwrap_err();
        assert_eq!(
            err.0,
            [NotCompiledIn {
                collector: "script",
                feature: "script",
                toggle: "HEALTH_SCRIPT_STATUS_FILE"
            }]
        );
        assert_eq!(
            err.to_string(),
            "HEALTH_SCRIPT_STATUS_FILE is set, but the script collector was not compiled in: \
             build health-server with `--features script`, or unset HEALTH_SCRIPT_STATUS_FILE"
        );
        assert!(compose(&only_script(|_| {})).is_ok(), "nothing asked, nothing missing");
    }

    #[test]
    fn a_switch_left_out_reads_true_and_false() {
        let err = NotCompiledIn {
            collector: "stream",
            feature: "stream",
            toggle: "HEALTH_STREAM_ENABLED",
        };
        assert_eq!(
            err.to_string(),
            "HEALTH_STREAM_ENABLED=true, but the stream collector was not compiled in: build \
             health-server with `--features stream`, or set HEALTH_STREAM_ENABLED=false"
        );
    }

    #[cfg(not(feature = "system"))]
    #[test]
    fn the_hardware_collector_left_out_is_an_error_naming_system() {
        let mut config = HealthConfig::default();
        config.network.enabled = false;
        config.stream.enabled = false;
        let message = compose(&config).unwrap_err().to_string();
        assert!(message.contains("--features system"), "{message}");
    }
}
