//! Reachability of the configured hosts: resolve, then ICMP echo or TCP connect probes.
//!
//! Every run probes all hosts concurrently, each in its own task: a host first resolves (see
//! [`crate::dns`]), then gets `count` probes, one after the other, each waiting at most
//! `timeout`. A dead host therefore takes `count × timeout` (plus its DNS time) and delays no
//! other host. How a probe is made depends on [`PingMethod`]:
//! - `Icmp`: echo requests ([`icmp`]). When no ICMP socket can be opened (neither datagram nor
//!   raw is permitted) the hosts are reported down, the run records a problem, and a warning
//!   with the fix is logged once.
//! - `Tcp`: connections to `tcp_port` ([`tcp`]); a refused connection counts as a reply.
//! - `Auto`: ICMP, and TCP for the address families whose ICMP socket cannot be opened.
//!
//! Unreachable hosts and names that do not resolve are measurements, not failures of the run:
//! they show as `network_up 0` / `network_dns_up 0` without a problem. A host that did not
//! resolve, or was not probed, has no loss ratio and no RTT, and its counters do not move.
//! It does not traceroute, measure jitter, or keep history beyond the two cumulative counters.

mod icmp;
mod tcp;

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use health_core::{MetricDesc, Snapshot, Unit};
use socket2::Type;
use surge_ping::Client;
use tokio::task::JoinSet;

use crate::dns::{self, Target};
use crate::{PingMethod, PingOptions};

const UP: MetricDesc = MetricDesc::gauge(
    "network_up",
    Unit::None,
    "1 if the host answered at least one probe in the last run, else 0.",
)
.labels(&["host"]);
const RTT: MetricDesc = MetricDesc::gauge(
    "network_rtt_seconds",
    Unit::Seconds,
    "Mean round-trip time of the host's answered probes in the last run (absent when none).",
)
.labels(&["host"]);
const LOSS: MetricDesc = MetricDesc::gauge(
    "network_packet_loss_ratio",
    Unit::Ratio,
    "Share of the last run's probes to the host that got no answer (absent when none was sent).",
)
.labels(&["host"]);
const SENT: MetricDesc = MetricDesc::counter(
    "network_probes_sent_total",
    Unit::None,
    "Probes (ICMP echo requests or TCP connection attempts) sent to the host.",
)
.labels(&["host"]);
const RECEIVED: MetricDesc = MetricDesc::counter(
    "network_probes_received_total",
    Unit::None,
    "Probes to the host that were answered (an echo reply, or a TCP connection accepted or refused).",
)
.labels(&["host"]);

/// What the ping and DNS parts emit.
pub(crate) const DESCRIPTIONS: &[MetricDesc] =
    &[UP, RTT, LOSS, SENT, RECEIVED, dns::DNS_LOOKUP, dns::DNS_UP];

/// The fix shown when ICMP sockets are not permitted.
const ICMP_FIX: &str = "allow unprivileged ICMP with `sysctl -w net.ipv4.ping_group_range=\"0 \
                        2147483647\"`, or give the binary `setcap cap_net_raw+ep <binary>`";

/// The probes made to one host in one run.
#[derive(Debug, Default, Clone, PartialEq)]
struct Probes {
    sent: u32,
    /// Round-trip times of the answered probes.
    rtts: Vec<Duration>,
}

/// What one host's task found.
#[derive(Debug)]
struct Outcome {
    index: usize,
    target: Target,
    /// `None` when nothing was sent (no address, or no ICMP socket in `Icmp` mode).
    probes: Option<Probes>,
}

/// Cumulative probe counts of one host.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    sent: u64,
    received: u64,
}

/// What every host task of a run needs.
#[derive(Debug)]
struct Shared {
    options: PingOptions,
    /// The ICMP identifier of raw sockets (datagram sockets get theirs from the kernel).
    ident: u16,
    /// The next ICMP sequence number, unique across hosts and runs.
    next_seq: AtomicU16,
}

