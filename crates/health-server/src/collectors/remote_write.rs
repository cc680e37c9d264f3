//! The remote_write collector (`crate::remote_write`): always built in, added by the exporter
//! when `HEALTH_REMOTE_WRITE_URL` names a receiver.

use super::{CollectorEntry, Compiled, Enable, Run};
use crate::remote_write::collector;

pub(super) const ENTRY: CollectorEntry = CollectorEntry {
    name: collector::NAME,
    feature: None,
    description: "sends these metrics with Prometheus remote-write, for fleets beyond one Prometheus",
    enable: Enable::Presence {
        set: |config| config.remote_write.enabled().then_some("HEALTH_REMOTE_WRITE_URL"),
        hint: "set HEALTH_REMOTE_WRITE_URL",
    },
    compiled: Some(Compiled {
        runs: &[Run {
            name: collector::NAME,
            interval: "HEALTH_REMOTE_WRITE_INTERVAL, with HEALTH_REMOTE_WRITE_URL",
            metrics: collector::descriptions,
        }],
        // It sends what the exporter's exposition renders through the exporter's delivery.
        compose: None,
    }),
};
