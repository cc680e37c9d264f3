//! The Debian arm64 packages the guest is made from: the dependency closure of mpv, ffmpeg (for
//! ffprobe), busybox-static and the kernel; downloaded once into `target/pi-test/debs` with
//! `apt-get download` and unpacked once into one tree with `dpkg-deb -x`.
//!
//! apt cannot install them (they would replace the host's own mpv), so the closure is worked out
//! here from `apt-cache depends --recurse`: for each dependency (or group of alternatives) the
//! first alternative that is a real arm64 package, or else the first arm64 package that provides
//! it. `apt-cache depends` lists every alternative and provider it meets, so taking all of them
//! (287 packages, ../shared/notes/toolchain.md) would also fetch the `-extra` codec variants, a
//! second JACK and the kernel's initramfs tools. Architecture-independent dependencies reached
//! from arm64 ones without an `:arm64` name (debconf, fonts, kmod for the kernel) are data and
//! scripts the guest does not need: they are left out.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::cmd;

/// The packages the guest needs, as apt names them.
pub(crate) const ROOTS: &[&str] =
    &["mpv:arm64", "ffmpeg:arm64", "busybox-static:arm64", "linux-image-arm64:arm64"];

/// The architecture suffix a package must have to be taken.
const ARCH: &str = ":arm64";

/// The `apt-cache depends` that lists the closure: hard dependencies only.
pub(crate) fn depends_command(roots: &[&str]) -> Command {
    let mut command = Command::new("apt-cache");
    command.args([
        "depends",
        "--recurse",
        "--no-recommends",
        "--no-suggests",
        "--no-conflicts",
        "--no-breaks",
        "--no-replaces",
        "--no-enhances",
        "--no-pre-depends",
    ]);
    command.args(roots);
    command
}

/// One alternative of a dependency: the name after `Depends:` and the packages listed under it
/// (the providers of a virtual package, or other packages that provide a real one).
#[derive(Debug, Default)]
struct Alternative {
    name: String,
    virtual_: bool,
    providers: Vec<String>,
}

/// Parse `apt-cache depends --recurse` output into, per package, its dependency groups (each a
/// list of alternatives, `|Depends:` lines continuing a group).
fn parse_depends(text: &str) -> BTreeMap<String, Vec<Vec<Alternative>>> {
    let mut packages: BTreeMap<String, Vec<Vec<Alternative>>> = BTreeMap::new();
    let mut current: Option<String> = None;
    // The group being read is open while its last line was `|Depends:`.
    let mut open = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            let name = line.trim().to_owned();
            packages.entry(name.clone()).or_default();
            current = Some(name);
            open = false;
            continue;
        }
        let Some(groups) = current.as_ref().and_then(|name| packages.get_mut(name)) else {
            continue;
        };
        let trimmed = line.trim_start();
        let (or, rest) = match trimmed.strip_prefix('|') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if let Some(target) = rest.strip_prefix("Depends:") {
            let target = target.trim();
            let virtual_ = target.starts_with('<');
            let alternative = Alternative {
                name: target.trim_start_matches('<').trim_end_matches('>').to_owned(),
                virtual_,
                providers: Vec::new(),
            };
            match groups.last_mut() {
                Some(group) if open => group.push(alternative),
                _ => groups.push(vec![alternative]),
            }
            open = or;
        } else if line.starts_with("    ") {
            // A provider line under the last alternative.
            if let Some(alternative) = groups.last_mut().and_then(|g| g.last_mut()) {
                alternative.providers.push(rest.trim().to_owned());
            }
        }
        // Other relations (none are asked for) are ignored.
    }
    packages
}

/// The package chosen for one dependency group, alternatives in order: a real arm64 package
/// is taken, unless the build machine's package of the same name is listed as satisfying it
/// (Multi-Arch: foreign tools such as `kmod`); a virtual one is its first provider when all
/// providers are arm64 packages. `None` when the group is met without an arm64 package (by
/// an architecture-independent or a foreign one): the guest needs nothing from it.
fn choose(group: &[Alternative]) -> Option<&str> {
    for alternative in group {
        if !alternative.virtual_ {
            let bare = alternative.name.strip_suffix(ARCH)?;
            if alternative.providers.iter().any(|p| p == bare) {
                return None;
            }
            return Some(&alternative.name);
        }
        if alternative.providers.iter().any(|p| !p.ends_with(ARCH)) {
            return None;
        }
        if let Some(first) = alternative.providers.first() {
            return Some(first);
        }
    }
    None
}

