//! What `cargo xtask dist` needs on the build machine, how to tell what is missing, and
//! `cargo xtask setup-cross`, which installs it on a Debian host.
//!
//! rustup cannot fetch other targets on this project's machines, but Debian can: `rustc-web`
//! (`/usr/bin/rustc`, 1.96) with `libstd-rust-web-dev:arm64` (its aarch64 standard library),
//! the cross gcc as linker and C compiler, and the arm64 C library headers and start files
//! (`../shared/notes/toolchain.md`). `qemu-user` runs the smoke test; cargo-deb makes the `.deb`;
//! `qemu-system-arm` boots the emulated Pi of `cargo xtask pi-test`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd;
use crate::target::Target;

/// Debian packages for cross-building to aarch64, smoke-testing the result under qemu-user
/// (dist) and running it on an emulated Pi (`pi-test`: qemu-system-arm; cpio checks its
/// initramfs writer).
pub(crate) const APT_PACKAGES: &[&str] = &[
    "rustc-web",
    "libstd-rust-web-dev:arm64",
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "qemu-user",
    "qemu-system-arm",
    "cpio",
];

/// The command that installs cargo-deb (≈ 4 min to compile on 2 cores).
pub(crate) const CARGO_DEB_INSTALL: &str = "cargo install --locked cargo-deb";

/// Debian's rustc, which carries the arm64 standard library.
pub(crate) const DEBIAN_RUSTC: &str = "/usr/bin/rustc";

/// The shell commands `setup-cross` runs, in order: the exact fix for every missing
/// prerequisite.
pub(crate) fn commands() -> Vec<String> {
    vec![
        "dpkg --add-architecture arm64".to_owned(),
        "apt-get update".to_owned(),
        format!("apt-get install -y {}", APT_PACKAGES.join(" ")),
        format!("command -v cargo-deb >/dev/null || {CARGO_DEB_INSTALL}"),
    ]
}

/// One prerequisite that is not there, and the command that provides it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Missing {
    /// What is missing, for a person.
    pub(crate) what: String,
    /// The exact command that provides it.
    pub(crate) fix: String,
}

/// Everything that `dist` for `target` needs and does not find; empty when it can start.
///
/// `deb` asks for the `.deb` tools too. qemu is optional (the smoke test is skipped without
/// it), so it is not listed here.
pub(crate) fn missing(target: &Target, cross: bool, deb: bool) -> Vec<Missing> {
    let mut missing = Vec::new();
    let mut need = |ok: bool, what: String, fix: String| {
        if !ok {
            missing.push(Missing { what, fix });
        }
    };
    if cross {
        let rustc = Path::new(DEBIAN_RUSTC);
        need(
            rustc.exists(),
            format!("Debian's rustc-web ({DEBIAN_RUSTC})"),
            "apt-get install -y rustc-web".to_owned(),
        );
        if rustc.exists() {
            need(
                has_std_for(rustc, target.triple),
                format!("the {} standard library for {DEBIAN_RUSTC}", target.triple),
                format!(
                    "dpkg --add-architecture {arch} && apt-get update && apt-get install -y \
                     libstd-rust-web-dev:{arch}",
                    arch = target.deb_arch
                ),
            );
        }
        let gcc = format!("{}-gcc", target.gnu_prefix);
        need(
            cmd::which(&gcc).is_some(),
            format!("the cross C compiler and linker `{gcc}`"),
            format!("apt-get install -y gcc-{}", target.gnu_prefix),
        );
        need(
            Path::new(&format!("/usr/{}/lib/crt1.o", target.gnu_prefix)).exists(),
            format!(
                "the {} C library for linking (/usr/{}/lib)",
                target.deb_arch, target.gnu_prefix
            ),
            format!("apt-get install -y libc6-dev-{}-cross", target.deb_arch),
        );
    }
    let strip = target.strip_program(cross);
    need(
        cmd::which(&strip).is_some(),
        format!("`{strip}`"),
        if cross {
            format!("apt-get install -y binutils-{}", target.gnu_prefix)
        } else {
            "apt-get install -y binutils".to_owned()
        },
    );
    if deb {
        need(
            cargo_deb_installed(),
            "cargo-deb (makes the .deb)".to_owned(),
            CARGO_DEB_INSTALL.to_owned(),
        );
        need(
            cmd::which("dpkg-deb").is_some(),
            "dpkg-deb (checks the .deb)".to_owned(),
            "apt-get install -y dpkg".to_owned(),
        );
    }
    missing
}

