//! Running the built binaries once: `--version` and `--check-config` of each, natively for the
//! host target and under qemu-user for aarch64.
//!
//! qemu-user 7.2 on the build machines hangs as soon as a program starts a second thread
//! (`../shared/notes/toolchain.md`), so only paths that start none are run: clap's `--version`
//! and the configuration check, which both exit before the async runtime is built. Each run is
//! bounded, so a hang is a failed check rather than a stuck build.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cmd;
use crate::target::Target;

/// How long one run may take (qemu starts in well under a second).
const LIMIT: Duration = Duration::from_secs(30);

/// The bytes a PNG file starts with: enough for the kiosk's image check.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// What the smoke test did.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Every run passed; one line per run.
    Passed(Vec<String>),
    /// Not run, and why (with the command that would make it run).
    Skipped(String),
}

/// Run the smoke checks for the binaries in `bin_dir`. `binaries` are the file names.
pub(crate) fn run(
    target: &Target,
    cross: bool,
    bin_dir: &Path,
    binaries: &[&str],
    version: &str,
) -> anyhow::Result<Outcome> {
    let runner = if cross {
        match cmd::which(target.qemu) {
            Some(qemu) => Some(qemu),
            None => {
                return Ok(Outcome::Skipped(format!(
                    "{} is not installed: `apt-get install -y qemu-user`",
                    target.qemu
                )));
            }
        }
    } else {
        None
    };
    // An empty working directory and no HEALTH_*/VIMEO_* variables: no `.env` or setting of
    // this machine leaks into the check.
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let holding = scratch.path().join("holding.png");
    std::fs::write(&holding, PNG_SIGNATURE)?;
    let kiosk_env = [
        ("VIMEO_TOKEN", "smoke-test-token".to_owned()),
        ("VIMEO_LIVE_EVENT_ID", "1234567".to_owned()),
        ("HOLDING_IMAGE", holding.display().to_string()),
        ("ERROR_IMAGE", holding.display().to_string()),
    ];

    let mut lines = Vec::new();
    for &binary in binaries {
        let path = bin_dir.join(binary);
        let command = |args: &[&str]| {
            let mut command = match &runner {
                Some(qemu) => {
                    let mut c = Command::new(qemu);
                    c.arg("-L").arg(format!("/usr/{}", target.gnu_prefix)).arg(&path);
                    c
                }
                None => Command::new(&path),
            };
            command.args(args).current_dir(scratch.path());
            for (key, _) in std::env::vars_os() {
                let key = key.to_string_lossy();
                if key.starts_with("HEALTH_")
                    || key.starts_with("VIMEO_")
                    || key.starts_with("RUST_LOG")
                {
                    command.env_remove(key.as_ref());
                }
            }
            command
        };

        let expected = format!("{binary} {version}");
        let out = expect_success(command(&["--version"]))?;
        if out.trim() != expected {
            bail!("`{binary} --version` printed {:?}, expected {expected:?}", out.trim());
        }
        lines.push(format!("{binary} --version: {expected}"));

        let mut check = command(&["--check-config"]);
        if binary == "vimeo-monitor" {
            check.envs(kiosk_env.iter().map(|(k, v)| (k, v)));
        }
        let out = expect_success(check)?;
        let settings = out.lines().filter(|l| l.contains('=')).count();
        if settings == 0 {
            bail!("`{binary} --check-config` printed no settings:\n{out}");
        }
        lines.push(format!("{binary} --check-config: {settings} settings"));
    }
    Ok(Outcome::Passed(lines))
}

/// Run `command` bounded by [`LIMIT`]; its stdout when it exits 0, else an error with its
/// output.
fn expect_success(mut command: Command) -> anyhow::Result<String> {
    let shown = cmd::display(&command);
    eprintln!("$ {shown}");
    let done = cmd::run_bounded(&mut command, LIMIT)?;
    match done.status {
        Some(status) if status.success() => Ok(done.stdout),
        Some(status) => bail!("`{shown}` failed ({status}):\n{}{}", done.stdout, done.stderr),
        None => bail!(
            "`{shown}` did not finish within {LIMIT:?} (under qemu-user, a second thread hangs: \
             is this path starting one?)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_qemu_skips_with_the_install_command() {
        let target = Target { qemu: "qemu-no-such-machine", ..Target::AARCH64 };
        let outcome = run(&target, true, Path::new("/nonexistent"), &["x"], "0.1.0").unwrap();
        let Outcome::Skipped(reason) = outcome else { panic!("{outcome:?}") };
        assert!(reason.contains("apt-get install -y qemu-user"), "{reason}");
    }

    #[test]
    fn a_wrong_version_line_fails() {
        // `/bin/echo --version` prints a version of coreutils, not `echo 9.9.9`.
        let err = run(&Target::X86_64, false, Path::new("/bin"), &["echo"], "9.9.9").unwrap_err();
        assert!(err.to_string().contains("expected \"echo 9.9.9\""), "{err:#}");
    }
}
