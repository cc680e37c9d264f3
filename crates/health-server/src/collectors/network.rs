//! The network collector (`health-network`, cargo feature `network`).

use super::{CollectorEntry, Compiled, Enable};

pub(super) const ENTRY: CollectorEntry = CollectorEntry {
    name: "network",
    feature: Some("network"),
    description: "reachability and round trip of the ping hosts, interfaces, Wi-Fi, the speed test",
    enable: Enable::Switch { key: "HEALTH_NETWORK_ENABLED", on: |config| config.network.enabled },
    compiled: COMPILED,
};

#[cfg(feature = "network")]
const COMPILED: Option<Compiled> = Some(compiled::COMPILED);
#[cfg(not(feature = "network"))]
const COMPILED: Option<Compiled> = None;

#[cfg(feature = "network")]
mod compiled {
    use health_core::MetricDesc;
    use health_network::{
        NetworkCollector, NetworkOptions, OnScreen, PingMethod, PingOptions, Roots,
        SpeedtestOptions,
    };

    use super::super::{Compiled, Run};
    use crate::compose::{Composition, Inputs};
    use crate::config::{HealthConfig, PingMethodSetting};

    pub(super) const COMPILED: Compiled = Compiled {
        runs: &[Run {
            name: health_network::NAME,
            interval: "HEALTH_NETWORK_INTERVAL (the speed test: HEALTH_NETWORK_SPEEDTEST_INTERVAL)",
            metrics,
        }],
        compose: Some(build),
    };

    /// Everything it may emit: with the speed test.
    fn metrics() -> Vec<MetricDesc> {
        health_network::descriptions(true)
    }

    fn build(config: &HealthConfig, inputs: &Inputs, composition: &mut Composition) {
        let network = &config.network;
        let on_screen = if network.speedtest_during_playback {
            OnScreen::never()
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
                method: network.ping_method.into(),
                tcp_port: network.tcp_port,
            },
            roots: Roots { sysfs: network.sysfs_root.clone(), procfs: network.procfs_root.clone() },
            speedtest,
        };
        composition.collectors.push(Box::new(NetworkCollector::new(options)));
    }

    /// "Is the stream on screen?" from the kiosk's record: what it displays. Without a kiosk (a
    /// standalone `health-server`) there is no player to ask, and the speed test keeps its
    /// interval.
    #[cfg(feature = "script")]
    fn stream_on_screen(inputs: &Inputs) -> OnScreen {
        match &inputs.script {
            Some(health) => {
                let health = health.clone();
                OnScreen::new(move || health.display() == health_script::Display::Stream)
            }
            None => OnScreen::never(),
        }
    }

    #[cfg(not(feature = "script"))]
    fn stream_on_screen(_: &Inputs) -> OnScreen {
        OnScreen::never()
    }

    /// The configuration keeps its own method so that it parses without this crate.
    impl From<PingMethodSetting> for PingMethod {
        fn from(setting: PingMethodSetting) -> Self {
            match setting {
                PingMethodSetting::Icmp => Self::Icmp,
                PingMethodSetting::Tcp => Self::Tcp,
                PingMethodSetting::Auto => Self::Auto,
            }
        }
    }
}