/// The message for a non-empty [`missing`] list: each item with its fix, then the one command
/// that fixes them all.
pub(crate) fn explain(missing: &[Missing], invocation: &str) -> String {
    let mut message = format!("missing prerequisites for `{invocation}`:\n");
    for m in missing {
        message.push_str(&format!("  - {}: run `{}`\n", m.what, m.fix));
    }
    message.push_str(
        "`cargo xtask setup-cross` installs all of them on a Debian host (as root); it runs:\n",
    );
    for command in commands() {
        message.push_str(&format!("    {command}\n"));
    }
    message
}

/// Whether cargo-deb answers `cargo deb --version`.
pub(crate) fn cargo_deb_installed() -> bool {
    Command::new(cmd::cargo())
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Whether `rustc` has a standard library for `triple` in its sysroot.
fn has_std_for(rustc: &Path, triple: &str) -> bool {
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let lib = sysroot.join("lib/rustlib").join(triple).join("lib");
    std::fs::read_dir(&lib).is_ok_and(|entries| {
        entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    })
}

/// `cargo xtask setup-cross [--dry-run]`: run [`commands`] (as root, on Debian).
pub(crate) fn run(dry_run: bool) -> anyhow::Result<()> {
    let commands = commands();
    if dry_run {
        for command in &commands {
            println!("{command}");
        }
        return Ok(());
    }
    if cmd::which("apt-get").is_none() || cmd::which("dpkg").is_none() {
        bail!(
            "setup-cross needs a Debian host (apt-get and dpkg); elsewhere install the \
             equivalent of:\n  {}",
            commands.join("\n  ")
        );
    }
    let uid = cmd::output(Command::new("id").arg("-u")).context("asking for the user id")?;
    if uid.trim() != "0" {
        bail!(
            "setup-cross installs Debian packages: run it as root, or run these yourself:\n  {}",
            commands.join("\n  ")
        );
    }
    let started = std::time::Instant::now();
    for command in &commands {
        cmd::run(Command::new("sh").args(["-ec", command]))?;
    }
    eprintln!("setup-cross: done in {:.0?}", started.elapsed());
    let still = missing(&Target::AARCH64, true, true);
    if !still.is_empty() {
        bail!("{}", explain(&still, "cargo xtask dist --target aarch64-unknown-linux-gnu"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_match_the_toolchain_notes() {
        let commands = commands();
        assert_eq!(commands[0], "dpkg --add-architecture arm64");
        assert_eq!(commands[1], "apt-get update");
        assert_eq!(
            commands[2],
            "apt-get install -y rustc-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu \
             libc6-dev-arm64-cross qemu-user qemu-system-arm cpio"
        );
        assert!(commands[3].ends_with("cargo install --locked cargo-deb"));
    }

    #[test]
    fn the_explanation_names_each_fix_and_the_setup_command() {
        let missing =
            [Missing { what: "the cross gcc".into(), fix: "apt-get install -y gcc-x".into() }];
        let text = explain(&missing, "cargo xtask dist");
        assert!(text.contains("the cross gcc: run `apt-get install -y gcc-x`"), "{text}");
        assert!(text.contains("cargo xtask setup-cross"), "{text}");
        assert!(text.contains("apt-get install -y rustc-web"), "{text}");
    }
}
