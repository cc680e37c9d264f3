//! Tests of the pinger. Traffic goes only to loopback and to network namespaces created here
//! (`vm-test-<pid>-<tag>`, deleted by a drop guard). Tests that need a namespace or a process
//! with other privileges re-run one `#[ignore]`d helper test of this binary inside it
//! (`ip netns exec NAME <this binary> --exact <helper> --ignored`); a helper run on its own
//! (`VM_PING_HELPER` unset) fails and names the test to run instead. Without root or iproute2
//! these tests fail with the fix rather than pass having checked nothing (CI runs as root).

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use health_core::SampleValue;
use tokio::net::TcpListener;

use super::*;

const HELPER_ENV: &str = "VM_PING_HELPER";

fn options(hosts: &[&str], count: u32, timeout: Duration, method: PingMethod) -> PingOptions {
    PingOptions {
        hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        count,
        timeout,
        method,
        tcp_port: 443,
    }
}

fn gauge(snapshot: &Snapshot, name: &str, host: &str) -> Option<f64> {
    match snapshot.get(name, &[("host", host)]) {
        Some(SampleValue::Gauge(v)) => Some(*v),
        None => None,
        Some(other) => panic!("{name}{{host={host}}} is not a gauge: {other:?}"),
    }
}

fn counter(snapshot: &Snapshot, name: &str, host: &str) -> u64 {
    match snapshot.get(name, &[("host", host)]) {
        Some(SampleValue::Counter(v)) => *v,
        other => panic!("{name}{{host={host}}} is not a counter: {other:?}"),
    }
}

/// Asserts a host answered all `count` probes of the run, with a loopback-like RTT.
fn assert_all_answered(snapshot: &Snapshot, host: &str, sent_total: u64) {
    assert_eq!(gauge(snapshot, &UP.name, host), Some(1.0), "{host}: {snapshot:?}");
    assert_eq!(gauge(snapshot, &LOSS.name, host), Some(0.0), "{host}");
    let rtt = gauge(snapshot, &RTT.name, host).expect("an RTT");
    assert!(rtt > 0.0 && rtt < 0.1, "{host}: rtt {rtt}");
    assert_eq!(counter(snapshot, &SENT.name, host), sent_total, "{host}");
    assert_eq!(counter(snapshot, &RECEIVED.name, host), sent_total, "{host}");
}

/// Asserts a host was probed `count` times this run and never answered.
fn assert_dead(snapshot: &Snapshot, host: &str, count: u64) {
    assert_eq!(gauge(snapshot, &UP.name, host), Some(0.0), "{host}");
    assert_eq!(gauge(snapshot, &LOSS.name, host), Some(1.0), "{host}");
    assert_eq!(gauge(snapshot, &RTT.name, host), None, "{host}");
    assert_eq!(counter(snapshot, &SENT.name, host), count, "{host}");
    assert_eq!(counter(snapshot, &RECEIVED.name, host), 0, "{host}");
}

#[test]
fn descriptions_follow_the_conventions() {
    for desc in DESCRIPTIONS {
        assert_eq!(desc.convention_problems(), Vec::<String>::new(), "{}", desc.name);
        assert_eq!(desc.labels, &["host"], "{}", desc.name);
    }
}

#[test]
fn pinger_and_its_run_can_move_between_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let pinger = Pinger::new(options(&["::1"], 1, Duration::from_secs(1), PingMethod::Auto));
    send_sync(&pinger);
    let mut snapshot = Snapshot::new();
    let run = pinger.sample(&mut snapshot);
    send(&run);
}

