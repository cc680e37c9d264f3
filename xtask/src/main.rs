//! Project automation, run as `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! - `docs [--check]`: regenerate `docs/metrics.md` from the collectors' descriptions; with
//!   `--check`, fail instead when the committed copy differs (CI runs this).
//! - `dist [--target TRIPLE|host] [--features LIST] [--no-default-features] [--no-deb]`: build the
//!   release binaries (cross-compiled for Raspberry Pi OS 64-bit with Debian's `rustc-web`),
//!   strip and check them, smoke-test them (under qemu-user when cross-compiled), and package
//!   them as `dist/vimeo-monitor-<version>-<target>.tar.gz` and a `.deb`.
//! - `pi-test [--native] [--memory MIB] [--timeout SECS] [--keep]`: boot the aarch64 dist
//!   binaries on an emulated Raspberry Pi 4 (qemu-system-aarch64, Debian's arm64 kernel, mpv and
//!   ffprobe) and run the `pi-guest` test program there; `--native` runs it on this machine for
//!   the baseline figures.
//! - `setup-cross [--dry-run]`: install what `dist` and `pi-test` need on a Debian host.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

mod cmd;
mod deb;
mod dist;
mod elf;
mod package;
mod pi_test;
mod setup_cross;
mod smoke;
mod target;

/// Project automation for vimeo-monitor.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Regenerate docs/metrics.md from the collectors' own descriptions.
    Docs {
        /// Fail instead of writing when the committed copy differs.
        #[arg(long)]
        check: bool,
    },
    /// Build, strip, check, smoke-test and package the release binaries.
    Dist(dist::Options),
    /// Run the aarch64 release binaries on an emulated Raspberry Pi 4 (after `dist`).
    PiTest(pi_test::Options),
    /// Install the cross toolchain, qemu-user, qemu-system-arm and cargo-deb (Debian, as root).
    SetupCross {
        /// Print the commands instead of running them.
        #[arg(long)]
        dry_run: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Docs { check } => docs(check),
        Command::Dist(options) => dist::run(&options),
        Command::PiTest(options) => pi_test::run(&options),
        Command::SetupCross { dry_run } => setup_cross::run(dry_run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace's root directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

fn docs(check: bool) -> anyhow::Result<()> {
    let path = workspace_root().join("docs/metrics.md");
    let generated = health_server::metrics_reference();
    if check {
        let committed = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if committed != generated {
            bail!(
                "{} is out of date: run `cargo xtask docs` and commit the result",
                path.display()
            );
        }
        eprintln!("{} is up to date", path.display());
    } else {
        std::fs::write(&path, generated).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dist_accepts_the_minimal_deployment_flags() {
        let cli = Cli::try_parse_from([
            "xtask",
            "dist",
            "--target",
            "aarch64-unknown-linux-gnu",
            "--no-default-features",
            "--features",
            "system,network",
        ])
        .unwrap();
        let Command::Dist(options) = cli.command else { panic!("{cli:?}") };
        assert_eq!(options.target, "aarch64-unknown-linux-gnu");
        assert!(options.no_default_features);
        assert_eq!(options.features, ["system", "network"]);
    }

    #[test]
    fn pi_test_takes_its_flags() {
        let cli =
            Cli::try_parse_from(["xtask", "pi-test", "--native", "--memory", "2048", "--keep"])
                .unwrap();
        let Command::PiTest(options) = cli.command else { panic!("{cli:?}") };
        assert!(options.native && options.keep);
        assert_eq!(options.memory, 2048);
    }
}
