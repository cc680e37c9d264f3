//! The PI-TEST protocol that `pi-guest` prints (`docs`: /work/notes/pi-interface.md): parsing a
//! console log into checks and figures, and the pass/fail verdict.
//!
//! Lines are `PI-TEST check <name> ok|FAIL <text>`, `PI-TEST figure <name> <number> <unit>`,
//! `PI-TEST done pass|fail`, and the init script's `PI-TEST exit <code>`; everything else is a
//! log line. A serial console ends lines with `\r\n`, so trailing `\r` is ignored.

use std::fmt::Write as _;

/// The prefix every protocol line starts with.
const PREFIX: &str = "PI-TEST ";

/// One `PI-TEST check` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) ok: bool,
    pub(crate) text: String,
}

/// One `PI-TEST figure` line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    pub(crate) name: String,
    pub(crate) value: f64,
    pub(crate) unit: String,
}

/// Everything the protocol lines of one log say.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Report {
    pub(crate) checks: Vec<Check>,
    pub(crate) figures: Vec<Figure>,
    /// `PI-TEST done pass` → `Some(true)`, `done fail` → `Some(false)`; the last one counts.
    pub(crate) done: Option<bool>,
    /// The code in `PI-TEST exit <code>`.
    pub(crate) exit: Option<i32>,
    /// Protocol lines that did not parse, for the failure message.
    pub(crate) malformed: Vec<String>,
}

/// How the run that produced the log ended, as the host saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The program (qemu, or pi-guest natively) exited by itself.
    Exited,
    /// It was killed at the deadline.
    TimedOut,
}

/// Parse a whole log.
pub(crate) fn parse(log: &str) -> Report {
    let mut report = Report::default();
    for line in log.lines() {
        let line = line.trim_end_matches('\r').trim_start();
        let Some(rest) = line.strip_prefix(PREFIX) else { continue };
        if !parse_line(rest, &mut report) {
            report.malformed.push(line.to_owned());
        }
    }
    report
}

/// Add one protocol line (without its prefix) to `report`; `false` when it does not parse.
fn parse_line(rest: &str, report: &mut Report) -> bool {
    let mut words = rest.split_whitespace();
    match words.next() {
        Some("check") => {
            let (Some(name), Some(status)) = (words.next(), words.next()) else { return false };
            let ok = match status {
                "ok" => true,
                "FAIL" => false,
                _ => return false,
            };
            let text = words.collect::<Vec<_>>().join(" ");
            report.checks.push(Check { name: name.to_owned(), ok, text });
            true
        }
        Some("figure") => {
            let (Some(name), Some(value), Some(unit), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return false;
            };
            let Ok(value) = value.parse::<f64>() else { return false };
            if !value.is_finite() {
                return false;
            }
            report.figures.push(Figure { name: name.to_owned(), value, unit: unit.to_owned() });
            true
        }
        Some("done") => match (words.next(), words.next()) {
            (Some("pass"), None) => {
                report.done = Some(true);
                true
            }
            (Some("fail"), None) => {
                report.done = Some(false);
                true
            }
            _ => false,
        },
        Some("exit") => match (words.next().map(str::parse::<i32>), words.next()) {
            (Some(Ok(code)), None) => {
                report.exit = Some(code);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether a log is a pass: `PI-TEST done pass`, no FAIL check, at least one check, `PI-TEST
/// exit 0`. Otherwise every reason it is not, most telling first.
pub(crate) fn verdict(report: &Report, ending: Ending, log: &str) -> Result<(), Vec<String>> {
    let mut reasons = Vec::new();
    let failed: Vec<&Check> = report.checks.iter().filter(|c| !c.ok).collect();
    for check in &failed {
        reasons.push(format!("check {} FAILED: {}", check.name, check.text));
    }
    if report.done.is_none() {
        let why = if ending == Ending::TimedOut {
            "timeout"
        } else if log.contains("Kernel panic") {
            "kernel panic"
        } else if log.contains("Out of memory") || log.contains("oom-kill") {
            "out of memory"
        } else {
            "no done line"
        };
        reasons.push(format!("guest did not finish: {why}"));
    } else if report.done == Some(false) && failed.is_empty() {
        reasons.push("pi-guest printed `PI-TEST done fail`".to_owned());
    }
    if report.checks.is_empty() {
        reasons.push("no check was reported".to_owned());
    }
    match report.exit {
        Some(0) => {}
        Some(code) => reasons.push(format!("pi-guest exited with code {code}")),
        None if report.done.is_some() => reasons.push("no `PI-TEST exit` line".to_owned()),
        None => {}
    }
    for line in &report.malformed {
        reasons.push(format!("malformed protocol line: {line}"));
    }
    if reasons.is_empty() { Ok(()) } else { Err(reasons) }
}

/// The figures as `target/pi-test/figures.txt` has them: `name value unit`, one per line.
pub(crate) fn figures_file(figures: &[Figure]) -> String {
    let mut text = String::new();
    for f in figures {
        let _ = writeln!(text, "{} {} {}", f.name, f.value, f.unit);
    }
    text
}

/// Read a file [`figures_file`] wrote (lines that do not parse are skipped).
pub(crate) fn read_figures(text: &str) -> Vec<Figure> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (name, value, unit) = (words.next()?, words.next()?, words.next()?);
            Some(Figure {
                name: name.to_owned(),
                value: value.parse().ok()?,
                unit: unit.to_owned(),
            })
        })
        .collect()
}

/// The checks and figures as a table for the terminal.
pub(crate) fn table(report: &Report) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .chain(report.figures.iter().map(|f| f.name.len()))
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for c in &report.checks {
        let status = if c.ok { "ok" } else { "FAIL" };
        let _ = writeln!(text, "  check   {:<width$}  {status:<4}  {}", c.name, c.text);
    }
    for f in &report.figures {
        let _ = writeln!(text, "  figure  {:<width$}  {} {}", f.name, f.value, f.unit);
    }
    text
}

