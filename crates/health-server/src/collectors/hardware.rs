//! The hardware collector (`health-system`, cargo feature `system`).

use super::{CollectorEntry, Compiled, Enable};

pub(super) const ENTRY: CollectorEntry = CollectorEntry {
    name: "hardware",
    feature: Some("system"),
    description: "CPU, memory, disks, temperatures, Raspberry Pi throttling, the display and the TV",
    enable: Enable::Switch { key: "HEALTH_HARDWARE_ENABLED", on: |config| config.hardware.enabled },
    compiled: COMPILED,
};

#[cfg(feature = "system")]
const COMPILED: Option<Compiled> = Some(compiled::COMPILED);
#[cfg(not(feature = "system"))]
const COMPILED: Option<Compiled> = None;

#[cfg(feature = "system")]
mod compiled {
    use health_core::{Collector as _, MetricDesc};
    use health_system::{Cec, HardwareCollector, HardwareOptions, Roots, Vcgencmd};

    use super::super::{Compiled, Run};
    use crate::compose::{Composition, Inputs};
    use crate::config::{HealthConfig, ToolSetting};

    pub(super) const COMPILED: Compiled = Compiled {
        runs: &[Run { name: health_system::NAME, interval: "HEALTH_HARDWARE_INTERVAL", metrics }],
        compose: Some(build),
    };

    /// What it describes with the default settings: its metrics do not depend on them.
    fn metrics() -> Vec<MetricDesc> {
        let interval = HealthConfig::default().hardware.interval;
        HardwareCollector::new(HardwareOptions::new(interval)).describe()
    }

    fn build(config: &HealthConfig, _: &Inputs, composition: &mut Composition) {
        let hardware = &config.hardware;
        let options = HardwareOptions {
            interval: hardware.interval,
            roots: Roots {
                sysfs: hardware.sysfs_root.clone(),
                procfs: hardware.procfs_root.clone(),
            },
            disk_mountpoints: (!hardware.disk_mountpoints.is_empty())
                .then(|| hardware.disk_mountpoints.clone()),
            vcgencmd: (&hardware.vcgencmd).into(),
            cec: (&hardware.cec).into(),
        };
        composition.collectors.push(Box::new(HardwareCollector::new(options)));
    }

    /// The configuration keeps its own `auto | off | path` so that it parses without this crate.
    impl From<&ToolSetting> for Vcgencmd {
        fn from(setting: &ToolSetting) -> Self {
            match setting {
                ToolSetting::Auto => Self::Auto,
                ToolSetting::Off => Self::Off,
                ToolSetting::Path(path) => Self::Path(path.clone()),
            }
        }
    }

    impl From<&ToolSetting> for Cec {
        fn from(setting: &ToolSetting) -> Self {
            match setting {
                ToolSetting::Auto => Self::Auto,
                ToolSetting::Off => Self::Off,
                ToolSetting::Path(path) => Self::Path(path.clone()),
            }
        }
    }
}