/// The ping part of the network collector, with the counters it keeps across runs.
#[derive(Debug)]
pub(crate) struct Pinger {
    shared: Arc<Shared>,
    /// The socket kind tried first; the other is the fallback.
    socket_hint: Type,
    /// Per configured host, in order.
    totals: Mutex<Vec<Totals>>,
    /// Whether the "ICMP not permitted" warning was logged, per family (v4, v6).
    warned: [AtomicBool; 2],
    /// The kind of ICMP socket the last run used, per family (v4, v6).
    last_socket: Mutex<[Option<Type>; 2]>,
}

impl Pinger {
    /// A pinger for these options; duplicate hosts are probed once.
    pub(crate) fn new(mut options: PingOptions) -> Self {
        let mut seen = std::collections::HashSet::new();
        options.hosts.retain(|host| seen.insert(host.clone()));
        let totals = Mutex::new(vec![Totals::default(); options.hosts.len()]);
        let shared = Arc::new(Shared {
            options,
            ident: fastrand::u16(..),
            next_seq: AtomicU16::new(fastrand::u16(..)),
        });
        Self {
            shared,
            socket_hint: Type::DGRAM,
            totals,
            warned: [AtomicBool::new(false), AtomicBool::new(false)],
            last_socket: Mutex::new([None, None]),
        }
    }

    /// Like [`new`](Self::new), trying this kind of ICMP socket first (tests).
    #[cfg(test)]
    fn with_socket_hint(options: PingOptions, hint: Type) -> Self {
        Self { socket_hint: hint, ..Self::new(options) }
    }

    /// Probes every host once and adds their samples to `snapshot`.
    pub(crate) async fn sample(&self, snapshot: &mut Snapshot) {
        let options = &self.shared.options;
        let mut sockets: [Option<Result<Client, std::io::Error>>; 2] = [None, None];
        if options.method != PingMethod::Tcp {
            for (v6, slot) in sockets.iter_mut().enumerate() {
                let wanted = options
                    .hosts
                    .iter()
                    .any(|host| dns::literal(host).is_none_or(|addr| addr.is_ipv6() == (v6 == 1)));
                if wanted {
                    *slot = Some(icmp::open(v6 == 1, self.socket_hint));
                }
            }
        }
        self.note_sockets(&sockets);
        let clients: [Option<Client>; 2] =
            [0, 1].map(|i| sockets[i].as_ref().and_then(|s| s.as_ref().ok()).cloned());

        let mut tasks = JoinSet::new();
        for index in 0..options.hosts.len() {
            let shared = Arc::clone(&self.shared);
            let clients = clients.clone();
            tasks.spawn(async move { probe_host(&shared, &clients, index).await });
        }
        let mut outcomes = Vec::with_capacity(options.hosts.len());
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    snapshot.problem(format!("a ping task failed: {e}"));
                }
            }
        }
        outcomes.sort_by_key(|outcome| outcome.index);

        // Hosts with an address but no ICMP socket for its family (`Icmp` mode), per family.
        let mut unprobed: [Vec<&str>; 2] = [Vec::new(), Vec::new()];
        let mut totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        for outcome in outcomes {
            let host = &options.hosts[outcome.index];
            if let (None, Some(addr)) = (&outcome.probes, outcome.target.addr()) {
                unprobed[usize::from(addr.is_ipv6())].push(host.as_str());
            }
            emit(snapshot, host, &outcome, &mut totals[outcome.index]);
        }
        drop(totals);

        for (v6, hosts) in unprobed.iter().enumerate() {
            if hosts.is_empty() {
                continue;
            }
            let why = match &sockets[v6] {
                Some(Err(e)) => e.to_string().lines().next().unwrap_or_default().to_owned(),
                _ => "not opened".to_owned(),
            };
            let family = if v6 == 1 { "ICMPv6" } else { "ICMPv4" };
            snapshot.problem(format!(
                "cannot open an {family} socket ({why}); reported down without probing: {}; \
                 to fix, {ICMP_FIX}, or set HEALTH_NETWORK_PING_METHOD=auto to fall back to TCP",
                hosts.join(", ")
            ));
        }
    }

    /// Logs the sockets opened, and warns once per family when ICMP is not permitted.
    fn note_sockets(&self, sockets: &[Option<Result<Client, std::io::Error>>; 2]) {
        let mut last = self.last_socket.lock().unwrap_or_else(PoisonError::into_inner);
        for (i, socket) in sockets.iter().enumerate() {
            let family = if i == 1 { "ICMPv6" } else { "ICMPv4" };
            last[i] = match socket {
                Some(Ok(client)) => {
                    let kind = icmp::socket_type(client);
                    tracing::debug!(
                        target: "health.network",
                        family,
                        raw = kind == Type::RAW,
                        "ICMP socket opened",
                    );
                    Some(kind)
                }
                Some(Err(e)) => {
                    if !self.warned[i].swap(true, Ordering::Relaxed) {
                        let fallback = match self.shared.options.method {
                            PingMethod::Auto => {
                                format!(
                                    "probing with TCP port {} instead",
                                    self.shared.options.tcp_port
                                )
                            }
                            _ => "hosts are reported down".to_owned(),
                        };
                        tracing::warn!(
                            target: "health.network",
                            "cannot open an {family} socket, neither datagram nor raw ({}); {fallback}; \
                             to fix, {ICMP_FIX}",
                            e.to_string().lines().next().unwrap_or_default()
                        );
                    }
                    None
                }
                None => None,
            };
        }
    }

    /// The kind of ICMP socket the last run used for IPv4 or IPv6, if one was opened.
    #[cfg(test)]
    fn last_socket(&self, v6: bool) -> Option<Type> {
        self.last_socket.lock().unwrap_or_else(PoisonError::into_inner)[usize::from(v6)]
    }
}

