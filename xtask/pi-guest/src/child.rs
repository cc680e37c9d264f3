//! A binary under test as a child of the guest program: a clean environment (nothing of the
//! guest's own leaks in), stderr and stdout to a log file, and stopping with a deadline. Dropping
//! it kills whatever of its tree is still alive, so a failed phase leaves nothing running into
//! the next one.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use crate::procfs;

/// A started binary.
#[derive(Debug)]
pub(crate) struct Started {
    name: String,
    child: Child,
    pid: u32,
    log: PathBuf,
}

impl Started {
    /// Starts `program` (found on `PATH`) with only `PATH`, `HOME`, `LC_ALL` and `env`, in
    /// `dir`, logging to `dir/<name>.log`.
    pub(crate) fn spawn(
        name: &str,
        program: &str,
        args: &[&str],
        env: &[(&str, String)],
        dir: &Path,
    ) -> anyhow::Result<Started> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let log = dir.join(format!("{name}.log"));
        let file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("LC_ALL", "C")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        let child = command.spawn().with_context(|| format!("starting {program}"))?;
        let pid = child.id().context("the child's pid")?;
        Ok(Started { name: name.to_owned(), child, pid, log })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        kill(Pid::from_raw(self.pid as i32), signal)
            .with_context(|| format!("sending {signal} to {} ({})", self.name, self.pid))
    }

    /// Whether it still runs.
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then waits up to `within` for it to exit; how it exited and how long it took.
    /// If it is still there after `within` it is killed, and that is an error.
    pub(crate) async fn terminate(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<(ExitStatus, Duration)> {
        let sent = Instant::now();
        self.signal(Signal::SIGTERM)?;
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => Ok((status?, sent.elapsed())),
            Err(_) => {
                let _ = self.child.kill().await;
                anyhow::bail!("{} did not exit within {within:?} of SIGTERM (killed)", self.name)
            }
        }
    }

    /// The last `lines` lines of its log.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Prints the log's end under a header, for a failed phase.
    pub(crate) fn print_log(&self) {
        println!("----- {} log ({}), last 150 lines -----", self.name, self.log.display());
        println!("{}", self.log_tail(150));
        println!("----- end of {} log -----", self.name);
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        for p in procfs::descendants(self.pid).into_iter().filter(procfs::Proc::alive) {
            let _ = kill(Pid::from_raw(p.pid as i32), Signal::SIGKILL);
        }
        let _ = self.child.start_kill();
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; the binaries take a port number, not a
/// socket).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
