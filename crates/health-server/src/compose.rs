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

/// Builds the collectors `config` enables from those compiled in.
pub fn compose(config: &HealthConfig) -> Result<Composition, ComposeError> {
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
        match not_yet_implemented("stream", cfg!(feature = "stream"), "HEALTH_STREAM_ENABLED") {
            Ok(note) => composition.notes.push(note),
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

/// The stream crate holds no collector yet: say so rather than pretend.
/// Their features are named after the collector.
fn not_yet_implemented(
    collector: &'static str,
    compiled: bool,
    toggle: &'static str,
) -> Result<String, NotCompiledIn> {
    if compiled {
        Ok(format!(
            "{toggle}=true, but this version has no {collector} collector yet: nothing is collected \
             for it (set {toggle}=false to silence this)"
        ))
    } else {
        Err(NotCompiledIn { collector, feature: collector, toggle })
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

    #[cfg(all(feature = "network", feature = "stream"))]
    #[test]
    fn parts_without_a_collector_yet_are_noted_not_faked() {
        let composition = compose(&HealthConfig::default()).unwrap();
        assert_eq!(names(&composition), ["hardware", "network"]);
        assert_eq!(composition.notes.len(), 1, "{:?}", composition.notes);
        assert!(composition.notes[0].contains("HEALTH_STREAM_ENABLED=true"));
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
