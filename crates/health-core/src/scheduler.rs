//! Runs every collector on its own interval, in its own task, behind its own fences.
//!
//! Each run is a task of its own, so an error, a panic or a run past its timeout is contained:
//! it is recorded, the collector's stale series are dropped, and the collector is tried again on
//! its next tick while the others carry on. Nothing here serves scrapes: the exposition renders
//! whatever was last published.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::{JoinError, JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::collector::Collector;
use crate::exposition::{Exposition, ExpositionError, SELF_SECTION};
use crate::self_metrics::{self, ConnectionCounters};
use crate::snapshot::{Sample, Snapshot};
use crate::status::{RunRecord, RunResult, StatusBoard};

/// The largest start-up jitter the default allows, whatever the interval.
const MAX_DEFAULT_JITTER: Duration = Duration::from_secs(5);

/// Options for a [`Scheduler`].
#[derive(Debug, Clone)]
pub struct SchedulerBuilder {
    exposition: Exposition,
    jitter: Option<Duration>,
    version: String,
    connections: ConnectionCounters,
}

impl SchedulerBuilder {
    /// Delays each collector's first run by a random time up to `max` (default: a tenth of its
    /// interval, at most 5 s), so a fleet that boots together does not probe in lockstep.
    pub fn startup_jitter(mut self, max: Duration) -> Self {
        self.jitter = Some(max);
        self
    }

    /// The `version` label of `build_info` (default: this crate's version).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The HTTP server's connection counts to publish with the self-metrics (default: zeros).
    pub fn connections(mut self, counters: ConnectionCounters) -> Self {
        self.connections = counters;
        self
    }

    /// Registers the collectors and starts one task for each. Needs a Tokio runtime.
    pub fn start(self, collectors: Vec<Box<dyn Collector>>) -> Result<Scheduler, ExpositionError> {
        let context = Arc::new(Context {
            exposition: self.exposition,
            board: StatusBoard::default(),
            version: self.version,
            connections: self.connections,
        });
        let mut scheduler = Scheduler {
            context,
            jitter: self.jitter,
            root: CancellationToken::new(),
            running: Vec::new(),
        };
        scheduler.install(collectors)?;
        Ok(scheduler)
    }

    /// Runs every collector once, concurrently, publishes the results and returns their records.
    ///
    /// For `--once` and tests: no task outlives the call.
    pub async fn collect_once(
        self,
        collectors: Vec<Box<dyn Collector>>,
    ) -> Result<StatusBoard, ExpositionError> {
        let context = Arc::new(Context {
            exposition: self.exposition,
            board: StatusBoard::default(),
            version: self.version,
            connections: self.connections,
        });
        let collectors = context.register(collectors)?;
        let never = CancellationToken::new();
        let mut runs = JoinSet::new();
        for collector in collectors {
            let context = Arc::clone(&context);
            let never = never.clone();
            runs.spawn(async move {
                let timeout = collector.schedule().timeout;
                if let Some(outcome) = run_once(&collector, timeout, &never).await {
                    context.apply(collector.name(), outcome);
                }
            });
        }
        while runs.join_next().await.is_some() {}
        Ok(context.board.clone())
    }
}

/// Drives the collectors. Dropping it without [`shutdown`](Self::shutdown) cancels every task.
#[derive(Debug)]
pub struct Scheduler {
    context: Arc<Context>,
    jitter: Option<Duration>,
    root: CancellationToken,
    running: Vec<JoinHandle<()>>,
}

#[derive(Debug)]
struct Context {
    exposition: Exposition,
    board: StatusBoard,
    version: String,
    connections: ConnectionCounters,
}

/// How a run ended, before it is recorded.
struct Outcome {
    started: SystemTime,
    duration: Duration,
    result: Result<Snapshot, (RunResult, String)>,
}

impl Scheduler {
    /// Options, starting from defaults, publishing into `exposition`.
    pub fn builder(exposition: Exposition) -> SchedulerBuilder {
        SchedulerBuilder {
            exposition,
            jitter: None,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            connections: ConnectionCounters::default(),
        }
    }

