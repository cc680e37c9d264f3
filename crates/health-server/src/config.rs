//! The exporter's `HEALTH_*` configuration.
//!
//! Layers, lowest first: built-in defaults < TOML file (`--config FILE` or `$HEALTH_CONFIG`) <
//! `.env` in the working directory < process environment. [`HealthConfig::load`] reads them from
//! a [`ConfigSources`], so tests hand in their own environment instead of touching the process's.
//! Every problem is reported at once ([`ConfigErrors`]), each naming the variable or TOML key
//! the user wrote, the value given and what is allowed; the bearer token never appears in any
//! message.
//!
//! The settings themselves are one table ([`settings()`]): loading, `--check-config`,
//! `.env.sample` and `docs/configuration.md` all follow it.
//!
//! Reading and merging the layers, the problem types and the common parsers are the
//! `config-layers` crate's, shared with the kiosk; this module is the exporter's table, its own
//! kinds of value and the rules between its settings.
//!
//! This module does not watch files or decide what a setting does: reloading is the binary's
//! (SIGHUP), and `HEALTH_MONITORING_ENABLED` is read here but only the kiosk acts on it.

mod keys;
mod load;
mod parse;
mod secret;
mod sources;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

pub use config_layers::{ConfigErrors, ConfigProblem, Origin, Subject};
pub use keys::{CONFIG_FILE_VAR, Setting, settings};
pub use load::Loaded;
pub use secret::{Secret, SecretFile, SignedUrl};
pub use sources::ConfigSources;

impl HealthConfig {
    /// Where state that outlives a restart goes: `HEALTH_STATE_DIR`, else `$STATE_DIRECTORY`
    /// (systemd's `StateDirectory=`), else `/var/lib/vimeo-monitor` for root, else
    /// `$XDG_STATE_HOME/vimeo-monitor` or `$HOME/.local/state/vimeo-monitor`.
    pub fn state_dir(&self) -> PathBuf {
        if let Some(dir) = &self.state_dir {
            return dir.clone();
        }
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(dir) = var("STATE_DIRECTORY") {
            return dir;
        }
        if nix::unistd::geteuid().is_root() {
            return PathBuf::from("/var/lib/vimeo-monitor");
        }
        var("XDG_STATE_HOME")
            .or_else(|| var("HOME").map(|home| home.join(".local/state")))
            .unwrap_or_else(std::env::temp_dir)
            .join("vimeo-monitor")
    }
}

/// Cloudflare's speed-test endpoint: it serves exactly the requested number of bytes from a
/// data centre near most venues, needs no key, and is what speed.cloudflare.com itself uses.
pub const DEFAULT_SPEEDTEST_URL: &str = "https://speed.cloudflare.com/__down?bytes={bytes}";

/// One hour of a kiosk's series at the default 15 s interval: 240 collections of about 160
/// series (a real kiosk's scrape) are 38,400 samples; a queued sample costs about 200 bytes (its
/// series' labels are kept with it, as the request will carry them), so 38,400 × 200 ≈ 7.7 MB,
/// rounded up to 8 MB per receiver.
pub const DEFAULT_REMOTE_WRITE_QUEUE_BYTES: u64 = 8_000_000;

/// The exporter's settings, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthConfig {
    /// Whether the kiosk runs its health monitoring (`HEALTH_MONITORING_ENABLED`). The
    /// standalone `health-server` serves regardless: starting it is the decision.
    pub monitoring_enabled: bool,
    /// Where and how `/metrics` is served (`HEALTH_METRICS_*`).
    pub metrics: MetricsConfig,
    /// Where state that outlives a restart is kept (`HEALTH_STATE_DIR`); `None`: `$STATE_DIRECTORY`
    /// (systemd's `StateDirectory=`), else `/var/lib/vimeo-monitor` for root, else
    /// `$XDG_STATE_HOME/vimeo-monitor` or `~/.local/state/vimeo-monitor`.
    pub state_dir: Option<PathBuf>,
    /// The hardware collector (`HEALTH_HARDWARE_*`).
    pub hardware: HardwareConfig,
    /// The network collector (`HEALTH_NETWORK_*`).
    pub network: NetworkConfig,
    /// The stream collectors (`HEALTH_STREAM_*`).
    pub stream: StreamConfig,
    /// The script collector (`HEALTH_SCRIPT_*`).
    pub script: ScriptConfig,
    /// The kiosk's watch on the picture itself (`HEALTH_SCREEN_*`).
    pub screen: ScreenConfig,
    /// Push mode (`HEALTH_PUSHGATEWAY_URL`, `HEALTH_PUSH_*`).
    pub push: PushConfig,
    /// Prometheus remote-write (`HEALTH_REMOTE_WRITE_*`).
    pub remote_write: RemoteWriteConfig,
}

