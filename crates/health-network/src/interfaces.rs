//! Network interfaces: whether each is up, and its byte and error counters.
//!
//! Where the list and the up/running flags come from depends on the sysfs root:
//!
//! - **The real `/sys`**: the list and flags come from [`pnet_datalink::interfaces`]
//!   (`getifaddrs(3)`, so rtnetlink's flags, which carry `IFF_RUNNING`). An interface is up when
//!   `is_up() && is_running()`.
//! - **Any other root** (a fixture tree): the list is the directories of `<sysfs>/class/net/`,
//!   because pnet can only see the machine it runs on. The flags come from
//!   `<sysfs>/class/net/<if>/flags` (hex). The kernel writes `dev->flags` there, which never
//!   holds `IFF_RUNNING` (0x40): that bit is computed for rtnetlink from the operational state
//!   (`netif_oper_up`: `operstate` `up` or `unknown`). So an interface is up when `IFF_UP` (0x1)
//!   is set and either `IFF_RUNNING` is set or `<sysfs>/class/net/<if>/operstate` is `up` or
//!   `unknown`: the same answer pnet gives on a live machine.
//!
//! Both ways read the counters from `<sysfs>/class/net/<if>/statistics/{rx,tx}_{bytes,errors}`.
//! Loopback (`IFF_LOOPBACK`, or the name `lo` when there are no flags) is skipped. Each run emits
//! only the interfaces that exist then, so one that vanishes leaves the output. A missing file is
//! no data; an unparsable one is a problem naming the path and content, and the rest is still
//! sampled. It does not report addresses, speeds, drops or per-queue statistics.

use std::io;
use std::path::Path;

use health_core::files::list_dir;
use health_core::{MetricDesc, Snapshot, Unit};

use crate::Roots;

const UP: MetricDesc = MetricDesc::gauge(
    "network_interface_up",
    Unit::None,
    "1 when the interface is administratively up and running (carrier/operational state up), else 0.",
)
.labels(&["interface"]);
const RECEIVE_BYTES: MetricDesc = MetricDesc::counter(
    "network_interface_receive_bytes_total",
    Unit::Bytes,
    "Bytes received by the interface, as the kernel counts them (`statistics/rx_bytes`).",
)
.labels(&["interface"]);
const TRANSMIT_BYTES: MetricDesc = MetricDesc::counter(
    "network_interface_transmit_bytes_total",
    Unit::Bytes,
    "Bytes transmitted by the interface, as the kernel counts them (`statistics/tx_bytes`).",
)
.labels(&["interface"]);
const RECEIVE_ERRORS: MetricDesc = MetricDesc::counter(
    "network_interface_receive_errors_total",
    Unit::None,
    "Receive errors of the interface (`statistics/rx_errors`).",
)
.labels(&["interface"]);
const TRANSMIT_ERRORS: MetricDesc = MetricDesc::counter(
    "network_interface_transmit_errors_total",
    Unit::None,
    "Transmit errors of the interface (`statistics/tx_errors`).",
)
.labels(&["interface"]);

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] =
    &[UP, RECEIVE_BYTES, TRANSMIT_BYTES, RECEIVE_ERRORS, TRANSMIT_ERRORS];

/// The counters read for every interface: metric and file under `statistics/`.
const COUNTERS: &[(&MetricDesc, &str)] = &[
    (&RECEIVE_BYTES, "rx_bytes"),
    (&TRANSMIT_BYTES, "tx_bytes"),
    (&RECEIVE_ERRORS, "rx_errors"),
    (&TRANSMIT_ERRORS, "tx_errors"),
];

/// `IFF_UP` in `<linux/if.h>`.
const IFF_UP: u64 = 0x1;
/// `IFF_LOOPBACK`.
const IFF_LOOPBACK: u64 = 0x8;
/// `IFF_RUNNING`: never in sysfs `flags`, always computed by rtnetlink.
const IFF_RUNNING: u64 = 0x40;

/// The sysfs root at which the list comes from pnet (the live kernel) instead of the tree.
const LIVE_SYSFS: &str = "/sys";

/// One interface to report: its name and, when known, whether it is up and running.
#[derive(Debug, PartialEq, Eq)]
struct Interface {
    name: String,
    /// `None` when its flags could not be read (the `up` series is left out).
    up: Option<bool>,
}

