//! What the guest tells the host: one `PI-TEST …` line per check and per figure on stdout, and a
//! last `PI-TEST done pass|fail` (the protocol `cargo xtask pi-test` parses). Everything else on
//! the console is log.

use std::fmt::Display;
use std::io::Write as _;

/// The checks and figures of one run, printed as they happen.
#[derive(Debug, Default)]
pub(crate) struct Report {
    checks: usize,
    failed: Vec<String>,
}

impl Report {
    /// A check that held.
    pub(crate) fn ok(&mut self, name: &str, detail: impl Display) {
        self.checks += 1;
        line(format_args!("PI-TEST check {name} ok {detail}"));
    }

    /// A check that did not hold.
    pub(crate) fn fail(&mut self, name: &str, detail: impl Display) {
        self.checks += 1;
        self.failed.push(name.to_owned());
        line(format_args!("PI-TEST check {name} FAIL {detail}"));
    }

    /// `Ok(detail)` is [`ok`](Self::ok); `Err` is [`fail`](Self::fail) and is handed back, so a
    /// phase stops at its first failed check with `?`.
    pub(crate) fn check<T: Display>(
        &mut self,
        name: &str,
        outcome: anyhow::Result<T>,
    ) -> anyhow::Result<()> {
        match outcome {
            Ok(detail) => {
                self.ok(name, detail);
                Ok(())
            }
            Err(e) => {
                self.fail(name, format_args!("{e:#}"));
                Err(e.context(format!("check {name} failed")))
            }
        }
    }

    /// [`fail`](Self::fail) with `error`'s chain, handed back as the phase's error.
    pub(crate) fn failed(&mut self, name: &str, error: anyhow::Error) -> anyhow::Result<()> {
        self.check(name, Err::<&str, _>(error))
    }

    /// A measured figure: `unit` is one of bytes, count, seconds, ms, ratio.
    pub(crate) fn figure(&mut self, name: &str, value: f64, unit: &str) {
        line(format_args!("PI-TEST figure {name} {} {unit}", number(value)));
    }

    /// Prints the last line; `true` when every check held (and there was at least one).
    pub(crate) fn finish(&self) -> bool {
        let pass = self.checks > 0 && self.failed.is_empty();
        if !pass {
            println!("failed checks: {}", self.failed.join(", "));
        }
        line(format_args!("PI-TEST done {}", if pass { "pass" } else { "fail" }));
        pass
    }
}

/// At most three decimals, none for whole numbers: `3`, `0.125`, `12.5`.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// One whole line, flushed: the console interleaves our output with the kernel's.
fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{args}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact_when_whole() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.125), "0.125");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(4_194_304.0), "4194304");
        assert_eq!(number(0.0004), "0");
    }

    #[test]
    fn a_run_passes_only_with_checks_and_no_failure() {
        assert!(!Report::default().finish(), "no checks is no proof");
        let mut report = Report::default();
        report.ok("a", "fine");
        assert!(report.finish());
        assert!(report.check("b", Err::<&str, _>(anyhow::anyhow!("broken"))).is_err());
        assert!(!report.finish());
        assert_eq!(report.failed, ["b"]);
    }
}
