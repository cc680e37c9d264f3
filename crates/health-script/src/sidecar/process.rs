//! Finding the kiosk script's process in `/proc`, by its pidfile or by its name, and telling a
//! restarted one from the one seen before.
//!
//! A process is known by its PID and its start time (field 22 of `/proc/PID/stat`, in clock ticks
//! since boot): a PID the kernel handed out again after a restart still has another start time.
//! Only `/proc` is read (`stat`, `status`, `comm`, `cmdline`), through a root path that tests
//! point at a fixture tree. Blocking reads: the caller runs this on the blocking pool.

use std::io::{self, Read};
use std::path::Path;
use std::sync::OnceLock;

use health_core::{MetricDesc, Snapshot, Unit};

pub(crate) const UP: MetricDesc = MetricDesc::gauge(
    "script_process_up",
    Unit::None,
    "1 when the watched kiosk script's process runs (found by HEALTH_SCRIPT_PIDFILE or \
     HEALTH_SCRIPT_PROCESS_NAME); 0 when it is gone, a zombie, or its pidfile is missing.",
);
pub(crate) const RESIDENT: MetricDesc = MetricDesc::gauge(
    "script_process_resident_memory_bytes",
    Unit::Bytes,
    "Resident memory of the watched kiosk script's process (VmRSS in /proc/PID/status).",
);
pub(crate) const RESTARTS: MetricDesc = MetricDesc::counter(
    "script_process_restarts_total",
    Unit::None,
    "Times the watched process was found replaced by another (a new PID or start time) since \
     health-server started; the first sighting is not one.",
);
pub(crate) const START_TIME: MetricDesc = MetricDesc::gauge(
    "script_process_start_time_seconds",
    Unit::Seconds,
    "Unix time the watched process started (boot time plus its start in /proc/PID/stat).",
);

/// What the process part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[UP, RESIDENT, RESTARTS, START_TIME];

/// A pidfile holds a number and a newline; anything much longer is not a pidfile.
const MAX_PIDFILE_BYTES: u64 = 64;

/// How to find the process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup<'a> {
    /// What stands for `/proc`.
    pub(crate) procfs: &'a Path,
    /// Read the PID from here; with a name too, the PID's process must also match the name.
    pub(crate) pidfile: Option<&'a Path>,
    /// Match processes by this name.
    pub(crate) name: Option<&'a str>,
}

/// The process found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub(crate) pid: u32,
    /// Clock ticks after boot (field 22 of `/proc/PID/stat`).
    pub(crate) start_ticks: u64,
    /// Unix seconds, when the boot time is known.
    pub(crate) start_time: Option<f64>,
    /// VmRSS, when the kernel reports it.
    pub(crate) resident_bytes: Option<u64>,
}

impl Lookup<'_> {
    /// The running process, `None` when there is none, or why it cannot be told.
    pub(crate) fn find(&self) -> Result<Option<Found>, String> {
        let candidate = match (self.pidfile, self.name) {
            (Some(pidfile), _) => match read_pidfile(pidfile)? {
                Some(pid) => stat(self.procfs, pid)
                    .filter(|_| self.name.is_none_or(|name| matches(self.procfs, pid, name)))
                    .map(|start| (pid, start)),
                None => None,
            },
            (None, Some(name)) => self.oldest_named(name)?,
            (None, None) => None,
        };
        Ok(candidate.map(|(pid, start_ticks)| Found {
            pid,
            start_ticks,
            start_time: start_time(self.procfs, start_ticks),
            resident_bytes: resident_bytes(self.procfs, pid),
        }))
    }

    /// The oldest running process matching `name`, other than this one.
    fn oldest_named(&self, name: &str) -> Result<Option<(u32, u64)>, String> {
        let entries = std::fs::read_dir(self.procfs)
            .map_err(|e| format!("cannot list {}: {e}", self.procfs.display()))?;
        let me = std::process::id();
        let oldest = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| *pid != me && matches(self.procfs, *pid, name))
            // A process gone between the two reads is simply not found.
            .filter_map(|pid| Some((pid, stat(self.procfs, pid)?)))
            .min_by_key(|(pid, start)| (*start, *pid));
        Ok(oldest)
    }
}

/// The PID a pidfile holds; `None` when it does not exist (the script is not running).
fn read_pidfile(path: &Path) -> Result<Option<u32>, String> {
    let mut text = String::new();
    let read = std::fs::File::open(path)
        .and_then(|file| file.take(MAX_PIDFILE_BYTES).read_to_string(&mut text));
    match read {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the pidfile {}: {e}", path.display())),
    }
    match text.trim().parse::<u32>() {
        Ok(pid) if pid > 0 => Ok(Some(pid)),
        _ => {
            let shown: String = text.trim().chars().take(20).collect();
            Err(format!(
                "the pidfile {} does not hold a process id (got `{shown}`)",
                path.display()
            ))
        }
    }
}