#[test]
fn emit_computes_loss_and_mean_rtt_and_accumulates() {
    let outcome = Outcome {
        index: 0,
        target: Target::Literal(IpAddr::from([127, 0, 0, 1])),
        probes: Some(Probes {
            sent: 4,
            rtts: vec![Duration::from_millis(10), Duration::from_millis(30)],
        }),
    };
    let mut total = Totals { sent: 6, received: 6 };
    let mut snapshot = Snapshot::new();
    emit(&mut snapshot, "h", &outcome, &mut total);
    assert_eq!(gauge(&snapshot, &LOSS.name, "h"), Some(0.5));
    let rtt = gauge(&snapshot, &RTT.name, "h").unwrap();
    assert!((rtt - 0.02).abs() < 1e-9, "{rtt}");
    assert_eq!(counter(&snapshot, &SENT.name, "h"), 10);
    assert_eq!(counter(&snapshot, &RECEIVED.name, "h"), 8);
    // Every emitted name is described, so the exposition keeps it.
    for sample in snapshot.samples() {
        assert!(DESCRIPTIONS.iter().any(|d| d.name == sample.name), "{}", sample.name);
    }
}

#[tokio::test]
async fn loopback_over_raw_sockets_v4_and_v6() {
    let opts = options(&["127.0.0.1", "::1"], 3, Duration::from_secs(1), PingMethod::Icmp);
    let pinger = Pinger::with_socket_hint(opts, Type::RAW);
    let mut first = Snapshot::new();
    pinger.sample(&mut first).await;
    assert_eq!(first.problems(), &[] as &[String]);
    assert_eq!(pinger.last_socket(false), Some(Type::RAW));
    assert_eq!(pinger.last_socket(true), Some(Type::RAW));
    assert_all_answered(&first, "127.0.0.1", 3);
    assert_all_answered(&first, "::1", 3);
    // Literal addresses have no DNS series.
    assert_eq!(gauge(&first, &dns::DNS_UP.name, "127.0.0.1"), None);

    let mut second = Snapshot::new();
    pinger.sample(&mut second).await;
    assert_all_answered(&second, "127.0.0.1", 6);
    assert_all_answered(&second, "::1", 6);
}

#[tokio::test]
async fn names_resolve_or_are_reported_without_probes() {
    let opts =
        options(&["nonexistent.invalid", "localhost"], 2, Duration::from_secs(1), PingMethod::Icmp);
    let pinger = Pinger::new(opts);
    let mut snapshot = Snapshot::new();
    pinger.sample(&mut snapshot).await;
    // Neither an unresolvable name nor a dead host is a failure of the run.
    assert_eq!(snapshot.problems(), &[] as &[String]);

    let bad = "nonexistent.invalid";
    assert_eq!(gauge(&snapshot, &dns::DNS_UP.name, bad), Some(0.0));
    assert_eq!(gauge(&snapshot, &dns::DNS_LOOKUP.name, bad), Some(0.0));
    assert_eq!(gauge(&snapshot, &UP.name, bad), Some(0.0));
    assert_eq!(gauge(&snapshot, &RTT.name, bad), None);
    assert_eq!(gauge(&snapshot, &LOSS.name, bad), None);
    assert_eq!(counter(&snapshot, &SENT.name, bad), 0);
    assert_eq!(counter(&snapshot, &RECEIVED.name, bad), 0);

    assert_eq!(gauge(&snapshot, &dns::DNS_UP.name, "localhost"), Some(1.0));
    let lookup = gauge(&snapshot, &dns::DNS_LOOKUP.name, "localhost").unwrap();
    assert!((0.0..1.0).contains(&lookup), "{lookup}");
    assert_all_answered(&snapshot, "localhost", 2);
}

#[tokio::test]
async fn tcp_counts_accepted_and_refused_connections() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open_port = listener.local_addr().unwrap().port();
    let closed_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    for port in [open_port, closed_port] {
        let mut opts = options(&["127.0.0.1"], 3, Duration::from_secs(1), PingMethod::Tcp);
        opts.tcp_port = port;
        let pinger = Pinger::new(opts);
        let mut snapshot = Snapshot::new();
        pinger.sample(&mut snapshot).await;
        assert_eq!(snapshot.problems(), &[] as &[String]);
        assert_eq!(pinger.last_socket(false), None, "TCP opens no ICMP socket");
        assert_all_answered(&snapshot, "127.0.0.1", 3);
    }
    drop(listener);
}

// ---- Namespaces and re-executed helpers ----

/// A network namespace made for one test, deleted (with its veth pair) on drop.
struct Netns {
    name: String,
}

