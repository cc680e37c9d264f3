//! Configuration + compiled-in features → the list of collectors to run.
//!
//! The one place that knows which collector lives behind which cargo feature. A collector that
//! the configuration enables but the build left out is a start-up error naming the feature, so a
//! minimal deployment never silently reports less than its operator asked for.

use health_core::Collector;

use crate::config::HealthConfig;

/// A collector the configuration asks for but this build does not contain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{toggle}=true, but the {collector} collector was not compiled in: build health-server with \
     `--features {feature}`, or set {toggle}=false"
)]
pub struct NotCompiledIn {
    /// The collector's name.
    pub collector: &'static str,
    /// The cargo feature that adds it.
    pub feature: &'static str,
    /// The variable that enables it.
    pub toggle: &'static str,
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
        match network(config) {
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
    if missing.is_empty() { Ok(composition) } else { Err(ComposeError(missing)) }
}

#[cfg(feature = "system")]
fn hardware(config: &HealthConfig) -> Result<Box<dyn Collector>, NotCompiledIn> {
    use crate::config::VcgencmdSetting;
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
            VcgencmdSetting::Auto => health_system::Vcgencmd::Auto,
            VcgencmdSetting::Off => health_system::Vcgencmd::Off,
            VcgencmdSetting::Path(path) => health_system::Vcgencmd::Path(path.clone()),
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
fn network(config: &HealthConfig) -> Result<Box<dyn Collector>, NotCompiledIn> {
    use crate::config::PingMethodSetting;
    use health_network::{NetworkOptions, PingMethod, PingOptions, SpeedtestOptions, SysRoots};
    let network = &config.network;
    let speedtest = network.speedtest_enabled.then(|| SpeedtestOptions {
        download_url: network.speedtest_download_url.clone(),
        upload_url: network.speedtest_upload_url.clone(),
        max_bytes: network.speedtest_max_bytes,
        timeout: network.speedtest_timeout,
        interval: network.speedtest_interval,
        state_dir: config.state_dir(),
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

#[cfg(not(feature = "network"))]
fn network(_: &HealthConfig) -> Result<Box<dyn Collector>, NotCompiledIn> {
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
    };
    match health_stream::collectors(options) {
        Ok((probe, playlist)) => Ok(vec![Box::new(probe), Box::new(playlist)]),
        Err(e) => {
            // TLS set-up failing is not something configuration can fix; run without them.
            tracing::error!("{e}; the stream collectors are off");
            Ok(Vec::new())
        }
    }
}

#[cfg(not(feature = "stream"))]
fn stream(_: &HealthConfig, _: &Inputs) -> Result<Vec<Box<dyn Collector>>, NotCompiledIn> {
    Err(NotCompiledIn { collector: "stream", feature: "stream", toggle: "HEALTH_STREAM_ENABLED" })
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
        assert!(composition.collectors.is_empty());
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
        let names: Vec<&str> = network.describe().iter().map(|d| d.name).collect();
        assert!(names.contains(&"network_up") && names.contains(&"network_interface_up"));
        assert!(!names.iter().any(|n| n.contains("speedtest")), "{names:?}");
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
