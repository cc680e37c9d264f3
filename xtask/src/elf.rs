//! Reading a built binary: machine, interpreter, needed libraries, the glibc symbol versions it
//! asks for, and whether it still has a symbol table; and checking those against a [`Target`].
//!
//! The glibc versions come from the `SHT_GNU_VERNEED` section (what `objdump -T` shows as
//! `GLIBC_2.xx`): the dynamic loader refuses to start a binary that needs a version its glibc
//! does not have, which is the classic way a binary built on a newer system fails on a Pi.

use std::fmt;
use std::path::Path;

use anyhow::{Context, bail};
use object::elf::{DT_NEEDED, SHT_SYMTAB};
use object::read::elf::{Dyn as _, ElfFile64, ProgramHeader as _, SectionHeader as _};
use object::{Architecture, Endianness, Object as _};

use crate::target::{MAX_GLIBC, Target};

/// A glibc symbol version: `GLIBC_2.2.5` is `[2, 2, 5]`, `GLIBC_2.36` is `[2, 36, 0]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GlibcVersion(pub(crate) [u32; 3]);

impl GlibcVersion {
    /// Parse a version name from the ELF (`GLIBC_2.34`); `None` for other names, such as
    /// `GLIBC_PRIVATE`, `GCC_3.0` or `GLIBC_ABI_DT_RELR`.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        let numbers = name.strip_prefix("GLIBC_")?;
        let mut parts = [0_u32; 3];
        let mut count = 0;
        for part in numbers.split('.') {
            *parts.get_mut(count)? = part.parse().ok()?;
            count += 1;
        }
        (count >= 2).then_some(Self(parts))
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.0;
        write!(f, "{major}.{minor}")?;
        if patch != 0 {
            write!(f, ".{patch}")?;
        }
        Ok(())
    }
}

/// What [`inspect`] reads from an ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ElfInfo {
    /// The machine (`e_machine`).
    pub(crate) machine: Architecture,
    /// The dynamic loader (`PT_INTERP`); `None` for a static binary.
    pub(crate) interpreter: Option<String>,
    /// The shared libraries it needs (`DT_NEEDED`), in file order.
    pub(crate) needed: Vec<String>,
    /// Every `GLIBC_x.y` version it needs, ascending, without duplicates.
    pub(crate) glibc: Vec<GlibcVersion>,
    /// Whether a `.symtab` is left (not stripped).
    pub(crate) has_symtab: bool,
}

impl ElfInfo {
    /// The newest glibc version it needs.
    pub(crate) fn newest_glibc(&self) -> Option<GlibcVersion> {
        self.glibc.last().copied()
    }
}

/// Read a 64-bit ELF file's [`ElfInfo`].
pub(crate) fn inspect(data: &[u8]) -> anyhow::Result<ElfInfo> {
    let file = ElfFile64::<Endianness>::parse(data).context("not a 64-bit ELF file")?;
    let endian = file.endian();
    let sections = file.elf_section_table();

    let mut interpreter = None;
    for header in file.elf_program_headers() {
        if let Some(path) = header.interpreter(endian, data)? {
            interpreter = Some(String::from_utf8_lossy(path).into_owned());
        }
    }

    let mut needed = Vec::new();
    if let Some((entries, index)) = sections.dynamic(endian, data)? {
        let strings = sections.strings(endian, data, index)?;
        for entry in entries {
            if entry.tag32(endian) == Some(DT_NEEDED) {
                needed.push(String::from_utf8_lossy(entry.string(endian, strings)?).into_owned());
            }
        }
    }

    let mut glibc = Vec::new();
    if let Some((mut needs, index)) = sections.gnu_verneed(endian, data)? {
        let strings = sections.strings(endian, data, index)?;
        while let Some((_need, mut versions)) = needs.next()? {
            while let Some(version) = versions.next()? {
                let name = String::from_utf8_lossy(version.name(endian, strings)?).into_owned();
                glibc.extend(GlibcVersion::parse(&name));
            }
        }
    }
    glibc.sort_unstable();
    glibc.dedup();

    let has_symtab = sections.iter().any(|s| s.sh_type(endian) == SHT_SYMTAB);
    Ok(ElfInfo { machine: file.architecture(), interpreter, needed, glibc, has_symtab })
}

/// [`inspect`] a file on disk.
pub(crate) fn inspect_file(path: &Path) -> anyhow::Result<ElfInfo> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    inspect(&data).with_context(|| format!("reading the ELF headers of {}", path.display()))
}

/// The shared libraries that Debian's `libc6` and `libgcc-s1` provide: the `.deb` depends on
/// those two, so a binary must need nothing else.
const BASE_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libgcc_s.so.1",
    "ld-linux-aarch64.so.1",
    "ld-linux-x86-64.so.2",
];

/// One check on one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    /// What was checked (`machine`, `interpreter`, `glibc`, `libraries`, `stripped`).
    pub(crate) name: &'static str,
    /// Whether it passed.
    pub(crate) passed: bool,
    /// What was found, for the report.
    pub(crate) detail: String,
}