/// The start of a running process (not a zombie), from `/proc/PID/stat`.
fn stat(procfs: &Path, pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(procfs.join(pid.to_string()).join("stat")).ok()?;
    let (state, start_ticks) = parse_stat(&text)?;
    // Z: exited, not yet reaped by its parent; X: dead. Neither runs the kiosk any more.
    (!matches!(state, 'Z' | 'X')).then_some(start_ticks)
}

/// The state and start time in `/proc/PID/stat`. The command name in parentheses may itself hold
/// spaces and parentheses, so fields are counted after the last `)`.
fn parse_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 3 is the state; field 22 the start time: 19 further on.
    let start_ticks = fields.nth(18)?.parse().ok()?;
    Some((state, start_ticks))
}

/// Whether process `pid` is `name`: its `comm` (the kernel truncates it to 15 bytes), the base
/// name of its `argv[0]`, or the base name of its first argument that is not an option (so that
/// `python3 -u /opt/kiosk/vimeo_monitor.py` is `vimeo_monitor.py`).
fn matches(procfs: &Path, pid: u32, name: &str) -> bool {
    let dir = procfs.join(pid.to_string());
    let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
    let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
    matches_name(comm.trim_end_matches('\n'), &cmdline, name)
}

fn matches_name(comm: &str, cmdline: &[u8], name: &str) -> bool {
    const COMM_LEN: usize = 15;
    let truncated = name.get(..COMM_LEN.min(name.len())).unwrap_or(name);
    if !comm.is_empty() && (comm == name || comm == truncated) {
        return true;
    }
    let mut args = cmdline.split(|b| *b == 0).map(String::from_utf8_lossy);
    let base = |arg: &str| arg.rsplit('/').next().unwrap_or_default() == name;
    match args.next() {
        Some(argv0) if base(&argv0) => true,
        Some(_) => args.find(|a| !a.is_empty() && !a.starts_with('-')).is_some_and(|a| base(&a)),
        None => false,
    }
}

