//! Helpers for collector authors' tests (feature `test-util`).
//!
//! ```
//! # use health_core::{*, testing::*};
//! # struct Empty;
//! # #[async_trait] impl Collector for Empty {
//! #   fn name(&self) -> &str { "empty" }
//! #   fn describe(&self) -> Vec<MetricDesc> { vec![] }
//! #   fn schedule(&self) -> Schedule { Schedule::every(std::time::Duration::from_secs(1)) }
//! #   async fn collect(&self) -> Result<Snapshot, CollectError> { Ok(Snapshot::new()) }
//! # }
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let snapshot = collect_checked(&Empty).await;
//! assert!(snapshot.is_empty());
//! # }
//! ```

use crate::{Collector, Exposition, MetricDesc, SampleValue, Snapshot};

pub mod bench;
mod order;

pub use order::order_problems;

/// Everything wrong with `snapshot` as an output of `collector`: samples of undescribed metrics,
/// wrong label names, wrong kinds, and descriptions breaking Prometheus conventions.
pub fn conformance_problems(collector: &dyn Collector, snapshot: &Snapshot) -> Vec<String> {
    let descs = collector.describe();
    let mut problems = description_problems(&descs, snapshot);
    if let Err(e) = Exposition::default().check(collector.name(), &descs) {
        problems.push(e.to_string());
    }
    problems
}

/// [`conformance_problems`] for one part of a collector: its descriptions and what it sampled.
pub fn description_problems(descs: &[MetricDesc], snapshot: &Snapshot) -> Vec<String> {
    let mut problems: Vec<String> = descs.iter().flat_map(|d| d.convention_problems()).collect();
    for sample in snapshot.samples() {
        let Some(desc) = descs.iter().find(|d| d.name == sample.name) else {
            problems.push(format!("`{}` is emitted but not described", sample.name));
            continue;
        };
        let names: Vec<&str> = sample.labels.iter().map(|(k, _)| *k).collect();
        if names != desc.labels {
            problems.push(format!(
                "`{}` has labels {names:?}, described {:?}",
                sample.name, desc.labels
            ));
        }
        let kind = sample.value.kind();
        if kind != desc.kind {
            problems.push(format!(
                "`{}` is a {} sampled as a {}",
                sample.name,
                desc.kind.as_str(),
                kind.as_str()
            ));
        }
    }
    problems
}

/// Panics with every [`description_problems`] of this part's samples.
pub fn assert_described(descs: &[MetricDesc], snapshot: &Snapshot) {
    let problems = description_problems(descs, snapshot);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The value of a gauge sample; panics naming it when absent or of another kind.
pub fn gauge(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> f64 {
    match snapshot.get(name, labels) {
        Some(SampleValue::Gauge(v)) => *v,
        other => panic!("{name} {labels:?}: {other:?}"),
    }
}

/// Runs `collector` once and panics with every conformance problem, or if the run fails.
pub async fn collect_checked(collector: &dyn Collector) -> Snapshot {
    let snapshot = match collector.collect().await {
        Ok(snapshot) => snapshot,
        Err(e) => panic!("collector `{}` failed: {e}", collector.name()),
    };
    let problems = conformance_problems(collector, &snapshot);
    assert!(problems.is_empty(), "collector `{}`:\n{}", collector.name(), problems.join("\n"));
    snapshot
}