/// Where and how `/metrics` is served.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// Address to listen on (`HEALTH_METRICS_HOST`).
    pub host: IpAddr,
    /// Port to listen on (`HEALTH_METRICS_PORT`).
    pub port: u16,
    /// Token required on `/metrics` and `/status`; `None` leaves them open
    /// (`HEALTH_METRICS_BEARER_TOKEN`).
    pub bearer_token: Option<Secret>,
}

/// The hardware collector.
#[derive(Debug, Clone, PartialEq)]
pub struct HardwareConfig {
    /// Whether it runs (`HEALTH_HARDWARE_ENABLED`).
    pub enabled: bool,
    /// Time between runs (`HEALTH_HARDWARE_INTERVAL`).
    pub interval: Duration,
    /// Only these mount points; empty means every real filesystem
    /// (`HEALTH_HARDWARE_DISK_MOUNTPOINTS`).
    pub disk_mountpoints: Vec<PathBuf>,
    /// Where `vcgencmd` is, or whether to run it (`HEALTH_HARDWARE_VCGENCMD`).
    pub vcgencmd: VcgencmdSetting,
    /// Where `cec-ctl` is, or whether to ask the TV for its power state (`HEALTH_HARDWARE_CEC`).
    pub cec: CecSetting,
    /// What stands for `/sys` (`HEALTH_HARDWARE_SYSFS_ROOT`): a fixture tree in tests.
    pub sysfs_root: PathBuf,
    /// What stands for `/proc` (`HEALTH_HARDWARE_PROCFS_ROOT`).
    pub procfs_root: PathBuf,
}

/// How the hardware collector finds a helper program it may run: `auto`, `off` or a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolSetting {
    /// `auto`: where the distribution installs it, when it is there (each setting says where).
    Auto,
    /// `off`: never run it.
    Off,
    /// An absolute path.
    Path(PathBuf),
}

/// How the hardware collector finds the Pi firmware's `vcgencmd`: `auto` tries
/// `/usr/bin/vcgencmd`, then `/opt/vc/bin/vcgencmd`.
pub type VcgencmdSetting = ToolSetting;

/// How the hardware collector asks the TV for its power state: `auto` runs `/usr/bin/cec-ctl`
/// when it and `/dev/cec0` exist.
pub type CecSetting = ToolSetting;

impl std::fmt::Display for ToolSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Off => f.write_str("off"),
            Self::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The network collector.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// Whether it runs (`HEALTH_NETWORK_ENABLED`).
    pub enabled: bool,
    /// Time between runs (`HEALTH_NETWORK_INTERVAL`).
    pub interval: Duration,
    /// Hosts to ping: IP addresses or DNS names (`HEALTH_NETWORK_PING_HOSTS`).
    pub ping_hosts: Vec<String>,
    /// Whether it measures throughput too (`HEALTH_NETWORK_SPEEDTEST_ENABLED`).
    pub speedtest_enabled: bool,
    /// Time between speed tests (`HEALTH_NETWORK_SPEEDTEST_INTERVAL`).
    pub speedtest_interval: Duration,
    /// Whether a due speed test may run while the kiosk shows the stream
    /// (`HEALTH_NETWORK_SPEEDTEST_DURING_PLAYBACK`); `false` postpones it until the stream is not
    /// on screen. Without a kiosk (standalone `health-server`) nothing is known to be on screen.
    pub speedtest_during_playback: bool,
    /// Echo requests per host and run (`HEALTH_NETWORK_PING_COUNT`).
    pub ping_count: u32,
    /// Wait for each reply and for DNS (`HEALTH_NETWORK_PING_TIMEOUT`).
    pub ping_timeout: Duration,
    /// ICMP, TCP or ICMP-then-TCP (`HEALTH_NETWORK_PING_METHOD`).
    pub ping_method: PingMethodSetting,
    /// The port of a TCP probe (`HEALTH_NETWORK_TCP_PORT`).
    pub tcp_port: u16,
    /// What the speed test downloads; `{bytes}` is replaced by the byte limit
    /// (`HEALTH_NETWORK_SPEEDTEST_DOWNLOAD_URL`).
    pub speedtest_download_url: String,
    /// Where it uploads, if anywhere (`HEALTH_NETWORK_SPEEDTEST_UPLOAD_URL`).
    pub speedtest_upload_url: Option<String>,
    /// At most this many bytes each way (`HEALTH_NETWORK_SPEEDTEST_MAX_BYTES`).
    pub speedtest_max_bytes: u64,
    /// A whole speed test gives up after this (`HEALTH_NETWORK_SPEEDTEST_TIMEOUT`).
    pub speedtest_timeout: Duration,
    /// What stands for `/sys` for interface statistics (`HEALTH_NETWORK_SYSFS_ROOT`).
    pub sysfs_root: PathBuf,
    /// What stands for `/proc` for `net/wireless` (`HEALTH_NETWORK_PROCFS_ROOT`).
    pub procfs_root: PathBuf,
}

