//! Snapshots into metrics-exporter-prometheus recorders, and the text a scrape returns.
//!
//! This is the only file that talks to metrics-exporter-prometheus. Every collector gets a section
//! with a recorder of its own, created here and owned by the [`Exposition`] (no global recorder,
//! so two expositions in one process never share a series). The exporter has no API to remove a
//! series, and a handle kept to a removed series writes into the void, so no handle is kept:
//! every publish registers its keys afresh, and when a snapshot lacks a series the previous one
//! had, the section's recorder is replaced by a new one holding exactly the new snapshot. The
//! series is gone from the very next scrape. A scrape only renders; it never waits on a collector.
//!
//! The text is in a stable order ([`order`]): families by name across all sections, series by
//! labels, so two scrapes of the same state are byte-identical and can be compared by diff.

mod order;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use self::order::Family;
use crate::describe::{MetricDesc, MetricKind};
use crate::snapshot::{SampleValue, Snapshot};

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Why a collector's descriptions cannot be exposed.
///
/// `#[non_exhaustive]`: new checks bring new variants in minor releases.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpositionError {
    /// The namespace is not a valid metric name prefix.
    #[error(
        "namespace `{0}` is not valid: use lowercase letters, digits and `_`, starting with a \
         letter and not ending in `_` (such as `vimeo_monitor`)"
    )]
    InvalidNamespace(String),
    /// Two collectors share a name.
    #[error("two collectors are named `{0}`: collector names must be unique")]
    DuplicateCollector(String),
    /// Two collectors describe the same metric family.
    #[error("metric `{metric}` is described by both `{first}` and `{second}`")]
    DuplicateMetric {
        /// Full metric name.
        metric: String,
        /// The collector that described it first.
        first: String,
        /// The collector that described it again.
        second: String,
    },
    /// A description breaks Prometheus conventions.
    #[error("collector `{collector}`: {problem}")]
    Convention {
        /// The collector.
        collector: String,
        /// What is wrong.
        problem: String,
    },
}

/// The name of the section holding the exporter's own metrics.
pub(crate) const SELF_SECTION: &str = "";

/// The metrics a process exposes: one section per collector plus the self-metrics.
///
/// Cheap to clone; every clone is the same exposition. The caller owns it: hand a clone to the
/// [`Scheduler`](crate::Scheduler) and another to whatever serves `/metrics`.
#[derive(Debug, Clone)]
pub struct Exposition {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    namespace: String,
    sections: RwLock<Vec<Arc<Section>>>,
    merged: Mutex<Merged>,
}

/// The whole text as of the sections' families it was merged from (compared by pointer: a
/// section's families are replaced, never changed, when it publishes).
#[derive(Debug, Default)]
struct Merged {
    sections: Vec<Arc<[Family]>>,
    text: Arc<str>,
}

/// Descriptions by short name, with the full (namespaced) name.
type Descriptions = HashMap<Cow<'static, str>, (String, MetricDesc)>;

/// One collector's series.
#[derive(Debug)]
struct Section {
    name: String,
    descs: Descriptions,
    state: Mutex<SectionState>,
}

#[derive(Debug)]
struct SectionState {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    keys: HashSet<Key>,
    warned: HashSet<Cow<'static, str>>,
    /// The section's families, sorted, as of the last publish; scrapes until the next copy them.
    rendered: Option<Arc<[Family]>>,
}

impl Default for Exposition {
    fn default() -> Self {
        Self::new("vimeo_monitor").expect("the default namespace is valid")
    }
}

impl Exposition {
    /// An empty exposition whose metric names start with `namespace_`.
    pub fn new(namespace: &str) -> Result<Self, ExpositionError> {
        let valid = namespace.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && namespace.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !namespace.ends_with('_');
        if !valid {
            return Err(ExpositionError::InvalidNamespace(namespace.to_owned()));
        }
        let exposition = Self {
            inner: Arc::new(Inner {
                namespace: namespace.to_owned(),
                sections: RwLock::default(),
                merged: Mutex::default(),
            }),
        };
        exposition.register(SELF_SECTION, crate::self_metrics::DESCRIPTIONS)?;
        Ok(exposition)
    }

    /// The namespace every metric name starts with.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The full name of a metric described as `name`.
    pub fn full_name(&self, name: &str) -> String {
        format!("{}_{name}", self.inner.namespace)
    }

    /// Adds a section for `collector`, checking its descriptions first.
    ///
    /// Registering a collector that already has a section with the same descriptions keeps the
    /// section (its histograms go on accumulating across a configuration reload).
    pub fn register(&self, collector: &str, descs: &[MetricDesc]) -> Result<(), ExpositionError> {
        self.check(collector, descs)?;
        let mut sections = self.inner.sections.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(pos) = sections.iter().position(|s| s.name == collector) {
            if sections[pos].same_descriptions(descs) {
                return Ok(());
            }
            sections.remove(pos);
        }
        sections.push(Arc::new(Section::new(collector, &self.inner.namespace, descs)));
        Ok(())
    }

