//! The `.deb`: made by cargo-deb from `[package.metadata.deb]` in
//! `crates/vimeo-monitor/Cargo.toml`, from the binaries `dist` already built, stripped and checked
//! (`--no-build --no-strip`; `CARGO_TARGET_DIR` points cargo-deb at dist's own target
//! directory), then read back with `dpkg-deb`: architecture, dependencies, the files it installs,
//! and that its binaries are byte for byte the checked ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd;
use crate::target::Target;

/// The package whose metadata describes the `.deb`.
const PACKAGE: &str = "vimeo-monitor";

/// What the `.deb` must install besides the binaries.
const REQUIRED_FILES: &[&str] = &[
    "./usr/lib/systemd/user/vimeo-monitor.service",
    "./usr/share/doc/vimeo-monitor/.env.sample",
    "./usr/share/doc/vimeo-monitor/README.md",
    "./usr/share/doc/vimeo-monitor/copyright",
    "./usr/share/doc/vimeo-monitor/LICENSE-APACHE",
    "./usr/share/doc/vimeo-monitor/LICENSE-MIT",
];

/// Build the `.deb` into `out_dir` with cargo-deb; returns its path.
pub(crate) fn build(
    root: &Path,
    target: &Target,
    target_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out_dir)?;
    let mut command = Command::new(cmd::cargo());
    command
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["deb", "--package", PACKAGE, "--no-build", "--no-strip", "--target", target.triple])
        .arg("--output")
        .arg(out_dir);
    eprintln!("$ {}", cmd::display(&command));
    let stdout = cmd::output(&mut command)?;
    // cargo-deb prints the path of the package it wrote as its last line.
    let path = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.ends_with(".deb"))
        .with_context(|| format!("cargo deb printed no .deb path:\n{stdout}"))?;
    Ok(PathBuf::from(path))
}

/// What [`verify`] found in a `.deb`.
#[derive(Debug)]
pub(crate) struct Report {
    /// `Package`, `Version`, `Architecture`, `Depends` and `Recommends` from its control file.
    pub(crate) fields: BTreeMap<String, String>,
    /// How many files it installs.
    pub(crate) files: usize,
}

/// Check the `.deb` at `deb` with `dpkg-deb`: built for `target`, installing `binaries` (file
/// names, each identical to the one in `bin_dir`) to /usr/bin, the units in `units` and the
/// documentation.
pub(crate) fn verify(
    deb: &Path,
    target: &Target,
    bin_dir: &Path,
    binaries: &[&str],
    units: &[(PathBuf, &str)],
) -> anyhow::Result<Report> {
    let info = cmd::output(Command::new("dpkg-deb").arg("--info").arg(deb))?;
    let fields = control_fields(&info);
    let field = |name: &str| fields.get(name).map_or("", String::as_str);
    if field("Architecture") != target.deb_arch {
        bail!(
            "{}: Architecture is `{}`, expected `{}`",
            deb.display(),
            field("Architecture"),
            target.deb_arch
        );
    }
    if field("Package") != PACKAGE {
        bail!("{}: Package is `{}`, expected `{PACKAGE}`", deb.display(), field("Package"));
    }
    for dependency in ["mpv", "libc6"] {
        if !field("Depends").split(',').any(|d| d.trim().starts_with(dependency)) {
            bail!("{}: Depends `{}` lacks {dependency}", deb.display(), field("Depends"));
        }
    }

    let contents = cmd::output(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    let paths = content_paths(&contents);
    let mut required: Vec<String> = binaries.iter().map(|b| format!("./usr/bin/{b}")).collect();
    required.extend(REQUIRED_FILES.iter().map(|p| (*p).to_owned()));
    required.extend(units.iter().map(|(file, dir)| {
        format!("./{dir}/{}", file.file_name().unwrap_or_default().to_string_lossy())
    }));
    let absent: Vec<&String> = required.iter().filter(|p| !paths.contains(&p.as_str())).collect();
    if !absent.is_empty() {
        bail!("{} does not install {absent:?}; it has:\n{contents}", deb.display());
    }

    // The binaries inside are the ones that passed the ELF checks.
    let data = Command::new("dpkg-deb").arg("--fsys-tarfile").arg(deb).output()?;
    if !data.status.success() {
        bail!(
            "dpkg-deb --fsys-tarfile {} failed: {}",
            deb.display(),
            String::from_utf8_lossy(&data.stderr)
        );
    }
    let mut archive = tar::Archive::new(data.stdout.as_slice());
    let mut compared = 0;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Some(name) = path.strip_prefix("./usr/bin").ok().and_then(|p| p.to_str()) else {
            continue;
        };
        if binaries.contains(&name) {
            let mut packaged = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut packaged)?;
            let checked = std::fs::read(bin_dir.join(name))?;
            if packaged != checked {
                bail!(
                    "{}: usr/bin/{name} differs from the checked {}",
                    deb.display(),
                    bin_dir.join(name).display()
                );
            }
            compared += 1;
        }
    }
    if compared != binaries.len() {
        bail!("{}: found {compared} of the {} binaries to compare", deb.display(), binaries.len());
    }
    Ok(Report { fields, files: paths.iter().filter(|p| !p.ends_with('/')).count() })
}

/// The control fields (`Name: value`) in `dpkg-deb --info` output.
fn control_fields(info: &str) -> BTreeMap<String, String> {
    info.lines()
        .filter_map(|line| {
            let (name, value) = line.trim_start().split_once(": ")?;
            let name = name.trim();
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                .then(|| (name.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// The paths in `dpkg-deb --contents` output (`tar -tv` style: the path is the last column).
fn content_paths(contents: &str) -> Vec<&str> {
    contents.lines().filter_map(|line| line.split_whitespace().nth(5)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_fields_and_contents_are_read_from_dpkg_deb_output() {
        let info = " new Debian package, version 2.0.\n size 3 bytes: control archive=1 bytes.\n \
                    Package: vimeo-monitor\n Version: 0.1.0-1\n Architecture: arm64\n \
                    Depends: libc6 (>= 2.36), libgcc-s1, mpv\n Description: kiosk\n  more text\n";
        let fields = control_fields(info);
        assert_eq!(fields["Architecture"], "arm64");
        assert_eq!(fields["Depends"], "libc6 (>= 2.36), libgcc-s1, mpv");
        assert!(!fields.contains_key("size 3 bytes"));

        let contents = "drwxr-xr-x 0/0               0 2026-11-29 09:00 ./usr/bin/\n\
                        -rwxr-xr-x 0/0         9876543 2026-11-29 09:00 ./usr/bin/vimeo-monitor\n";
        assert_eq!(content_paths(contents), ["./usr/bin/", "./usr/bin/vimeo-monitor"]);
    }
}