/// Reads every non-loopback interface's state and counters into `snapshot`.
///
/// Synchronous: one `getifaddrs` call and a few sysfs reads per interface. Call it from
/// `spawn_blocking`.
pub(crate) fn sample(roots: &Roots, snapshot: &mut Snapshot) {
    let interfaces = if roots.sysfs == Path::new(LIVE_SYSFS) {
        live_interfaces(snapshot)
    } else {
        sysfs_interfaces(&roots.sys("class/net"), snapshot)
    };
    for interface in interfaces {
        let dir = roots.sys("class/net").join(&interface.name);
        if let Some(up) = interface.up {
            snapshot.gauge_with(UP.name, label(&interface.name), if up { 1.0 } else { 0.0 });
        }
        for (desc, file) in COUNTERS {
            let path = dir.join("statistics").join(file);
            if let Some(total) = read_counter(&path, snapshot) {
                snapshot.counter_with(desc.name.clone(), label(&interface.name), total);
            }
        }
    }
}

fn label(interface: &str) -> health_core::Labels {
    vec![("interface", interface.to_owned())]
}

/// The live kernel's interfaces, as pnet lists them, sorted by name.
fn live_interfaces(snapshot: &mut Snapshot) -> Vec<Interface> {
    let listed = pnet_datalink::interfaces();
    if listed.is_empty() {
        // Every network namespace has `lo`: an empty list is a failed `getifaddrs`, which pnet
        // swallows. Say so rather than silently dropping every series.
        snapshot.problem("pnet listed no network interface, not even lo (getifaddrs failed)");
    }
    let mut interfaces: Vec<Interface> = listed
        .into_iter()
        .filter(|i| !i.is_loopback())
        .map(|i| Interface { up: Some(i.is_up() && i.is_running()), name: i.name })
        .collect();
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    interfaces
}

/// The interfaces under `<sysfs>/class/net`, sorted by name, with flags from sysfs.
fn sysfs_interfaces(class_net: &Path, snapshot: &mut Snapshot) -> Vec<Interface> {
    let mut names = list_dir(class_net, snapshot);
    names.sort();
    let mut interfaces = Vec::with_capacity(names.len());
    for name in names {
        let dir = class_net.join(&name);
        let flags = read_flags(&dir.join("flags"), snapshot);
        let loopback = match flags {
            Some(flags) => flags & IFF_LOOPBACK != 0,
            None => name == "lo",
        };
        if loopback {
            continue;
        }
        let up = flags.map(|flags| {
            let running = flags & IFF_RUNNING != 0
                || read_text(&dir.join("operstate"), snapshot)
                    .is_some_and(|state| operstate_is_running(&state));
            flags & IFF_UP != 0 && running
        });
        interfaces.push(Interface { name, up });
    }
    interfaces
}

/// Operational states in which the kernel sets `IFF_RUNNING` (`netif_oper_up`).
fn operstate_is_running(state: &str) -> bool {
    matches!(state, "up" | "unknown")
}

/// The trimmed content of a small text file; `None` when it is missing (the interface vanished,
/// or the driver has no such statistic), a problem when it cannot be read.
fn read_text(path: &Path, snapshot: &mut Snapshot) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text.trim().to_owned()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            snapshot.problem(format!("{}: cannot read: {e}", path.display()));
            None
        }
    }
}

/// A `statistics/*` counter (decimal).
fn read_counter(path: &Path, snapshot: &mut Snapshot) -> Option<u64> {
    let content = read_text(path, snapshot)?;
    parse_or_problem(path, &content, content.parse::<u64>(), snapshot)
}

/// The `flags` file (`0x1003`).
fn read_flags(path: &Path, snapshot: &mut Snapshot) -> Option<u64> {
    let content = read_text(path, snapshot)?;
    parse_or_problem(path, &content, parse_hex(&content), snapshot)
}

fn parse_or_problem<T, E: std::fmt::Display>(
    path: &Path,
    content: &str,
    parsed: Result<T, E>,
    snapshot: &mut Snapshot,
) -> Option<T> {
    match parsed {
        Ok(value) => Some(value),
        Err(why) => {
            snapshot.problem(format!("{}: cannot parse {content:?}: {why}", path.display()));
            None
        }
    }
}

