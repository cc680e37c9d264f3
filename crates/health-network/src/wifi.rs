//! Wi-Fi link quality and signal level from the wireless extensions' `<procfs>/net/wireless`.
//!
//! Each interface listed there (after the two header lines) gives
//! `network_wifi_link_quality_ratio{interface}` and `network_wifi_signal_dbm{interface}`:
//!
//! ```text
//! Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
//!  face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
//!  wlan0: 0000   56.  -54.  -256        0      0      0      0      0        0
//! ```
//!
//! - **Link quality** is the `link` column divided by 70, clamped to 0..=1. 70 is the maximum
//!   that mac80211 (every in-tree cfg80211 driver, and brcmfmac on the Raspberry Pi) reports for
//!   `max_qual.qual`; `/proc/net/wireless` does not print the driver's maximum, so 70 is assumed.
//! - **Signal** is the `level` column in dBm. The kernel prints the value and a `.` when it was
//!   updated since the last read (a space when stale); both are read. A driver that does not flag
//!   its level as dBm shows the raw 8-bit value (`200` for -56 dBm): like `iwconfig`, a level
//!   above 63 is taken as `level - 256`.
//!
//! A missing file (no wireless extensions, no Wi-Fi interface) is no data. An unparsable line is
//! a problem naming the path and the line, and the other lines are still read. It does not read
//! the noise column (most drivers report none), bit rates, or nl80211 station info.

use std::io;
use std::path::Path;

use health_core::{MetricDesc, Snapshot, Unit};

use crate::Roots;

const LINK_QUALITY: MetricDesc = MetricDesc::gauge(
    "network_wifi_link_quality_ratio",
    Unit::Ratio,
    "Wi-Fi link quality: the `link` column of /proc/net/wireless divided by 70, clamped to 0-1.",
)
.labels(&["interface"]);
const SIGNAL: MetricDesc = MetricDesc::gauge(
    "network_wifi_signal_dbm",
    Unit::Dbm,
    "Wi-Fi signal level in dBm: the `level` column of /proc/net/wireless (values above 63 minus 256).",
)
.labels(&["interface"]);

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[LINK_QUALITY, SIGNAL];

/// The `link` value that counts as a perfect link (mac80211's `max_qual.qual`).
const MAX_LINK_QUALITY: f64 = 70.0;

/// Levels above this are 8-bit values of negative dBm (iwconfig's rule).
const MAX_POSITIVE_LEVEL: f64 = 63.0;

/// The values read from one line of `/proc/net/wireless`.
#[derive(Debug, Clone, PartialEq)]
struct Station {
    interface: String,
    /// The `link` column.
    link: f64,
    /// The `level` column, as printed.
    level: f64,
}

/// Reads `<procfs>/net/wireless` into `snapshot`.
///
/// Synchronous: one small procfs read. Call it from `spawn_blocking`.
pub(crate) fn sample(roots: &Roots, snapshot: &mut Snapshot) {
    let path = roots.proc("net/wireless");
    let content = match std::fs::read_to_string(&path) {
        Ok(content) => content,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            snapshot.problem(format!("{}: cannot read: {e}", path.display()));
            return;
        }
    };
    for station in parse(&path, &content, snapshot) {
        let labels = || vec![("interface", station.interface.clone())];
        snapshot.gauge_with(LINK_QUALITY.name, labels(), link_quality_ratio(station.link));
        snapshot.gauge_with(SIGNAL.name, labels(), signal_dbm(station.level));
    }
}

/// Every station line after the two header lines; a line that does not parse is a problem.
fn parse(path: &Path, content: &str, snapshot: &mut Snapshot) -> Vec<Station> {
    content
        .lines()
        .skip(2)
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| match parse_line(line) {
            Ok(station) => Some(station),
            Err(why) => {
                snapshot.problem(format!("{}: cannot parse {line:?}: {why}", path.display()));
                None
            }
        })
        .collect()
}

/// ` wlan0: 0000   56.  -54.  -256 …` → wlan0, 56, -54.
fn parse_line(line: &str) -> Result<Station, String> {
    let (interface, rest) =
        line.split_once(':').ok_or_else(|| "no `interface:` prefix".to_owned())?;
    let interface = interface.trim();
    if interface.is_empty() {
        return Err("empty interface name".to_owned());
    }
    let mut fields = rest.split_whitespace();
    let _status = fields.next().ok_or("no status column")?;
    let link = number(fields.next().ok_or("no link column")?)?;
    let level = number(fields.next().ok_or("no level column")?)?;
    Ok(Station { interface: interface.to_owned(), link, level })
}

/// `56.` or `56` → 56; `-54.` → -54. NaN and infinities are rejected.
fn number(field: &str) -> Result<f64, String> {
    let digits = field.strip_suffix('.').unwrap_or(field);
    match digits.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!("{field:?} is not a number")),
    }
}

