//! The kiosk's configuration: the Vimeo event to play, the images to show when it cannot be
//! played, the player, logging.
//!
//! Layers, lowest first: built-in defaults < TOML file (`--config FILE`, its `[kiosk]` table) <
//! `.env` in the working directory < process environment. [`KioskConfig::load`] reads them from
//! a [`KioskSources`], so tests hand in their own environment instead of touching the process's.
//! Every problem is reported at once ([`KioskConfigErrors`]), each naming the variable or TOML
//! key as the user wrote it, the value given and what is allowed; `VIMEO_TOKEN` never appears
//! in any message, `Debug` output or [`LoadedKiosk::describe_effective`]: it is held as a
//! [`Token`], which redacts itself.
//!
//! The settings are one table ([`settings()`]): loading, `--check-config`, `.env.sample` and
//! `docs/configuration.md` all follow it.
//!
//! Reading and merging the layers, the problem types and the common parsers are the
//! `config-layers` crate's, shared with the health exporter; this module is the kiosk's table,
//! its own kinds of value and the rules between its settings.
//!
//! The same `.env` and TOML file carry the health exporter's `HEALTH_*` settings; those belong
//! to `health_server::config` and are left alone here. This module creates nothing: the runtime
//! directory and the log file are made by whoever starts the kiosk.

mod image;
mod keys;
mod load;
mod parse;
mod shell;
mod sources;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use config_layers::{
    ConfigErrors as KioskConfigErrors, ConfigProblem as KioskProblem, Origin,
    Sources as KioskSources, Subject,
};
pub use keys::{Setting, known_names, settings};
pub use load::LoadedKiosk;

use crate::vimeo::{DEFAULT_API_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Token};

/// The kiosk's settings, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct KioskConfig {
    /// The event and how the Vimeo API is polled (`VIMEO_*`, `CHECK_INTERVAL`, ...).
    pub vimeo: VimeoSettings,
    /// What the screen shows when the event cannot be played (`HOLDING_IMAGE`, `ERROR_IMAGE`).
    pub images: Images,
    /// The media player (`PLAYER*`).
    pub player: PlayerSettings,
    /// Logging (`LOG_*`).
    pub log: LogSettings,
    /// Where the player's IPC socket lives (`RUNTIME_DIR`); `None`: see
    /// [`KioskConfig::runtime_dir`].
    pub runtime_dir: Option<PathBuf>,
}

/// The live event and how the Vimeo API is polled.
#[derive(Debug, Clone, PartialEq)]
pub struct VimeoSettings {
    /// The API's base URL, without a trailing `/` (`VIMEO_API_URL`).
    pub api_url: String,
    /// The live event's id, digits only (`VIMEO_LIVE_EVENT_ID`; an event URL is reduced to it).
    pub event_id: String,
    /// The personal access token (`VIMEO_TOKEN`); prints as `<redacted>`.
    pub token: Token,
    /// Time between checks (`CHECK_INTERVAL`).
    pub check_interval: Duration,
    /// How long one API request may take (`API_TIMEOUT`).
    pub api_timeout: Duration,
    /// Extra attempts of a failed request within one check (`MAX_RETRIES`).
    pub max_retries: u32,
    /// Failed checks in a row before the error image (`ERROR_THRESHOLD`).
    pub error_threshold: u32,
}

/// The images shown instead of the stream; both exist and are images when loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// While the event is not live (`HOLDING_IMAGE`).
    pub holding: PathBuf,
    /// While the API cannot be used (`ERROR_IMAGE`).
    pub error: PathBuf,
}

/// The media player.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerSettings {
    /// Which player (`PLAYER`).
    pub kind: PlayerKind,
    /// Extra options appended to the player's command line (`PLAYER_ARGS`).
    pub args: Vec<String>,
    /// How long the player may take to answer on its IPC socket (`PLAYER_IPC_TIMEOUT`).
    pub ipc_timeout: Duration,
    /// Playback that does not advance for this long is a stall (`PLAYER_STALL_TIMEOUT`).
    pub stall_timeout: Duration,
}

/// Which media player plays the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerKind {
    /// `mpv`, driven over its JSON IPC socket. The only one: cvlc and ffplay cannot switch
    /// content or report playback without a restart, and would need the signed URL in argv.
    Mpv,
}

impl PlayerKind {
    /// The program to run, looked up on `PATH`.
    pub fn program(self) -> &'static str {
        match self {
            Self::Mpv => "mpv",
        }
    }
}

impl fmt::Display for PlayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// A level or `tracing` `target=level` directives, validated (`LOG_LEVEL`).
    pub level: String,
    /// A file that receives the logs too, rotated daily (`LOG_FILE`).
    pub file: Option<PathBuf>,
    /// Rotated log files kept (`LOG_ROTATION_DAYS`).
    pub rotation_days: u32,
    /// How log lines are written (`LOG_FORMAT`).
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `text`: human-readable lines.
    Text,
    /// `json`: one JSON object per line, for log shippers.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

