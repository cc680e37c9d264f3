//! Running other programs: echoing the command, failing with its status and stderr, and
//! bounding a run that could hang (a binary under qemu-user).

use std::ffi::OsStr;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The cargo that runs this xtask (`$CARGO`), else `cargo` from `PATH`.
pub(crate) fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// `program`'s path when it is an executable file in `PATH` (or a path that exists).
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| is_executable(p))
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The command line as a person would type it (environment overrides first).
pub(crate) fn display(command: &Command) -> String {
    let mut words: Vec<String> = command
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    words.push(command.get_program().to_string_lossy().into_owned());
    words.extend(command.get_args().map(quote));
    words.join(" ")
}

fn quote(arg: &OsStr) -> String {
    let arg = arg.to_string_lossy();
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c))
    {
        arg.into_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Run `command` with inherited output; an error unless it exits 0.
pub(crate) fn run(command: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", display(command));
    let status = command.status().with_context(|| format!("starting `{}`", display(command)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", display(command));
    }
    Ok(())
}

/// Run `command` and return its stdout; an error carrying its stderr unless it exits 0.
/// (`output` drains stdout and stderr concurrently, so a chatty child cannot block.)
pub(crate) fn output(command: &mut Command) -> anyhow::Result<String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting `{}`", display(command)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}",
            display(command),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    String::from_utf8(out.stdout)
        .with_context(|| format!("`{}` printed non-UTF-8", display(command)))
}

/// What a bounded run printed and how it ended.
#[derive(Debug)]
pub(crate) struct Bounded {
    /// The exit status, or `None` when it was killed at the deadline.
    pub(crate) status: Option<ExitStatus>,
    /// Its standard output.
    pub(crate) stdout: String,
    /// Its standard error.
    pub(crate) stderr: String,
}

/// Run `command` for at most `limit`, killing it at the deadline. Output goes to temporary
/// files, so nothing blocks on a full pipe while this waits.
pub(crate) fn run_bounded(command: &mut Command, limit: Duration) -> anyhow::Result<Bounded> {
    let stdout = tempfile::tempfile().context("creating a temporary file")?;
    let stderr = tempfile::tempfile().context("creating a temporary file")?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout.try_clone()?)
        .stderr(stderr.try_clone()?)
        .spawn()
        .with_context(|| format!("starting `{}`", display(command)))?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // Kill and reap: no child outlives the run.
            let _ = child.kill();
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Bounded { status, stdout: read_all(stdout)?, stderr: read_all(stderr)? })
}

fn read_all(mut file: File) -> anyhow::Result<String> {
    use std::io::{Read as _, Seek as _};
    file.rewind()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_is_shown_quoted_with_its_environment() {
        let mut command = Command::new("cargo");
        command.env("RUSTC", "/usr/bin/rustc").args(["build", "--features", "a b"]);
        assert_eq!(display(&command), "RUSTC=/usr/bin/rustc cargo build --features 'a b'");
    }

    #[test]
    fn which_finds_sh_and_not_a_made_up_name() {
        assert!(which("sh").is_some());
        assert!(which("no-such-program-xtask").is_none());
    }

    #[test]
    fn a_bounded_run_returns_output_or_kills_at_the_deadline() {
        let done = run_bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(done.status.unwrap().success());
        assert_eq!((done.stdout.as_str(), done.stderr.as_str()), ("out\n", "err\n"));
        let hung =
            run_bounded(Command::new("sleep").arg("10"), Duration::from_millis(100)).unwrap();
        assert!(hung.status.is_none());
    }
}
