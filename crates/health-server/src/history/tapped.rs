//! A collector that hands a copy of what it reads to the [`History`] on its way to the
//! scheduler: the history sees every snapshot that is published, and no other.

use std::time::SystemTime;

use async_trait::async_trait;
use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot};

use super::History;

/// `inner`, with each successful run's snapshot also recorded in `history`.
pub(crate) struct Tapped {
    inner: Box<dyn Collector>,
    history: History,
}

impl Tapped {
    /// Wraps `inner`.
    pub(crate) fn new(inner: Box<dyn Collector>, history: History) -> Self {
        Self { inner, history }
    }
}

#[async_trait]
impl Collector for Tapped {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn describe(&self) -> Vec<MetricDesc> {
        self.inner.describe()
    }

    fn schedule(&self) -> Schedule {
        self.inner.schedule()
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let snapshot = self.inner.collect().await?;
        self.history.record(&snapshot, SystemTime::now());
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use health_core::Unit;

    use super::super::Figure;
    use super::*;

    struct Warm;

    #[async_trait]
    impl Collector for Warm {
        fn name(&self) -> &str {
            "hardware"
        }

        fn describe(&self) -> Vec<MetricDesc> {
            vec![MetricDesc::gauge("cpu_temperature_celsius", Unit::Celsius, "SoC.")]
        }

        fn schedule(&self) -> Schedule {
            Schedule::every(Duration::from_secs(7))
        }

        async fn collect(&self) -> Result<Snapshot, CollectError> {
            let mut snapshot = Snapshot::new();
            snapshot.gauge("cpu_temperature_celsius", 48.0);
            Ok(snapshot)
        }
    }

    #[tokio::test]
    async fn a_tapped_collector_is_the_same_collector_and_feeds_the_history() {
        let history = History::new();
        let tapped = Tapped::new(Box::new(Warm), history.clone());
        assert_eq!(tapped.name(), "hardware");
        assert_eq!(tapped.schedule(), Schedule::every(Duration::from_secs(7)));
        assert_eq!(tapped.describe().len(), 1);
        let snapshot = tapped.collect().await.unwrap();
        assert_eq!(snapshot.len(), 1);
        let now = super::super::unix(SystemTime::now());
        let points = history.points(Figure::Temperature, now);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].1, 48.0);
    }
}
