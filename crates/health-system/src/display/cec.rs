//! Asking the TV whether it is on: `cec-ctl -d <device> --to 0 --give-device-power-status`, one
//! short-lived child with a hard timeout, always reaped.
//!
//! cec-ctl (Debian package v4l-utils) sends `<Give Device Power Status>` to the TV (logical
//! address 0) and prints the reply's operand as `\tpwr-state: on (0x00)`; the names are `on`,
//! `standby`, `to-on` and `to-standby` (libcec's tools spell the last two `in transition standby
//! to on` / `in transition on to standby`; both are read). A TV that does not answer (no CEC, or
//! unplugged from the mains) gives no such line: no data, not a failure. This module never
//! configures the adapter (a TV that never answers may need `cec-ctl -d /dev/cec0 --playback`
//! once per boot, see docs/configuration.md), so it never changes what the TV shows.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use health_core::child_output::{self, Unfinished, quote, wait_bounded};
use tokio::process::Command;

/// How much of the child's output a problem message quotes.
const QUOTED_CHARS: usize = 200;

/// Why `cec-ctl` gave no answer to read.
#[derive(Debug, thiserror::Error)]
pub(super) enum CecError {
    /// It could not be started.
    #[error("{path}: cannot run: {source}", path = path.display())]
    Spawn { path: PathBuf, source: io::Error },
    /// It did not finish in time and was killed.
    #[error("{path} --give-device-power-status: no answer within {timeout:?}; killed", path = path.display())]
    Timeout { path: PathBuf, timeout: Duration },
    /// Waiting for it or reading its output failed.
    #[error("{path} --give-device-power-status: {source}", path = path.display())]
    Io { path: PathBuf, source: io::Error },
    /// It failed (no such device, no permission on it, an unconfigured adapter).
    #[error("{path} --give-device-power-status: {status}: {output:?}", path = path.display())]
    Exit { path: PathBuf, status: ExitStatus, output: String },
}

/// Asks the TV behind `device` for its power state: `Some(true)` on or turning on,
/// `Some(false)` in standby or going there, `None` when it gave no answer this module knows.
///
/// stdin is null, stdout and stderr are read concurrently with the wait. On timeout the child is
/// killed and reaped before this returns; if the caller drops this future, `kill_on_drop` kills
/// it and tokio reaps it in the background.
pub(super) async fn power_status(
    program: &Path,
    device: &Path,
    timeout: Duration,
) -> Result<Option<bool>, CecError> {
    let mut command = Command::new(program);
    command.arg("-d").arg(device).args(["--to", "0", "--give-device-power-status"]);
    let child = child_output::spawn(&mut command)
        .map_err(|source| CecError::Spawn { path: program.to_owned(), source })?;
    let finished = match wait_bounded(child, timeout).await {
        Ok(finished) => finished,
        Err(Unfinished::Timeout(_)) => {
            return Err(CecError::Timeout { path: program.to_owned(), timeout });
        }
        Err(Unfinished::Io(source)) => {
            return Err(CecError::Io { path: program.to_owned(), source });
        }
    };
    let (status, stdout) = (finished.status, &finished.stdout);
    let stdout = String::from_utf8_lossy(stdout);
    if !status.success() {
        let output = quote(&finished.text(), QUOTED_CHARS);
        return Err(CecError::Exit { path: program.to_owned(), status, output });
    }
    let answer = parse_power_status(&stdout);
    if answer.is_none() {
        tracing::debug!(
            target: "health.system",
            output = %quote(&stdout, QUOTED_CHARS),
            "the TV gave no power state over CEC",
        );
    }
    Ok(answer)
}

/// The TV's power state in cec-ctl's output: the first `pwr-state:` line, by its operand code
/// `(0x00)`–`(0x03)`, else by its name. `None` without such a line or with another value.
pub(super) fn parse_power_status(output: &str) -> Option<bool> {
    let value = output.lines().find_map(|line| {
        let line = line.trim();
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case("pwr-state").then(|| value.trim().to_ascii_lowercase())
    })?;
    let (name, code) = match value.rsplit_once('(') {
        Some((name, code)) => (name.trim(), code.strip_suffix(')')),
        None => (value.as_str(), None),
    };
    if let Some(code) = code.and_then(|c| c.strip_prefix("0x")) {
        return match u8::from_str_radix(code, 16) {
            // On, in transition standby to on.
            Ok(0 | 2) => Some(true),
            // Standby, in transition on to standby.
            Ok(1 | 3) => Some(false),
            _ => None,
        };
    }
    match name {
        "on" | "to-on" | "in transition standby to on" => Some(true),
        "standby" | "to-standby" | "in transition on to standby" => Some(false),
        _ => None,
    }
}
