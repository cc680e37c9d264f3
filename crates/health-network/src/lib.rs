//! The network collector of vimeo-monitor (`HEALTH_NETWORK_*`): ping and DNS per host,
//! interfaces and Wi-Fi, and a rate-limited speed test. Being built (issue 4): the options below
//! are the contract its parts are written against; `health-server` does not run it yet.

use std::path::PathBuf;
use std::time::Duration;

/// The collector's name: the `collector` label of the self-metrics.
pub const NAME: &str = "network";

/// What the network collector needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkOptions {
    /// Time between runs (`HEALTH_NETWORK_INTERVAL`).
    pub interval: Duration,
    /// Reachability probes.
    pub ping: PingOptions,
    /// Where `/sys` and `/proc` are, for interface statistics and `net/wireless`.
    pub roots: SysRoots,
    /// The speed test, when enabled.
    pub speedtest: Option<SpeedtestOptions>,
}

/// How hosts are probed.
#[derive(Debug, Clone, PartialEq)]
pub struct PingOptions {
    /// Names or IP addresses (`HEALTH_NETWORK_PING_HOSTS`).
    pub hosts: Vec<String>,
    /// Echo requests per host and run (`HEALTH_NETWORK_PING_COUNT`, default 3).
    pub count: u32,
    /// How long to wait for each reply, and for a DNS answer (`HEALTH_NETWORK_PING_TIMEOUT`, 1 s).
    pub timeout: Duration,
    /// ICMP, TCP connect, or ICMP falling back to TCP (`HEALTH_NETWORK_PING_METHOD`).
    pub method: PingMethod,
    /// The port a TCP probe connects to (`HEALTH_NETWORK_TCP_PORT`, default 443).
    pub tcp_port: u16,
}

/// How a host's reachability is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PingMethod {
    /// ICMP echo: an unprivileged datagram socket, else a raw socket.
    #[default]
    Icmp,
    /// A TCP connection to `tcp_port`, for networks that drop ICMP.
    Tcp,
    /// ICMP, and TCP when ICMP is not permitted.
    Auto,
}

/// Where the kernel's `/sys` and `/proc` are (fixture trees in tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysRoots {
    /// Stands for `/sys`.
    pub sysfs: PathBuf,
    /// Stands for `/proc`.
    pub procfs: PathBuf,
}

impl Default for SysRoots {
    fn default() -> Self {
        Self { sysfs: PathBuf::from("/sys"), procfs: PathBuf::from("/proc") }
    }
}

/// The throughput test.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedtestOptions {
    /// What to download (`HEALTH_NETWORK_SPEEDTEST_DOWNLOAD_URL`).
    pub download_url: String,
    /// Where to upload, if anywhere (`HEALTH_NETWORK_SPEEDTEST_UPLOAD_URL`).
    pub upload_url: Option<String>,
    /// At most this many bytes each way (`HEALTH_NETWORK_SPEEDTEST_MAX_BYTES`, 25 MB).
    pub max_bytes: u64,
    /// A whole test gives up after this (`HEALTH_NETWORK_SPEEDTEST_TIMEOUT`, 30 s).
    pub timeout: Duration,
    /// At most one test per this (`HEALTH_NETWORK_SPEEDTEST_INTERVAL`, ≥ 60 s, default 300 s).
    pub interval: Duration,
    /// Where the last result is kept across restarts (`HEALTH_STATE_DIR`).
    pub state_dir: PathBuf,
}