/// The `link` column as a ratio of [`MAX_LINK_QUALITY`], clamped to 0..=1.
fn link_quality_ratio(link: f64) -> f64 {
    (link / MAX_LINK_QUALITY).clamp(0.0, 1.0)
}

/// The `level` column in dBm: an 8-bit value above 63 wraps to negative, as in iwconfig.
fn signal_dbm(level: f64) -> f64 {
    if level > MAX_POSITIVE_LEVEL { level - 256.0 } else { level }
}

#[cfg(test)]
mod tests {
    use super::*;
    use health_core::testing::{assert_described, gauge};

    fn fixture(name: &str) -> Roots {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
        Roots::under(&base)
    }

    fn run(roots: &Roots) -> Snapshot {
        let mut snapshot = Snapshot::new();
        sample(roots, &mut snapshot);
        assert_described(DESCRIPTIONS, &snapshot);
        snapshot
    }

    /// A procfs tree whose `net/wireless` holds the header and these lines.
    fn wireless(lines: &[&str]) -> (tempfile::TempDir, Roots) {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        let mut content = String::from(
            "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n \
             face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n",
        );
        for line in lines {
            content.push_str(line);
            content.push('\n');
        }
        std::fs::create_dir_all(roots.proc("net")).unwrap();
        std::fs::write(roots.proc("net/wireless"), content).unwrap();
        (dir, roots)
    }

    #[test]
    fn pi_reports_wlan0() {
        let snapshot = run(&fixture("pi-wifi"));
        assert_eq!(snapshot.problems(), &[] as &[String]);
        let wlan0 = [("interface", "wlan0")];
        assert_eq!(gauge(&snapshot, &LINK_QUALITY.name, &wlan0), 56.0 / 70.0);
        assert_eq!(gauge(&snapshot, &SIGNAL.name, &wlan0), -54.0);
        assert_eq!(snapshot.len(), 2);
    }

    #[test]
    fn a_bad_line_is_a_problem_and_the_others_are_read() {
        let (_dir, roots) = wireless(&[
            " wlan0: 0000   80.  200   0        0      0      0      0      0        0",
            " wlan1: 0000   abc.  -60.  -256        0      0      0      0      0        0",
            " wlan2: 0000   -3   -95.  -256        0      0      0      0      0        0",
            " wlan3: 0000",
            "garbage",
        ]);
        let snapshot = run(&roots);
        let path = roots.proc("net/wireless");
        let path = path.display();
        assert_eq!(
            snapshot.problems(),
            &[
                format!(
                    "{path}: cannot parse \" wlan1: 0000   abc.  -60.  -256        0      0      \
                     0      0      0        0\": \"abc.\" is not a number"
                ),
                format!("{path}: cannot parse \" wlan3: 0000\": no link column"),
                format!("{path}: cannot parse \"garbage\": no `interface:` prefix"),
            ]
        );
        // Above 70 clamps to 1; a stale (no dot) 8-bit level wraps.
        assert_eq!(gauge(&snapshot, &LINK_QUALITY.name, &[("interface", "wlan0")]), 1.0);
        assert_eq!(gauge(&snapshot, &SIGNAL.name, &[("interface", "wlan0")]), -56.0);
        // Below 0 clamps to 0.
        assert_eq!(gauge(&snapshot, &LINK_QUALITY.name, &[("interface", "wlan2")]), 0.0);
        assert_eq!(gauge(&snapshot, &SIGNAL.name, &[("interface", "wlan2")]), -95.0);
        assert_eq!(snapshot.len(), 4);
    }

    #[test]
    fn header_only_and_missing_file_are_no_data() {
        let (_dir, roots) = wireless(&[]);
        let snapshot = run(&roots);
        assert!(snapshot.is_empty());
        assert_eq!(snapshot.problems(), &[] as &[String]);

        let roots = Roots::under("/nonexistent");
        let snapshot = run(&roots);
        assert!(snapshot.is_empty());
        assert_eq!(snapshot.problems(), &[] as &[String]);
    }

    #[test]
    fn number_table() {
        assert_eq!(number("56."), Ok(56.0));
        assert_eq!(number("56"), Ok(56.0));
        assert_eq!(number("-54."), Ok(-54.0));
        assert!(number("nan").is_err());
        assert!(number("inf.").is_err());
        assert!(number(".").is_err());
    }

    #[test]
    fn signal_table() {
        assert_eq!(signal_dbm(-54.0), -54.0);
        assert_eq!(signal_dbm(63.0), 63.0);
        assert_eq!(signal_dbm(64.0), -192.0);
        assert_eq!(signal_dbm(202.0), -54.0);
        assert_eq!(signal_dbm(0.0), 0.0);
    }

    #[test]
    fn descriptions_follow_conventions() {
        for desc in DESCRIPTIONS {
            assert_eq!(desc.convention_problems(), Vec::<String>::new(), "{}", desc.name);
        }
    }
}
