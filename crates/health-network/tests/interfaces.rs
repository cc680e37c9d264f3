//! The interface part against the live kernel: a veth pair this test creates is reported up,
//! then down, then not at all once deleted.
//!
//! Needs root and iproute2 (`ip`); without them it says so and passes. It sends no traffic: IPv6
//! is disabled on the pair before it comes up, so the kernel has nothing to announce on it.
//!
//! The part is crate-private until the collector that runs it is wired, so its source is compiled
//! into this test directly; `crate::Roots` resolves to the import below.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use health_core::{SampleValue, Snapshot};
use health_network::Roots;

#[path = "../src/interfaces.rs"]
mod interfaces;

/// Runs `ip` with these arguments; `Err` carries its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// Deletes the pair however the test ends (deleting one end deletes both).
struct VethGuard {
    name: String,
}

impl Drop for VethGuard {
    fn drop(&mut self) {
        // Already gone when the test deleted it itself: nothing to do.
        let _ = ip(&["link", "del", &self.name]);
    }
}

/// Whether this process runs as root (effective UID 0), from `/proc/self/status`.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|uids| uids.split_whitespace().nth(1).map(|euid| euid == "0"))
            .unwrap_or(false)
    })
}

fn sample() -> Snapshot {
    let mut snapshot = Snapshot::new();
    interfaces::sample(&Roots::default(), &mut snapshot);
    health_core::testing::assert_described(interfaces::DESCRIPTIONS, &snapshot);
    snapshot
}

/// Every sample about `interface`, as (metric, value).
fn series_of<'a>(snapshot: &'a Snapshot, interface: &str) -> Vec<(&'a str, SampleValue)> {
    snapshot
        .samples()
        .iter()
        .filter(|s| s.labels.iter().any(|(k, v)| *k == "interface" && v == interface))
        .map(|s| (&*s.name, s.value.clone()))
        .collect()
}

/// Samples until `done` holds for a snapshot, for at most five seconds (the kernel's linkwatch
/// updates the operational state up to a second after a change); returns the last snapshot.
fn sample_until(what: &str, done: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let snapshot = sample();
        if done(&snapshot) {
            return snapshot;
        }
        assert!(Instant::now() < deadline, "{what}: still not so after 5 s: {snapshot:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn disable_ipv6(interface: &str) {
    let knob = format!("/proc/sys/net/ipv6/conf/{interface}/disable_ipv6");
    if Path::new(&knob).exists() {
        std::fs::write(&knob, "1").unwrap_or_else(|e| panic!("{knob}: {e}"));
    }
}

#[test]
fn a_veth_pair_is_reported_up_then_down_then_not_at_all() {
    // Without root or iproute2 this test fails rather than pass having checked nothing.
    assert!(is_root(), "creating a veth pair needs root: run the tests as root (CI does)");
    if let Err(e) = Command::new("ip").arg("-V").output() {
        panic!("cannot run `ip` ({e}): install iproute2 (./scripts/setup)");
    }
    let suffix = std::process::id() % 1000;
    let (a, b) = (format!("vmtest-a{suffix}"), format!("vmtest-b{suffix}"));
    // A pair left behind by a killed earlier run with the same PID suffix.
    let _ = ip(&["link", "del", &a]);
    ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]).unwrap();
    let _guard = VethGuard { name: a.clone() };
    disable_ipv6(&a);
    disable_ipv6(&b);

    let up = |snapshot: &Snapshot, interface: &str| {
        snapshot.get("network_interface_up", &[("interface", interface)]).cloned()
    };

    // Created, both ends down.
    let snapshot = sample_until("created", |s| up(s, &a).is_some());
    assert_eq!(up(&snapshot, &a), Some(SampleValue::Gauge(0.0)));

    // Both ends up: admin up, and running once the peer gives it a carrier.
    ip(&["link", "set", &a, "up"]).unwrap();
    ip(&["link", "set", &b, "up"]).unwrap();
    let snapshot = sample_until("up", |s| up(s, &a) == Some(SampleValue::Gauge(1.0)));
    assert_eq!(up(&snapshot, &b), Some(SampleValue::Gauge(1.0)));
    let names: Vec<&str> = series_of(&snapshot, &a).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "network_interface_up",
            "network_interface_receive_bytes_total",
            "network_interface_transmit_bytes_total",
            "network_interface_receive_errors_total",
            "network_interface_transmit_errors_total",
        ]
    );
    assert_eq!(
        snapshot.get("network_interface_receive_errors_total", &[("interface", &a)]),
        Some(&SampleValue::Counter(0))
    );

    // One end down: it is admin down, its peer loses its carrier.
    ip(&["link", "set", &a, "down"]).unwrap();
    let snapshot = sample_until("down", |s| up(s, &a) == Some(SampleValue::Gauge(0.0)));
    let snapshot = if up(&snapshot, &b) == Some(SampleValue::Gauge(0.0)) {
        snapshot
    } else {
        sample_until("peer down", |s| up(s, &b) == Some(SampleValue::Gauge(0.0)))
    };
    assert_eq!(up(&snapshot, &a), Some(SampleValue::Gauge(0.0)));

    // Deleted: both ends leave the output.
    ip(&["link", "del", &a]).unwrap();
    let snapshot =
        sample_until("deleted", |s| series_of(s, &a).is_empty() && series_of(s, &b).is_empty());
    assert_eq!(snapshot.problems(), &[] as &[String]);
}
