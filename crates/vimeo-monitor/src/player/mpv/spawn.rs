//! Starting mpv, keeping its output, and stopping it: its command line, its own process group,
//! the wait for its socket, and signals to the whole group.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use health_core::{child_output, redact};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{MpvOptions, PlayerError};

/// How long [`Mpv::spawn`](super::Mpv::spawn) waits for mpv's IPC socket to accept a connection.
/// mpv opens it before creating its window, typically within 100 ms.
pub const SOCKET_WAIT: Duration = Duration::from_secs(5);

/// How long [`Mpv::stop`](super::Mpv::stop) waits for mpv to die after SIGKILL before leaving
/// it to tokio's orphan reaper.
pub const KILL_WAIT: Duration = Duration::from_secs(5);

/// The socket's file name inside [`MpvOptions::runtime_dir`].
const SOCKET_NAME: &str = "mpv.sock";
/// The longest socket path `sun_path` holds, without its terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
/// Output lines kept for errors.
const KEPT_LINES: usize = 20;
/// Characters kept of each output line.
const LINE_CHARS: usize = 300;

/// A started mpv, its socket connected.
pub(super) struct Started {
    pub(super) child: Child,
    pub(super) stream: UnixStream,
    pub(super) output: Output,
    pub(super) drains: JoinSet<()>,
}

/// mpv's last output lines, redacted.
#[derive(Clone, Default)]
pub(super) struct Output(Arc<Mutex<VecDeque<String>>>);

impl Output {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() == KEPT_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub(super) fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    fn text(&self) -> String {
        let lines = self.lines();
        if lines.is_empty() { "(none)".to_owned() } else { lines.join(" | ") }
    }
}

/// mpv's arguments: our defaults, then `extra_args`, then what must not be overridden.
pub(super) fn arguments(options: &MpvOptions, socket: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--force-window=yes",
        "--image-display-duration=inf",
        "--keep-open=yes",
        "--keep-open-pause=no",
        "--msg-level=all=warn",
        "--input-default-bindings=no",
        "--osc=no",
        "--cursor-autohide=always",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    if options.fullscreen {
        args.push("--fullscreen=yes".into());
    }
    args.extend(options.extra_args.iter().map(OsString::from));
    args.push("--idle=yes".into());
    let mut ipc_server = OsString::from("--input-ipc-server=");
    ipc_server.push(socket);
    args.push(ipc_server);
    args.push("--ytdl=no".into());
    // mpv 0.35 installs its SIGTERM handler with terminal input only: without it SIGTERM kills
    // mpv on the spot, with no clean shutdown (window, display mode, `shutdown` event). Its stdin
    // is /dev/null, so there are no keys to read.
    args.extend(["--terminal=yes", "--input-terminal=yes"].map(OsString::from));
    args
}