    /// Checks `descs` as [`register`](Self::register) would, without registering.
    pub fn check(&self, collector: &str, descs: &[MetricDesc]) -> Result<(), ExpositionError> {
        for desc in descs {
            if let Some(problem) = desc.convention_problems().into_iter().next() {
                return Err(ExpositionError::Convention {
                    collector: collector.to_owned(),
                    problem,
                });
            }
        }
        let sections = self.inner.sections.read().unwrap_or_else(PoisonError::into_inner);
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for desc in descs {
            if seen.insert(&desc.name, collector).is_some() {
                return Err(self.duplicate(&desc.name, collector, collector));
            }
            if let Some(other) =
                sections.iter().find(|s| s.name != collector && s.descs.contains_key(&*desc.name))
            {
                return Err(self.duplicate(&desc.name, &other.name, collector));
            }
        }
        Ok(())
    }

    fn duplicate(&self, metric: &str, first: &str, second: &str) -> ExpositionError {
        let label = |n: &str| {
            if n == SELF_SECTION { "the exporter itself".to_owned() } else { n.to_owned() }
        };
        ExpositionError::DuplicateMetric {
            metric: self.full_name(metric),
            first: label(first),
            second: label(second),
        }
    }

    /// Removes a collector's section and every series in it.
    pub fn unregister(&self, collector: &str) {
        if collector == SELF_SECTION {
            return;
        }
        let mut sections = self.inner.sections.write().unwrap_or_else(PoisonError::into_inner);
        sections.retain(|s| s.name != collector);
    }

    /// Replaces the series of `collector` by those of `snapshot`.
    ///
    /// Samples that match no description (unknown name, other label names, other kind) are
    /// dropped with a warning logged once per metric; their count is returned.
    pub fn publish(&self, collector: &str, snapshot: Snapshot) -> usize {
        self.section(collector).map_or(snapshot.len(), |s| s.publish(|| snapshot))
    }

    /// Like [`publish`](Self::publish), building the snapshot while the section is locked, so
    /// that concurrent publishers of the same section cannot apply their snapshots out of order.
    pub(crate) fn publish_with(&self, collector: &str, build: impl FnOnce() -> Snapshot) -> usize {
        self.section(collector).map_or(0, |s| s.publish(build))
    }

    /// Removes every series of `collector` but keeps its section (for a failed run).
    pub fn clear(&self, collector: &str) {
        self.publish(collector, Snapshot::new());
    }

    fn section(&self, collector: &str) -> Option<Arc<Section>> {
        let sections = self.inner.sections.read().unwrap_or_else(PoisonError::into_inner);
        sections.iter().find(|s| s.name == collector).cloned()
    }

    /// The collectors with a section, in registration order.
    pub fn collectors(&self) -> Vec<String> {
        let sections = self.inner.sections.read().unwrap_or_else(PoisonError::into_inner);
        sections.iter().filter(|s| s.name != SELF_SECTION).map(|s| s.name.clone()).collect()
    }

    /// Every description exposed, with the collector it belongs to (`""` for the self-metrics).
    pub fn descriptions(&self) -> Vec<(String, MetricDesc)> {
        let sections = self.inner.sections.read().unwrap_or_else(PoisonError::into_inner);
        let mut all = Vec::new();
        for section in sections.iter() {
            let mut descs: Vec<_> = section.descs.values().map(|(_, d)| d.clone()).collect();
            descs.sort_by(|a, b| a.name.cmp(&b.name));
            all.extend(descs.into_iter().map(|d| (section.name.clone(), d)));
        }
        all
    }

    /// The Prometheus text exposition (format 0.0.4) of the last published snapshots.
    pub fn render(&self) -> String {
        self.text().to_string()
    }

    /// Appends the text exposition to `out`.
    pub fn render_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.text().as_bytes());
    }

    /// The text exposition, shared: what `/metrics` serves without copying it.
    ///
    /// Each section is formatted and sorted once per publish, and the sections merged by name
    /// once per change of any of them; every scrape in between gets the same text, so a scrape
    /// costs a lock per section and a reference count, however many clients ask.
    pub fn text(&self) -> Arc<str> {
        let sections: Vec<Arc<Section>> =
            self.inner.sections.read().unwrap_or_else(PoisonError::into_inner).clone();
        let rendered: Vec<Arc<[Family]>> = sections.iter().map(|s| s.rendered()).collect();
        let mut merged = self.inner.merged.lock().unwrap_or_else(PoisonError::into_inner);
        let unchanged = merged.sections.len() == rendered.len()
            && merged.sections.iter().zip(&rendered).all(|(was, is)| Arc::ptr_eq(was, is));
        if !unchanged {
            let text: Arc<str> = order::merge(&rendered).into();
            *merged = Merged { sections: rendered, text };
        }
        Arc::clone(&merged.text)
    }

    /// Every series [`render`](Self::render) shows, as values: what a scrape would store, for a
    /// program that sends the figures elsewhere (remote-write) without parsing the text again.
    /// Histograms come as their `_bucket{le}`, `_sum` and `_count` series, in the text's order.
    pub fn series(&self) -> Vec<ExposedSeries> {
        let sections: Vec<Arc<Section>> =
            self.inner.sections.read().unwrap_or_else(PoisonError::into_inner).clone();
        let rendered: Vec<Arc<[Family]>> = sections.iter().map(|s| s.rendered()).collect();
        order::series(&rendered)
    }
}