/// The closure of `roots` in `apt-cache depends --recurse` output: arm64 package names
/// (`mpv:arm64`), sorted.
pub(crate) fn resolve(depends: &str, roots: &[&str]) -> Vec<String> {
    let packages = parse_depends(depends);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = roots.iter().map(|r| (*r).to_owned()).collect();
    while let Some(name) = queue.pop_front() {
        if !name.ends_with(ARCH) || !seen.insert(name.clone()) {
            continue;
        }
        for group in packages.get(&name).map(Vec::as_slice).unwrap_or_default() {
            if let Some(chosen) = choose(group) {
                queue.push_back(chosen.to_owned());
            }
        }
    }
    seen.into_iter().collect()
}

/// Run `apt-cache depends` and [`resolve`] its answer.
pub(crate) fn closure(roots: &[&str]) -> anyhow::Result<Vec<String>> {
    let text = cmd::output(&mut depends_command(roots)).context(
        "listing the arm64 packages: is arm64 a dpkg architecture with its package lists? \
         (`dpkg --add-architecture arm64 && apt-get update`)",
    )?;
    let closure = resolve(&text, roots);
    for root in roots {
        if !closure.iter().any(|p| p == root) {
            bail!(
                "apt knows no package {root}: run `dpkg --add-architecture arm64 && apt-get update`"
            );
        }
    }
    Ok(closure)
}

/// The version apt would fetch of one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deb {
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) architecture: String,
    /// The `.deb`'s size in bytes, as the archive says.
    pub(crate) size: u64,
}

impl Deb {
    /// The file name `apt-get download` writes (an epoch's `:` becomes `%3a`).
    pub(crate) fn file_name(&self) -> String {
        format!("{}_{}_{}.deb", self.package, self.version.replace(':', "%3a"), self.architecture)
    }
}

/// Parse `apt-cache show --no-all-versions` records.
pub(crate) fn parse_show(text: &str) -> anyhow::Result<Vec<Deb>> {
    let mut debs = Vec::new();
    for record in text.split("\n\n").filter(|r| !r.trim().is_empty()) {
        let field = |name: &str| {
            record.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
        };
        let (Some(package), Some(version), Some(architecture), Some(size)) =
            (field("Package"), field("Version"), field("Architecture"), field("Size"))
        else {
            bail!(
                "an `apt-cache show` record without Package, Version, Architecture or Size:\n{record}"
            );
        };
        debs.push(Deb {
            package: package.to_owned(),
            version: version.to_owned(),
            architecture: architecture.to_owned(),
            size: size.parse().with_context(|| format!("Size: {size} of {package}"))?,
        });
    }
    Ok(debs)
}

/// The candidate version of each package in `names`.
pub(crate) fn candidates(names: &[String]) -> anyhow::Result<Vec<Deb>> {
    let text =
        cmd::output(Command::new("apt-cache").args(["show", "--no-all-versions"]).args(names))?;
    let debs = parse_show(&text)?;
    if debs.len() != names.len() {
        bail!("`apt-cache show` described {} packages for {} names", debs.len(), names.len());
    }
    Ok(debs)
}

/// What [`fetch`] did.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    pub(crate) downloaded: Vec<Deb>,
    pub(crate) reused: Vec<Deb>,
    /// `.deb`s of the directory that are not wanted any more (older versions): deleted.
    pub(crate) removed: usize,
}