/// Check `info` against what a binary for `target` on Raspberry Pi OS Bookworm must be.
pub(crate) fn check(info: &ElfInfo, target: &Target) -> Vec<Check> {
    let machine = architecture_name(info.machine);
    let interpreter = info.interpreter.as_deref().unwrap_or("none (static)");
    let glibc = match info.newest_glibc() {
        Some(newest) => Check {
            name: "glibc",
            passed: newest <= MAX_GLIBC,
            detail: format!("needs GLIBC_{newest} at most (limit {MAX_GLIBC}, Bookworm)"),
        },
        None => Check {
            name: "glibc",
            passed: false,
            detail: "no GLIBC_ symbol versions: not linked against glibc".to_owned(),
        },
    };
    let others: Vec<&str> =
        info.needed.iter().map(String::as_str).filter(|l| !BASE_LIBRARIES.contains(l)).collect();
    vec![
        Check {
            name: "machine",
            passed: info.machine == target.machine,
            detail: format!("{machine} (want {})", architecture_name(target.machine)),
        },
        Check {
            name: "interpreter",
            passed: info.interpreter.as_deref() == Some(target.interpreter),
            detail: interpreter.to_owned(),
        },
        glibc,
        Check {
            name: "libraries",
            passed: others.is_empty(),
            detail: if others.is_empty() {
                format!("{} (libc6, libgcc-s1)", info.needed.join(" "))
            } else {
                format!("needs {} beyond libc6 and libgcc-s1", others.join(" "))
            },
        },
        Check {
            name: "stripped",
            passed: !info.has_symtab,
            detail: if info.has_symtab { "has a .symtab" } else { "no .symtab" }.to_owned(),
        },
    ]
}

/// Fail with every failed check listed, else return the checks.
pub(crate) fn require(path: &Path, target: &Target) -> anyhow::Result<Vec<Check>> {
    let checks = check(&inspect_file(path)?, target);
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("  - {}: {}", c.name, c.detail))
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} is not a Raspberry Pi OS {} binary:\n{}",
            path.display(),
            target.triple,
            failed.join("\n")
        );
    }
    Ok(checks)
}

