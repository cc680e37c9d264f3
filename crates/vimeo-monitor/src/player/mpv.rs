//! One long-lived mpv, driven over its JSON IPC socket.
//!
//! [`Mpv::spawn`] starts mpv idle with a window, in its own process group, listening on a socket
//! in a private runtime directory. [`Mpv::load`] then switches what it shows (the stream, the
//! holding image, the error image) with `loadfile <target> replace`, so the window never closes
//! and no signed URL ever appears in a process's argv. Every request is bounded by
//! [`MpvOptions::ipc_timeout`]; a reply that arrives later is dropped without disturbing later
//! requests.
//!
//! The supervisor builds on these primitives: [`Mpv::status`] (one round of property reads, for
//! hang and stall detection), [`Mpv::observe`] (property changes as events, for the playback
//! figures), [`Mpv::screenshot`], [`Mpv::events`], [`Mpv::try_exited`] and [`Mpv::stop`] (SIGTERM to
//! the process group, SIGKILL after a grace period, always reaped). This module decides nothing
//! itself: no retries, no restarts, no timers besides the per-request timeout and the start-up
//! wait ([`SOCKET_WAIT`]).
//!
//! # Options given to mpv
//!
//! | Option | Why |
//! |---|---|
//! | `--force-window=yes`, `--fullscreen=yes` (with [`MpvOptions::fullscreen`]) | the window exists before anything is loaded and stays between files |
//! | `--image-display-duration=inf` | an image stays on screen until the next `loadfile` |
//! | `--keep-open=yes` | when a stream ends (EOF), its last frame stays instead of mpv going idle (a black window); [`PlayerStatus::eof_reached`] says so |
//! | `--keep-open-pause=no` | mpv 0.35 otherwise pauses at that EOF and the pause carries over to the next `loadfile` |
//! | `--msg-level=all=warn` | warnings and errors only: read from mpv's stdout and stderr, redacted, logged and kept for errors ([`Mpv::recent_output`]) |
//! | `--input-default-bindings=no`, `--osc=no`, `--cursor-autohide=always` | a kiosk: no key quits it, no controls or cursor over the picture |
//! | [`MpvOptions::extra_args`] | `PLAYER_ARGS`: `--hwdec=auto`, `--vo=null --ao=null`, `--no-config`; they override the options above |
//! | `--idle=yes`, `--input-ipc-server=<runtime_dir>/mpv.sock` | last, so `extra_args` cannot override them: mpv stays up with nothing loaded and listens where we connect |
//! | `--ytdl=no` | last too: mpv's ytdl hook would run yt-dlp with the URL in its argv when a URL fails to open |
//! | `--terminal=yes`, `--input-terminal=yes` | last too: without terminal input mpv 0.35 installs no SIGTERM handler, so SIGTERM would kill it without a clean shutdown (and `--no-terminal` would silence its output); stdin is /dev/null |
//!
//! The user's `mpv.conf` is read (no `--no-config`); the command line overrides it.
//!
//! # Secrets
//!
//! A target URL travels only over the socket. Errors and logs name it through
//! [`health_core::redact::url`], mpv's own output goes through [`health_core::redact::urls_in`],
//! and the [`Debug`](std::fmt::Debug) output of [`PlayerStatus`] redacts its `path`.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use health_core::redact;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::task::JoinSet;

mod ipc;
mod spawn;

pub use spawn::{KILL_WAIT, SOCKET_WAIT};

/// How to start mpv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpvOptions {
    /// The mpv executable: a name looked up in `PATH` (`mpv`) or a path.
    pub binary: PathBuf,
    /// Options appended after ours (`PLAYER_ARGS`), e.g. `--hwdec=auto`; they override the
    /// defaults listed in the [module docs](self), except `--idle`, `--input-ipc-server`,
    /// `--ytdl`, `--terminal` and `--input-terminal`.
    pub extra_args: Vec<String>,
    /// A private (mode 0700) directory the caller owns and removes; the socket `mpv.sock` goes
    /// inside. Its path must be short: a Unix socket path has at most 107 bytes.
    pub runtime_dir: PathBuf,
    /// The bound on each IPC request, from sending it to its reply.
    pub ipc_timeout: Duration,
    /// Whether mpv starts full screen (`--fullscreen=yes`).
    pub fullscreen: bool,
}

