//! The push collector (`crate::push`): always built in, added by the exporter in push mode.

use super::{CollectorEntry, Compiled, Enable, Run};

pub(super) const ENTRY: CollectorEntry = CollectorEntry {
    name: crate::push::NAME,
    feature: None,
    description: "pushes these metrics to a Pushgateway, for kiosks Prometheus cannot reach",
    enable: Enable::Presence {
        set: |config| config.push.gateway_url.is_some().then_some("HEALTH_PUSHGATEWAY_URL"),
        hint: "set HEALTH_PUSHGATEWAY_URL",
    },
    compiled: Some(Compiled {
        runs: &[Run {
            name: crate::push::NAME,
            interval: "HEALTH_PUSH_INTERVAL, in push mode (HEALTH_PUSHGATEWAY_URL)",
            metrics: crate::push::descriptions,
        }],
        // It pushes what the exporter's exposition renders: the exporter builds it.
        compose: None,
    }),
};
