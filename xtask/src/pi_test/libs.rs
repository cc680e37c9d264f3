//! The shared libraries the guest's programs need: the `DT_NEEDED` closure of mpv, ffprobe and
//! our binaries, looked up in the unpacked Debian tree the way the loader would look them up on
//! a Pi, so they can all go flat into the guest's `/lib` (the loader's default path: no
//! `LD_LIBRARY_PATH`, no `ld.so.cache`).
//!
//! Libraries the programs only `dlopen` (VA-API and DRI drivers, PipeWire modules) are not in
//! the closure; mpv with `--vo=null --ao=null` does not open them.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::elf;

/// Where Debian's arm64 packages put shared libraries, in the loader's order. `libblas.so.3`
/// and `liblapack.so.3` live in `blas/` and `lapack/` (update-alternatives links them into the
/// multiarch directory on a real system, which unpacking does not run); `libpulse.so.0` finds
/// `libpulsecommon-16.1.so` through its `RUNPATH`, `pulseaudio/`.
pub(crate) const LIB_DIRS: &[&str] = &[
    "lib/aarch64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
    "lib",
    "usr/lib",
    "usr/lib/aarch64-linux-gnu/blas",
    "usr/lib/aarch64-linux-gnu/lapack",
    "usr/lib/aarch64-linux-gnu/pulseaudio",
];

/// The dynamic loader every aarch64 program names (`PT_INTERP`).
pub(crate) const LOADER: &str = "ld-linux-aarch64.so.1";

/// Every file name in [`LIB_DIRS`] of `tree` that contains `.so`, mapped to the regular file it
/// is (symlinks followed inside `tree`); the first directory that has a name wins.
pub(crate) fn index(tree: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    for dir in LIB_DIRS {
        let Ok(entries) = std::fs::read_dir(tree.join(dir)) else { continue };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.contains(".so") || found.contains_key(&name) {
                continue;
            }
            if let Some(file) = resolve_in(tree, &entry.path())? {
                found.insert(name, file);
            }
        }
    }
    Ok(found)
}

/// Follow symlinks from `path` as if `tree` were `/`; `None` for a directory or a dangling link.
fn resolve_in(tree: &Path, path: &Path) -> anyhow::Result<Option<PathBuf>> {
    let mut path = path.to_owned();
    for _ in 0..40 {
        let meta =
            std::fs::symlink_metadata(&path).with_context(|| format!("reading {}", path.display()));
        let Ok(meta) = meta else { return Ok(None) };
        if meta.file_type().is_file() {
            return Ok(Some(path));
        }
        if !meta.file_type().is_symlink() {
            return Ok(None);
        }
        let target = std::fs::read_link(&path)?;
        path = match target.strip_prefix("/") {
            Ok(inside) => tree.join(inside),
            Err(_) => path.parent().unwrap_or(tree).join(target),
        };
    }
    bail!("too many symbolic links at {}", path.display())
}

/// One library of the closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Library {
    /// The name programs ask for (`libc.so.6`): its file name in the guest's `/lib`.
    pub(crate) name: String,
    /// The regular file on the host.
    pub(crate) path: PathBuf,
}

/// The closure of what `roots` need (`(needed name, who needs it)` pairs), breadth first.
/// `needed_of(name)` is `None` when no library has that name, else the libraries it needs.
pub(crate) fn walk(
    roots: Vec<(String, String)>,
    mut needed_of: impl FnMut(&str) -> anyhow::Result<Option<Vec<String>>>,
) -> anyhow::Result<Vec<String>> {
    let mut seen = Vec::new();
    let mut queue: VecDeque<(String, String)> = roots.into();
    let mut missing = Vec::new();
    while let Some((name, by)) = queue.pop_front() {
        if seen.contains(&name) {
            continue;
        }
        let Some(needed) = needed_of(&name)? else {
            missing.push(format!("{name} (needed by {by})"));
            continue;
        };
        seen.push(name.clone());
        queue.extend(needed.into_iter().map(|n| (n, name.clone())));
    }
    if !missing.is_empty() {
        bail!("no unpacked package has: {}", missing.join(", "));
    }
    Ok(seen)
}