impl KioskConfig {
    /// The required settings as given, every other one at its built-in default (the `.env.sample`
    /// and the docs show these values; a test checks). Nothing is validated: for tests and for
    /// callers that build a configuration themselves.
    pub fn new(
        event_id: impl Into<String>,
        token: Token,
        holding: PathBuf,
        error: PathBuf,
    ) -> Self {
        Self {
            vimeo: VimeoSettings {
                api_url: DEFAULT_API_URL.to_owned(),
                event_id: event_id.into(),
                token,
                check_interval: Duration::from_secs(10),
                api_timeout: DEFAULT_TIMEOUT,
                max_retries: DEFAULT_MAX_RETRIES,
                error_threshold: 5,
            },
            images: Images { holding, error },
            player: PlayerSettings {
                kind: PlayerKind::Mpv,
                args: Vec::new(),
                ipc_timeout: Duration::from_secs(5),
                stall_timeout: Duration::from_secs(15),
            },
            log: LogSettings {
                level: "info".to_owned(),
                file: None,
                rotation_days: 7,
                format: LogFormat::Text,
            },
            runtime_dir: None,
        }
    }

    /// Where the player's IPC socket lives: `RUNTIME_DIR`, else `$RUNTIME_DIRECTORY` (systemd's
    /// `RuntimeDirectory=`), else `$XDG_RUNTIME_DIR/vimeo-monitor`, else
    /// `/run/user/UID/vimeo-monitor` when `/run/user/UID` exists, else `vimeo-monitor-UID` in
    /// the temporary directory. Only resolved here: the caller creates it (mode 0700) and, for
    /// the last choice, must refuse a directory it does not own.
    pub fn runtime_dir(&self) -> PathBuf {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let uid = nix::unistd::getuid().as_raw();
        resolve_runtime_dir(self.runtime_dir.as_deref(), var, uid, Path::is_dir)
    }
}

/// [`KioskConfig::runtime_dir`], with the environment, the user and the file system handed in.
fn resolve_runtime_dir(
    setting: Option<&Path>,
    var: impl Fn(&str) -> Option<PathBuf>,
    uid: u32,
    is_dir: impl Fn(&Path) -> bool,
) -> PathBuf {
    if let Some(dir) = setting {
        return dir.to_path_buf();
    }
    // systemd's RuntimeDirectory= names the directory itself; made for us, owned by us.
    if let Some(dir) = var("RUNTIME_DIRECTORY").filter(|d| d.is_absolute()) {
        return dir;
    }
    if let Some(dir) = var("XDG_RUNTIME_DIR").filter(|d| d.is_absolute()) {
        return dir.join("vimeo-monitor");
    }
    let user_dir = PathBuf::from(format!("/run/user/{uid}"));
    if is_dir(&user_dir) {
        return user_dir.join("vimeo-monitor");
    }
    std::env::temp_dir().join(format!("vimeo-monitor-{uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<PathBuf> {
        let pairs: Vec<(String, PathBuf)> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), PathBuf::from(v))).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_runtime_dir_setting_wins() {
        let dir = resolve_runtime_dir(
            Some(Path::new("/srv/kiosk")),
            vars(&[("XDG_RUNTIME_DIR", "/run/user/1000")]),
            1000,
            |_| true,
        );
        assert_eq!(dir, PathBuf::from("/srv/kiosk"));
    }

    #[test]
    fn then_systemd_then_xdg_then_run_user_then_temp() {
        let systemd =
            vars(&[("RUNTIME_DIRECTORY", "/run/vimeo-monitor"), ("XDG_RUNTIME_DIR", "/x")]);
        assert_eq!(
            resolve_runtime_dir(None, systemd, 1000, |_| true),
            PathBuf::from("/run/vimeo-monitor")
        );
        let xdg = vars(&[("XDG_RUNTIME_DIR", "/run/user/1000")]);
        assert_eq!(
            resolve_runtime_dir(None, xdg, 1000, |_| false),
            PathBuf::from("/run/user/1000/vimeo-monitor")
        );
        let run_user = |p: &Path| p == Path::new("/run/user/1000");
        assert_eq!(
            resolve_runtime_dir(None, vars(&[]), 1000, run_user),
            PathBuf::from("/run/user/1000/vimeo-monitor")
        );
        assert_eq!(
            resolve_runtime_dir(None, vars(&[("XDG_RUNTIME_DIR", "relative")]), 1000, |_| false),
            std::env::temp_dir().join("vimeo-monitor-1000")
        );
    }

    #[test]
    fn player_kinds_name_their_program() {
        assert_eq!(PlayerKind::Mpv.to_string(), "mpv");
        assert_eq!(LogFormat::Json.to_string(), "json");
    }
}
