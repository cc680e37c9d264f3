//! What `/proc` says about the processes the guest starts: peak and current resident memory,
//! threads, CPU time, and who is whose child. Memory and thread counts are real under emulation;
//! CPU time is emulated time, which is why the host compares it with a native run.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

/// Memory and threads of one process (`/proc/PID/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    /// `VmHWM`: the most resident memory it ever had, in bytes.
    pub(crate) rss_peak: u64,
    /// `VmRSS`, in bytes.
    pub(crate) rss: u64,
    /// `Threads`.
    pub(crate) threads: u64,
}

/// Reads `/proc/PID/status`.
pub(crate) fn status(pid: u32) -> anyhow::Result<Status> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_status(&text).with_context(|| format!("{path} lacks VmHWM, VmRSS or Threads"))
}

fn parse_status(text: &str) -> Option<Status> {
    let field = |key: &str| {
        let line = text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?;
        let mut words = line.split_whitespace();
        let number: u64 = words.next()?.parse().ok()?;
        Some(if words.next() == Some("kB") { number * 1024 } else { number })
    };
    Some(Status { rss_peak: field("VmHWM")?, rss: field("VmRSS")?, threads: field("Threads")? })
}

/// CPU time of one process (`/proc/PID/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cpu {
    /// User + system time of the process itself.
    pub(crate) own: Duration,
    /// User + system time of its children that it has waited for (ffprobe, vcgencmd…).
    pub(crate) children: Duration,
}

/// Reads `/proc/PID/stat`.
pub(crate) fn cpu(pid: u32) -> anyhow::Result<Cpu> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let ticks = clock_ticks()?;
    let fields = stat_fields(&text).with_context(|| format!("cannot parse {path}"))?;
    let tick = |index: usize| -> anyhow::Result<u64> {
        fields.get(index).and_then(|f| f.parse().ok()).with_context(|| format!("field {index}"))
    };
    let time = |t: u64| Duration::from_secs_f64(t as f64 / ticks as f64);
    // After the command name: state (3), ppid (4) … utime (14), stime (15), cutime (16),
    // cstime (17), counted from 1 as proc(5) does; index 0 here is field 3.
    Ok(Cpu { own: time(tick(11)? + tick(12)?), children: time(tick(13)? + tick(14)?) })
}

/// The fields after `(comm)`: the name may hold spaces and parentheses, so split after the last
/// `)`.
fn stat_fields(text: &str) -> Option<Vec<&str>> {
    let (_, rest) = text.rsplit_once(')')?;
    Some(rest.split_whitespace().collect())
}

/// The kernel's clock ticks per second (`CLK_TCK`, 100 on Linux).
fn clock_ticks() -> anyhow::Result<u64> {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .context("sysconf(CLK_TCK)")?
        .context("CLK_TCK has no value")?;
    u64::try_from(ticks).context("CLK_TCK is negative")
}

/// One process in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proc {
    pub(crate) pid: u32,
    pub(crate) ppid: u32,
    /// `comm`: the executable's name, cut to 15 bytes.
    pub(crate) comm: String,
    /// `R`, `S`, `Z`…
    pub(crate) state: char,
}

impl Proc {
    /// Alive, not a zombie waiting to be reaped.
    pub(crate) fn alive(&self) -> bool {
        self.state != 'Z' && self.state != 'X'
    }
}

/// One process, if it exists (zombies included).
pub(crate) fn process(pid: u32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_proc(pid, &text)
}

fn parse_proc(pid: u32, text: &str) -> Option<Proc> {
    let comm = text.split_once('(')?.1.rsplit_once(')')?.0.to_owned();
    let fields = stat_fields(text)?;
    Some(Proc {
        pid,
        ppid: fields.get(1)?.parse().ok()?,
        comm,
        state: fields.first()?.chars().next()?,
    })
}

/// Every process there is.
pub(crate) fn processes() -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir(Path::new("/proc")) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter_map(process)
        .collect()
}

/// Every process below `pid`, zombies included.
pub(crate) fn descendants(pid: u32) -> Vec<Proc> {
    let all = processes();
    let mut found: Vec<Proc> = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for p in all.iter().filter(|p| p.ppid == parent) {
            parents.push(p.pid);
            found.push(p.clone());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_gives_bytes_and_threads() {
        let text = "Name:\tmpv\nVmPeak:\t 9000 kB\nVmHWM:\t    4096 kB\nVmRSS:\t    2048 kB\nThreads:\t12\n";
        assert_eq!(
            parse_status(text),
            Some(Status { rss_peak: 4_194_304, rss: 2_097_152, threads: 12 })
        );
        assert_eq!(
            parse_status("Name:\tkthreadd\nThreads:\t1\n"),
            None,
            "kernel threads have no VmHWM"
        );
    }

    #[test]
    fn a_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let text = "42 (a (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 150 25 3 4 20 0 1 0";
        let proc = parse_proc(42, text).unwrap();
        assert_eq!(proc, Proc { pid: 42, ppid: 7, comm: "a (b) c".into(), state: 'S' });
        let fields = stat_fields(text).unwrap();
        assert_eq!((fields[11], fields[12], fields[13], fields[14]), ("150", "25", "3", "4"));
    }

    #[test]
    fn this_process_is_seen_alive_with_its_own_figures() {
        let me = std::process::id();
        let proc = process(me).unwrap();
        assert!(proc.alive());
        let status = status(me).unwrap();
        assert!(
            status.rss_peak >= status.rss && status.rss > 0 && status.threads >= 1,
            "{status:?}"
        );
        let mut spin = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(60) {
            spin = spin.wrapping_add(1);
        }
        assert!(spin > 0);
        assert!(cpu(me).unwrap().own > Duration::ZERO);
    }
}