impl MpvOptions {
    /// Options for a full-screen `mpv` from `PATH` with a 2 s IPC timeout and no extra arguments.
    pub fn new(runtime_dir: impl Into<PathBuf>) -> Self {
        Self {
            binary: PathBuf::from("mpv"),
            extra_args: Vec::new(),
            runtime_dir: runtime_dir.into(),
            ipc_timeout: Duration::from_secs(2),
            fullscreen: true,
        }
    }
}

/// What can go wrong starting or talking to mpv. No message contains a target URL's query
/// string, fragment or userinfo.
#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    /// The mpv executable does not exist.
    #[error(
        "mpv executable `{}` not found: install the Debian package `mpv` \
         (`sudo apt-get install mpv`) or point the player binary setting at it",
        binary.display()
    )]
    NotFound {
        /// The binary as configured.
        binary: PathBuf,
    },
    /// mpv could not be started for another reason (permissions, resources).
    #[error("could not start mpv: {0}")]
    Spawn(#[source] std::io::Error),
    /// mpv's IPC socket could not be used: bad runtime directory, or mpv never opened it.
    #[error("no IPC socket at {}: {detail}", path.display())]
    NoSocket {
        /// Where the socket should be.
        path: PathBuf,
        /// What went wrong, with mpv's last output lines when there are any.
        detail: String,
    },
    /// Reading or writing the socket failed, or mpv closed it (it has probably exited: see
    /// [`Mpv::try_exited`]).
    #[error("IPC with mpv failed: {0}")]
    Ipc(#[source] std::io::Error),
    /// mpv did not answer within [`MpvOptions::ipc_timeout`]: it is hung or stopped.
    #[error("mpv did not answer `{command}` in time (is it hung or stopped?)")]
    Timeout {
        /// The command's name, with a property name or a redacted target where there is one.
        command: String,
    },
    /// mpv answered with an error.
    #[error("mpv refused `{command}`: {error}")]
    Mpv {
        /// The command's name, with a property name or a redacted target where there is one.
        command: String,
        /// mpv's error string (`property unavailable`, `invalid parameter`, ...).
        error: String,
    },
    /// mpv exited before its socket was ready.
    #[error("mpv exited ({status}) before opening its IPC socket; its last output: {output}")]
    Exited {
        /// How it exited.
        status: ExitStatus,
        /// Its last output lines (redacted), or `(none)`.
        output: String,
    },
}

/// An event mpv sent on its socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpvEvent {
    /// A file or stream was opened and its tracks are known.
    FileLoaded,
    /// Playback (re)started after loading or seeking: frames are being shown.
    PlaybackRestart,
    /// The current file ended. `reason` is mpv's: `eof`, `stop` (replaced by `loadfile`),
    /// `quit`, `error` (it could not be opened or played), `redirect` or `unknown`.
    EndFile {
        /// Why it ended.
        reason: String,
    },
    /// mpv went idle: nothing is loaded and the window is black.
    Idle,
    /// mpv is quitting. mpv 0.35 does not send this over IPC (it closes the connection, and
    /// [`Mpv::events`] receivers get `Closed`); newer versions may.
    Shutdown,
    /// An observed property changed ([`Mpv::observe`]); `data` is `null` while it is
    /// unavailable. Only numbers, flags and codec names are observed: never `path`, whose value
    /// is a signed URL.
    PropertyChange {
        /// The property's name.
        name: String,
        /// Its new value.
        data: Value,
    },
    /// Any other event, by name (`start-file`, `video-reconfig`, ...).
    Other(String),
}

/// One round of property reads ([`Mpv::status`]).
#[derive(Clone, Default, PartialEq)]
pub struct PlayerStatus {
    /// Nothing is loaded (`idle-active`): the window is black.
    pub idle: bool,
    /// Playback position in seconds (`time-pos`); it stops moving when a stream stalls. An image
    /// stays at 0.
    pub time_pos: Option<f64>,
    /// Playback waits for the network (`paused-for-cache`).
    pub paused_for_cache: bool,
    /// What is loaded (`path`): a file path or the full URL. [`Debug`](fmt::Debug) redacts it.
    pub path: Option<String>,
    /// The file has ended and its last frame stays on screen (`eof-reached`, see
    /// `--keep-open`).
    pub eof_reached: bool,
    /// Playback is paused (`pause`).
    pub paused: bool,
}

