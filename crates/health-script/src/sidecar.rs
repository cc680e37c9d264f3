//! The `script` collector beside a kiosk script it does not contain (the Python original, or any
//! other): `health-server` on its own watches the script's process and reads its status file.
//!
//! - Process (`HEALTH_SCRIPT_PIDFILE` or `HEALTH_SCRIPT_PROCESS_NAME`): whether it runs, its
//!   resident memory, its start time, and how often it was found replaced by another.
//! - Status file (`HEALTH_SCRIPT_STATUS_FILE`, format in `docs/script-status-file.md`): the
//!   same metrics the in-process handle publishes, but for the API duration histogram, whose
//!   single observations a file written now and then cannot carry.
//!
//! A status file that is missing, unreadable, invalid or stale is a problem of the run: none of
//! its figures are published (they would pose as current) and `script_healthy` is 0. It is stale
//! when older than twice the `check_interval` it declares, else three collector intervals.
//!
//! What it does not do: start, stop or signal the script. It only reads.

mod process;
mod status_file;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use health_core::{CollectError, Collector, MetricDesc, Schedule, Snapshot};

use crate::collector::NAME;
use crate::report::{self, Report};
use status_file::{Fetched, Status};

/// A status file without a `check_interval` is stale after this many collector intervals.
const STALE_INTERVALS: u32 = 3;

/// What to watch, and how often (`HEALTH_SCRIPT_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct SidecarOptions {
    /// A file holding the script's PID (`HEALTH_SCRIPT_PIDFILE`). With a process name too, the
    /// PID's process must also have that name, so a stale pidfile whose PID was handed to another
    /// program does not count.
    pub pidfile: Option<PathBuf>,
    /// The script's name (`HEALTH_SCRIPT_PROCESS_NAME`): a process matches when its `comm`, the
    /// base name of its `argv[0]`, or the base name of its first argument that is not an option
    /// equals it (`vimeo_monitor.py` matches `python3 /opt/kiosk/vimeo_monitor.py`). Of several,
    /// the oldest.
    pub process_name: Option<String>,
    /// The script's status file (`HEALTH_SCRIPT_STATUS_FILE`).
    pub status_file: Option<PathBuf>,
    /// Time between runs (`HEALTH_SCRIPT_INTERVAL`).
    pub interval: Duration,
    /// What stands for `/proc` (`HEALTH_SCRIPT_PROCFS_ROOT`): a fixture tree in tests.
    pub procfs: PathBuf,
}

impl Default for SidecarOptions {
    /// Nothing to watch, every 5 s, in `/proc`.
    fn default() -> Self {
        Self {
            pidfile: None,
            process_name: None,
            status_file: None,
            interval: Duration::from_secs(5),
            procfs: PathBuf::from("/proc"),
        }
    }
}

impl SidecarOptions {
    /// Whether a process is watched (a pidfile or a process name is set).
    pub fn watches_process(&self) -> bool {
        self.pidfile.is_some() || self.process_name.is_some()
    }

    /// Whether there is anything to watch at all: without, the collector is not worth running.
    pub fn watches_anything(&self) -> bool {
        self.watches_process() || self.status_file.is_some()
    }
}

/// Watches a kiosk script from outside: its process and its status file.
#[derive(Debug)]
pub struct SidecarCollector {
    options: SidecarOptions,
    state: Mutex<State>,
}

/// What outlives a run: the process last seen, and the counter totals.
#[derive(Debug, Default)]
struct State {
    restarts: process::Restarts,
    counters: status_file::Counters,
}

/// What one run read, off the async worker.
struct Observed {
    process: Option<Result<Option<process::Found>, String>>,
    status: Option<Fetched>,
}

