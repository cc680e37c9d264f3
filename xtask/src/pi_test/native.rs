//! `cargo xtask pi-test --native`: the same `pi-guest` on the same `/pi` data, on this machine
//! with the host's release build and Debian's amd64 mpv and ffprobe. Its figures are the
//! baseline for the emulated run's: CPU time under emulation means nothing by itself, its
//! ratio to this run is what estimates a Pi's cost.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::{
    BINARIES, Conclusion, GUEST, GUEST_OVERRIDE, Options, cache_dir, conclude, console, data,
    guest_override, init, report,
};
use crate::setup_cross::{self, Missing};
use crate::{cmd, workspace_root};

/// The host release build of the binaries and, unless replaced, `pi-guest`.
pub(crate) fn build_command(root: &Path, with_guest: bool) -> Command {
    let mut command = Command::new(cmd::cargo());
    command.current_dir(root).args(["build", "--release", "--locked"]);
    for package in BINARIES.iter().copied().chain(with_guest.then_some(GUEST)) {
        command.args(["--package", package]);
    }
    command
}

/// `pi-guest <data dir>` with the release directory first in `PATH` (where pi-guest finds
/// health-server and vimeo-monitor, as `/bin` in the guest), the rest of `path` after it.
pub(crate) fn guest_command(
    program: &Path,
    data_dir: &Path,
    release: &Path,
    path: Option<&OsStr>,
) -> Command {
    let mut dirs = vec![release.to_owned()];
    dirs.extend(path.map(std::env::split_paths).into_iter().flatten());
    let mut command = Command::new(program);
    command
        .arg(data_dir)
        .env("PATH", std::env::join_paths(dirs).unwrap_or_else(|_| release.as_os_str().to_owned()));
    command
}

/// What the native run needs and does not find.
fn missing() -> Vec<Missing> {
    [
        ("mpv", "the host's `mpv` (the kiosk's player)", "apt-get install -y mpv"),
        ("ffprobe", "the host's `ffprobe` (the stream collector)", "apt-get install -y ffmpeg"),
        ("ffmpeg", "the host's `ffmpeg` (makes the test stream)", "apt-get install -y ffmpeg"),
    ]
    .into_iter()
    .filter(|(program, _, _)| cmd::which(program).is_none())
    .map(|(_, what, fix)| Missing { what: what.to_owned(), fix: fix.to_owned() })
    .collect()
}

/// Run it.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let root = workspace_root();
    let cache = cache_dir(&root);
    std::fs::create_dir_all(&cache)?;
    let missing = missing();
    if !missing.is_empty() {
        bail!("{}", setup_cross::explain(&missing, "cargo xtask pi-test --native"));
    }
    let chosen = guest_override(std::env::var_os(GUEST_OVERRIDE))?;
    let step = Instant::now();
    cmd::run(&mut build_command(&root, chosen.is_none()))?;
    let build = step.elapsed();
    let release: PathBuf = root.join("target/release");
    let program = chosen.unwrap_or_else(|| release.join(GUEST));

    let data = data::prepare(&root, &cache)?;
    let native_root = cache.join("native-root");
    let data_dir = native_root.join("pi");
    data::copy_to(&data, &data_dir)?;

    let log_path = cache.join("native.log");
    let command = guest_command(&program, &data_dir, &release, std::env::var_os("PATH").as_deref());
    let run = console::run(
        command,
        Duration::from_secs(options.timeout),
        &log_path,
        "native| ",
        init::STARTED,
    )?;
    if !options.keep {
        let _ = std::fs::remove_dir_all(&native_root);
    }
    let mut report = report::parse(&run.log);
    // No init script here: the exit code is the process's (-1 when a signal ended it).
    report.exit = run.status.map(|s| s.code().unwrap_or(-1));
    conclude(&Conclusion {
        report: &report,
        ending: run.ending,
        log: &run.log,
        log_path: &log_path,
        figures_path: &cache.join("figures-native.txt"),
        other_figures: (&cache.join("figures.txt"), false),
        summary: format!(
            "pi-test --native: run {:.1}s, total {:.1}s (build {:.1}s)",
            run.elapsed.as_secs_f64(),
            started.elapsed().as_secs_f64(),
            build.as_secs_f64()
        ),
        extra_reason: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_build_names_the_three_packages() {
        assert_eq!(
            cmd::display(&build_command(Path::new("/w"), true)),
            "cargo build --release --locked --package health-server --package vimeo-monitor \
             --package pi-guest"
                .replace("cargo", &cmd::cargo().to_string_lossy())
        );
        let without = cmd::display(&build_command(Path::new("/w"), false));
        assert!(without.ends_with("--package health-server --package vimeo-monitor"), "{without}");
    }

    #[test]
    fn pi_guest_finds_the_release_binaries_first_in_path() {
        let command = guest_command(
            Path::new("/w/target/release/pi-guest"),
            Path::new("/w/target/pi-test/native-root/pi"),
            Path::new("/w/target/release"),
            Some(OsStr::new("/usr/local/bin:/usr/bin")),
        );
        assert_eq!(
            cmd::display(&command),
            "PATH=/w/target/release:/usr/local/bin:/usr/bin /w/target/release/pi-guest \
             /w/target/pi-test/native-root/pi"
        );
        let bare = guest_command(Path::new("/g"), Path::new("/d"), Path::new("/r"), None);
        assert_eq!(cmd::display(&bare), "PATH=/r /g /d");
    }
}