/// How the network collector probes a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingMethodSetting {
    /// `icmp`: echo requests (datagram socket, else raw).
    Icmp,
    /// `tcp`: a TCP connection to `HEALTH_NETWORK_TCP_PORT`.
    Tcp,
    /// `auto`: ICMP, and TCP when ICMP is not permitted.
    Auto,
}

impl std::fmt::Display for PingMethodSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Icmp => "icmp",
            Self::Tcp => "tcp",
            Self::Auto => "auto",
        })
    }
}

/// The stream collectors.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// Whether they run (`HEALTH_STREAM_ENABLED`).
    pub enabled: bool,
    /// Time between runs (`HEALTH_STREAM_INTERVAL`).
    pub interval: Duration,
    /// How long one `ffprobe` may take (`HEALTH_STREAM_FFPROBE_TIMEOUT`).
    pub ffprobe_timeout: Duration,
    /// The playlist to watch without a kiosk (`HEALTH_STREAM_URL`); signed, never shown whole.
    pub url: Option<SignedUrl>,
    /// Time between playlist fetches (`HEALTH_STREAM_PLAYLIST_INTERVAL`).
    pub playlist_interval: Duration,
    /// Target durations without a new segment that make a stall (`HEALTH_STREAM_STALL_FACTOR`).
    pub stall_factor: f64,
    /// Which variant of a master playlist to watch (`HEALTH_STREAM_VARIANT`).
    pub variant: VariantSetting,
    /// The ffprobe program (`HEALTH_STREAM_FFPROBE_PATH`).
    pub ffprobe_path: PathBuf,
    /// Measure the segment download ratio (`HEALTH_STREAM_SEGMENT_DOWNLOAD_ENABLED`).
    pub segment_download_enabled: bool,
}

/// The script collector: the kiosk's own health.
///
/// Inside the kiosk it publishes what the kiosk records and only `interval` applies. On its own,
/// `health-server` watches another kiosk script when any of `pidfile`, `process_name` or
/// `status_file` is set; with none set there is nothing to watch and the collector does not run.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptConfig {
    /// The kiosk script's pidfile (`HEALTH_SCRIPT_PIDFILE`).
    pub pidfile: Option<PathBuf>,
    /// The kiosk script's name, as `comm`, `argv[0]` or the script file
    /// (`HEALTH_SCRIPT_PROCESS_NAME`).
    pub process_name: Option<String>,
    /// The JSON status file the kiosk script writes (`HEALTH_SCRIPT_STATUS_FILE`).
    pub status_file: Option<PathBuf>,
    /// Time between runs (`HEALTH_SCRIPT_INTERVAL`).
    pub interval: Duration,
    /// What stands for `/proc` when looking for the script's process
    /// (`HEALTH_SCRIPT_PROCFS_ROOT`).
    pub procfs_root: PathBuf,
}

/// The kiosk's watch on the picture: a small screenshot from the player now and then, for the
/// black and frozen screen figures and the status page's thumbnail. Only the kiosk takes
/// screenshots (it is the player); a standalone `health-server` ignores these settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenConfig {
    /// Time between screenshots while something is shown (`HEALTH_SCREEN_INTERVAL`).
    pub interval: Duration,
    /// Whether `/screen.jpg` and the status page serve the latest thumbnail
    /// (`HEALTH_SCREEN_THUMBNAIL`); the figures are published either way.
    pub thumbnail: bool,
}

