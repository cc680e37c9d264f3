//! Running the program under test (qemu, or `pi-guest` natively) for a bounded time with its
//! output, stdout and stderr interleaved as a console shows them, written to a log file and the
//! interesting lines echoed as they come.
//!
//! The program runs in its own process group, and the whole group is killed at the end: at the
//! deadline, and also after a clean exit, so nothing it started (an mpv left behind by a
//! failing `pi-guest` run natively) outlives the run or keeps the output pipe open.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::report::Ending;
use crate::cmd;

/// How one run went.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) ending: Ending,
    /// The exit status when it exited by itself.
    pub(crate) status: Option<ExitStatus>,
    /// Everything it printed.
    pub(crate) log: String,
    /// How long it ran.
    pub(crate) elapsed: Duration,
    /// When the first line containing the marker appeared, from the start.
    pub(crate) marker_at: Option<Duration>,
}

/// Whether a line is echoed live: the protocol, the boot marker and the signs of a dead guest.
pub(crate) fn echoed(line: &str, marker: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("PI-TEST ")
        || line.contains(marker)
        || line.contains("Kernel panic")
        || line.contains("Out of memory")
        || line.starts_with("qemu-system-")
}

/// Run `command` for at most `limit`, logging to `log_path`, echoing [`echoed`] lines with
/// `prefix`, noting when `marker` first appears.
pub(crate) fn run(
    mut command: Command,
    limit: Duration,
    log_path: &Path,
    prefix: &str,
    marker: &str,
) -> anyhow::Result<Run> {
    let shown = cmd::display(&command);
    eprintln!("$ {shown}");
    let (reader, writer) = std::io::pipe().context("creating a pipe")?;
    command.stdin(Stdio::null()).stdout(writer.try_clone()?).stderr(writer).process_group(0);
    let started = Instant::now();
    let mut child = command.spawn().with_context(|| format!("starting `{shown}`"))?;
    // The parent's copies of the pipe's write end go with the command: EOF comes when the
    // child and its children have closed theirs.
    drop(command);

    let mut log_file = std::fs::File::create(log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let log = Arc::new(Mutex::new(String::new()));
    let marker_at = Arc::new(Mutex::new(None));
    let thread = {
        let (log, marker_at) = (Arc::clone(&log), Arc::clone(&marker_at));
        let (prefix, marker) = (prefix.to_owned(), marker.to_owned());
        std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut raw = Vec::new();
            while reader.read_until(b'\n', &mut raw).is_ok_and(|n| n > 0) {
                let line = String::from_utf8_lossy(&raw).replace('\r', "");
                raw.clear();
                let _ = log_file.write_all(line.as_bytes());
                let text = line.trim_end_matches('\n');
                if text.contains(&marker) {
                    marker_at.lock().expect("not poisoned").get_or_insert(started.elapsed());
                }
                if echoed(text, &marker) {
                    eprintln!("{prefix}{text}");
                }
                log.lock().expect("not poisoned").push_str(&line);
            }
        })
    };

    let deadline = started + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    kill_group(child.id());
    // Reap the child itself (a no-op when it had exited).
    child.wait()?;
    // With the group gone the pipe closes; do not wait for ever if something escaped it.
    let reader_deadline = Instant::now() + Duration::from_secs(5);
    while !thread.is_finished() && Instant::now() < reader_deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if thread.is_finished() {
        let _ = thread.join();
    } else {
        eprintln!("pi-test: a process outside the group still holds the output; log may be cut");
    }
    let log = log.lock().expect("not poisoned").clone();
    let marker_at = *marker_at.lock().expect("not poisoned");
    let ending = if status.is_some() { Ending::Exited } else { Ending::TimedOut };
    Ok(Run { ending, status, log, elapsed, marker_at })
}

/// SIGKILL to every process of the group led by `pid` (ours: started with `process_group(0)`).
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_logged_in_order_and_the_marker_timed() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("guest.log");
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "echo boot; echo 'init started' >&2; sleep 0.2; printf 'PI-TEST done pass\\r\\n'",
        ]);
        let run = run(command, Duration::from_secs(20), &log, "guest| ", "init started").unwrap();
        assert_eq!(run.ending, Ending::Exited);
        assert!(run.status.unwrap().success());
        assert_eq!(run.log, "boot\ninit started\nPI-TEST done pass\n");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), run.log);
        let marker = run.marker_at.unwrap();
        assert!(marker < run.elapsed && run.elapsed >= Duration::from_millis(200), "{run:?}");
    }

    /// At the deadline the program and what it started are killed and the run ends.
    #[test]
    fn a_hung_program_and_its_children_are_killed_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("sleep 300 & echo $! > {}; echo started; wait", pid_file.display()));
        let started = Instant::now();
        let run =
            run(command, Duration::from_millis(500), &dir.path().join("log"), "", "x").unwrap();
        assert_eq!(run.ending, Ending::TimedOut);
        assert!(run.status.is_none());
        assert_eq!(run.log, "started\n");
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        // The grandchild is gone (killed; reaped by init) within a moment.
        let gone = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            !Path::new(&format!("/proc/{}", pid.trim())).exists()
                || std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                    .is_ok_and(|s| s.contains(") Z "))
        });
        assert!(gone, "sleep {pid} survived the run");
    }

    #[test]
    fn protocol_lines_and_signs_of_trouble_are_echoed() {
        for line in [
            "PI-TEST check a ok",
            "  PI-TEST done pass",
            "pi-test: init started after 4.1 s",
            "[    5.1] Kernel panic - not syncing: No working init found.",
            "qemu-system-aarch64: -kernel x: No such file",
        ] {
            assert!(echoed(line, "pi-test: init started"), "{line}");
        }
        assert!(!echoed("health-server: listening on 127.0.0.1:9101", "pi-test: init started"));
    }
}
