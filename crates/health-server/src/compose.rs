//! Configuration + compiled-in features → the list of collectors to run.
//!
//! The one place that knows which collector lives behind which cargo feature. A collector that
//! the configuration enables but the build left out is a start-up error naming the feature, so a
//! minimal deployment never silently reports less than its operator asked for.

use health_core::Collector;

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
    if config.hardware.enabled {
        match hardware(config) {
            Ok(collector) => composition.collectors.push(collector),
            Err(e) => missing.push(e),
        }
    }
    if config.network.enabled {
        match network(config, inputs) {
            Ok(collector) => composition.collectors.push(collector),
            Err(e) => missing.push(e),
        }
    }
    if config.stream.enabled {
        match stream(config, inputs) {
            Ok(collectors) => composition.collectors.extend(collectors),
            Err(e) => missing.push(e),
        }
    }
    match script(config, inputs, &mut composition.notes) {
        Ok(Some(collector)) => composition.collectors.push(collector),
        Ok(None) => {}
        Err(e) => missing.push(e),
    }
    if missing.is_empty() { Ok(composition) } else { Err(ComposeError(missing)) }
}

#[cfg(feature = "system")]
fn hardware(config: &HealthConfig) -> Result<Box<dyn Collector>, NotCompiledIn> {
    use crate::config::ToolSetting;
    let hardware = &config.hardware;
    let options = health_system::HardwareOptions {
        interval: hardware.interval,
        roots: health_system::Roots {
            sysfs: hardware.sysfs_root.clone(),
            procfs: hardware.procfs_root.clone(),
        },
        disk_mountpoints: (!hardware.disk_mountpoints.is_empty())
            .then(|| hardware.disk_mountpoints.clone()),
        vcgencmd: match &hardware.vcgencmd {
            ToolSetting::Auto => health_system::Vcgencmd::Auto,
            ToolSetting::Off => health_system::Vcgencmd::Off,
            ToolSetting::Path(path) => health_system::Vcgencmd::Path(path.clone()),
        },
        cec: match &hardware.cec {
            ToolSetting::Auto => health_system::Cec::Auto,
            ToolSetting::Off => health_system::Cec::Off,
            ToolSetting::Path(path) => health_system::Cec::Path(path.clone()),
        },
    };
    Ok(Box::new(health_system::HardwareCollector::new(options)))
}

#[cfg(not(feature = "system"))]
fn hardware(_: &HealthConfig) -> Result<Box<dyn Collector>, NotCompiledIn> {
    Err(NotCompiledIn {
        collector: "hardware",
        feature: "system",
        toggle: "HEALTH_HARDWARE_ENABLED",
    })
}

#[cfg(feature = "network")]
fn network(config: &HealthConfig, inputs: &Inputs) -> Result<Box<dyn Collector>, NotCompiledIn> {
    use crate::config::PingMethodSetting;
    use health_network::{NetworkOptions, PingMethod, PingOptions, SpeedtestOptions, SysRoots};
    let network = &config.network;
    let on_screen = if network.speedtest_during_playback {
        health_network::OnScreen::never()
    } else {
        stream_on_screen(inputs)
    };
    let speedtest = network.speedtest_enabled.then(|| SpeedtestOptions {
        download_url: network.speedtest_download_url.clone(),
        upload_url: network.speedtest_upload_url.clone(),
        max_bytes: network.speedtest_max_bytes,
        timeout: network.speedtest_timeout,
        interval: network.speedtest_interval,
        state_dir: config.state_dir(),
        on_screen,
    });
    let options = NetworkOptions {
        interval: network.interval,
        ping: PingOptions {
            hosts: network.ping_hosts.clone(),
            count: network.ping_count,
            timeout: network.ping_timeout,
            method: match network.ping_method {
                PingMethodSetting::Icmp => PingMethod::Icmp,
                PingMethodSetting::Tcp => PingMethod::Tcp,
                PingMethodSetting::Auto => PingMethod::Auto,
            },
            tcp_port: network.tcp_port,
        },
        roots: SysRoots { sysfs: network.sysfs_root.clone(), procfs: network.procfs_root.clone() },
        speedtest,
    };
    Ok(Box::new(health_network::NetworkCollector::new(options)))
}

/// "Is the stream on screen?" from the kiosk's record: what it displays. Without a kiosk (a
/// standalone `health-server`) there is no player to ask, and the speed test keeps its interval.
#[cfg(all(feature = "network", feature = "script"))]
fn stream_on_screen(inputs: &Inputs) -> health_network::OnScreen {
    match &inputs.script {
        Some(health) => {
            let health = health.clone();
            health_network::OnScreen::new(move || {
                health.display() == health_script::Display::Stream
            })
        }
        None => health_network::OnScreen::never(),
    }
}