impl fmt::Debug for PlayerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlayerStatus")
            .field("idle", &self.idle)
            .field("time_pos", &self.time_pos)
            .field("paused_for_cache", &self.paused_for_cache)
            .field("path", &self.path.as_deref().map(redact::url))
            .field("eof_reached", &self.eof_reached)
            .field("paused", &self.paused)
            .finish()
    }
}

/// A running mpv and its IPC connection. Dropping it kills mpv's process group (SIGKILL);
/// [`Mpv::stop`] stops it gracefully.
pub struct Mpv {
    child: tokio::process::Child,
    ipc: ipc::Ipc,
    output: spawn::Output,
    /// The tasks draining mpv's stdout and stderr.
    _drains: JoinSet<()>,
}

impl fmt::Debug for Mpv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mpv").field("pid", &self.child.id()).finish_non_exhaustive()
    }
}

impl Mpv {
    /// Starts mpv (see the [module docs](self) for its options) and connects to its socket,
    /// waiting at most [`SOCKET_WAIT`] for it. A stale socket file in the runtime directory is
    /// removed first.
    pub async fn spawn(options: &MpvOptions) -> Result<Mpv, PlayerError> {
        let started = spawn::start(options).await?;
        Ok(Mpv {
            child: started.child,
            ipc: ipc::Ipc::new(started.stream, options.ipc_timeout),
            output: started.output,
            _drains: started.drains,
        })
    }

    /// Replaces what mpv shows with `target`, a URL or a path (`loadfile <target> replace`).
    /// This returns once mpv has accepted the command; whether the target opens is told by
    /// events: [`MpvEvent::FileLoaded`] and [`MpvEvent::PlaybackRestart`], or
    /// [`MpvEvent::EndFile`] with reason `error`, after which mpv is idle.
    pub async fn load(&self, target: &str) -> Result<(), PlayerError> {
        tracing::debug!(target: "player", media = %redact::url(target), "mpv: loadfile");
        // Two positional arguments only. mpv 0.38 inserted an `index` argument before `options`
        // (`loadfile <url> [<flags> [<index> [<options>]]]`), so a third positional argument
        // means options to mpv <= 0.37 and an index to mpv >= 0.38; `<url> <flags>` means the
        // same to both.
        self.command(&[json!("loadfile"), json!(target), json!("replace")]).await.map(drop)
    }

    /// Sends any IPC command (`["set_property", "pause", false]`) and returns its `data` (`null`
    /// when there is none), bounded by [`MpvOptions::ipc_timeout`].
    pub async fn command(&self, args: &[Value]) -> Result<Value, PlayerError> {
        self.ipc.request(args).await
    }