/// Starts mpv and connects to its socket (see [`Mpv::spawn`](super::Mpv::spawn)).
pub(super) async fn start(options: &MpvOptions) -> Result<Started, PlayerError> {
    let socket = options.runtime_dir.join(SOCKET_NAME);
    let no_socket = |detail: String| PlayerError::NoSocket { path: socket.clone(), detail };
    if !options.runtime_dir.is_dir() {
        return Err(no_socket("the runtime directory does not exist".to_owned()));
    }
    if socket.as_os_str().as_bytes().len() > MAX_SOCKET_PATH {
        return Err(no_socket(format!(
            "a socket path has at most {MAX_SOCKET_PATH} bytes: use a shorter runtime directory"
        )));
    }
    match std::fs::remove_file(&socket) {
        Ok(()) => {
            tracing::debug!(
                target: "player",
                socket = %socket.display(),
                "removed a stale mpv socket",
            );
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(no_socket(format!("could not remove the old socket: {error}"))),
    }

    let mut child = Command::new(&options.binary)
        // Children need none of the kiosk's secrets in their environment.
        .env_remove("VIMEO_TOKEN")
        .env_remove("VIMEO_SECRET")
        .env_remove("HEALTH_METRICS_BEARER_TOKEN")
        .args(arguments(options, &socket))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0)
        .spawn()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => PlayerError::NotFound { binary: options.binary.clone() },
            _ => PlayerError::Spawn(error),
        })?;
    let pid = child.id().unwrap_or_default();
    tracing::debug!(target: "player", pid, socket = %socket.display(), "mpv started");
    let output = Output::default();
    let mut drains = JoinSet::new();
    if let Some(stdout) = child.stdout.take() {
        drains.spawn(drain(stdout, output.clone(), pid));
    }
    if let Some(stderr) = child.stderr.take() {
        drains.spawn(drain(stderr, output.clone(), pid));
    }

    let deadline = Instant::now() + SOCKET_WAIT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // Let the drains read what it wrote before exiting.
            let _ = tokio::time::timeout(Duration::from_secs(1), drains.join_all()).await;
            return Err(PlayerError::Exited { status, output: output.text() });
        }
        let error = match UnixStream::connect(&socket).await {
            Ok(stream) => return Ok(Started { child, stream, output, drains }),
            Err(error) => error,
        };
        if Instant::now() >= deadline {
            stop(&mut child, Duration::ZERO).await;
            return Err(no_socket(format!(
                "mpv did not accept a connection within {SOCKET_WAIT:?} ({error}); \
                 its last output: {}",
                output.text()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Logs and keeps each line of one of mpv's pipes, redacted, until it closes.
async fn drain(pipe: impl AsyncRead + Unpin, output: Output, pid: u32) {
    let mut pipe = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        match pipe.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = redact::urls_in(&String::from_utf8_lossy(&line));
        let text = child_output::quote(&text, LINE_CHARS);
        if !text.is_empty() {
            tracing::info!(target: "player", mpv_pid = pid, "mpv: {text}");
            output.push(text);
        }
    }
}

/// Sends `signal` to the process group `pgid`; a group that is gone already is fine.
pub(super) fn signal_group(pgid: u32, signal: Signal) {
    let Ok(raw) = i32::try_from(pgid) else { return };
    match killpg(Pid::from_raw(raw), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(error) => {
            tracing::warn!(
                target: "player",
                pgid,
                %signal,
                %error,
                "could not signal mpv's process group",
            );
        }
    }
}

/// SIGTERM to the group, SIGKILL after `grace`, reaped (see [`Mpv::stop`](super::Mpv::stop)).
pub(super) async fn stop(child: &mut Child, grace: Duration) {
    let Some(pid) = child.id() else { return };
    signal_group(pid, Signal::SIGTERM);
    // A stopped mpv (SIGSTOP, a debugger) keeps SIGTERM pending until it runs again: wake it
    // so it can quit now rather than after the whole grace period.
    signal_group(pid, Signal::SIGCONT);
    if let Ok(status) = tokio::time::timeout(grace, child.wait()).await {
        tracing::debug!(target: "player", pid, ?status, "mpv stopped");
    } else {
        if !grace.is_zero() {
            tracing::warn!(
                target: "player",
                pid,
                ?grace,
                "mpv did not stop after SIGTERM: sending SIGKILL",
            );
        }
        signal_group(pid, Signal::SIGKILL);
        if tokio::time::timeout(KILL_WAIT, child.wait()).await.is_err() {
            tracing::error!(
                target: "player",
                pid,
                "mpv did not die within {KILL_WAIT:?} of SIGKILL; tokio reaps it when it does"
            );
            return;
        }
    }
    // Helpers mpv started that outlived it. The group id is still safe to use: Linux does not
    // hand out a pid again while a process group of that id has members, and reuse of a pid
    // freed a moment ago would need the whole pid space to wrap around.
    signal_group(pid, Signal::SIGKILL);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn extra_args_go_between_our_defaults_and_what_must_stay() {
        let mut options = MpvOptions::new("/run/kiosk");
        options.extra_args = vec!["--hwdec=auto".to_owned(), "--keep-open=no".to_owned()];
        let socket = PathBuf::from("/run/kiosk/mpv.sock");
        let args: Vec<String> =
            arguments(&options, &socket).into_iter().map(|a| a.into_string().unwrap()).collect();
        let position = |arg: &str| args.iter().position(|a| a == arg).unwrap();
        assert!(position("--keep-open=yes") < position("--keep-open=no"));
        assert!(position("--fullscreen=yes") < position("--hwdec=auto"));
        let last = [
            "--idle=yes",
            "--input-ipc-server=/run/kiosk/mpv.sock",
            "--ytdl=no",
            "--terminal=yes",
            "--input-terminal=yes",
        ];
        for last in last {
            assert!(position("--keep-open=no") < position(last), "{last}");
        }
        options.fullscreen = false;
        assert!(!arguments(&options, &socket).iter().any(|a| a == "--fullscreen=yes"));
    }

    /// A child in its own process group that ignores SIGTERM, as a hung mpv would.
    fn stubborn_child() -> Child {
        tokio::process::Command::new("sh")
            .args(["-c", "trap '' TERM; echo ready; while :; do sleep 1; done"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .unwrap()
    }

    #[tokio::test]
    async fn stop_escalates_to_sigkill_for_the_whole_group() {
        use tokio::io::AsyncBufReadExt;

        let mut child = stubborn_child();
        let pid = child.id().unwrap();
        // Wait until the trap is set, or SIGTERM would kill the shell before it ignores it.
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(stdout.next_line().await.unwrap().as_deref(), Some("ready"));
        let grace = Duration::from_millis(300);
        let started = std::time::Instant::now();
        stop(&mut child, grace).await;
        let took = started.elapsed();
        assert!(took >= grace, "SIGTERM is ignored, so it must wait out the grace: {took:?}");
        assert!(child.id().is_none(), "reaped");
        // The group empties: the shell's `sleep` got SIGKILL too (it lingers only until its
        // new parent reaps it).
        let group = Pid::from_raw(i32::try_from(pid).unwrap());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while killpg(group, None::<Signal>).is_ok() {
            assert!(std::time::Instant::now() < deadline, "the group outlived SIGKILL");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn output_keeps_the_last_lines() {
        let output = Output::default();
        assert_eq!(output.text(), "(none)");
        for n in 0..25 {
            output.push(format!("line {n}"));
        }
        let lines = output.lines();
        assert_eq!(lines.len(), KEPT_LINES);
        assert_eq!(lines[0], "line 5");
    }
}