/// `0x1003` → 4099; the kernel always prints the `0x` prefix, but bare hex is accepted too.
fn parse_hex(content: &str) -> Result<u64, std::num::ParseIntError> {
    let digits = content.strip_prefix("0x").or_else(|| content.strip_prefix("0X"));
    u64::from_str_radix(digits.unwrap_or(content), 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use health_core::SampleValue;
    use health_core::testing::{assert_described, gauge};

    fn fixture(name: &str) -> Roots {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
        Roots::under(&base)
    }

    fn interface_dir(roots: &Roots, interface: &str) -> std::path::PathBuf {
        roots.sys("class/net").join(interface)
    }

    fn run(roots: &Roots) -> Snapshot {
        let mut snapshot = Snapshot::new();
        sample(roots, &mut snapshot);
        assert_described(DESCRIPTIONS, &snapshot);
        snapshot
    }

    fn counter(snapshot: &Snapshot, name: &str, interface: &str) -> Option<u64> {
        match snapshot.get(name, &[("interface", interface)]) {
            Some(SampleValue::Counter(total)) => Some(*total),
            None => None,
            other => panic!("{name}{{interface={interface}}}: {other:?}"),
        }
    }

    /// Every (metric, interface) pair in the snapshot, in emission order.
    fn series(snapshot: &Snapshot) -> Vec<(&str, String)> {
        snapshot.samples().iter().map(|s| (&*s.name, s.labels[0].1.clone())).collect()
    }

    #[test]
    fn pi_reports_eth0_and_wlan0_and_skips_lo() {
        let snapshot = run(&fixture("pi-wifi"));
        assert_eq!(snapshot.problems(), &[] as &[String]);

        assert_eq!(gauge(&snapshot, &UP.name, &[("interface", "eth0")]), 1.0);
        assert_eq!(counter(&snapshot, &RECEIVE_BYTES.name, "eth0"), Some(1_234_567_890));
        assert_eq!(counter(&snapshot, &TRANSMIT_BYTES.name, "eth0"), Some(98_765_432));
        assert_eq!(counter(&snapshot, &RECEIVE_ERRORS.name, "eth0"), Some(3));
        assert_eq!(counter(&snapshot, &TRANSMIT_ERRORS.name, "eth0"), Some(0));

        // Neither flags file has IFF_RUNNING, as on every real sysfs: operstate `up` supplies it.
        assert_eq!(gauge(&snapshot, &UP.name, &[("interface", "wlan0")]), 1.0);
        assert_eq!(counter(&snapshot, &RECEIVE_BYTES.name, "wlan0"), Some(52_428_800));
        assert_eq!(counter(&snapshot, &TRANSMIT_BYTES.name, "wlan0"), Some(7_340_032));
        assert_eq!(counter(&snapshot, &RECEIVE_ERRORS.name, "wlan0"), Some(0));
        assert_eq!(counter(&snapshot, &TRANSMIT_ERRORS.name, "wlan0"), Some(12));

        // Five series each for eth0 and wlan0, sorted by name; nothing for lo.
        let names: Vec<String> = series(&snapshot).into_iter().map(|(_, i)| i).collect();
        assert_eq!(names, [vec!["eth0".to_owned(); 5], vec!["wlan0".to_owned(); 5]].concat());
        assert_eq!(snapshot.len(), 10);
    }

    /// Writes a sysfs tree: `(path under class/net, content)`.
    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Roots) {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        for (path, content) in files {
            let path = roots.sys("class/net").join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        (dir, roots)
    }

    #[test]
    fn unparsable_counter_is_a_problem_and_the_rest_is_still_sampled() {
        let (_dir, roots) = tree(&[
            ("eth0/flags", "0x1003\n"),
            ("eth0/operstate", "up\n"),
            ("eth0/statistics/rx_bytes", "12ab\n"),
            ("eth0/statistics/tx_bytes", "200\n"),
            ("eth0/statistics/rx_errors", "1\n"),
            ("eth0/statistics/tx_errors", "2\n"),
            ("wlan0/flags", "0x1003\n"),
            ("wlan0/operstate", "up\n"),
            ("wlan0/statistics/rx_bytes", "300\n"),
        ]);
        let snapshot = run(&roots);
        let path = interface_dir(&roots, "eth0").join("statistics/rx_bytes");
        assert_eq!(
            snapshot.problems(),
            &[format!("{}: cannot parse \"12ab\": invalid digit found in string", path.display())]
        );
        assert_eq!(counter(&snapshot, &RECEIVE_BYTES.name, "eth0"), None);
        assert_eq!(gauge(&snapshot, &UP.name, &[("interface", "eth0")]), 1.0);
        assert_eq!(counter(&snapshot, &TRANSMIT_BYTES.name, "eth0"), Some(200));
        assert_eq!(counter(&snapshot, &RECEIVE_ERRORS.name, "eth0"), Some(1));
        assert_eq!(counter(&snapshot, &TRANSMIT_ERRORS.name, "eth0"), Some(2));
        // Missing statistics files are no data, not problems.
        assert_eq!(counter(&snapshot, &RECEIVE_BYTES.name, "wlan0"), Some(300));
        assert_eq!(counter(&snapshot, &TRANSMIT_BYTES.name, "wlan0"), None);
        assert_eq!(snapshot.len(), 6);
    }

    #[test]
    fn up_needs_iff_up_and_a_running_operstate() {
        let (_dir, roots) = tree(&[
            // Admin down: operstate does not matter.
            ("down/flags", "0x1002\n"),
            ("down/operstate", "down\n"),
            // Admin up, no carrier (a cable pulled, a veth whose peer is down).
            ("nocarrier/flags", "0x1003\n"),
            ("nocarrier/operstate", "lowerlayerdown\n"),
            // Admin up, driver without operstate tracking (tun, some USB modems).
            ("unknown/flags", "0x1091\n"),
            ("unknown/operstate", "unknown\n"),
            // Flags as rtnetlink shows them, RUNNING set: no operstate needed.
            ("running/flags", "0x1043\n"),
            // Admin up, no operstate file: not known to be running.
            ("nostate/flags", "0x1003\n"),
            // Unreadable flags: no `up` series, and a problem.
            ("garbled/flags", "up\n"),
            ("garbled/operstate", "up\n"),
            // No flags at all (a trimmed tree): no `up` series, no problem.
            ("noflags/operstate", "up\n"),
            // Loopback by flag, whatever its name.
            ("lo0/flags", "0x9\n"),
            ("lo0/operstate", "unknown\n"),
            // Loopback by name when flags are missing.
            ("lo/operstate", "unknown\n"),
        ]);
        let mut snapshot = Snapshot::new();
        sample(&roots, &mut snapshot);
        let up = |name: &str| snapshot.get(&UP.name, &[("interface", name)]).cloned();
        assert_eq!(up("down"), Some(SampleValue::Gauge(0.0)));
        assert_eq!(up("nocarrier"), Some(SampleValue::Gauge(0.0)));
        assert_eq!(up("unknown"), Some(SampleValue::Gauge(1.0)));
        assert_eq!(up("running"), Some(SampleValue::Gauge(1.0)));
        assert_eq!(up("nostate"), Some(SampleValue::Gauge(0.0)));
        assert_eq!(up("garbled"), None);
        assert_eq!(up("noflags"), None);
        assert_eq!(up("lo0"), None);
        assert_eq!(up("lo"), None);
        let path = interface_dir(&roots, "garbled").join("flags");
        assert_eq!(
            snapshot.problems(),
            &[format!("{}: cannot parse \"up\": invalid digit found in string", path.display())]
        );
        assert_eq!(snapshot.len(), 5);
    }

    #[test]
    fn vanished_interfaces_leave_the_output() {
        let (dir, roots) = tree(&[
            ("eth0/flags", "0x1003\n"),
            ("eth0/operstate", "up\n"),
            ("usb0/flags", "0x1003\n"),
            ("usb0/operstate", "up\n"),
            ("usb0/statistics/rx_bytes", "5\n"),
        ]);
        let before = run(&roots);
        assert_eq!(series(&before).len(), 3);
        std::fs::remove_dir_all(dir.path().join("sys/class/net/usb0")).unwrap();
        let after = run(&roots);
        assert_eq!(series(&after), vec![(&*UP.name, "eth0".to_owned())]);
    }

    #[test]
    fn no_sysfs_is_no_data_and_no_problem() {
        let roots = Roots::under("/nonexistent");
        let snapshot = run(&roots);
        assert!(snapshot.is_empty());
        assert_eq!(snapshot.problems(), &[] as &[String]);
    }

    #[test]
    fn the_live_machine_lists_through_pnet() {
        // Whatever this machine has, its loopback is never reported and nothing is a problem.
        let snapshot = run(&Roots::default());
        assert_eq!(snapshot.problems(), &[] as &[String]);
        assert!(series(&snapshot).iter().all(|(_, i)| i != "lo"), "{snapshot:?}");
    }

    #[test]
    fn parse_hex_table() {
        assert_eq!(parse_hex("0x1003"), Ok(0x1003));
        assert_eq!(parse_hex("0X9"), Ok(9));
        assert_eq!(parse_hex("1043"), Ok(0x1043));
        assert!(parse_hex("0x").is_err());
        assert!(parse_hex("up").is_err());
        assert!(parse_hex("").is_err());
    }

    #[test]
    fn descriptions_follow_conventions() {
        for desc in DESCRIPTIONS {
            assert_eq!(desc.convention_problems(), Vec::<String>::new(), "{}", desc.name);
        }
    }
}