/// Push mode: a Pushgateway to `PUT` the exposition to, for kiosks Prometheus cannot reach.
#[derive(Debug, Clone, PartialEq)]
pub struct PushConfig {
    /// The Pushgateway (`HEALTH_PUSHGATEWAY_URL`); unset: no pushing. May carry credentials,
    /// so it is shown redacted.
    pub gateway_url: Option<SignedUrl>,
    /// Time between pushes (`HEALTH_PUSH_INTERVAL`).
    pub interval: Duration,
    /// The group's `job` label (`HEALTH_PUSH_JOB`).
    pub job: Option<String>,
    /// The group's `instance` label (`HEALTH_PUSH_INSTANCE`); unset: the host name.
    pub instance: Option<String>,
}

/// Prometheus remote-write: every `interval`, what `/metrics` serves is sent to each receiver
/// (Remote-Write 1.0), queued while a receiver is away.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteWriteConfig {
    /// The receivers, a primary and maybe a backup (`HEALTH_REMOTE_WRITE_URL`); empty: off.
    /// Never with credentials (those are the auth settings); shown without the query string.
    pub urls: Vec<SignedUrl>,
    /// Time between collections sent (`HEALTH_REMOTE_WRITE_INTERVAL`).
    pub interval: Duration,
    /// External labels added to every series (`HEALTH_REMOTE_WRITE_LABELS`), in the order
    /// given; `job` and `instance` here replace the defaults.
    pub labels: Vec<(String, String)>,
    /// Bearer token (`HEALTH_REMOTE_WRITE_BEARER_TOKEN`).
    pub bearer_token: Option<Secret>,
    /// The same from a file, read at every load (`HEALTH_REMOTE_WRITE_BEARER_TOKEN_FILE`).
    pub bearer_token_file: Option<SecretFile>,
    /// Basic-auth user (`HEALTH_REMOTE_WRITE_USERNAME`).
    pub username: Option<String>,
    /// Basic-auth password (`HEALTH_REMOTE_WRITE_PASSWORD`).
    pub password: Option<Secret>,
    /// The same from a file, read at every load (`HEALTH_REMOTE_WRITE_PASSWORD_FILE`).
    pub password_file: Option<SecretFile>,
    /// One request's limit, connection to answer (`HEALTH_REMOTE_WRITE_TIMEOUT`).
    pub timeout: Duration,
    /// Each receiver's queue holds at most this many bytes (`HEALTH_REMOTE_WRITE_QUEUE_MAX_BYTES`).
    pub queue_max_bytes: u64,
    /// Keep the queue in the state directory across restarts (`HEALTH_REMOTE_WRITE_PERSIST`).
    pub persist: bool,
    /// At most this many bytes on disk (`HEALTH_REMOTE_WRITE_PERSIST_MAX_BYTES`).
    pub persist_max_bytes: u64,
}

/// How remote-write requests authenticate, as the settings give it.
#[derive(Debug, Clone, PartialEq)]
pub enum RemoteWriteAuth {
    /// No `Authorization` header.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic ...`.
    Basic {
        /// The user.
        username: String,
        /// The password.
        password: Secret,
    },
}

impl RemoteWriteConfig {
    /// Whether remote-write is on: at least one URL.
    pub fn enabled(&self) -> bool {
        !self.urls.is_empty()
    }

    /// The credentials, from a variable or its file (the rules in `load.rs` allow one of each
    /// and not both kinds).
    pub fn auth(&self) -> RemoteWriteAuth {
        let token = self
            .bearer_token
            .clone()
            .or_else(|| self.bearer_token_file.as_ref().map(|f| f.contents().clone()));
        if let Some(token) = token {
            return RemoteWriteAuth::Bearer(token);
        }
        let password = self
            .password
            .clone()
            .or_else(|| self.password_file.as_ref().map(|f| f.contents().clone()));
        match (&self.username, password) {
            (Some(username), Some(password)) => {
                RemoteWriteAuth::Basic { username: username.clone(), password }
            }
            _ => RemoteWriteAuth::None,
        }
    }
}