/// A short lower-case name for an ELF machine.
pub(crate) fn architecture_name(machine: Architecture) -> String {
    match machine {
        Architecture::Aarch64 => "aarch64".to_owned(),
        Architecture::X86_64 => "x86_64".to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions_parse_and_compare_numerically() {
        let v = |s| GlibcVersion::parse(s).unwrap();
        assert_eq!(v("GLIBC_2.36"), GlibcVersion([2, 36, 0]));
        assert_eq!(v("GLIBC_2.2.5"), GlibcVersion([2, 2, 5]));
        // Numeric, not lexical: 2.4 < 2.17 < 2.36 < 2.39.
        assert!(v("GLIBC_2.4") < v("GLIBC_2.17"));
        assert!(v("GLIBC_2.17") < v("GLIBC_2.36"));
        assert!(v("GLIBC_2.36") <= MAX_GLIBC);
        assert!(v("GLIBC_2.39") > MAX_GLIBC);
        assert!(v("GLIBC_2.2.5") < v("GLIBC_2.3"));
        for other in [
            "GLIBC_PRIVATE",
            "GLIBC_ABI_DT_RELR",
            "GCC_3.0",
            "GLIBC_2",
            "GLIBC_2.x",
            "GLIBC_1.2.3.4",
        ] {
            assert_eq!(GlibcVersion::parse(other), None, "{other}");
        }
        assert_eq!(v("GLIBC_2.2.5").to_string(), "2.2.5");
        assert_eq!(MAX_GLIBC.to_string(), "2.36");
    }

    /// This test binary is a host ELF built like the dist binaries (dynamically, against the
    /// host glibc): the checker must see the host machine and loader.
    #[test]
    fn the_host_test_binary_reads_as_a_host_binary() {
        let exe = std::env::current_exe().unwrap();
        let info = inspect_file(&exe).unwrap();
        let host = Target::resolve("host", &crate::target::host_triple().unwrap()).unwrap();
        assert_eq!(info.machine, host.machine);
        assert_eq!(info.interpreter.as_deref(), Some(host.interpreter));
        assert!(info.needed.iter().any(|l| l == "libc.so.6"), "{:?}", info.needed);
        let newest = info.newest_glibc().expect("a glibc binary needs GLIBC_ versions");
        assert!(newest >= GlibcVersion([2, 2, 5]), "{newest}");
        // A test binary keeps its symbols: the one check that must fail.
        assert!(info.has_symtab);
        let checks = check(&info, &host);
        let failed: Vec<_> = checks.iter().filter(|c| !c.passed).map(|c| c.name).collect();
        // Debian 12 (the CI host) has glibc 2.36; a newer host may need more.
        assert!(failed == ["stripped"] || failed == ["glibc", "stripped"], "{checks:?}");
        // Against the Pi it fails on machine and loader.
        let pi = check(&info, &Target::AARCH64);
        assert!(!pi[0].passed && !pi[1].passed, "{pi:?}");
        assert_eq!(architecture_name(info.machine), architecture_name(host.machine));
    }

    /// A hand-made aarch64 ELF: a header and one `PT_INTERP` segment, no sections.
    fn tiny_aarch64_elf(interpreter: &str) -> Vec<u8> {
        let mut interp = interpreter.as_bytes().to_vec();
        interp.push(0);
        let (ehsize, phentsize) = (64_u16, 56_u16);
        let interp_offset = u64::from(ehsize + phentsize);
        let mut elf = Vec::new();
        elf.extend_from_slice(b"\x7fELF");
        elf.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little-endian, version 1, System V ABI
        elf.extend_from_slice(&[0; 8]);
        elf.extend_from_slice(&3_u16.to_le_bytes()); // ET_DYN
        elf.extend_from_slice(&183_u16.to_le_bytes()); // EM_AARCH64
        elf.extend_from_slice(&1_u32.to_le_bytes()); // EV_CURRENT
        elf.extend_from_slice(&0_u64.to_le_bytes()); // e_entry
        elf.extend_from_slice(&u64::from(ehsize).to_le_bytes()); // e_phoff
        elf.extend_from_slice(&0_u64.to_le_bytes()); // e_shoff
        elf.extend_from_slice(&0_u32.to_le_bytes()); // e_flags
        elf.extend_from_slice(&ehsize.to_le_bytes());
        elf.extend_from_slice(&phentsize.to_le_bytes());
        elf.extend_from_slice(&1_u16.to_le_bytes()); // e_phnum
        elf.extend_from_slice(&64_u16.to_le_bytes()); // e_shentsize
        elf.extend_from_slice(&0_u16.to_le_bytes()); // e_shnum
        elf.extend_from_slice(&0_u16.to_le_bytes()); // e_shstrndx
        assert_eq!(elf.len(), usize::from(ehsize));
        elf.extend_from_slice(&3_u32.to_le_bytes()); // PT_INTERP
        elf.extend_from_slice(&4_u32.to_le_bytes()); // PF_R
        elf.extend_from_slice(&interp_offset.to_le_bytes()); // p_offset
        elf.extend_from_slice(&interp_offset.to_le_bytes()); // p_vaddr
        elf.extend_from_slice(&interp_offset.to_le_bytes()); // p_paddr
        elf.extend_from_slice(&(interp.len() as u64).to_le_bytes()); // p_filesz
        elf.extend_from_slice(&(interp.len() as u64).to_le_bytes()); // p_memsz
        elf.extend_from_slice(&1_u64.to_le_bytes()); // p_align
        elf.extend_from_slice(&interp);
        elf
    }

    #[test]
    fn a_hand_made_aarch64_elf_passes_machine_and_loader_and_fails_on_glibc() {
        let info = inspect(&tiny_aarch64_elf("/lib/ld-linux-aarch64.so.1")).unwrap();
        assert_eq!(info.machine, Architecture::Aarch64);
        assert_eq!(info.interpreter.as_deref(), Some("/lib/ld-linux-aarch64.so.1"));
        assert!(info.needed.is_empty() && info.glibc.is_empty() && !info.has_symtab);
        let checks = check(&info, &Target::AARCH64);
        let passed = |name| checks.iter().find(|c| c.name == name).unwrap().passed;
        assert!(passed("machine") && passed("interpreter") && passed("stripped"));
        assert!(!passed("glibc"), "a binary with no GLIBC versions is not a glibc binary");

        let wrong = inspect(&tiny_aarch64_elf("/lib/ld-musl-aarch64.so.1")).unwrap();
        assert!(!check(&wrong, &Target::AARCH64)[1].passed);
        assert!(!check(&info, &Target::X86_64)[0].passed);
    }

    #[test]
    fn only_glibc_and_libgcc_libraries_pass() {
        let info = ElfInfo {
            machine: Architecture::Aarch64,
            interpreter: Some(Target::AARCH64.interpreter.to_owned()),
            needed: vec!["libgcc_s.so.1".into(), "libc.so.6".into(), "libssl.so.3".into()],
            glibc: vec![GlibcVersion([2, 17, 0]), GlibcVersion([2, 39, 0])],
            has_symtab: false,
        };
        let checks = check(&info, &Target::AARCH64);
        let libraries = checks.iter().find(|c| c.name == "libraries").unwrap();
        assert!(!libraries.passed && libraries.detail.contains("libssl.so.3"), "{libraries:?}");
        let glibc = checks.iter().find(|c| c.name == "glibc").unwrap();
        assert!(!glibc.passed && glibc.detail.contains("GLIBC_2.39"), "{glibc:?}");
    }

    #[test]
    fn garbage_is_not_an_elf() {
        assert!(inspect(b"#!/bin/sh\necho hi\n").is_err());
    }
}