/// The figures both runs have, side by side with the ratio emulated / native (how many times
/// the Pi-class machine's figure is the PC's).
pub(crate) fn comparison(emulated: &[Figure], native: &[Figure]) -> String {
    let width = emulated.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let mut text =
        format!("  {:<width$}  {:>16}  {:>16}  emulated/native\n", "figure", "emulated", "native");
    for f in emulated {
        let Some(o) = native.iter().find(|o| o.name == f.name && o.unit == f.unit) else {
            continue;
        };
        let ratio =
            if o.value == 0.0 { "-".to_owned() } else { format!("{:.2}", f.value / o.value) };
        let _ = writeln!(
            text,
            "  {:<width$}  {:>16}  {:>16}  {ratio}",
            f.name,
            format!("{} {}", f.value, f.unit),
            format!("{} {}", o.value, o.unit)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "\
[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x410fd083]\r
pi-test: init started\r
PI-TEST check exporter.scrapes ok 200/200 scrapes\r
some log line from the exporter\r
PI-TEST figure exporter.rss_peak_bytes 3932160 bytes\r
PI-TEST figure exporter.scrape_median_ms 4.5 ms\r
PI-TEST check kiosk.mpv_restart ok replaced in 1.2 s\r
PI-TEST done pass\r
PI-TEST exit 0\r
[    9.1] reboot: Power down\r
";

    #[test]
    fn a_passing_log_parses_into_checks_and_figures() {
        let report = parse(PASS);
        assert_eq!(report.checks.len(), 2);
        assert_eq!(
            report.checks[0],
            Check { name: "exporter.scrapes".into(), ok: true, text: "200/200 scrapes".into() }
        );
        assert_eq!(report.figures[0].name, "exporter.rss_peak_bytes");
        assert_eq!(report.figures[0].value, 3_932_160.0);
        assert_eq!(report.figures[1].value, 4.5);
        assert_eq!(report.figures[1].unit, "ms");
        assert_eq!((report.done, report.exit), (Some(true), Some(0)));
        assert!(report.malformed.is_empty(), "{:?}", report.malformed);
        assert_eq!(verdict(&report, Ending::Exited, PASS), Ok(()));
        assert_eq!(
            figures_file(&report.figures),
            "exporter.rss_peak_bytes 3932160 bytes\nexporter.scrape_median_ms 4.5 ms\n"
        );
        assert_eq!(read_figures(&figures_file(&report.figures)), report.figures);
        let table = table(&report);
        assert!(table.contains("exporter.scrapes") && table.contains("3932160 bytes"), "{table}");
    }

    /// Each case: a log, how the run ended, and a piece every expected reason must contain.
    #[test]
    fn failures_are_named() {
        let cases: &[(&str, &str, Ending, &[&str])] = &[
            (
                "a FAIL line fails even with done pass",
                "PI-TEST check a ok\nPI-TEST check kiosk.error_image FAIL no error image after 30 s\nPI-TEST done pass\nPI-TEST exit 0\n",
                Ending::Exited,
                &["check kiosk.error_image FAILED: no error image after 30 s"],
            ),
            (
                "done fail with a FAIL line: the check is the reason",
                "PI-TEST check a FAIL x\nPI-TEST done fail\nPI-TEST exit 1\n",
                Ending::Exited,
                &["check a FAILED: x", "exited with code 1"],
            ),
            (
                "no done line",
                "PI-TEST check a ok\nPI-TEST exit 101\n",
                Ending::Exited,
                &["guest did not finish: no done line", "exited with code 101"],
            ),
            (
                "timeout",
                "PI-TEST check a ok\nstill running\n",
                Ending::TimedOut,
                &["guest did not finish: timeout"],
            ),
            (
                "kernel panic before anything ran",
                "Kernel panic - not syncing: No working init found.\n",
                Ending::Exited,
                &["guest did not finish: kernel panic", "no check was reported"],
            ),
            (
                "done pass but no check",
                "PI-TEST done pass\nPI-TEST exit 0\n",
                Ending::Exited,
                &["no check was reported"],
            ),
            (
                "done pass but the init script's exit line is missing",
                "PI-TEST check a ok\nPI-TEST done pass\n",
                Ending::Exited,
                &["no `PI-TEST exit` line"],
            ),
            (
                "done fail without a FAIL check",
                "PI-TEST check a ok\nPI-TEST done fail\nPI-TEST exit 1\n",
                Ending::Exited,
                &["printed `PI-TEST done fail`", "exited with code 1"],
            ),
            (
                "a malformed protocol line",
                "PI-TEST check a ok\nPI-TEST figure x notanumber ms\nPI-TEST done pass\nPI-TEST exit 0\n",
                Ending::Exited,
                &["malformed protocol line: PI-TEST figure x notanumber ms"],
            ),
        ];
        for (what, log, ending, expected) in cases {
            let reasons = verdict(&parse(log), *ending, log).expect_err(what);
            assert_eq!(reasons.len(), expected.len(), "{what}: {reasons:?}");
            for (reason, piece) in reasons.iter().zip(expected.iter()) {
                assert!(reason.contains(piece), "{what}: {reason:?} lacks {piece:?}");
            }
        }
    }

    #[test]
    fn only_lines_starting_with_the_prefix_count() {
        let report = parse("log: PI-TEST check x FAIL quoted\n  PI-TEST check y ok indented\n");
        assert_eq!(report.checks.len(), 1);
        assert_eq!(report.checks[0].name, "y");
        for bad in [
            "PI-TEST check x maybe",
            "PI-TEST check x",
            "PI-TEST figure x 1",
            "PI-TEST figure x 1 ms extra",
            "PI-TEST figure x inf ms",
            "PI-TEST done",
            "PI-TEST done pass now",
            "PI-TEST exit zero",
            "PI-TEST hello",
        ] {
            assert_eq!(parse(bad).malformed, [bad], "{bad}");
        }
    }

    #[test]
    fn two_runs_compare_figure_by_figure() {
        let guest = read_figures("a.cpu_ms 12 ms\nb.rss 100 bytes\nonly.guest 1 count\n");
        let native = read_figures("a.cpu_ms 3 ms\nb.rss 0 bytes\n");
        let text = comparison(&guest, &native);
        assert!(text.contains("4.00"), "{text}");
        assert!(!text.contains("only.guest"), "{text}");
        assert!(text.lines().any(|l| l.contains("b.rss") && l.ends_with('-')), "{text}");
    }
}