/// Resolves and probes the host at `index`.
async fn probe_host(shared: &Shared, clients: &[Option<Client>; 2], index: usize) -> Outcome {
    let options = &shared.options;
    let target = dns::resolve(&options.hosts[index], options.timeout).await;
    let Some(addr) = target.addr() else { return Outcome { index, target, probes: None } };
    let (count, timeout) = (options.count, options.timeout);
    let tcp = || tcp::probe(addr, options.tcp_port, count, timeout);
    let probes = match (options.method, &clients[usize::from(addr.is_ipv6())]) {
        (PingMethod::Tcp, _) | (PingMethod::Auto, None) => Some(tcp().await),
        (PingMethod::Icmp | PingMethod::Auto, Some(client)) => {
            Some(icmp::probe(client, addr, shared.ident, &shared.next_seq, count, timeout).await)
        }
        (PingMethod::Icmp, None) => None,
    };
    Outcome { index, target, probes }
}

/// Adds one host's samples, updating its cumulative totals.
fn emit(snapshot: &mut Snapshot, host: &str, outcome: &Outcome, total: &mut Totals) {
    let labels = || vec![("host", host.to_owned())];
    outcome.target.emit(host, snapshot);
    let received = outcome.probes.as_ref().map_or(0, |p| p.rtts.len());
    if let Some(probes) = &outcome.probes {
        total.sent += u64::from(probes.sent);
        total.received += probes.rtts.len() as u64;
        if probes.sent > 0 {
            let loss = 1.0 - probes.rtts.len() as f64 / f64::from(probes.sent);
            snapshot.gauge_with(LOSS.name, labels(), loss);
        }
        if received > 0 {
            let mean = probes.rtts.iter().map(Duration::as_secs_f64).sum::<f64>() / received as f64;
            snapshot.gauge_with(RTT.name, labels(), mean);
        }
    }
    snapshot.gauge_with(UP.name, labels(), if received > 0 { 1.0 } else { 0.0 });
    snapshot.counter_with(SENT.name, labels(), total.sent);
    snapshot.counter_with(RECEIVED.name, labels(), total.received);
}

#[cfg(test)]
mod tests;
