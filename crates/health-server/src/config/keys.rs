//! The settings table: every `HEALTH_*` setting once, with its TOML place, kind and meaning.
//!
//! Loading, `--check-config`, `.env.sample` and `docs/configuration.md` all follow this table
//! (a test keeps the two files in step with it), so adding a setting is one entry in
//! [`SETTINGS`] plus its field in [`HealthConfig`]; its default is the field's value in
//! `HealthConfig::default()`, written nowhere else. Parsing values is `parse.rs`'s job.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use config_layers::{Kind, Minimum, Origin, access};

use super::{
    HealthConfig, PingMethodSetting, Secret, SecretFile, SignedUrl, ToolSetting, VariantSetting,
};

/// The variable naming the TOML file; known, but not a setting of its own.
pub const CONFIG_FILE_VAR: &str = "HEALTH_CONFIG";

/// The prefix of every variable this crate reads.
pub(crate) const PREFIX: &str = "HEALTH_";

/// Reads and writes one field of [`HealthConfig`].
pub(crate) type Access<T> = config_layers::Access<HealthConfig, T>;

/// A setting's kind (how its text is parsed) and the field it fills.
pub(crate) enum Field {
    Bool(Access<bool>),
    Port(Access<u16>),
    Ip(Access<IpAddr>),
    Seconds(Access<Duration>, Minimum),
    Hosts(Access<Vec<String>>),
    Secret(Access<Option<Secret>>),
    Path(Access<PathBuf>),
    /// Comma-separated absolute paths; empty means "no restriction".
    Paths(Access<Vec<PathBuf>>),
    /// `auto`, `off` or an absolute path to a helper program.
    Tool(Access<ToolSetting>),
    /// A whole number within these bounds.
    Count(Access<u32>, u32, u32),
    /// A number of bytes, at least this many.
    Bytes(Access<u64>, u64),
    /// An `http://` or `https://` URL.
    Url(Access<String>),
    /// The same, or unset.
    OptionalUrl(Access<Option<String>>),
    /// An absolute path, or unset for an automatic choice.
    OptionalPath(Access<Option<PathBuf>>),
    PingMethod(Access<PingMethodSetting>),
    /// An `http://` or `https://` URL whose query string is a secret (a signed playback URL):
    /// shown without it everywhere. Unset is allowed.
    SignedUrl(Access<Option<SignedUrl>>),
    /// A number, at least this much.
    Factor(Access<f64>, f64),
    /// Which variant of an HLS master playlist to watch.
    Variant(Access<VariantSetting>),
    /// A program: a bare name looked up on `PATH`, or an absolute path.
    Program(Access<PathBuf>),
    /// The file name of a program or script, without a directory (a process to look for), or
    /// unset.
    ProcessName(Access<Option<String>>),
    /// A Pushgateway grouping label value (`job`, `instance`), or unset.
    LabelValue(Access<Option<String>>),
    /// Comma-separated `http://` or `https://` URLs without credentials, shown without their
    /// query strings; empty means none.
    Urls(Access<Vec<SignedUrl>>),
    /// Comma-separated `name=value` Prometheus labels.
    Labels(Access<Vec<(String, String)>>),
    /// A user name for basic authentication, or unset.
    Username(Access<Option<String>>),
    /// A password: never shown; or unset.
    Password(Access<Option<Secret>>),
    /// A file holding a secret, read at load: a token when `true`, else a password.
    SecretFile(Access<Option<SecretFile>>, bool),
}

/// One configuration setting: `HEALTH_<SECTION>_<NAME>` in the environment, `[section] name`
/// in TOML.
pub struct Setting {
    section: &'static str,
    name: &'static str,
    meaning: &'static str,
    pub(crate) field: Field,
}