/// The libraries that `programs` (aarch64 ELF files) need, and the loader, from `index`.
pub(crate) fn closure(
    programs: &[PathBuf],
    index: &BTreeMap<String, PathBuf>,
) -> anyhow::Result<Vec<Library>> {
    let mut roots = vec![(LOADER.to_owned(), "every program".to_owned())];
    for program in programs {
        let info = elf::inspect_file(program)?;
        let by = program.file_name().unwrap_or_default().to_string_lossy().into_owned();
        roots.extend(info.needed.into_iter().map(|n| (n, by.clone())));
    }
    let names = walk(roots, |name| {
        let Some(path) = index.get(name) else { return Ok(None) };
        Ok(Some(elf::inspect_file(path)?.needed))
    })?;
    let mut libraries: Vec<Library> =
        names.into_iter().map(|name| Library { path: index[&name].clone(), name }).collect();
    libraries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(libraries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_visits_each_library_once_and_names_what_is_missing() {
        let graph: BTreeMap<&str, &[&str]> = BTreeMap::from([
            ("libmpv-like.so.1", &["libavcodec.so.59", "libc.so.6"][..]),
            ("libavcodec.so.59", &["libc.so.6", "libblas.so.3"][..]),
            ("libblas.so.3", &["libc.so.6"][..]),
            ("libc.so.6", &["ld-linux-aarch64.so.1"][..]),
            ("ld-linux-aarch64.so.1", &[][..]),
        ]);
        let lookup = |name: &str| -> anyhow::Result<Option<Vec<String>>> {
            Ok(graph.get(name).map(|n| n.iter().map(|s| (*s).to_owned()).collect()))
        };
        let roots = vec![("libmpv-like.so.1".to_owned(), "mpv".to_owned())];
        let seen = walk(roots, lookup).unwrap();
        assert_eq!(
            seen,
            [
                "libmpv-like.so.1",
                "libavcodec.so.59",
                "libc.so.6",
                "libblas.so.3",
                "ld-linux-aarch64.so.1"
            ]
        );
        let roots = vec![
            ("libc.so.6".to_owned(), "health-server".to_owned()),
            ("libssl.so.3".to_owned(), "pi-guest".to_owned()),
        ];
        let err = walk(roots, lookup).unwrap_err().to_string();
        assert!(err.contains("libssl.so.3 (needed by pi-guest)"), "{err}");
    }

    #[test]
    fn the_index_follows_links_inside_the_tree_and_prefers_the_multiarch_directory() {
        use std::os::unix::fs::symlink;
        let tree = tempfile::tempdir().unwrap();
        let t = tree.path();
        for dir in ["lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu/blas", "usr/lib", "etc"] {
            std::fs::create_dir_all(t.join(dir)).unwrap();
        }
        std::fs::write(t.join("lib/aarch64-linux-gnu/libc.so.6"), "multiarch").unwrap();
        std::fs::write(t.join("usr/lib/libc.so.6"), "plain").unwrap();
        std::fs::write(t.join("usr/lib/aarch64-linux-gnu/blas/libblas.so.3.11.0"), "blas").unwrap();
        symlink("libblas.so.3.11.0", t.join("usr/lib/aarch64-linux-gnu/blas/libblas.so.3"))
            .unwrap();
        // An absolute link means the tree's own path, as on the Pi.
        symlink("/lib/aarch64-linux-gnu/libc.so.6", t.join("lib/ld-linux-aarch64.so.1")).unwrap();
        symlink("/etc/alternatives/gone.so.1", t.join("usr/lib/dangling.so.1")).unwrap();
        std::fs::write(t.join("usr/lib/README"), "not a library").unwrap();

        let index = index(t).unwrap();
        assert_eq!(index["libc.so.6"], t.join("lib/aarch64-linux-gnu/libc.so.6"));
        assert_eq!(
            index["libblas.so.3"],
            t.join("usr/lib/aarch64-linux-gnu/blas/libblas.so.3.11.0")
        );
        assert_eq!(index[LOADER], t.join("lib/aarch64-linux-gnu/libc.so.6"));
        assert!(!index.contains_key("dangling.so.1") && !index.contains_key("README"));
    }
}