    /// Starts `collectors` with the default options.
    pub fn start(
        exposition: Exposition,
        collectors: Vec<Box<dyn Collector>>,
    ) -> Result<Self, ExpositionError> {
        Self::builder(exposition).start(collectors)
    }

    /// The records of every collector, shared with the running tasks.
    pub fn status(&self) -> StatusBoard {
        self.context.board.clone()
    }

    /// The exposition this scheduler publishes into.
    pub fn exposition(&self) -> &Exposition {
        &self.context.exposition
    }

    /// Replaces the running collectors by `collectors` (a configuration reload).
    ///
    /// The new set is checked first; if it is invalid, the error is returned and the old set
    /// keeps running untouched. Otherwise the old tasks are stopped (waiting for a run in progress
    /// at most `deadline`) and the new ones started. Run counts of collectors that keep their
    /// name carry over.
    pub async fn reconfigure(
        &mut self,
        collectors: Vec<Box<dyn Collector>>,
        deadline: Duration,
    ) -> Result<(), ExpositionError> {
        let trial = Exposition::new(self.context.exposition.namespace())?;
        Context::check_names(&collectors)?;
        for collector in &collectors {
            trial.register(collector.name(), &collector.describe())?;
        }
        self.stop_tasks(deadline).await;
        self.install(collectors)
    }

    /// Stops every collector: cancels them, then waits for runs in progress at most `deadline`
    /// before aborting what is left.
    pub async fn shutdown(mut self, deadline: Duration) {
        self.stop_tasks(deadline).await;
    }

