//! What collectors do with a child process: wait for it at most a deadline while reading each
//! pipe whole (a chatty child cannot block on a full pipe), kill and reap it when the deadline
//! passes, and quote a bounded part of its output in an error.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

/// A child that finished within its deadline: how, and everything it printed.
#[derive(Debug)]
pub struct Finished {
    /// How it exited.
    pub status: ExitStatus,
    /// Its whole standard output.
    pub stdout: Vec<u8>,
    /// Its whole standard error.
    pub stderr: Vec<u8>,
}

impl Finished {
    /// Standard output and standard error, each trimmed, the empty ones left out, one per line:
    /// what an error quotes (through [`quote`]).
    pub fn text(&self) -> String {
        [String::from_utf8_lossy(&self.stdout), String::from_utf8_lossy(&self.stderr)]
            .iter()
            .map(|part| part.trim())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Why a child gave no [`Finished`].
#[derive(Debug, thiserror::Error)]
pub enum Unfinished {
    /// The deadline passed: the child was killed (SIGKILL) and reaped.
    #[error("no answer within {0:?}; killed")]
    Timeout(Duration),
    /// Waiting for it or reading its pipes failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Starts `command` the way [`wait_bounded`] wants it: stdin null (a child never waits for input
/// nobody gives), stdout and stderr piped, and killed when its handle is dropped.
pub fn spawn(command: &mut Command) -> io::Result<Child> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
}

/// Waits at most `timeout` for `child` (started by [`spawn`], or with piped stdout and stderr,
/// stdin null and `kill_on_drop`), draining both pipes meanwhile. When the deadline passes the child is killed
/// and reaped before this returns, so no zombie is left; a caller that drops this future leaves
/// the kill to `kill_on_drop` and the reaping to tokio.
pub async fn wait_bounded(mut child: Child, timeout: Duration) -> Result<Finished, Unfinished> {
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = tokio::time::timeout(timeout, async {
        tokio::join!(child.wait(), drain(stdout), drain(stderr))
    })
    .await;
    let Ok((status, stdout, stderr)) = finished else {
        // `kill` sends SIGKILL and waits for the child.
        if let Err(error) = child.kill().await {
            tracing::debug!(target: "health.core", %error, "killing a child past its deadline");
        }
        return Err(Unfinished::Timeout(timeout));
    };
    Ok(Finished { status: status?, stdout: stdout?, stderr: stderr? })
}

/// Everything a pipe yields until EOF; nothing when there is no pipe.
pub async fn drain(pipe: Option<impl AsyncRead + Unpin>) -> io::Result<Vec<u8>> {
    let mut buffer = Vec::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut buffer).await?;
    }
    Ok(buffer)
}

/// The text trimmed and cut to `max_chars` characters, with `…` when cut.
pub fn quote(text: &str, max_chars: usize) -> String {
    let trimmed = text.trim();
    match trimmed.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Child {
        spawn(Command::new("sh").args(["-c", script])).expect("sh runs")
    }

    #[tokio::test]
    async fn a_child_that_finishes_gives_its_status_and_output() {
        // More than a pipe buffer (64 KiB) on stdout: read while waiting, or it would block.
        let finished = wait_bounded(
            shell("head -c 200000 /dev/zero; echo oops >&2; exit 3"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(finished.status.code(), Some(3));
        assert_eq!(finished.stdout.len(), 200_000);
        assert_eq!(finished.stderr, b"oops\n");
        let quiet = wait_bounded(shell("echo ' on '"), Duration::from_secs(10)).await.unwrap();
        assert_eq!(quiet.text(), "on");
        // stdin is null: a child that reads it sees EOF at once instead of waiting for the deadline.
        let reader = wait_bounded(shell("cat; echo done"), Duration::from_secs(10)).await.unwrap();
        assert_eq!(reader.stdout, b"done\n");
    }

    #[tokio::test]
    async fn a_child_past_its_deadline_is_killed_and_reaped() {
        let child = shell("sleep 30");
        let pid = child.id().unwrap();
        let started = std::time::Instant::now();
        let error = wait_bounded(child, Duration::from_millis(200)).await.unwrap_err();
        assert!(matches!(error, Unfinished::Timeout(_)), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // Reaped: no zombie left with that pid.
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} still there");
    }

    #[test]
    fn quote_trims_and_cuts_on_characters() {
        assert_eq!(quote("  throttled=0x0\n", 200), "throttled=0x0");
        let exact = "é".repeat(200);
        assert_eq!(quote(&exact, 200), exact);
        assert_eq!(quote(&"x".repeat(205), 200), format!("{}…", "x".repeat(200)));
    }
}
