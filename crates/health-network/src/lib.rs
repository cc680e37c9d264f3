//! The network collector of vimeo-monitor (`HEALTH_NETWORK_*`). A kiosk's screen goes dark
//! because its network did; these figures say which part failed:
//! - `ping` + `dns`: per host, DNS (timed) then ICMP echo (datagram socket, else raw; or TCP
//!   connect), hosts probed concurrently so a dead one delays no other;
//! - `interfaces` + `wifi`: link state, byte and error counters, Wi-Fi quality and signal;
//! - `speedtest`: download/upload throughput on its own rate-limited schedule, persisted across
//!   restarts, never started or awaited by a scrape, and held back while the stream is on screen
//!   ([`OnScreen`]) so it never competes with the picture.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod dns;
mod interfaces;
mod ping;
mod speedtest;
mod wifi;

/// Where the kernel's `/sys` and `/proc` are (fixture trees in tests); the same type as
/// `health_system::Roots`.
pub use health_core::Roots;

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
    pub roots: Roots,
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

/// The throughput test.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedtestOptions {
    /// What to download (`HEALTH_NETWORK_SPEEDTEST_DOWNLOAD_URL`).
    pub download_url: String,
    /// Where to upload, if anywhere (`HEALTH_NETWORK_SPEEDTEST_UPLOAD_URL`).
    pub upload_url: Option<String>,
    /// At most this many bytes each way (`HEALTH_NETWORK_SPEEDTEST_MAX_BYTES`, 10 MB).
    pub max_bytes: u64,
    /// A whole test gives up after this (`HEALTH_NETWORK_SPEEDTEST_TIMEOUT`, 30 s).
    pub timeout: Duration,
    /// At most one test per this (`HEALTH_NETWORK_SPEEDTEST_INTERVAL`, ≥ 60 s, default 3600 s).
    pub interval: Duration,
    /// Where the last result is kept across restarts (`HEALTH_STATE_DIR`).
    pub state_dir: PathBuf,
    /// Whether the stream is on screen now: a due test waits while it is, and starts at the first
    /// run after it is not (`HEALTH_NETWORK_SPEEDTEST_DURING_PLAYBACK=false`, the default, in the
    /// kiosk). [`OnScreen::never`] tests on the interval regardless.
    pub on_screen: OnScreen,
}

/// "Is the stream on screen now?", asked before a due speed test starts. The kiosk answers it
/// from its player; a `health-server` beside another player has no way to know and never asks.
#[derive(Clone, Default)]
pub struct OnScreen(Option<Arc<dyn Fn() -> bool + Send + Sync>>);

impl OnScreen {
    /// Asks `check`, which must answer at once (it runs on the collector's task).
    pub fn new(check: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(check)))
    }

    /// Never on screen: the test keeps to its interval.
    pub fn never() -> Self {
        Self(None)
    }

    /// Whether the stream is on screen now; `false` when never asked.
    pub fn now(&self) -> bool {
        self.0.as_ref().is_some_and(|check| check())
    }
}

impl std::fmt::Debug for OnScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "OnScreen(asked)" } else { "OnScreen(never)" })
    }
}

/// The same check, or both never.
impl PartialEq for OnScreen {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Every metric the collector may emit; the speed test's only when it is enabled.
pub fn descriptions(speedtest: bool) -> Vec<health_core::MetricDesc> {
    let mut descs = [ping::DESCRIPTIONS, interfaces::DESCRIPTIONS, wifi::DESCRIPTIONS].concat();
    if speedtest {
        descs.extend_from_slice(speedtest::DESCRIPTIONS);
    }
    descs
}

/// Reachability, DNS, interfaces, Wi-Fi and throughput, as one collector.
pub struct NetworkCollector {
    options: NetworkOptions,
    pinger: ping::Pinger,
    speedtest: Option<speedtest::SpeedTest>,
}

impl std::fmt::Debug for NetworkCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkCollector").field("options", &self.options).finish_non_exhaustive()
    }
}

impl NetworkCollector {
    /// A collector with these options. The speed test's state file is read now, so its last
    /// figures are published from the first run on.
    pub fn new(options: NetworkOptions) -> Self {
        let pinger = ping::Pinger::new(options.ping.clone());
        let speedtest = options.speedtest.clone().map(speedtest::SpeedTest::new);
        Self { options, pinger, speedtest }
    }
}

#[health_core::async_trait]
impl health_core::Collector for NetworkCollector {
    fn name(&self) -> &str {
        NAME
    }

    fn describe(&self) -> Vec<health_core::MetricDesc> {
        descriptions(self.speedtest.is_some())
    }

    fn schedule(&self) -> health_core::Schedule {
        health_core::Schedule::every(self.options.interval)
    }

    async fn collect(&self) -> Result<health_core::Snapshot, health_core::CollectError> {
        // The speed test runs in its own task on its own schedule; a run only starts it when
        // due and publishes its last figures, never waiting for it.
        if let Some(speedtest) = &self.speedtest {
            speedtest.start_if_due();
        }
        let roots = self.options.roots.clone();
        let local = tokio::task::spawn_blocking(move || {
            let mut snapshot = health_core::Snapshot::new();
            interfaces::sample(&roots, &mut snapshot);
            wifi::sample(&roots, &mut snapshot);
            snapshot
        });
        let mut snapshot = health_core::Snapshot::new();
        self.pinger.sample(&mut snapshot).await;
        snapshot.extend(
            local
                .await
                .map_err(|e| health_core::CollectError::from_source("reading interfaces", &e))?,
        );
        if let Some(speedtest) = &self.speedtest {
            speedtest.sample(&mut snapshot);
        }
        Ok(snapshot)
    }
}