/// Download into `dir` each of `debs` that is not there yet, delete the other `.deb`s there
/// (superseded versions would pile up); return the paths of all of `debs`.
pub(crate) fn fetch(dir: &Path, debs: &[Deb]) -> anyhow::Result<(Vec<PathBuf>, Fetched)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut fetched = Fetched::default();
    for deb in debs {
        if dir.join(deb.file_name()).is_file() {
            fetched.reused.push(deb.clone());
        } else {
            fetched.downloaded.push(deb.clone());
        }
    }
    if !fetched.downloaded.is_empty() {
        let mut command = Command::new("apt-get");
        // As root, apt would otherwise try to download as `_apt` into a directory it cannot
        // write, and warn.
        command.current_dir(dir).args(["-q", "-o", "APT::Sandbox::User=root", "download"]);
        for deb in &fetched.downloaded {
            command.arg(format!("{}:{}={}", deb.package, deb.architecture, deb.version));
        }
        cmd::output(&mut command).context("downloading the arm64 packages")?;
    }
    let wanted: Vec<String> = debs.iter().map(Deb::file_name).collect();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".deb") && !wanted.contains(&name) {
            std::fs::remove_file(dir.join(&name))?;
            fetched.removed += 1;
        }
    }
    let mut paths = Vec::new();
    for deb in debs {
        let path = dir.join(deb.file_name());
        if !path.is_file() {
            bail!("`apt-get download` did not write {}", path.display());
        }
        paths.push(path);
    }
    Ok((paths, fetched))
}

/// Unpack `debs` into `tree` with `dpkg-deb -x`, unless `tree` already holds exactly these
/// (a stamp file lists them). Returns whether it unpacked.
pub(crate) fn extract(debs: &[PathBuf], tree: &Path) -> anyhow::Result<bool> {
    let stamp = tree.with_extension("stamp");
    let list: String = debs
        .iter()
        .map(|p| format!("{}\n", p.file_name().unwrap_or_default().to_string_lossy()))
        .collect();
    if tree.is_dir() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == list) {
        return Ok(false);
    }
    if tree.exists() {
        std::fs::remove_dir_all(tree).with_context(|| format!("removing {}", tree.display()))?;
    }
    let _ = std::fs::remove_file(&stamp);
    std::fs::create_dir_all(tree)?;
    for deb in debs {
        let name = deb.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("linux-image-") {
            extract_boot(deb, tree)?;
        } else {
            cmd::output(Command::new("dpkg-deb").arg("-x").arg(deb).arg(tree))
                .with_context(|| format!("unpacking {}", deb.display()))?;
        }
    }
    std::fs::write(&stamp, list)?;
    Ok(true)
}