    async fn stop_tasks(&mut self, deadline: Duration) {
        self.root.cancel();
        let until = tokio::time::Instant::now() + deadline;
        for mut task in self.running.drain(..) {
            if tokio::time::timeout_at(until, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        self.root = CancellationToken::new();
    }

    fn install(&mut self, collectors: Vec<Box<dyn Collector>>) -> Result<(), ExpositionError> {
        let collectors = self.context.register(collectors)?;
        for collector in collectors {
            let delay = self.first_delay(collector.schedule().interval);
            let context = Arc::clone(&self.context);
            let cancel = self.root.child_token();
            self.running.push(tokio::spawn(drive(collector, context, cancel, delay)));
        }
        Ok(())
    }

    fn first_delay(&self, interval: Duration) -> Duration {
        let max = self.jitter.unwrap_or_else(|| (interval / 10).min(MAX_DEFAULT_JITTER));
        max.mul_f64(fastrand::f64())
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.root.cancel();
        for task in &self.running {
            task.abort();
        }
    }
}

impl Context {
    fn check_names(collectors: &[Box<dyn Collector>]) -> Result<(), ExpositionError> {
        for (i, collector) in collectors.iter().enumerate() {
            let name = collector.name();
            if name == SELF_SECTION || collectors[..i].iter().any(|c| c.name() == name) {
                return Err(ExpositionError::DuplicateCollector(name.to_owned()));
            }
        }
        Ok(())
    }

    /// Gives each collector a section and a record, drops those of collectors no longer present.
    fn register(
        &self,
        collectors: Vec<Box<dyn Collector>>,
    ) -> Result<Vec<Arc<dyn Collector>>, ExpositionError> {
        Self::check_names(&collectors)?;
        let names: Vec<String> = collectors.iter().map(|c| c.name().to_owned()).collect();
        for existing in self.exposition.collectors() {
            if !names.contains(&existing) {
                self.exposition.unregister(&existing);
            }
        }
        for collector in &collectors {
            self.exposition.register(collector.name(), &collector.describe())?;
        }
        self.board.retain(&names);
        for collector in &collectors {
            let schedule = collector.schedule();
            self.board.register(collector.name(), schedule.interval, schedule.timeout);
        }
        self.publish_self(None);
        Ok(collectors.into_iter().map(Arc::from).collect())
    }

    /// Records a finished run and publishes what it produced.
    fn apply(&self, name: &str, outcome: Outcome) {
        let previous = self.board.get(name);
        let (result, error, samples, notes, published) = match outcome.result {
            Ok(snapshot) => {
                let problems = snapshot.problems().join("; ");
                let notes = snapshot.notes().to_vec();
                let published: Arc<[Sample]> = snapshot.samples().into();
                let dropped = self.exposition.publish(name, snapshot);
                let samples = published.len() - dropped;
                if problems.is_empty() {
                    (RunResult::Success, None, samples, notes, published)
                } else {
                    (RunResult::Error, Some(problems), samples, notes, published)
                }
            }
            Err((result, message)) => {
                // Stale figures must not pose as current: a failed run empties the section.
                self.exposition.clear(name);
                (result, Some(message), 0, Vec::new(), Arc::from([]))
            }
        };
        log_transition(
            name,
            previous.as_ref().and_then(|p| p.last_result),
            result,
            error.as_deref(),
        );
        let record = RunRecord {
            started: outcome.started,
            duration: outcome.duration,
            result,
            error,
            samples,
            published,
            notes,
        };
        self.board.record(name, record);
        self.publish_self(Some((name, outcome.duration.as_secs_f64())));
    }

    fn publish_self(&self, just_ran: Option<(&str, f64)>) {
        self.exposition.publish_with(SELF_SECTION, || {
            self_metrics::snapshot(
                &self.board.snapshot(),
                &self.version,
                &self.connections,
                just_ran,
            )
        });
    }
}

/// One log line per change of state, not one per run.
fn log_transition(name: &str, before: Option<RunResult>, now: RunResult, error: Option<&str>) {
    match (before, now) {
        (Some(b), RunResult::Success) if b != RunResult::Success => {
            tracing::info!(target: "health.core", collector = name, "collector recovered");
        }
        (_, RunResult::Success) => {}
        (b, _) if b != Some(now) => {
            tracing::warn!(
                target: "health.core",
                collector = name,
                result = now.as_str(),
                "collector failed: {}",
                error.unwrap_or("")
            );
        }
        _ => {
            tracing::debug!(
                target: "health.core",
                collector = name,
                result = now.as_str(),
                "collector still failing"
            );
        }
    }
}

/// A collector's task: wait out the jitter, then run on every tick until cancelled.
async fn drive(
    collector: Arc<dyn Collector>,
    context: Arc<Context>,
    cancel: CancellationToken,
    first_delay: Duration,
) {
    let schedule = collector.schedule();
    tokio::select! {
        () = cancel.cancelled() => return,
        () = tokio::time::sleep(first_delay) => {}
    }
    let mut ticker = tokio::time::interval(schedule.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let Some(outcome) = run_once(&collector, schedule.timeout, &cancel).await else { return };
        context.apply(collector.name(), outcome);
    }
}

/// Runs `collect` once in a task of its own; `None` if cancelled, after the run is gone.
async fn run_once(
    collector: &Arc<dyn Collector>,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Option<Outcome> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let runner = Arc::clone(collector);
    let mut task = tokio::spawn(async move { runner.collect().await });
    let result = tokio::select! {
        () = cancel.cancelled() => {
            task.abort();
            let _ = task.await;
            return None;
        }
        joined = tokio::time::timeout(timeout, &mut task) => match joined {
            Ok(Ok(Ok(snapshot))) => Ok(snapshot),
            Ok(Ok(Err(error))) => Err((RunResult::Error, error.to_string())),
            Ok(Err(join)) => Err((RunResult::Panic, panic_message(join))),
            Err(_) => {
                task.abort();
                let _ = task.await;
                Err((RunResult::Timeout, format!("did not finish within {:.3} s", timeout.as_secs_f64())))
            }
        }
    };
    Some(Outcome { started, duration: clock.elapsed(), result })
}

fn panic_message(join: JoinError) -> String {
    if !join.is_panic() {
        return "run was cancelled".to_owned();
    }
    let payload = join.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string payload".to_owned());
    format!("panicked: {text}")
}