#[cfg(all(feature = "network", not(feature = "script")))]
fn stream_on_screen(_: &Inputs) -> health_network::OnScreen {
    health_network::OnScreen::never()
}

#[cfg(not(feature = "network"))]
fn network(_: &HealthConfig, _: &Inputs) -> Result<Box<dyn Collector>, NotCompiledIn> {
    Err(NotCompiledIn {
        collector: "network",
        feature: "network",
        toggle: "HEALTH_NETWORK_ENABLED",
    })
}

#[cfg(feature = "stream")]
fn stream(
    config: &HealthConfig,
    inputs: &Inputs,
) -> Result<Vec<Box<dyn Collector>>, NotCompiledIn> {
    use crate::config::VariantSetting;
    use health_stream::{StreamOptions, StreamSource, VariantChoice, probe::ProbeOptions};
    let stream = &config.stream;
    let source = inputs.stream_source.clone().unwrap_or_else(|| {
        StreamSource::fixed(stream.url.as_ref().map(|url| url.expose().to_owned()))
    });
    let options = StreamOptions {
        source,
        probe_interval: stream.interval,
        probe: ProbeOptions {
            ffprobe: stream.ffprobe_path.clone(),
            timeout: stream.ffprobe_timeout,
        },
        playlist_interval: stream.playlist_interval,
        stall_factor: stream.stall_factor,
        variant: match stream.variant {
            VariantSetting::Highest => VariantChoice::Highest,
            VariantSetting::Lowest => VariantChoice::Lowest,
            VariantSetting::AtMost(bits) => VariantChoice::AtMost(bits),
        },
        segment_download: stream.segment_download_enabled,
        player: player_view(inputs),
    };
    match health_stream::collectors(options) {
        Ok((probe, playlist)) => Ok(vec![Box::new(probe), Box::new(playlist)]),
        Err(e) => {
            // TLS set-up failing is not something configuration can fix; run without them.
            tracing::error!(target: "health.server", "{e}; the stream collectors are off");
            Ok(Vec::new())
        }
    }
}

/// Inside the kiosk, what its player says about the stream it plays, while it plays it.
#[cfg(all(feature = "stream", feature = "script"))]
fn player_view(inputs: &Inputs) -> Option<health_stream::PlayerView> {
    let script = inputs.script.clone()?;
    Some(health_stream::PlayerView::new(move || {
        if script.display() != health_script::Display::Stream {
            return None;
        }
        let figures = script.player_figures()?;
        let stream = figures.stream;
        Some(health_stream::StreamFacts {
            bitrate_bytes_per_second: stream.bitrate_bytes_per_second,
            width: figures.video_width,
            height: figures.video_height,
            frames_per_second: stream.frames_per_second,
            audio_channels: stream.audio_channels,
            audio_sample_rate_hertz: stream.audio_sample_rate_hertz,
            video_codec: stream.video_codec,
            audio_codec: stream.audio_codec,
        })
    }))
}

/// Without the kiosk's record there is no player to ask.
#[cfg(all(feature = "stream", not(feature = "script")))]
fn player_view(_: &Inputs) -> Option<health_stream::PlayerView> {
    None
}

#[cfg(not(feature = "stream"))]
fn stream(_: &HealthConfig, _: &Inputs) -> Result<Vec<Box<dyn Collector>>, NotCompiledIn> {
    Err(NotCompiledIn { collector: "stream", feature: "stream", toggle: "HEALTH_STREAM_ENABLED" })
}

/// The kiosk's record when it hands one over, else the sidecar when a script is to be watched,
/// else nothing.
#[cfg(feature = "script")]
fn script(
    config: &HealthConfig,
    inputs: &Inputs,
    notes: &mut Vec<String>,
) -> Result<Option<Box<dyn Collector>>, NotCompiledIn> {
    let script = &config.script;
    if let Some(health) = &inputs.script {
        if let Some(setting) = script.sidecar_setting() {
            notes.push(format!(
                "{setting} is ignored: the kiosk reports its own health, there is no other script \
                 to watch"
            ));
        }
        return Ok(Some(Box::new(health.collector(script.interval))));
    }
    if script.sidecar_setting().is_none() {
        return Ok(None);
    }
    let options = health_script::SidecarOptions {
        pidfile: script.pidfile.clone(),
        process_name: script.process_name.clone(),
        status_file: script.status_file.clone(),
        interval: script.interval,
        procfs: script.procfs_root.clone(),
    };
    Ok(Some(Box::new(health_script::SidecarCollector::new(options))))
}

#[cfg(not(feature = "script"))]
fn script(
    config: &HealthConfig,
    _: &Inputs,
    _: &mut Vec<String>,
) -> Result<Option<Box<dyn Collector>>, NotCompiledIn> {
    match config.script.sidecar_setting() {
        Some(toggle) => Err(NotCompiledIn { collector: "script", feature: "script", toggle }),
        None => Ok(None),
    }
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