impl ScriptConfig {
    /// The first setting that asks for the sidecar (a script watched from outside), if any.
    pub fn sidecar_setting(&self) -> Option<&'static str> {
        if self.pidfile.is_some() {
            Some("HEALTH_SCRIPT_PIDFILE")
        } else if self.process_name.is_some() {
            Some("HEALTH_SCRIPT_PROCESS_NAME")
        } else if self.status_file.is_some() {
            Some("HEALTH_SCRIPT_STATUS_FILE")
        } else {
            None
        }
    }
}

/// Which variant of an HLS master playlist the stream collectors watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariantSetting {
    /// `max`: the highest bandwidth, as mpv plays by default.
    Highest,
    /// `min`: the lowest bandwidth.
    Lowest,
    /// A number: the highest bandwidth at or below this many bits per second, else the lowest.
    AtMost(u64),
}

impl std::fmt::Display for VariantSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Highest => f.write_str("max"),
            Self::Lowest => f.write_str("min"),
            Self::AtMost(bits) => write!(f, "{bits}"),
        }
    }
}

/// The built-in defaults: the `.env.sample` and the docs show these values (a test checks).
impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            monitoring_enabled: false,
            metrics: MetricsConfig {
                host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                port: 8080,
                bearer_token: None,
            },
            hardware: HardwareConfig {
                enabled: true,
                interval: Duration::from_secs(10),
                disk_mountpoints: Vec::new(),
                vcgencmd: VcgencmdSetting::Auto,
                cec: CecSetting::Auto,
                sysfs_root: PathBuf::from("/sys"),
                procfs_root: PathBuf::from("/proc"),
            },
            network: NetworkConfig {
                enabled: true,
                interval: Duration::from_secs(30),
                ping_hosts: ["8.8.8.8", "1.1.1.1", "vimeo.com"].map(String::from).to_vec(),
                speedtest_enabled: true,
                // At most 10 MB once an hour, and never while the stream is on screen: at most
                // 240 MB a day down (docs/configuration.md), never competing with the picture.
                speedtest_interval: Duration::from_secs(3600),
                speedtest_during_playback: false,
                ping_count: 3,
                ping_timeout: Duration::from_secs(1),
                ping_method: PingMethodSetting::Icmp,
                tcp_port: 443,
                speedtest_download_url: DEFAULT_SPEEDTEST_URL.to_owned(),
                speedtest_upload_url: None,
                speedtest_max_bytes: 10_000_000,
                speedtest_timeout: Duration::from_secs(30),
                sysfs_root: PathBuf::from("/sys"),
                procfs_root: PathBuf::from("/proc"),
            },
            state_dir: None,
            stream: StreamConfig {
                enabled: true,
                interval: Duration::from_secs(60),
                ffprobe_timeout: Duration::from_secs(15),
                url: None,
                playlist_interval: Duration::from_secs(2),
                stall_factor: 3.0,
                variant: VariantSetting::Highest,
                ffprobe_path: PathBuf::from("ffprobe"),
                segment_download_enabled: true,
            },
            script: ScriptConfig {
                pidfile: None,
                process_name: None,
                status_file: None,
                // The kiosk checks every 10 s (CHECK_INTERVAL); reading its record or a few /proc
                // files costs next to nothing, so every 5 s keeps `script_healthy` at most one
                // interval behind at a 15 s scrape, and sees a restart loop as it happens.
                interval: Duration::from_secs(5),
                procfs_root: PathBuf::from("/proc"),
            },
            screen: ScreenConfig {
                // One 160-pixel-wide JPEG every 10 s: black is known within 40 s, a frozen picture
                // within 20 s, for well under 0.5 % of one Pi core (docs/benchmarks.md).
                interval: Duration::from_secs(10),
                thumbnail: true,
            },
            push: PushConfig {
                gateway_url: None,
                interval: Duration::from_secs(15),
                job: Some("vimeo-monitor".to_owned()),
                instance: None,
            },
            remote_write: RemoteWriteConfig {
                urls: Vec::new(),
                // A scrape's usual interval, so dashboards' `rate(...[1m])` see four samples.
                interval: Duration::from_secs(15),
                labels: Vec::new(),
                bearer_token: None,
                bearer_token_file: None,
                username: None,
                password: None,
                password_file: None,
                timeout: Duration::from_secs(10),
                queue_max_bytes: DEFAULT_REMOTE_WRITE_QUEUE_BYTES,
                // No SD-card writes unless asked.
                persist: false,
                persist_max_bytes: 16_000_000,
            },
        }
    }
}