/// Every setting, in the order `--check-config`, `.env.sample` and the docs list them.
static SETTINGS: [Setting; 60] = [
    Setting {
        section: "monitoring",
        name: "enabled",
        meaning: "Turn the kiosk's health monitoring on; the standalone health-server always serves.",
        field: Field::Bool(access!(monitoring_enabled)),
    },
    Setting {
        section: "metrics",
        name: "host",
        meaning: "Address the /metrics endpoint listens on (0.0.0.0 = every IPv4 interface).",
        field: Field::Ip(access!(metrics.host)),
    },
    Setting {
        section: "metrics",
        name: "port",
        meaning: "Port the /metrics endpoint listens on (1-65535).",
        field: Field::Port(access!(metrics.port)),
    },
    Setting {
        section: "metrics",
        name: "bearer_token",
        meaning: "Token clients must send as `Authorization: Bearer ...` for /metrics and /status; unset leaves them open.",
        field: Field::Secret(access!(metrics.bearer_token)),
    },
    Setting {
        section: "hardware",
        name: "enabled",
        meaning: "Run the hardware collector (CPU, memory, disks, temperatures, throttling).",
        field: Field::Bool(access!(hardware.enabled)),
    },
    Setting {
        section: "hardware",
        name: "interval",
        meaning: "Seconds between hardware collections.",
        field: Field::Seconds(access!(hardware.interval), Minimum::AtLeast(1)),
    },
    Setting {
        section: "hardware",
        name: "disk_mountpoints",
        meaning: "Only report these mount points, comma-separated; unset reports every real filesystem.",
        field: Field::Paths(access!(hardware.disk_mountpoints)),
    },
    Setting {
        section: "hardware",
        name: "vcgencmd",
        meaning: "Raspberry Pi `vcgencmd` for throttling: auto (/usr/bin, then /opt/vc/bin), off, or a path.",
        field: Field::Tool(access!(hardware.vcgencmd)),
    },
    Setting {
        section: "hardware",
        name: "cec",
        meaning: "Ask the TV over HDMI-CEC whether it is on (`cec-ctl`, one CEC message per hardware run): auto (/usr/bin/cec-ctl when /dev/cec0 exists), off, or a path.",
        field: Field::Tool(access!(hardware.cec)),
    },
    Setting {
        section: "hardware",
        name: "sysfs_root",
        meaning: "What stands for /sys when reading temperatures and Pi firmware files (tests use fixture trees).",
        field: Field::Path(access!(hardware.sysfs_root)),
    },
    Setting {
        section: "hardware",
        name: "procfs_root",
        meaning: "What stands for /proc when reading the device-tree model and boot id (tests use fixture trees).",
        field: Field::Path(access!(hardware.procfs_root)),
    },
    Setting {
        section: "network",
        name: "enabled",
        meaning: "Run the network collector (ping, and the speed test below).",
        field: Field::Bool(access!(network.enabled)),
    },
    Setting {
        section: "network",
        name: "interval",
        meaning: "Seconds between network collections.",
        field: Field::Seconds(access!(network.interval), Minimum::AtLeast(1)),
    },
    Setting {
        section: "network",
        name: "ping_hosts",
        meaning: "Hosts to ping, comma-separated; at least one while the network collector is on.",
        field: Field::Hosts(access!(network.ping_hosts)),
    },
    Setting {
        section: "network",
        name: "speedtest_enabled",
        meaning: "Measure download/upload throughput as part of the network collector.",
        field: Field::Bool(access!(network.speedtest_enabled)),
    },
    Setting {
        section: "network",
        name: "speedtest_interval",
        meaning: "Seconds between speed tests (at least 60: each test uses real bandwidth; at the defaults at most 240 MB a day down).",
        field: Field::Seconds(access!(network.speedtest_interval), Minimum::AtLeast(60)),
    },
    Setting {
        section: "network",
        name: "speedtest_during_playback",
        meaning: "Let a due speed test run while the kiosk shows the stream; false postpones it until the stream is off screen, so it never competes with the picture.",
        field: Field::Bool(access!(network.speedtest_during_playback)),
    },
    Setting {
        section: "network",
        name: "speedtest_download_url",
        meaning: "What the speed test downloads (http or https); `{bytes}` is replaced by HEALTH_NETWORK_SPEEDTEST_MAX_BYTES.",
        field: Field::Url(access!(network.speedtest_download_url)),
    },
    Setting {
        section: "network",
        name: "speedtest_upload_url",
        meaning: "Where the speed test uploads (http or https, POST); unset measures download only.",
        field: Field::OptionalUrl(access!(network.speedtest_upload_url)),
    },
    Setting {
        section: "network",
        name: "speedtest_max_bytes",
        meaning: "At most this many bytes each way per speed test (at least 100000).",
        field: Field::Bytes(access!(network.speedtest_max_bytes), 100_000),
    },
    Setting {
        section: "network",
        name: "speedtest_timeout",
        meaning: "Seconds a whole speed test may take; must be shorter than HEALTH_NETWORK_SPEEDTEST_INTERVAL.",
        field: Field::Seconds(access!(network.speedtest_timeout), Minimum::AtLeast(1)),
    },
    Setting {
        section: "network",
        name: "ping_count",
        meaning: "Echo requests per host and run (1-100).",
        field: Field::Count(access!(network.ping_count), 1, 100),
    },
    Setting {
        section: "network",
        name: "ping_timeout",
        meaning: "Seconds to wait for each reply, and for a DNS answer; count × timeout must be shorter than HEALTH_NETWORK_INTERVAL.",
        field: Field::Seconds(access!(network.ping_timeout), Minimum::AboveZero),
    },
    Setting {
        section: "network",
        name: "ping_method",
        meaning: "icmp (echo requests), tcp (connect to HEALTH_NETWORK_TCP_PORT, for networks that drop ICMP) or auto (icmp, tcp when ICMP is not permitted).",
        field: Field::PingMethod(access!(network.ping_method)),
    },
    Setting {
        section: "network",
        name: "tcp_port",
        meaning: "Port a TCP probe connects to (1-65535).",
        field: Field::Port(access!(network.tcp_port)),
    },
    Setting {
        section: "network",
        name: "sysfs_root",
        meaning: "What stands for /sys when reading interface statistics (tests use fixture trees).",
        field: Field::Path(access!(network.sysfs_root)),
    },
    Setting {
        section: "network",
        name: "procfs_root",
        meaning: "What stands for /proc when reading net/wireless (tests use fixture trees).",
        field: Field::Path(access!(network.procfs_root)),
    },
    Setting {
        section: "state",
        name: "dir",
        meaning: "Where state that outlives a restart is kept (the last speed test); unset: $STATE_DIRECTORY, else /var/lib/vimeo-monitor as root, else ~/.local/state/vimeo-monitor.",
        field: Field::OptionalPath(access!(state_dir)),
    },
    Setting {
        section: "stream",
        name: "enabled",
        meaning: "Run the stream collectors (ffprobe analysis and live playlist health of the stream being played).",
        field: Field::Bool(access!(stream.enabled)),
    },
    Setting {
        section: "stream",
        name: "interval",
        meaning: "Seconds between stream probes.",
        field: Field::Seconds(access!(stream.interval), Minimum::AtLeast(1)),
    },
    Setting {
        section: "stream",
        name: "ffprobe_timeout",
        meaning: "Seconds one ffprobe run may take; must be shorter than HEALTH_STREAM_INTERVAL.",
        field: Field::Seconds(access!(stream.ffprobe_timeout), Minimum::AboveZero),
    },
    Setting {
        section: "stream",
        name: "url",
        meaning: "HLS playlist to watch when health-server runs beside another player; the kiosk hands over its own URL instead. Shown without its query string.",
        field: Field::SignedUrl(access!(stream.url)),
    },
    Setting {
        section: "stream",
        name: "playlist_interval",
        meaning: "Seconds between fetches of the live playlist (stall detection and segment download ratio).",
        field: Field::Seconds(access!(stream.playlist_interval), Minimum::AtLeast(1)),
    },
    Setting {
        section: "stream",
        name: "stall_factor",
        meaning: "The stream is stalled when its playlist gains no segment for this many target durations (RFC 8216 allows 1.5).",
        field: Field::Factor(access!(stream.stall_factor), 1.5),
    },
    Setting {
        section: "stream",
        name: "variant",
        meaning: "Which variant of a master playlist to watch, as mpv's --hls-bitrate picks: max, min, or the highest at or below this many bits per second.",
        field: Field::Variant(access!(stream.variant)),
    },
    Setting {
        section: "stream",
        name: "ffprobe_path",
        meaning: "The ffprobe program (Debian package ffmpeg): a name looked up on PATH or an absolute path.",
        field: Field::Program(access!(stream.ffprobe_path)),
    },
    Setting {
        section: "stream",
        name: "segment_download_enabled",
        meaning: "Download each newer segment of the watched variant once to measure the download ratio (costs what a second viewer costs).",
        field: Field::Bool(access!(stream.segment_download_enabled)),
    },
    Setting {
        section: "script",
        name: "pidfile",
        meaning: "Watch the kiosk script whose PID this file holds (health-server beside another kiosk script); unset: not by pidfile.",
        field: Field::OptionalPath(access!(script.pidfile)),
    },
    Setting {
        section: "script",
        name: "process_name",
        meaning: "Watch the oldest process with this name: its comm, the file name of its argv[0], or of the script it runs (vimeo_monitor.py for `python3 /opt/kiosk/vimeo_monitor.py`).",
        field: Field::ProcessName(access!(script.process_name)),
    },
    Setting {
        section: "script",
        name: "status_file",
        meaning: "The JSON status file the kiosk script writes (docs/script-status-file.md), mapped onto the same metrics as the kiosk's own.",
        field: Field::OptionalPath(access!(script.status_file)),
    },
    Setting {
        section: "script",
        name: "interval",
        meaning: "Seconds between script collections (the kiosk's own record, or the watched script).",
        field: Field::Seconds(access!(script.interval), Minimum::AtLeast(1)),
    },
    Setting {
        section: "script",
        name: "procfs_root",
        meaning: "What stands for /proc when looking for the kiosk script's process (tests use fixture trees).",
        field: Field::Path(access!(script.procfs_root)),
    },
    Setting {
        section: "screen",
        name: "interval",
        meaning: "Seconds between the kiosk's screenshots of what it shows (black and frozen screen figures, the status page's thumbnail).",
        field: Field::Seconds(access!(screen.interval), Minimum::AtLeast(1)),
    },
    Setting {
        section: "screen",
        name: "thumbnail",
        meaning: "Serve the latest screenshot as /screen.jpg and on the status page; false keeps the figures and hides the picture.",
        field: Field::Bool(access!(screen.thumbnail)),
    },
    Setting {
        section: "pushgateway",
        name: "url",
        meaning: "Push the metrics to this Prometheus Pushgateway (for kiosks Prometheus cannot scrape); unset: no pushing.",
        field: Field::SignedUrl(access!(push.gateway_url)),
    },
    Setting {
        section: "push",
        name: "interval",
        meaning: "Seconds between pushes.",
        field: Field::Seconds(access!(push.interval), Minimum::AtLeast(1)),
    },
    Setting {
        section: "push",
        name: "job",
        meaning: "The job label of the pushed group.",
        field: Field::LabelValue(access!(push.job)),
    },
    Setting {
        section: "push",
        name: "instance",
        meaning: "The instance label of the pushed group; unset: this machine's host name.",
        field: Field::LabelValue(access!(push.instance)),
    },
    Setting {
        section: "remote_write",
        name: "url",
        meaning: "Send the metrics with Prometheus remote-write (1.0) to these receivers, comma-separated (a primary and a backup each get everything); unset: no remote-write.",
        field: Field::Urls(access!(remote_write.urls)),
    },
    Setting {
        section: "remote_write",
        name: "interval",
        meaning: "Seconds between collections sent, each stamped with its time (as a scrape interval).",
        field: Field::Seconds(access!(remote_write.interval), Minimum::AtLeast(1)),
    },
    Setting {
        section: "remote_write",
        name: "labels",
        meaning: "External labels added to every series, comma-separated name=value; job (default vimeo-monitor) and instance (default the host name) may be replaced here.",
        field: Field::Labels(access!(remote_write.labels)),
    },
    Setting {
        section: "remote_write",
        name: "bearer_token",
        meaning: "Token sent as `Authorization: Bearer ...` to the receivers; not with basic authentication.",
        field: Field::Secret(access!(remote_write.bearer_token)),
    },
    Setting {
        section: "remote_write",
        name: "bearer_token_file",
        meaning: "File holding the bearer token (read at start and at every reload), instead of HEALTH_REMOTE_WRITE_BEARER_TOKEN.",
        field: Field::SecretFile(access!(remote_write.bearer_token_file), true),
    },
    Setting {
        section: "remote_write",
        name: "username",
        meaning: "User for basic authentication to the receivers, with a password.",
        field: Field::Username(access!(remote_write.username)),
    },
    Setting {
        section: "remote_write",
        name: "password",
        meaning: "Password for basic authentication to the receivers.",
        field: Field::Password(access!(remote_write.password)),
    },
    Setting {
        section: "remote_write",
        name: "password_file",
        meaning: "File holding the basic-authentication password (read at start and at every reload), instead of HEALTH_REMOTE_WRITE_PASSWORD.",
        field: Field::SecretFile(access!(remote_write.password_file), false),
    },
    Setting {
        section: "remote_write",
        name: "timeout",
        meaning: "Seconds one request may take, connection to answer; a request that times out is retried.",
        field: Field::Seconds(access!(remote_write.timeout), Minimum::AboveZero),
    },
    Setting {
        section: "remote_write",
        name: "queue_max_bytes",
        meaning: "Each receiver's queue of unsent samples holds at most this many bytes in memory, the oldest dropped first (the default holds an hour of a kiosk's samples at a 15 s interval).",
        field: Field::Bytes(access!(remote_write.queue_max_bytes), 100_000),
    },
    Setting {
        section: "remote_write",
        name: "persist",
        meaning: "Keep the unsent queue in HEALTH_STATE_DIR across restarts and power cuts (writes to the SD card); false keeps it in memory only.",
        field: Field::Bool(access!(remote_write.persist)),
    },
    Setting {
        section: "remote_write",
        name: "persist_max_bytes",
        meaning: "At most this many bytes of kept queue on disk, the oldest dropped first.",
        field: Field::Bytes(access!(remote_write.persist_max_bytes), 100_000),
    },
];

