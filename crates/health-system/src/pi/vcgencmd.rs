//! Running `vcgencmd get_throttled`: one short-lived child with a hard timeout, always reaped.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use health_core::child_output::{self, Unfinished, quote, wait_bounded};
use tokio::process::Command;

use super::throttle::{self, ParseError};

/// How much of the child's output a problem message quotes.
const QUOTED_CHARS: usize = 200;

/// What vcgencmd prints when the user may not open `/dev/vchiq` or `/dev/vcio` (not in the
/// `video` group), compared in lowercase.
const PERMISSION_HINTS: &[&str] = &[
    "vchi initialization failed",
    "failed to open vchiq instance",
    "can't open device file",
    "permission denied",
];

/// How to fix a permission failure.
const FIX: &str = "add the user running the exporter to the `video` group: \
                   sudo usermod -aG video <user>, then restart the exporter";

/// Why `vcgencmd get_throttled` gave no mask.
#[derive(Debug, thiserror::Error)]
pub(super) enum VcgencmdError {
    /// The user may not talk to the firmware; retrying will not help until the exporter restarts.
    #[error("{path} get_throttled: permission denied ({detail}); {FIX}", path = path.display())]
    PermissionDenied { path: PathBuf, detail: String },
    /// It could not be started.
    #[error("{path}: cannot run: {source}", path = path.display())]
    Spawn { path: PathBuf, source: io::Error },
    /// It did not finish in time and was killed.
    #[error("{path} get_throttled: no answer within {timeout:?}; killed", path = path.display())]
    Timeout { path: PathBuf, timeout: Duration },
    /// Waiting for it or reading its output failed.
    #[error("{path} get_throttled: {source}", path = path.display())]
    Io { path: PathBuf, source: io::Error },
    /// It failed.
    #[error("{path} get_throttled: {status}: {output:?}", path = path.display())]
    Exit { path: PathBuf, status: ExitStatus, output: String },
    /// It succeeded but printed something else than `throttled=0x…`.
    #[error("{path} get_throttled: cannot parse {output:?}: {source}", path = path.display())]
    Parse { path: PathBuf, output: String, source: ParseError },
}

/// Runs `<path> get_throttled` and returns the mask it prints.
///
/// stdin is null, stdout and stderr are read concurrently with the wait (a chatty child cannot
/// block on a full pipe). On timeout the child is killed and reaped before this returns; if the
/// caller drops this future, `kill_on_drop` kills it and tokio reaps it in the background.
pub(super) async fn get_throttled(path: &Path, timeout: Duration) -> Result<u32, VcgencmdError> {
    let child =
        child_output::spawn(Command::new(path).arg("get_throttled")).map_err(
            |source| match source.kind() {
                io::ErrorKind::PermissionDenied => VcgencmdError::PermissionDenied {
                    path: path.to_owned(),
                    detail: source.to_string(),
                },
                _ => VcgencmdError::Spawn { path: path.to_owned(), source },
            },
        )?;
    let finished = match wait_bounded(child, timeout).await {
        Ok(finished) => finished,
        Err(Unfinished::Timeout(_)) => {
            return Err(VcgencmdError::Timeout { path: path.to_owned(), timeout });
        }
        Err(Unfinished::Io(source)) => {
            return Err(VcgencmdError::Io { path: path.to_owned(), source });
        }
    };
    let status = finished.status;
    let output = quote(&finished.text(), QUOTED_CHARS);

    let lowercase = output.to_lowercase();
    if let Some(hint) = PERMISSION_HINTS.iter().find(|hint| lowercase.contains(*hint))
        && (!status.success() || throttle::parse_vcgencmd(&output).is_err())
    {
        tracing::debug!(
            target: "health.system",
            path = %path.display(),
            hint,
            "vcgencmd lacks permission",
        );
        return Err(VcgencmdError::PermissionDenied { path: path.to_owned(), detail: output });
    }
    if !status.success() {
        return Err(VcgencmdError::Exit { path: path.to_owned(), status, output });
    }
    throttle::parse_vcgencmd(&output).map_err(|source| VcgencmdError::Parse {
        path: path.to_owned(),
        output,
        source,
    })
}
