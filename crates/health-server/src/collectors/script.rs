//! The script collector: the kiosk's own health (`health-script`, cargo feature `script`).
//!
//! Inside the kiosk it publishes the record the kiosk hands over ([`Inputs::script`]); on its own,
//! `health-server` watches a kiosk script from outside when a setting says which.
//!
//! [`Inputs::script`]: crate::Inputs

use super::{CollectorEntry, Compiled, Enable};

pub(super) const ENTRY: CollectorEntry = CollectorEntry {
    name: "script",
    feature: Some("script"),
    description: "the kiosk itself: its main loop, the Vimeo API, the player and the screen",
    enable: Enable::Presence {
        set: |config| config.script.sidecar_setting(),
        hint: "run the kiosk with HEALTH_MONITORING_ENABLED=true, or set HEALTH_SCRIPT_PIDFILE, \
               HEALTH_SCRIPT_PROCESS_NAME or HEALTH_SCRIPT_STATUS_FILE",
    },
    compiled: COMPILED,
};

#[cfg(feature = "script")]
const COMPILED: Option<Compiled> = Some(compiled::COMPILED);
#[cfg(not(feature = "script"))]
const COMPILED: Option<Compiled> = None;

#[cfg(feature = "script")]
mod compiled {
    use health_script::{SidecarCollector, SidecarOptions};

    use super::super::{Compiled, Run};
    use crate::compose::{Composition, Inputs};
    use crate::config::HealthConfig;

    pub(super) const COMPILED: Compiled = Compiled {
        runs: &[Run {
            name: health_script::NAME,
            interval: "HEALTH_SCRIPT_INTERVAL",
            metrics: health_script::descriptions,
        }],
        compose: Some(build),
    };

    /// The kiosk's record when it hands one over, else the sidecar when a script is to be
    /// watched, else nothing.
    fn build(config: &HealthConfig, inputs: &Inputs, composition: &mut Composition) {
        let script = &config.script;
        if let Some(health) = &inputs.script {
            if let Some(setting) = script.sidecar_setting() {
                composition.notes.push(format!(
                    "{setting} is ignored: the kiosk reports its own health, there is no other \
                     script to watch"
                ));
            }
            composition.collectors.push(Box::new(health.collector(script.interval)));
            return;
        }
        if script.sidecar_setting().is_none() {
            return;
        }
        let options = SidecarOptions {
            pidfile: script.pidfile.clone(),
            process_name: script.process_name.clone(),
            status_file: script.status_file.clone(),
            interval: script.interval,
            procfs: script.procfs_root.clone(),
        };
        composition.collectors.push(Box::new(SidecarCollector::new(options)));
    }
}