/// Every setting, in documentation order.
pub fn settings() -> &'static [Setting] {
    &SETTINGS
}

/// The setting an environment variable names, if any.
pub(crate) fn by_env_name(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.env_name() == name)
}

/// The setting at `section.name`, if any.
pub(crate) fn by_toml_key(section: &str, name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.section == section && s.name == name)
}

/// Whether `[section]` in TOML belongs to this crate (other sections belong to the kiosk).
pub(crate) fn is_known_section(section: &str) -> bool {
    SETTINGS.iter().any(|s| s.section == section)
}

impl Setting {
    /// The TOML section: `metrics`.
    pub fn section(&self) -> &'static str {
        self.section
    }

    /// The key within the section: `port`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The environment variable: `HEALTH_METRICS_PORT`.
    pub fn env_name(&self) -> String {
        format!("{PREFIX}{}_{}", self.section, self.name).to_ascii_uppercase()
    }

    /// The dotted TOML key: `metrics.port`.
    pub fn toml_key(&self) -> String {
        format!("{}.{}", self.section, self.name)
    }

    /// One line on what it does.
    pub fn meaning(&self) -> &'static str {
        self.meaning
    }

    /// Whether its value must never be shown.
    pub fn is_secret(&self) -> bool {
        matches!(self.field, Field::Secret(_) | Field::Password(_))
    }

    /// The built-in default in environment syntax; `None` when unset by default.
    pub fn default_value(&self) -> Option<String> {
        self.value_in(&HealthConfig::default())
    }

    /// The values it accepts, in a few words.
    pub fn allowed(&self) -> String {
        match &self.field {
            Field::Bool(_) => "true/false, 1/0, yes/no, on/off".to_owned(),
            Field::Port(_) => "port number 1-65535".to_owned(),
            Field::Ip(_) => "IPv4 or IPv6 address".to_owned(),
            Field::Seconds(_, minimum) => minimum.allowed(),
            Field::Hosts(_) => "comma-separated IP addresses or DNS host names".to_owned(),
            Field::Secret(_) => "non-empty token: visible ASCII, no whitespace".to_owned(),
            Field::Path(_) => "absolute path".to_owned(),
            Field::Paths(_) => "comma-separated absolute paths".to_owned(),
            Field::Tool(_) => "auto, off or an absolute path".to_owned(),
            Field::Count(_, min, max) => format!("whole number {min}-{max}"),
            Field::Bytes(_, min) => format!("bytes >= {min}"),
            Field::Url(_) | Field::OptionalUrl(_) => "http:// or https:// URL".to_owned(),
            Field::OptionalPath(_) => "absolute path".to_owned(),
            Field::PingMethod(_) => "icmp, tcp or auto".to_owned(),
            Field::SignedUrl(_) => {
                "http:// or https:// URL (its query string is never shown)".to_owned()
            }
            Field::Factor(_, min) => format!("number >= {min}"),
            Field::Variant(_) => "max, min, or bits per second".to_owned(),
            Field::Program(_) => "program name on PATH or absolute path".to_owned(),
            Field::ProcessName(_) => {
                "file name of a program or script, without a directory".to_owned()
            }
            Field::LabelValue(_) => "letters, digits, and . _ - : (at most 128)".to_owned(),
            Field::Urls(_) => {
                "comma-separated http:// or https:// URLs, without credentials".to_owned()
            }
            Field::Labels(_) => "comma-separated name=value".to_owned(),
            Field::Username(_) => "user name without `:`".to_owned(),
            Field::Password(_) => "non-empty password".to_owned(),
            Field::SecretFile(..) => "absolute path of a readable file".to_owned(),
        }
    }

    /// Its key as a user of `origin` writes it: `metrics.port` in TOML, `HEALTH_METRICS_PORT`
    /// elsewhere.
    pub(crate) fn key_in(&self, origin: &Origin) -> String {
        origin.key(&self.env_name(), &self.toml_key())
    }

    /// Whether its value is shown without the query string (a signed URL).
    pub(crate) fn is_signed_url(&self) -> bool {
        matches!(self.field, Field::SignedUrl(_) | Field::Urls(_))
    }

    /// The kinds of TOML value it takes, the one to name in a message first.
    pub(crate) fn kinds(&self) -> &'static [Kind] {
        use Kind::{Array, Boolean, Number, String};
        match &self.field {
            Field::Bool(_) => &[Boolean, Number, String],
            Field::Port(_)
            | Field::Seconds(..)
            | Field::Count(..)
            | Field::Bytes(..)
            | Field::Factor(..) => &[Number, String],
            Field::Variant(_) => &[String, Number],
            Field::Hosts(_) | Field::Paths(_) | Field::Urls(_) | Field::Labels(_) => {
                &[Array, String]
            }
            Field::Ip(_)
            | Field::Secret(_)
            | Field::Path(_)
            | Field::Tool(_)
            | Field::Url(_)
            | Field::OptionalUrl(_)
            | Field::OptionalPath(_)
            | Field::PingMethod(_)
            | Field::SignedUrl(_)
            | Field::Program(_)
            | Field::ProcessName(_)
            | Field::LabelValue(_)
            | Field::Username(_)
            | Field::Password(_)
            | Field::SecretFile(..) => &[String],
        }
    }

    /// The message for a value it cannot accept: `expected a port number 1-65535`.
    pub(crate) fn expected(&self) -> String {
        match &self.field {
            Field::Bool(_) => "expected true/false, 1/0, yes/no or on/off".to_owned(),
            Field::Port(_) => "expected a port number 1-65535".to_owned(),
            Field::Ip(_) => "expected an IPv4 or IPv6 address (e.g. 0.0.0.0 or ::)".to_owned(),
            Field::Seconds(_, minimum @ Minimum::AtLeast(min)) => {
                let unit = if *min == 1 { "second" } else { "seconds" };
                let examples = minimum.examples();
                format!("expected a number of seconds, at least {min} {unit} (e.g. {examples})")
            }
            Field::Seconds(_, minimum @ Minimum::AboveZero) => {
                format!("expected a number of seconds above 0 (e.g. {})", minimum.examples())
            }
            Field::Hosts(_) => "expected comma-separated IP addresses or DNS host names".to_owned(),
            Field::Secret(_) => {
                "expected a non-empty token: visible ASCII, no whitespace or control \
                                 characters (check for a space or line break picked up when \
                                 pasting it)"
                    .to_owned()
            }
            Field::Path(_) => "expected an absolute path".to_owned(),
            Field::Paths(_) => "expected comma-separated absolute paths".to_owned(),
            Field::Tool(_) => "expected auto, off or an absolute path".to_owned(),
            Field::Count(_, min, max) => format!("expected a whole number from {min} to {max}"),
            Field::Bytes(_, min) => format!("expected a whole number of bytes, at least {min}"),
            Field::Url(_) | Field::OptionalUrl(_) => {
                "expected an http:// or https:// URL with a host".to_owned()
            }
            Field::OptionalPath(_) => "expected an absolute path".to_owned(),
            Field::PingMethod(_) => "expected icmp, tcp or auto".to_owned(),
            Field::SignedUrl(_) => "expected an http:// or https:// URL with a host".to_owned(),
            Field::Factor(_, min) => format!("expected a number, at least {min} (e.g. 3)"),
            Field::Variant(_) => {
                "expected max, min, or a whole number of bits per second (e.g. 3000000)".to_owned()
            }
            Field::Program(_) => {
                "expected a program name (looked up on PATH) or an absolute path".to_owned()
            }
            Field::ProcessName(_) => "expected the file name of a program or script, without a \
                 directory or control characters, at most 255 bytes (e.g. vimeo_monitor.py)"
                .to_owned(),
            Field::LabelValue(_) => "expected letters, digits, and . _ - : only, at most 128 \
                 characters (e.g. kiosk-hall-a)"
                .to_owned(),
            Field::Urls(_) => "expected comma-separated http:// or https:// URLs with a host \
                 (e.g. http://prometheus.example:9090/api/v1/write)"
                .to_owned(),
            Field::Labels(_) => "expected comma-separated name=value pairs, each name a \
                 Prometheus label name (letters, digits and _, not starting with a digit or __) \
                 given once, each value without a comma (e.g. kiosk=hall-a,site=berlin)"
                .to_owned(),
            Field::Username(_) => "expected a user name without `:` or control characters \
                 (e.g. kiosk)"
                .to_owned(),
            Field::Password(_) => {
                "expected a non-empty password without control characters".to_owned()
            }
            Field::SecretFile(..) => "expected the absolute path of a readable file".to_owned(),
        }
    }

    /// Its value in `config`, in environment syntax; a secret shows as `<redacted>`, a signed
    /// URL without its query string, and an unset one as `None`.
    pub fn value_in(&self, config: &HealthConfig) -> Option<String> {
        Some(match &self.field {
            Field::Bool(a) => (a.get)(config).to_string(),
            Field::Port(a) => (a.get)(config).to_string(),
            Field::Ip(a) => (a.get)(config).to_string(),
            Field::Seconds(a, _) => (a.get)(config).as_secs_f64().to_string(),
            Field::Hosts(a) => (a.get)(config).join(","),
            Field::Secret(a) => (a.get)(config).as_ref()?.to_string(),
            Field::Path(a) => (a.get)(config).display().to_string(),
            Field::Paths(a) => {
                let paths = (a.get)(config);
                if paths.is_empty() {
                    return None;
                }
                paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(",")
            }
            Field::Tool(a) => (a.get)(config).to_string(),
            Field::Count(a, _, _) => (a.get)(config).to_string(),
            Field::Bytes(a, _) => (a.get)(config).to_string(),
            Field::Url(a) => (a.get)(config).clone(),
            Field::OptionalUrl(a) => (a.get)(config).clone()?,
            Field::OptionalPath(a) => (a.get)(config).as_ref()?.display().to_string(),
            Field::PingMethod(a) => (a.get)(config).to_string(),
            Field::SignedUrl(a) => (a.get)(config).as_ref()?.to_string(),
            Field::Factor(a, _) => (a.get)(config).to_string(),
            Field::Variant(a) => (a.get)(config).to_string(),
            Field::Program(a) => (a.get)(config).display().to_string(),
            Field::ProcessName(a) | Field::LabelValue(a) | Field::Username(a) => {
                (a.get)(config).clone()?
            }
            Field::Urls(a) => {
                let urls = (a.get)(config);
                if urls.is_empty() {
                    return None;
                }
                urls.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
            }
            Field::Labels(a) => {
                let labels = (a.get)(config);
                if labels.is_empty() {
                    return None;
                }
                labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
            }
            Field::Password(a) => (a.get)(config).as_ref()?.to_string(),
            Field::SecretFile(a, _) => (a.get)(config).as_ref()?.to_string(),
        })
    }
}