impl SidecarCollector {
    /// A collector watching what `options` names.
    pub fn new(options: SidecarOptions) -> Self {
        Self { options, state: Mutex::default() }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A status file without a `check_interval` of its own is stale after this long.
    fn default_staleness(&self) -> Duration {
        self.options.interval * STALE_INTERVALS
    }
}

/// Reads the process table and the status file (blocking).
fn observe(options: &SidecarOptions) -> Observed {
    let lookup = process::Lookup {
        procfs: &options.procfs,
        pidfile: options.pidfile.as_deref(),
        name: options.process_name.as_deref(),
    };
    Observed {
        process: options.watches_process().then(|| lookup.find()),
        status: options.status_file.as_deref().map(status_file::read),
    }
}

/// Every metric the sidecar may emit.
pub(crate) fn descriptions() -> Vec<MetricDesc> {
    let shared = report::DESCRIPTIONS.iter().filter(|d| d.name != report::API_DURATION.name);
    shared.chain(process::DESCRIPTIONS).chain([&status_file::AGE]).cloned().collect()
}

#[health_core::async_trait]
impl Collector for SidecarCollector {
    fn name(&self) -> &str {
        NAME
    }

    fn describe(&self) -> Vec<MetricDesc> {
        descriptions()
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(self.options.interval)
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let options = self.options.clone();
        let observed = tokio::task::spawn_blocking(move || observe(&options))
            .await
            .map_err(|e| CollectError::from_source("reading /proc and the status file", &e))?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let mut snapshot = Snapshot::new();
        let mut state = self.lock();

        let mut found = None;
        if let Some(process) = observed.process {
            found = process.unwrap_or_else(|problem| {
                snapshot.problem(format!("script process: {problem}"));
                None
            });
            let restarts = state.restarts.see(found.as_ref());
            process::sample(found.as_ref(), restarts, &mut snapshot);
        }
        let process_down = self.options.watches_process() && found.is_none();
        let process_uptime =
            found.as_ref().and_then(|f| f.start_time).map(|at| (now - at).max(0.0));

        let mut report = Report { uptime_seconds: process_uptime, ..Report::default() };
        if let (Some(fetched), Some(path)) = (observed.status, &self.options.status_file) {
            let fresh = match fresh_status(fetched, now, self.default_staleness(), &mut snapshot) {
                Ok(status) => Some(status),
                Err(problem) => {
                    snapshot.problem(format!("status file {}: {problem}", path.display()));
                    None
                }
            };
            report.healthy = Some(false);
            if let Some(status) = fresh {
                let from_file = status.report(&mut state.counters, now);
                report = Report {
                    healthy: Some(status.shows_what_it_should() && !process_down),
                    uptime_seconds: from_file.uptime_seconds.or(report.uptime_seconds),
                    ..from_file
                };
            }
        }
        drop(state);
        report.sample(&mut snapshot);
        Ok(snapshot)
    }
}

/// The status, if the file holds a valid one written within its staleness bound, else what is
/// wrong; its age is sampled whenever it is valid.
fn fresh_status(
    fetched: Fetched,
    now: f64,
    default_staleness: Duration,
    snapshot: &mut Snapshot,
) -> Result<Status, String> {
    let (bytes, modified) = match fetched {
        Fetched::Missing => return Err("does not exist (is the kiosk script running?)".into()),
        Fetched::Failed(why) => return Err(why),
        Fetched::Loaded(bytes, modified) => (bytes, modified),
    };
    let status = status_file::parse(&bytes, modified)?;
    let age = status.age(now);
    snapshot.gauge(status_file::AGE.name, age);
    let bound = status.check_interval.map_or(default_staleness, |every| every * 2);
    if age > bound.as_secs_f64() {
        let why = match status.check_interval {
            Some(every) => format!("twice its check_interval of {} s", every.as_secs_f64()),
            None => {
                format!("{STALE_INTERVALS} × HEALTH_SCRIPT_INTERVAL, as it has no check_interval")
            }
        };
        return Err(format!(
            "stale: last updated {age:.0} s ago, more than {} s ({why}); its figures are left out",
            bound.as_secs_f64()
        ));
    }
    Ok(status)
}