impl Netns {
    /// Creates `vm-test-<pid>-<tag>` with `lo` up, or says why it cannot.
    fn new(tag: &str) -> Result<Self, String> {
        let name = format!("vm-test-{}-{tag}", std::process::id());
        run(&["ip", "netns", "add", &name])?;
        let netns = Self { name };
        netns.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(netns)
    }

    fn exec(&self, command: &[&str]) -> Result<(), String> {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(command);
        run(&full)
    }

    fn sysctl(&self, setting: &str) -> Result<(), String> {
        self.exec(&["sysctl", "-q", "-w", setting])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = run(&["ip", "netns", "del", &self.name]) {
            eprintln!("could not delete namespace {}: {e}", self.name);
        }
    }
}

fn run(command: &[&str]) -> Result<(), String> {
    let output = Command::new(command[0])
        .args(&command[1..])
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{command:?}: {}", String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// A namespace for this test; a test that cannot have one fails with the reason and the fix
/// rather than passing without having checked anything.
fn netns(tag: &str) -> Netns {
    Netns::new(tag).unwrap_or_else(|e| {
        panic!(
            "cannot create a network namespace: {e}\n\
             fix: run the tests as root (CI does) with iproute2 installed (./scripts/setup)"
        )
    })
}

/// Runs the ignored helper test `name` of this binary behind `prefix`, and asserts it passed.
fn run_helper(prefix: &[&str], name: &str) {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(prefix[0])
        .args(&prefix[1..])
        .arg(exe)
        .args(["--exact", &format!("ping::tests::{name}"), "--ignored", "--nocapture"])
        .env(HELPER_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "helper {name} failed:\n{stdout}\n{stderr}"
    );
}

/// Fails a helper run on its own (`--ignored`): outside the namespace its parent test sets up it
/// would check nothing.
fn assert_in_helper(parent: &str) {
    assert!(
        std::env::var_os(HELPER_ENV).is_some(),
        "this helper only runs inside the namespace `{parent}` sets up: run that test instead"
    );
}

#[test]
fn datagram_sockets_where_the_sysctl_allows_them() {
    let netns = netns("dgram");
    netns.sysctl("net.ipv4.ping_group_range=0 2147483647").unwrap();
    run_helper(&["ip", "netns", "exec", &netns.name], "helper_datagram");
}

#[tokio::test]
#[ignore = "run inside a namespace by datagram_sockets_where_the_sysctl_allows_them"]
async fn helper_datagram() {
    assert_in_helper("datagram_sockets_where_the_sysctl_allows_them");
    let opts = options(&["127.0.0.1", "::1"], 3, Duration::from_secs(1), PingMethod::Icmp);
    let pinger = Pinger::new(opts);
    let mut snapshot = Snapshot::new();
    pinger.sample(&mut snapshot).await;
    assert_eq!(pinger.last_socket(false), Some(Type::DGRAM));
    assert_eq!(pinger.last_socket(true), Some(Type::DGRAM));
    assert_eq!(snapshot.problems(), &[] as &[String]);
    // The kernel rewrote the identifier; replies still matched by sequence.
    assert_all_answered(&snapshot, "127.0.0.1", 3);
    assert_all_answered(&snapshot, "::1", 3);
    let mut again = Snapshot::new();
    pinger.sample(&mut again).await;
    assert_all_answered(&again, "127.0.0.1", 6);
    assert_all_answered(&again, "::1", 6);
}

#[test]
fn without_icmp_permission_hosts_are_down_or_probed_over_tcp() {
    let netns = netns("noperm");
    // Datagram sockets off, and no CAP_NET_RAW for the helper: no ICMP socket at all.
    netns.sysctl("net.ipv4.ping_group_range=1 0").unwrap();
    let prefix = [
        "ip",
        "netns",
        "exec",
        &netns.name,
        "setpriv",
        "--bounding-set=-net_raw",
        "--inh-caps=-net_raw",
    ];
    run_helper(&prefix, "helper_not_permitted");
}

#[tokio::test]
#[ignore = "run without CAP_NET_RAW by without_icmp_permission_hosts_are_down_or_probed_over_tcp"]
async fn helper_not_permitted() {
    assert_in_helper("without_icmp_permission_hosts_are_down_or_probed_over_tcp");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();

    let mut opts = options(&["127.0.0.1"], 2, Duration::from_millis(500), PingMethod::Icmp);
    opts.tcp_port = port;
    let icmp = Pinger::new(opts.clone());
    let mut snapshot = Snapshot::new();
    icmp.sample(&mut snapshot).await;
    assert_eq!(icmp.last_socket(false), None);
    assert_eq!(gauge(&snapshot, &UP.name, "127.0.0.1"), Some(0.0));
    assert_eq!(gauge(&snapshot, &LOSS.name, "127.0.0.1"), None);
    assert_eq!(counter(&snapshot, &SENT.name, "127.0.0.1"), 0);
    let [problem] = snapshot.problems() else { panic!("{:?}", snapshot.problems()) };
    assert!(problem.contains("ping_group_range") && problem.contains("cap_net_raw"), "{problem}");
    assert!(problem.contains("127.0.0.1"), "{problem}");

    opts.method = PingMethod::Auto;
    let auto = Pinger::new(opts);
    let mut snapshot = Snapshot::new();
    auto.sample(&mut snapshot).await;
    assert_eq!(snapshot.problems(), &[] as &[String]);
    assert_all_answered(&snapshot, "127.0.0.1", 2);
}

#[tokio::test]
async fn a_dead_host_costs_its_timeouts_and_delays_no_one() {
    let netns = netns("dead");
    // A veth pair into the namespace, and a route to a /30 behind it that nobody holds: the
    // namespace does not forward, so echo requests there vanish without an answer.
    let pid = std::process::id();
    let net = 20 + pid % 200;
    let (outer, inner) = (format!("vmt{pid}a"), format!("vmt{pid}b"));
    let (local, peer) = (format!("10.213.{net}.1"), format!("10.213.{net}.2"));
    let (dead1, dead2) = (format!("10.213.{net}.5"), format!("10.213.{net}.6"));
    let (local_net, peer_net) = (format!("{local}/30"), format!("{peer}/30"));
    let dead_net = format!("10.213.{net}.4/30");
    let setup = [
        vec!["ip", "link", "add", &outer, "type", "veth", "peer", "name", &inner],
        vec!["ip", "link", "set", &inner, "netns", &netns.name],
        vec!["ip", "addr", "add", &local_net, "dev", &outer],
        vec!["ip", "link", "set", &outer, "up"],
        vec!["ip", "-n", &netns.name, "addr", "add", &peer_net, "dev", &inner],
        vec!["ip", "-n", &netns.name, "link", "set", &inner, "up"],
        vec!["ip", "route", "add", &dead_net, "via", &peer, "dev", &outer],
    ];
    netns.sysctl("net.ipv4.ip_forward=0").unwrap();
    for command in &setup {
        if let Err(e) = run(command) {
            let _ = run(&["ip", "link", "del", &outer]);
            panic!("{e}");
        }
    }

    let timeout = Duration::from_millis(200);
    let opts = options(&[&dead1, "127.0.0.1", &dead2, &peer], 3, timeout, PingMethod::Icmp);
    let pinger = Pinger::new(opts);
    let started = Instant::now();
    let mut snapshot = Snapshot::new();
    pinger.sample(&mut snapshot).await;
    let elapsed = started.elapsed();

    assert_eq!(snapshot.problems(), &[] as &[String]);
    assert_dead(&snapshot, &dead1, 3);
    assert_dead(&snapshot, &dead2, 3);
    assert_all_answered(&snapshot, "127.0.0.1", 3);
    assert_all_answered(&snapshot, &peer, 3);
    // One host's 3 × 200 ms, not two dead hosts' 1.2 s one after the other.
    assert!(elapsed >= timeout * 3, "{elapsed:?}");
    assert!(elapsed < timeout * 3 + Duration::from_millis(300), "{elapsed:?}");
    drop(netns);
}