/// Unpack only `boot/` of a kernel package: the guest needs `vmlinuz` alone, and the modules
/// would be 450 MiB more on disk (the virt board's devices are built in).
fn extract_boot(deb: &Path, tree: &Path) -> anyhow::Result<()> {
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting dpkg-deb")?;
    let stdout = dpkg.stdout.take().context("dpkg-deb's stdout")?;
    let mut archive = tar::Archive::new(stdout);
    let mut result = Ok(());
    // Read to the end, so dpkg-deb is not cut off by a closed pipe.
    for entry in archive.entries().context("reading the kernel package")? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let inside = path.strip_prefix(".").unwrap_or(&path);
        if inside.starts_with("boot") && result.is_ok() {
            result = entry
                .unpack_in(tree)
                .map(drop)
                .with_context(|| format!("unpacking {} of {}", path.display(), deb.display()));
        }
    }
    let status = dpkg.wait()?;
    if !status.success() {
        bail!("`dpkg-deb --fsys-tarfile {}` failed ({status})", deb.display());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like real `apt-cache depends --recurse` output for arm64 packages on amd64.
    const DEPENDS: &str = "\
mpv:arm64
  Depends: libavcodec59:arm64
    libavcodec-extra59:arm64
 |Depends: libjack-jackd2-0:arm64
  Depends: <libjack-0.125:arm64>
    libjack-jackd2-0:arm64
    libjack0:arm64
  Depends: libc6:arm64
  Depends: <libblas.so.3:arm64>
    libblas3:arm64
    libopenblas0-pthread:arm64
  Depends: fontconfig-config
linux-image-arm64:arm64
  Depends: linux-image-6.1.0-57-arm64:arm64
linux-image-6.1.0-57-arm64:arm64
  Depends: kmod:arm64
    kmod
 |Depends: <initramfs-tools:arm64>
    initramfs-tools
  Depends: <linux-initramfs-tool:arm64>
    dracut
    initramfs-tools
libavcodec59:arm64
 |Depends: ocl-icd-libopencl1:arm64
  Depends: <libopencl1:arm64>
    ocl-icd-libopencl1:arm64
  Depends: libc6:arm64
libavcodec-extra59:arm64
  Depends: libx-extra:arm64
libjack-jackd2-0:arm64
  Depends: libc6:arm64
libjack0:arm64
  Depends: libjack0-only:arm64
libc6:arm64
  Depends: libgcc-s1:arm64
libgcc-s1:arm64
  Depends: libc6:arm64
libblas3:arm64
  Depends: libc6:arm64
ocl-icd-libopencl1:arm64
fontconfig-config
 |Depends: debconf
  Depends: <debconf-2.0>
    cdebconf
kmod
  Depends: libc6
<libjack-0.125:arm64>
";

    #[test]
    fn the_closure_takes_one_arm64_package_per_dependency() {
        assert_eq!(
            resolve(DEPENDS, &["mpv:arm64", "linux-image-arm64:arm64"]),
            [
                "libavcodec59:arm64",
                "libblas3:arm64",
                "libc6:arm64",
                "libgcc-s1:arm64",
                "libjack-jackd2-0:arm64",
                "linux-image-6.1.0-57-arm64:arm64",
                "linux-image-arm64:arm64",
                "mpv:arm64",
                "ocl-icd-libopencl1:arm64",
            ]
        );
    }

    #[test]
    fn a_virtual_package_resolves_to_its_first_provider_when_all_are_arm64() {
        let text = "a:arm64\n  Depends: <virt:arm64>\n    second:arm64\n    third:arm64\n";
        assert_eq!(resolve(text, &["a:arm64"]), ["a:arm64", "second:arm64"]);
        // Met by a package of another architecture: dropped, not an error.
        let text = "a:arm64\n  Depends: <virt:arm64>\n    cdebconf:arm64\n    debconf\n";
        assert_eq!(resolve(text, &["a:arm64"]), ["a:arm64"]);
        // Provided by nothing, the next alternative is tried.
        let text = "a:arm64\n |Depends: <gone:arm64>\n  Depends: b:arm64\n";
        assert_eq!(resolve(text, &["a:arm64"]), ["a:arm64", "b:arm64"]);
    }

    #[test]
    fn the_query_asks_for_hard_dependencies_only() {
        let shown = cmd::display(&depends_command(&["mpv:arm64"]));
        assert_eq!(
            shown,
            "apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
             --no-breaks --no-replaces --no-enhances --no-pre-depends mpv:arm64"
        );
    }

    /// With every wanted `.deb` in the cache nothing is downloaded, and the others go.
    #[test]
    fn a_full_cache_is_reused_and_superseded_versions_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let deb = |package: &str, version: &str| Deb {
            package: package.into(),
            version: version.into(),
            architecture: "arm64".into(),
            size: 10,
        };
        let wanted = [deb("mpv", "0.35.1-4"), deb("libx264-164", "2:0.164-3")];
        for name in [
            "mpv_0.35.1-4_arm64.deb",
            "libx264-164_2%3a0.164-3_arm64.deb",
            "mpv_0.35.1-3_arm64.deb",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let (paths, fetched) = fetch(dir.path(), &wanted).unwrap();
        assert_eq!(
            paths,
            [
                dir.path().join("mpv_0.35.1-4_arm64.deb"),
                dir.path().join("libx264-164_2%3a0.164-3_arm64.deb")
            ]
        );
        assert_eq!((fetched.downloaded.len(), fetched.reused.len(), fetched.removed), (0, 2, 1));
        assert!(!dir.path().join("mpv_0.35.1-3_arm64.deb").exists());
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn show_records_give_the_file_names_apt_get_download_writes() {
        let text = "Package: libx264-164\nVersion: 2:0.164.3095+gitbaee400-3\nArchitecture: arm64\n\
                    Filename: pool/main/x/x264/libx264-164_0.164.3095+gitbaee400-3_arm64.deb\n\
                    Size: 442908\nDescription: x\n\nPackage: mpv\nVersion: 0.35.1-4\n\
                    Architecture: arm64\nSize: 1000\n\n";
        let debs = parse_show(text).unwrap();
        assert_eq!(debs.len(), 2);
        assert_eq!(debs[0].file_name(), "libx264-164_2%3a0.164.3095+gitbaee400-3_arm64.deb");
        assert_eq!(debs[0].size, 442_908);
        assert_eq!(debs[1].file_name(), "mpv_0.35.1-4_arm64.deb");
        let err = parse_show("Package: x\nVersion: 1\n").unwrap_err().to_string();
        assert!(err.contains("without Package, Version, Architecture or Size"), "{err}");
    }
}