/// One series of the exposition as values ([`Exposition::series`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ExposedSeries {
    /// The full metric name, namespace and `_bucket`/`_sum`/`_count` suffix included.
    pub name: String,
    /// Its labels as the text writes them (unescaped), `le` included for a bucket.
    pub labels: Vec<(String, String)>,
    /// Its value (`NaN` and the infinities as such).
    pub value: f64,
}

impl Section {
    fn new(name: &str, namespace: &str, descs: &[MetricDesc]) -> Self {
        let descs = descs
            .iter()
            .map(|d| (d.name.clone(), (format!("{namespace}_{}", d.name), d.clone())))
            .collect();
        let state = Mutex::new(SectionState::fresh(&descs, HashSet::new()));
        Self { name: name.to_owned(), descs, state }
    }

    fn same_descriptions(&self, descs: &[MetricDesc]) -> bool {
        descs.len() == self.descs.len()
            && descs.iter().all(|d| self.descs.get(&*d.name).is_some_and(|(_, known)| known == d))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SectionState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The section's families, formatted and sorted now if something was published since the
    /// last time.
    fn rendered(&self) -> Arc<[Family]> {
        let mut state = self.lock();
        if let Some(families) = &state.rendered {
            return Arc::clone(families);
        }
        let text = state.handle.render();
        let families: Arc<[Family]> = order::families(&text).into();
        state.rendered = Some(Arc::clone(&families));
        families
    }

    fn publish(&self, build: impl FnOnce() -> Snapshot) -> usize {
        let mut state = self.lock();
        let snapshot = build();
        let mut dropped = 0;
        let mut accepted = Vec::with_capacity(snapshot.len());
        for sample in snapshot {
            match self.key_for(&sample.name, &sample.labels, &sample.value) {
                Ok(key) => accepted.push((key, sample.value)),
                Err(why) => {
                    dropped += 1;
                    if !state.warned.contains(&sample.name) {
                        tracing::warn!(
                            target: "health.core",
                            collector = %self.name,
                            metric = %sample.name,
                            "dropping samples: {why}",
                        );
                        state.warned.insert(sample.name);
                    }
                }
            }
        }
        let keys: HashSet<Key> = accepted.iter().map(|(k, _)| k.clone()).collect();
        if !state.keys.is_subset(&keys) {
            let warned = std::mem::take(&mut state.warned);
            *state = SectionState::fresh(&self.descs, warned);
        }
        for (key, value) in accepted {
            match value {
                SampleValue::Gauge(v) => state.recorder.register_gauge(&key, &METADATA).set(v),
                SampleValue::Counter(v) => {
                    state.recorder.register_counter(&key, &METADATA).absolute(v);
                }
                SampleValue::Histogram(observations) => {
                    let histogram = state.recorder.register_histogram(&key, &METADATA);
                    for v in observations {
                        histogram.record(v);
                    }
                }
            }
        }
        state.keys = keys;
        state.rendered = None;
        dropped
    }

    fn key_for(
        &self,
        name: &str,
        labels: &[(&'static str, String)],
        value: &SampleValue,
    ) -> Result<Key, String> {
        let Some((full, desc)) = self.descs.get(name) else {
            return Err("the collector does not describe this metric".into());
        };
        let kind = value.kind();
        if kind != desc.kind {
            return Err(format!(
                "described as a {}, sampled as a {}",
                desc.kind.as_str(),
                kind.as_str()
            ));
        }
        let names_match = labels.len() == desc.labels.len()
            && labels.iter().zip(desc.labels).all(|((given, _), wanted)| given == wanted);
        if !names_match {
            let given: Vec<_> = labels.iter().map(|(k, _)| *k).collect();
            return Err(format!("labels {given:?} differ from the described {:?}", desc.labels));
        }
        let labels: Vec<Label> = labels.iter().map(|(k, v)| Label::new(*k, v.clone())).collect();
        Ok(Key::from_parts(full.clone(), labels))
    }
}

impl SectionState {
    /// A new, empty recorder with this section's help texts and histogram buckets.
    fn fresh(descs: &Descriptions, warned: HashSet<Cow<'static, str>>) -> Self {
        let mut builder = PrometheusBuilder::new();
        for (full, desc) in descs.values() {
            if desc.kind == MetricKind::Histogram {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full(full.clone()), &desc.buckets)
                    .expect("descriptions are checked to have buckets");
            }
        }
        let recorder = builder.build_recorder();
        for (full, desc) in descs.values() {
            let name = KeyName::from(full.clone());
            let help = SharedString::from(desc.help.clone());
            match desc.kind {
                MetricKind::Gauge => recorder.describe_gauge(name, None, help),
                MetricKind::Counter => recorder.describe_counter(name, None, help),
                MetricKind::Histogram => recorder.describe_histogram(name, None, help),
            }
        }
        let handle = recorder.handle();
        Self { recorder, handle, keys: HashSet::new(), warned, rendered: None }
    }
}