    /// Reads a property; `Ok(None)` when mpv says it is unavailable now (`path` while idle,
    /// `time-pos` for nothing loaded) or it is `null`.
    pub async fn get_property<T: DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, PlayerError> {
        match self.command(&[json!("get_property"), json!(name)]).await {
            Ok(data) => serde_json::from_value::<Option<T>>(data).map_err(|_| PlayerError::Mpv {
                command: format!("get_property {name}"),
                // Not serde's message: it would quote the value, and `path` is a signed URL.
                error: format!("the value is not a {}", std::any::type_name::<T>()),
            }),
            Err(PlayerError::Mpv { error, .. }) if error == "property unavailable" => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Reads the properties of [`PlayerStatus`], all requests in flight at once, so the whole
    /// round takes at most about one [`MpvOptions::ipc_timeout`]. Fails with the first error.
    /// The figures of playback quality are observed instead ([`observe`](Self::observe)).
    pub async fn status(&self) -> Result<PlayerStatus, PlayerError> {
        let (idle, time_pos, paused_for_cache, path, eof_reached, paused) = tokio::join!(
            self.get_property::<bool>("idle-active"),
            self.get_property::<f64>("time-pos"),
            self.get_property::<bool>("paused-for-cache"),
            self.get_property::<String>("path"),
            self.get_property::<bool>("eof-reached"),
            self.get_property::<bool>("pause"),
        );
        Ok(PlayerStatus {
            idle: idle?.unwrap_or(false),
            time_pos: time_pos?,
            paused_for_cache: paused_for_cache?.unwrap_or(false),
            path: path?,
            eof_reached: eof_reached?.unwrap_or(false),
            paused: paused?.unwrap_or(false),
        })
    }

    /// Asks mpv to send an [`MpvEvent::PropertyChange`] whenever `name` changes, starting with
    /// its current value (`observe_property`): figures arrive as they change instead of being
    /// polled. `id` is ours to choose; mpv echoes it.
    pub async fn observe(&self, id: u64, name: &str) -> Result<(), PlayerError> {
        self.command(&[json!("observe_property"), json!(id), json!(name)]).await.map(drop)
    }

    /// Writes what is shown now, without subtitles or OSD, to `path` (`screenshot-to-file
    /// <path> video`); the format follows the file's extension (`.jpg`: JPEG). mpv answers once
    /// the file is written. It works with `--vo=null` too; with nothing loaded, mpv refuses.
    pub async fn screenshot(&self, path: &std::path::Path) -> Result<(), PlayerError> {
        let path = path.to_string_lossy();
        self.command(&[json!("screenshot-to-file"), json!(path), json!("video")]).await.map(drop)
    }

    /// A receiver of mpv's events from now on. It holds 256 events; a receiver that falls
    /// further behind gets [`RecvError::Lagged`](broadcast::error::RecvError::Lagged). It gets
    /// [`RecvError::Closed`](broadcast::error::RecvError::Closed) once the IPC connection has
    /// ended (mpv exited or closed it).
    pub fn events(&self) -> broadcast::Receiver<MpvEvent> {
        self.ipc.events()
    }

    /// mpv's process id (also its process group id); `None` once it has been reaped.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// mpv's exit status if it has exited (and reaps it), without waiting.
    pub fn try_exited(&mut self) -> Option<ExitStatus> {
        match self.child.try_wait() {
            Ok(status) => status,
            Err(error) => {
                tracing::warn!(target: "player", %error, "could not check whether mpv has exited");
                None
            }
        }
    }

    /// mpv's last output lines (at most 20, redacted), oldest first: why it exited, say.
    pub fn recent_output(&self) -> Vec<String> {
        self.output.lines()
    }

    /// Stops mpv: SIGTERM to its process group, SIGKILL to the group if mpv has not exited
    /// after `grace`, and SIGKILL again to any helper left in the group after mpv exited. mpv is
    /// always reaped: by this call, or by tokio's orphan reaper should it outlive SIGKILL by
    /// [`KILL_WAIT`] (a process stuck in the kernel, e.g. a hung GPU driver).
    pub async fn stop(mut self, grace: Duration) {
        spawn::stop(&mut self.child, grace).await;
    }

    /// mpv's version string (`mpv-version`), e.g. `mpv 0.35.1`.
    pub async fn version(&self) -> Result<String, PlayerError> {
        self.get_property::<String>("mpv-version").await?.ok_or_else(|| PlayerError::Mpv {
            command: "get_property mpv-version".to_owned(),
            error: "property unavailable".to_owned(),
        })
    }
}

impl Drop for Mpv {
    fn drop(&mut self) {
        // `id()` is `None` once mpv has been reaped; until then neither its pid nor its process
        // group id can be reused.
        if let Some(pid) = self.child.id() {
            spawn::signal_group(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_debug_redacts_the_path() {
        let status = PlayerStatus {
            path: Some("https://u:pw@live.example/e/playlist.m3u8?sig=SECRET#t".to_owned()),
            ..PlayerStatus::default()
        };
        let debug = format!("{status:?}");
        assert!(debug.contains("https://live.example/e/playlist.m3u8"), "{debug}");
        for secret in ["SECRET", "sig", "pw", "#t"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }

    #[test]
    fn not_found_names_the_debian_package() {
        let error = PlayerError::NotFound { binary: PathBuf::from("mpv") };
        assert!(error.to_string().contains("Debian package `mpv`"), "{error}");
    }
}
