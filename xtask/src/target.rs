//! The targets `dist` builds for, and what a correct binary for each looks like.

use anyhow::{Context, bail};
use object::Architecture;

use crate::elf::GlibcVersion;

/// A Linux GNU target `dist` knows how to build, strip, check, run and package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    /// The Rust target triple.
    pub(crate) triple: &'static str,
    /// The ELF machine its binaries must have.
    pub(crate) machine: Architecture,
    /// The dynamic loader its binaries must ask for (`PT_INTERP`).
    pub(crate) interpreter: &'static str,
    /// Debian's name for the architecture (`.deb` `Architecture:`).
    pub(crate) deb_arch: &'static str,
    /// The GNU tool prefix of Debian's cross tools (`aarch64-linux-gnu-gcc`), whose C library
    /// lives in `/usr/<prefix>`.
    pub(crate) gnu_prefix: &'static str,
    /// The qemu-user program that runs its binaries on another machine.
    pub(crate) qemu: &'static str,
}

/// The newest glibc the binaries may need: Raspberry Pi OS Bookworm (Debian 12) has 2.36.
pub(crate) const MAX_GLIBC: GlibcVersion = GlibcVersion([2, 36, 0]);

impl Target {
    /// Raspberry Pi OS 64-bit (Pi 3, 4, 5, Zero 2).
    pub(crate) const AARCH64: Self = Self {
        triple: "aarch64-unknown-linux-gnu",
        machine: Architecture::Aarch64,
        interpreter: "/lib/ld-linux-aarch64.so.1",
        deb_arch: "arm64",
        gnu_prefix: "aarch64-linux-gnu",
        qemu: "qemu-aarch64",
    };

    /// A 64-bit PC (this build machine).
    pub(crate) const X86_64: Self = Self {
        triple: "x86_64-unknown-linux-gnu",
        machine: Architecture::X86_64,
        interpreter: "/lib64/ld-linux-x86-64.so.2",
        deb_arch: "amd64",
        gnu_prefix: "x86_64-linux-gnu",
        qemu: "qemu-x86_64",
    };

    const ALL: [Self; 2] = [Self::AARCH64, Self::X86_64];

    /// The target named `name`: a triple, or `host` for `host_triple`.
    pub(crate) fn resolve(name: &str, host_triple: &str) -> anyhow::Result<Self> {
        let triple = if name == "host" { host_triple } else { name };
        match Self::ALL.into_iter().find(|t| t.triple == triple) {
            Some(target) => Ok(target),
            None => bail!(
                "unsupported target `{triple}`: dist knows {} (or `host`)",
                Self::ALL.map(|t| t.triple).join(", ")
            ),
        }
    }

    /// The `strip` for this target's binaries.
    pub(crate) fn strip_program(&self, cross: bool) -> String {
        if cross { format!("{}-strip", self.gnu_prefix) } else { "strip".to_owned() }
    }

    /// `CARGO_TARGET_<TRIPLE>_LINKER` and friends spell the triple this way.
    pub(crate) fn env_key(&self) -> String {
        self.triple.to_uppercase().replace('-', "_")
    }
}

/// The host's target triple, as the default `rustc` reports it (`rustc -vV`).
pub(crate) fn host_triple() -> anyhow::Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let text = crate::cmd::output(std::process::Command::new(rustc).arg("-vV"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("`rustc -vV` printed no `host:` line")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_triples_resolve_and_others_are_refused() {
        assert_eq!(Target::resolve("host", "x86_64-unknown-linux-gnu").unwrap(), Target::X86_64);
        assert_eq!(Target::resolve("aarch64-unknown-linux-gnu", "x").unwrap(), Target::AARCH64);
        let err = Target::resolve("armv7-unknown-linux-gnueabihf", "x").unwrap_err().to_string();
        assert!(err.contains("aarch64-unknown-linux-gnu"), "{err}");
    }

    #[test]
    fn cross_tools_are_named_by_prefix() {
        assert_eq!(Target::AARCH64.strip_program(true), "aarch64-linux-gnu-strip");
        assert_eq!(Target::X86_64.strip_program(false), "strip");
        assert_eq!(Target::AARCH64.env_key(), "AARCH64_UNKNOWN_LINUX_GNU");
    }

    #[test]
    fn the_host_triple_is_known() {
        let host = host_triple().unwrap();
        assert!(Target::resolve("host", &host).is_ok(), "{host}");
    }
}
