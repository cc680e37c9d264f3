//! The release tarball: `dist/<name>.tar.gz` with one top directory `<name>/` holding `bin/`
//! (the checked binaries), `deploy/`, `docs/`, `.env.sample`, `README.md` and any `LICENSE*`.
//!
//! Written with the `tar` and `flate2` crates rather than `tar(1)`: the entries are sorted, owned
//! by root:root and dated `SOURCE_DATE_EPOCH` when it is set, so the same inputs give the same
//! archive on any machine, and nothing depends on which tar is installed.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{EntryType, Header};

/// Files and directories from the workspace root that go into every tarball when present.
const SHARED: &[&str] = &["deploy", "docs", ".env.sample", "README.md"];

/// One file to put in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Where it is read from.
    pub(crate) source: PathBuf,
    /// Its path inside the archive's top directory.
    pub(crate) path: PathBuf,
    /// Whether it is executable (mode 0755, else 0644).
    pub(crate) executable: bool,
}

/// The entries for a release: `binaries` under `bin/`, then [`SHARED`] and `LICENSE*` from
/// `root`, recursively, sorted by path.
pub(crate) fn entries(root: &Path, binaries: &[PathBuf]) -> anyhow::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for binary in binaries {
        let name = binary.file_name().context("a binary path has a file name")?;
        entries.push(Entry {
            source: binary.clone(),
            path: Path::new("bin").join(name),
            executable: true,
        });
    }
    let mut tops: Vec<PathBuf> = SHARED.iter().map(PathBuf::from).collect();
    for entry in std::fs::read_dir(root).with_context(|| format!("listing {}", root.display()))? {
        let name = entry?.file_name();
        if name.to_string_lossy().starts_with("LICENSE") {
            tops.push(PathBuf::from(name));
        }
    }
    for top in tops {
        collect(root, &top, &mut entries)?;
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// Add `relative` (a file, or a directory walked recursively) under `root`; absent is fine.
fn collect(root: &Path, relative: &Path, entries: &mut Vec<Entry>) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let source = root.join(relative);
    let Ok(meta) = std::fs::metadata(&source) else { return Ok(()) };
    if meta.is_dir() {
        for entry in std::fs::read_dir(&source)? {
            collect(root, &relative.join(entry?.file_name()), entries)?;
        }
    } else if meta.is_file() {
        let executable = meta.permissions().mode() & 0o111 != 0;
        entries.push(Entry { source, path: relative.to_owned(), executable });
    }
    Ok(())
}

/// Write `entries` to `archive` (`.tar.gz`) under the top directory `top`; returns the number
/// of files.
pub(crate) fn write(archive: &Path, top: &str, entries: &[Entry]) -> anyhow::Result<usize> {
    let mtime = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => epoch.parse().context("SOURCE_DATE_EPOCH is not a number of seconds")?,
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
    };
    if let Some(parent) = archive.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let partial = archive.with_extension("partial");
    let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut tar = tar::Builder::new(GzEncoder::new(BufWriter::new(file), Compression::default()));

    let mut directories: Vec<PathBuf> = vec![PathBuf::new()];
    for entry in entries {
        for ancestor in entry.path.ancestors().skip(1) {
            if !directories.iter().any(|d| d == ancestor) {
                directories.push(ancestor.to_owned());
            }
        }
    }
    directories.sort();
    for directory in &directories {
        let mut header = header(EntryType::Directory, 0o755, 0, mtime);
        let path = Path::new(top).join(directory);
        tar.append_data(&mut header, &path, std::io::empty())?;
    }
    for entry in entries {
        if entry.path.is_absolute() || entry.path.components().any(|c| c.as_os_str() == "..") {
            bail!("{} would land outside the archive's directory", entry.path.display());
        }
        let file = File::open(&entry.source)
            .with_context(|| format!("reading {}", entry.source.display()))?;
        let size = file.metadata()?.len();
        let mode = if entry.executable { 0o755 } else { 0o644 };
        let mut header = header(EntryType::Regular, mode, size, mtime);
        tar.append_data(&mut header, Path::new(top).join(&entry.path), file)
            .with_context(|| format!("adding {}", entry.source.display()))?;
    }
    let gz = tar.into_inner()?;
    gz.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&partial, archive)?;
    Ok(entries.len())
}

fn header(kind: EntryType, mode: u32, size: u64, mtime: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    // Only fails for names longer than the field, and these are fixed short ASCII.
    let _ = header.set_username("root");
    let _ = header.set_groupname("root");
    header
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;

    use flate2::read::GzDecoder;

    use super::*;

    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("README.md", "# readme\n");
        write(".env.sample", "VIMEO_TOKEN=\n");
        write("docs/metrics.md", "metrics\n");
        write("docs/grafana/board.json", "{}\n");
        write("deploy/vimeo-monitor.service", "[Unit]\n");
        write("deploy/install.sh", "#!/bin/sh\n");
        std::fs::set_permissions(
            root.path().join("deploy/install.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        write("LICENSE-MIT", "MIT\n");
        write("src/lib.rs", "not shipped\n");
        write("target/bin/kiosk", "\x7fELF kiosk\n");
        root
    }

    #[test]
    fn the_archive_holds_binaries_deploy_docs_and_the_samples_under_one_directory() {
        let root = tree();
        let binary = root.path().join("target/bin/kiosk");
        let entries = entries(root.path(), &[binary]).unwrap();
        let archive = root.path().join("dist/kiosk-1.0-x.tar.gz");
        assert_eq!(write(&archive, "kiosk-1.0-x", &entries).unwrap(), 8);

        let mut files = Vec::new();
        let mut tar = tar::Archive::new(GzDecoder::new(File::open(&archive).unwrap()));
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let path = entry.path().unwrap().display().to_string();
            assert_eq!((header.uid().unwrap(), header.username().unwrap()), (0, Some("root")));
            let mut body = String::new();
            entry.read_to_string(&mut body).unwrap();
            files.push((path, header.mode().unwrap(), body));
        }
        let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "kiosk-1.0-x/",
                "kiosk-1.0-x/bin",
                "kiosk-1.0-x/deploy",
                "kiosk-1.0-x/docs",
                "kiosk-1.0-x/docs/grafana",
                "kiosk-1.0-x/.env.sample",
                "kiosk-1.0-x/LICENSE-MIT",
                "kiosk-1.0-x/README.md",
                "kiosk-1.0-x/bin/kiosk",
                "kiosk-1.0-x/deploy/install.sh",
                "kiosk-1.0-x/deploy/vimeo-monitor.service",
                "kiosk-1.0-x/docs/grafana/board.json",
                "kiosk-1.0-x/docs/metrics.md",
            ]
        );
        let mode = |name: &str| files.iter().find(|f| f.0 == name).unwrap().1;
        assert_eq!(mode("kiosk-1.0-x/bin/kiosk"), 0o755);
        assert_eq!(mode("kiosk-1.0-x/deploy/install.sh"), 0o755);
        assert_eq!(mode("kiosk-1.0-x/README.md"), 0o644);
        assert_eq!(files.iter().find(|f| f.0.ends_with("bin/kiosk")).unwrap().2, "\x7fELF kiosk\n");
        assert!(!archive.with_extension("partial").exists());
    }
}