/// VmRSS from `/proc/PID/status`, in bytes.
fn resident_bytes(procfs: &Path, pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(procfs.join(pid.to_string()).join("status")).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

/// Unix seconds of a start `start_ticks` after boot (`btime` in `/proc/stat`).
fn start_time(procfs: &Path, start_ticks: u64) -> Option<f64> {
    let text = std::fs::read_to_string(procfs.join("stat")).ok()?;
    let btime: u64 = text.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    Some(btime as f64 + start_ticks as f64 / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`: 100 on every architecture a Pi runs, asked once anyway.
fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as f64,
        _ => 100.0,
    })
}

/// The restarts seen so far: a process other than the last one seen, whenever it is found.
#[derive(Debug, Default)]
pub(crate) struct Restarts {
    last: Option<(u32, u64)>,
    total: u64,
}

impl Restarts {
    /// Records this run's finding; the total so far.
    pub(crate) fn see(&mut self, found: Option<&Found>) -> u64 {
        if let Some(found) = found {
            let identity = (found.pid, found.start_ticks);
            if self.last.is_some_and(|last| last != identity) {
                self.total += 1;
            }
            self.last = Some(identity);
        }
        self.total
    }
}

/// Adds the process figures of this run.
pub(crate) fn sample(found: Option<&Found>, restarts: u64, snapshot: &mut Snapshot) {
    snapshot.gauge(UP.name, f64::from(u8::from(found.is_some()))).counter(RESTARTS.name, restarts);
    let Some(found) = found else { return };
    if let Some(bytes) = found.resident_bytes {
        snapshot.gauge(RESIDENT.name, bytes as f64);
    }
    if let Some(at) = found.start_time {
        snapshot.gauge(START_TIME.name, at);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tempfile::TempDir;

    use super::*;

    /// A `/proc` tree with `btime` and the given processes: (pid, comm, argv, state, start ticks).
    fn procfs(processes: &[(u32, &str, &[&str], char, u64)]) -> TempDir {
        let root = TempDir::new().unwrap();
        std::fs::write(root.path().join("stat"), "cpu  1 2 3\nbtime 1700000000\n").unwrap();
        std::fs::create_dir(root.path().join("self")).unwrap();
        for (pid, comm, argv, state, start) in processes {
            let dir = root.path().join(pid.to_string());
            std::fs::create_dir(&dir).unwrap();
            // The command name may hold spaces and parentheses: fields count after the last `)`.
            let stat = format!(
                "{pid} ({comm}) {state} 1 {pid} {pid} 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 \
                 {start} 12345678 900 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 2 0 0\n"
            );
            std::fs::write(dir.join("stat"), stat).unwrap();
            std::fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
            let cmdline: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
            std::fs::write(dir.join("cmdline"), cmdline).unwrap();
            let status = format!("Name:\t{comm}\nState:\t{state}\nVmRSS:\t    {pid} kB\n");
            std::fs::write(dir.join("status"), status).unwrap();
        }
        root
    }

    fn lookup<'a>(
        root: &'a TempDir,
        pidfile: Option<&'a Path>,
        name: Option<&'a str>,
    ) -> Lookup<'a> {
        Lookup { procfs: root.path(), pidfile, name }
    }

    #[test]
    fn by_name_matches_comm_argv0_or_the_script_and_takes_the_oldest() {
        let root = procfs(&[
            (300, "python3", &["python3", "-u", "/opt/kiosk/vimeo_monitor.py"], 'S', 5000),
            (200, "python3", &["/usr/bin/python3", "/opt/kiosk/vimeo_monitor.py"], 'S', 4000),
            (150, "bash", &["bash", "/opt/kiosk/run.sh", "vimeo_monitor.py"], 'S', 100),
            (100, "vimeo_monitor.p", &["/opt/kiosk/vimeo_monitor.py"], 'Z', 10),
            (400, "sleep", &["kiosk.py", "30"], 'S', 7000),
            (500, "vimeo-monitor-k", &["/usr/local/bin/vimeo-monitor-kiosk"], 'R', 8000),
        ]);
        let found = lookup(&root, None, Some("vimeo_monitor.py")).find().unwrap().unwrap();
        assert_eq!(found.pid, 200, "the oldest running match; neither the zombie nor the launcher");
        assert_eq!(found.start_ticks, 4000);
        assert_eq!(found.start_time, Some(1_700_000_000.0 + 4000.0 / clock_ticks_per_second()));
        assert_eq!(found.resident_bytes, Some(200 * 1024));
        let by_argv0 = lookup(&root, None, Some("kiosk.py")).find().unwrap().unwrap();
        assert_eq!(by_argv0.pid, 400);
        let by_comm = lookup(&root, None, Some("sleep")).find().unwrap().unwrap();
        assert_eq!(by_comm.pid, 400);
        let long = lookup(&root, None, Some("vimeo-monitor-kiosk")).find().unwrap().unwrap();
        assert_eq!(long.pid, 500, "comm is the name cut to 15 bytes; argv[0] matches too");
        assert_eq!(lookup(&root, None, Some("vlc")).find(), Ok(None));
        assert_eq!(lookup(&root, None, Some("-u")).find(), Ok(None), "options are skipped");
    }

    #[test]
    fn by_pidfile_missing_is_down_garbage_is_a_problem_and_a_name_guards_a_reused_pid() {
        let root = procfs(&[(200, "python3", &["python3", "/opt/kiosk/kiosk.py"], 'S', 4000)]);
        let pidfile: PathBuf = root.path().join("kiosk.pid");
        assert_eq!(lookup(&root, Some(&pidfile), None).find(), Ok(None), "no pidfile: not running");
        std::fs::write(&pidfile, "200\n").unwrap();
        assert_eq!(lookup(&root, Some(&pidfile), None).find().unwrap().unwrap().pid, 200);
        let named = lookup(&root, Some(&pidfile), Some("kiosk.py")).find().unwrap();
        assert_eq!(named.map(|f| f.pid), Some(200));
        let other = lookup(&root, Some(&pidfile), Some("other.py")).find();
        assert_eq!(other, Ok(None), "the pidfile's PID now belongs to another program");
        std::fs::write(&pidfile, "999\n").unwrap();
        assert_eq!(lookup(&root, Some(&pidfile), None).find(), Ok(None), "a stale pidfile");
        std::fs::write(&pidfile, "kiosk\n").unwrap();
        let problem = lookup(&root, Some(&pidfile), None).find().unwrap_err();
        assert!(problem.contains("does not hold a process id (got `kiosk`)"), "{problem}");
    }

    #[test]
    fn restarts_count_new_identities_not_the_first_sighting_nor_absences() {
        let found = |pid: u32, start: u64| Found {
            pid,
            start_ticks: start,
            start_time: None,
            resident_bytes: None,
        };
        let mut restarts = Restarts::default();
        assert_eq!(restarts.see(None), 0);
        assert_eq!(restarts.see(Some(&found(10, 1))), 0, "the first sighting");
        assert_eq!(restarts.see(Some(&found(10, 1))), 0);
        assert_eq!(restarts.see(None), 0, "gone is not yet restarted");
        assert_eq!(restarts.see(Some(&found(11, 9))), 1);
        assert_eq!(restarts.see(Some(&found(11, 12))), 2, "the same PID, started again");
    }

    #[test]
    fn parse_stat_counts_fields_after_the_last_parenthesis() {
        let text = "42 (a) b (c)) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 19 20";
        assert_eq!(parse_stat(text), Some(('S', 777)));
        assert_eq!(parse_stat("42 (x) S 1 2"), None);
    }
}