/// The known name closest to `given`, if one is close enough to be a likely typo (at most three
/// edits).
pub(crate) fn suggest(given: &str, known: impl IntoIterator<Item = String>) -> Option<String> {
    config_layers::suggest(given, known, |_| 3)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use config_layers::testing::{assert_docs_row, assert_sample_line, workspace_file};

    use super::*;

    #[test]
    fn names_follow_the_section_rule() {
        let port = by_toml_key("metrics", "port").expect("metrics.port");
        assert_eq!(port.env_name(), "HEALTH_METRICS_PORT");
        assert_eq!(port.toml_key(), "metrics.port");
        let hosts = by_env_name("HEALTH_NETWORK_PING_HOSTS").expect("ping hosts");
        assert_eq!(hosts.toml_key(), "network.ping_hosts");
        assert_eq!(
            by_env_name("HEALTH_MONITORING_ENABLED").map(Setting::toml_key).as_deref(),
            Some("monitoring.enabled")
        );
        assert!(by_env_name(CONFIG_FILE_VAR).is_none(), "HEALTH_CONFIG is not a setting");
    }

    #[test]
    fn every_setting_is_listed_once() {
        let names: BTreeSet<String> = settings().iter().map(Setting::env_name).collect();
        assert_eq!(names.len(), settings().len());
    }

    #[test]
    fn defaults_render_as_the_documented_values() {
        let default = |env: &str| by_env_name(env).and_then(Setting::default_value);
        assert_eq!(default("HEALTH_MONITORING_ENABLED").as_deref(), Some("false"));
        assert_eq!(default("HEALTH_METRICS_HOST").as_deref(), Some("0.0.0.0"));
        assert_eq!(default("HEALTH_HARDWARE_INTERVAL").as_deref(), Some("10"));
        assert_eq!(
            default("HEALTH_NETWORK_PING_HOSTS").as_deref(),
            Some("8.8.8.8,1.1.1.1,vimeo.com")
        );
        assert_eq!(default("HEALTH_METRICS_BEARER_TOKEN"), None);
    }

    #[test]
    fn a_set_secret_renders_redacted() {
        let mut config = HealthConfig::default();
        config.metrics.bearer_token = Some(Secret::new("abc"));
        let token = by_env_name("HEALTH_METRICS_BEARER_TOKEN").expect("token");
        assert!(token.is_secret());
        assert_eq!(token.value_in(&config).as_deref(), Some("<redacted>"));
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let known = || settings().iter().map(Setting::env_name);
        assert_eq!(suggest("HEALTH_METRICS_PROT", known()).as_deref(), Some("HEALTH_METRICS_PORT"));
        assert_eq!(
            suggest("HEALTH_STREAM_ENABLE", known()).as_deref(),
            Some("HEALTH_STREAM_ENABLED")
        );
        assert_eq!(suggest("HEALTH_KIOSK_PLAYER", known()), None);
    }

    #[test]
    fn env_sample_lists_every_setting_with_its_default_and_nothing_else() {
        let sample = workspace_file(".env.sample");
        for setting in settings() {
            let default = setting.default_value().unwrap_or_default();
            assert_sample_line(&sample, &setting.env_name(), &default);
        }
        let known: BTreeSet<String> = settings().iter().map(Setting::env_name).collect();
        for word in sample.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with(PREFIX) && !word.ends_with('_') {
                assert!(
                    known.contains(word) || word == CONFIG_FILE_VAR,
                    ".env.sample names {word}, which is not a setting"
                );
            }
        }
    }

    #[test]
    fn docs_table_lists_every_setting_with_its_toml_key_and_default() {
        let docs = workspace_file("docs/configuration.md");
        for setting in settings() {
            let default = match setting.default_value() {
                Some(value) => format!("`{value}`"),
                None => "unset".to_owned(),
            };
            assert_docs_row(&docs, &setting.env_name(), &setting.toml_key(), &default);
        }
        let known: BTreeSet<String> = settings().iter().map(Setting::env_name).collect();
        for word in docs.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with(PREFIX) && !word.ends_with('_') {
                assert!(
                    known.contains(word) || word == CONFIG_FILE_VAR,
                    "docs/configuration.md names {word}, which is not a setting"
                );
            }
        }
    }
}
