//! Writing the guest's root as an initramfs: cpio archives in the `newc` format the kernel
//! unpacks, the small per-run one compressed by `gzip`.
//!
//! Written here rather than by `cpio` from a staging copy: the entries point at files where
//! they already are (the unpacked packages, the dist binaries), so nothing is copied twice, and
//! owner, mode and mtime are the same on every machine. The kernel accepts several archives one
//! after the other in one initrd, so the big part that only changes with the Debian packages is
//! written once and cached, and each run writes only the small part with our binaries.
//!
//! The cached Debian part (mpv's libraries, 210 MiB) is left uncompressed: gunzip under
//! emulation took 4 s of every boot (init after 10 s instead of 6 s), and the guest's free
//! memory after boot is the same either way, since the kernel frees the initrd once unpacked.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// What an entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Dir,
    /// A host file, read when the archive is written.
    File(PathBuf),
    Bytes(Vec<u8>),
    /// A symbolic link to this target.
    Symlink(String),
    /// A character device (major, minor): `/dev/console`, which the kernel opens for `/init`
    /// before anything mounts `/dev`.
    CharDevice(u32, u32),
}

/// One file of the guest's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The path in the guest, without the leading `/`.
    pub(crate) path: String,
    /// Permission bits (`0o755`).
    pub(crate) mode: u32,
    pub(crate) source: Source,
}

/// The entries of one archive, each parent directory before what it holds.
#[derive(Debug, Default)]
pub(crate) struct Archive {
    pub(crate) entries: Vec<Entry>,
}

impl Archive {
    fn parents(&mut self, path: &str) {
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            let known = self.entries.iter().any(|e| e.path == prefix);
            if !known {
                self.entries.push(Entry { path: prefix.clone(), mode: 0o755, source: Source::Dir });
            }
        }
    }

    fn push(&mut self, path: &str, mode: u32, source: Source) {
        let path = path.trim_start_matches('/');
        self.parents(path);
        self.entries.push(Entry { path: path.to_owned(), mode, source });
    }

    /// An empty directory.
    pub(crate) fn dir(&mut self, path: &str) {
        let path = path.trim_matches('/');
        self.parents(path);
        if !self.entries.iter().any(|e| e.path == path) {
            self.entries.push(Entry { path: path.to_owned(), mode: 0o755, source: Source::Dir });
        }
    }

    /// A host file at `path`.
    pub(crate) fn file(&mut self, path: &str, source: &Path, mode: u32) {
        self.push(path, mode, Source::File(source.to_owned()));
    }

    /// A file with these contents.
    pub(crate) fn bytes(&mut self, path: &str, contents: impl Into<Vec<u8>>, mode: u32) {
        self.push(path, mode, Source::Bytes(contents.into()));
    }

    /// A character device node.
    pub(crate) fn char_device(&mut self, path: &str, major: u32, minor: u32, mode: u32) {
        self.push(path, mode, Source::CharDevice(major, minor));
    }

    /// A symbolic link.
    pub(crate) fn symlink(&mut self, path: &str, target: &str) {
        self.push(path, 0o777, Source::Symlink(target.to_owned()));
    }

    /// A host directory tree, copied under `path` (files keep their permission bits, symlinks
    /// stay symlinks).
    pub(crate) fn tree(&mut self, path: &str, source: &Path) -> anyhow::Result<()> {
        self.dir(path);
        let mut entries: Vec<_> = std::fs::read_dir(source)
            .with_context(|| format!("reading {}", source.display()))?
            .collect::<Result<_, _>>()?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let guest = format!("{}/{name}", path.trim_end_matches('/'));
            let meta = std::fs::symlink_metadata(entry.path())?;
            if meta.is_dir() {
                self.tree(&guest, &entry.path())?;
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(entry.path())?;
                self.symlink(&guest, &target.to_string_lossy());
            } else {
                use std::os::unix::fs::PermissionsExt as _;
                self.file(&guest, &entry.path(), meta.permissions().mode() & 0o7777);
            }
        }
        Ok(())
    }

    /// One line per entry with what identifies its content (size and mtime of host files):
    /// when it is unchanged, an archive written from these entries need not be written again.
    pub(crate) fn fingerprint(&self) -> String {
        let mut text = String::new();
        for e in &self.entries {
            let _ = write!(text, "{} {:o} ", e.path, e.mode);
            let _ = match &e.source {
                Source::Dir => writeln!(text, "dir"),
                Source::Symlink(t) => writeln!(text, "-> {t}"),
                Source::CharDevice(major, minor) => writeln!(text, "char {major}:{minor}"),
                Source::Bytes(b) => writeln!(text, "bytes {:x}", fnv1a(b)),
                Source::File(p) => {
                    let meta = std::fs::metadata(p).ok();
                    let size = meta.as_ref().map_or(0, std::fs::Metadata::len);
                    let mtime = meta
                        .and_then(|m| m.modified().ok())
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    writeln!(text, "{} {size} {mtime}", p.display())
                }
            };
        }
        text
    }
}

/// A small stable hash for [`Archive::fingerprint`].
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFCHR: u32 = 0o020_000;

/// Write `entries` as a `newc` cpio archive with its trailer; returns the bytes written.
/// `first_inode` keeps inode numbers apart between archives loaded together.
pub(crate) fn write_newc(
    entries: &[Entry],
    first_inode: u32,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let mut written = 0_u64;
    for (i, entry) in entries.iter().enumerate() {
        let inode = first_inode + u32::try_from(i).context("too many entries")?;
        let mut rdev = (0, 0);
        let (kind, nlink, data) = match &entry.source {
            Source::Dir => (S_IFDIR, 2, Vec::new()),
            Source::File(path) => (
                S_IFREG,
                1,
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            ),
            Source::Bytes(bytes) => (S_IFREG, 1, bytes.clone()),
            Source::Symlink(target) => (S_IFLNK, 1, target.as_bytes().to_vec()),
            Source::CharDevice(major, minor) => {
                rdev = (*major, *minor);
                (S_IFCHR, 1, Vec::new())
            }
        };
        let header = Header { inode, mode: kind | entry.mode, nlink, rdev };
        written += member(out, &entry.path, header, &data)?;
    }
    let trailer = Header { inode: 0, mode: 0, nlink: 1, rdev: (0, 0) };
    written += member(out, "TRAILER!!!", trailer, &[])?;
    Ok(written)
}

/// The header fields that vary (owner is root, mtime 0: the same archive on every machine).
#[derive(Clone, Copy)]
struct Header {
    inode: u32,
    mode: u32,
    nlink: u32,
    rdev: (u32, u32),
}

/// One header, name and data, each padded to 4 bytes.
fn member(out: &mut impl Write, name: &str, h: Header, data: &[u8]) -> anyhow::Result<u64> {
    let size = u32::try_from(data.len()).with_context(|| format!("{name} is over 4 GiB"))?;
    let name_size = u32::try_from(name.len() + 1).context("name too long")?;
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    let fields = [h.inode, h.mode, 0, 0, h.nlink, 0, size, 0, 0, h.rdev.0, h.rdev.1, name_size, 0];
    let mut header = String::from("070701");
    for field in fields {
        let _ = write!(header, "{field:08X}");
    }
    let mut bytes = header.into_bytes();
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(0);
    pad(&mut bytes);
    out.write_all(&bytes)?;
    out.write_all(data)?;
    let tail = (4 - data.len() % 4) % 4;
    out.write_all(&[0; 3][..tail])?;
    Ok((bytes.len() + data.len() + tail) as u64)
}

fn pad(bytes: &mut Vec<u8>) {
    while !bytes.len().is_multiple_of(4) {
        bytes.push(0);
    }
}

/// Write `archive` to `path` as plain `newc`; returns its size.
pub(crate) fn write_plain(archive: &Archive, first_inode: u32, path: &Path) -> anyhow::Result<u64> {
    let partial = path.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let size = write_newc(&archive.entries, first_inode, &mut writer)?;
    writer.flush()?;
    drop(writer);
    std::fs::rename(&partial, path)?;
    Ok(size)
}

/// Write `archive` to `path` as gzip-compressed `newc` (through the `gzip` program, which is
/// several times faster than a debug build of a Rust deflater). Returns (uncompressed,
/// compressed) sizes.
pub(crate) fn write_gz(
    archive: &Archive,
    first_inode: u32,
    path: &Path,
) -> anyhow::Result<(u64, u64)> {
    let partial = path.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let mut gzip = Command::new("gzip")
        .args(["-n", "-6", "-c"])
        .stdin(Stdio::piped())
        .stdout(file)
        .spawn()
        .context("starting gzip")?;
    let stdin = gzip.stdin.take().context("gzip's stdin")?;
    let mut writer = BufWriter::with_capacity(1 << 20, stdin);
    let result = write_newc(&archive.entries, first_inode, &mut writer)
        .and_then(|n| writer.flush().map(|()| n).map_err(anyhow::Error::from));
    drop(writer);
    let status = gzip.wait().context("waiting for gzip")?;
    let raw = result?;
    if !status.success() {
        bail!("gzip failed ({status})");
    }
    std::fs::rename(&partial, path)?;
    Ok((raw, std::fs::metadata(path)?.len()))
}

/// Concatenate the compressed parts into one initrd.
pub(crate) fn concatenate(parts: &[PathBuf], path: &Path) -> anyhow::Result<u64> {
    let mut out = BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for part in parts {
        let mut input =
            std::fs::File::open(part).with_context(|| format!("opening {}", part.display()))?;
        io::copy(&mut input, &mut out)?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(host: &Path) -> Archive {
        let mut archive = Archive::default();
        std::fs::write(host.join("busybox"), b"\x7fELF not really").unwrap();
        archive.file("bin/busybox", &host.join("busybox"), 0o755);
        archive.bytes("init", "#!/bin/busybox sh\necho hi\n", 0o755);
        archive.symlink("bin/sh", "busybox");
        archive.dir("tmp");
        archive.bytes("pi/images/odd", vec![1_u8, 2, 3], 0o644);
        archive
    }

    #[test]
    fn parents_come_first_and_once() {
        let host = tempfile::tempdir().unwrap();
        let archive = sample(host.path());
        let paths: Vec<&str> = archive.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["bin", "bin/busybox", "init", "bin/sh", "tmp", "pi", "pi/images", "pi/images/odd"]
        );
    }

    /// The system's `cpio` reads what [`write_newc`] wrote: the same files, modes and links.
    #[test]
    fn cpio_unpacks_what_is_written() {
        use std::os::unix::fs::PermissionsExt as _;
        let host = tempfile::tempdir().unwrap();
        let archive = sample(host.path());
        let out = tempfile::tempdir().unwrap();
        let gz = out.path().join("part.cpio.gz");
        let (raw, compressed) = write_gz(&archive, 1000, &gz).unwrap();
        assert!(raw % 4 == 0 && compressed > 0 && compressed < raw, "{raw} {compressed}");
        let root = out.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let unpacked = Command::new("sh")
            .arg("-c")
            .arg(format!("gzip -dc {} | cpio -id --quiet", gz.display()))
            .current_dir(&root)
            .status()
            .unwrap();
        assert!(unpacked.success());
        assert_eq!(std::fs::read(root.join("bin/busybox")).unwrap(), b"\x7fELF not really");
        assert_eq!(
            std::fs::read_to_string(root.join("init")).unwrap(),
            "#!/bin/busybox sh\necho hi\n"
        );
        let mode = |p: &str| std::fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode("init"), mode("pi/images/odd")), (0o755, 0o644));
        assert_eq!(std::fs::read_link(root.join("bin/sh")).unwrap(), Path::new("busybox"));
        assert!(root.join("tmp").is_dir());
        assert_eq!(std::fs::read(root.join("pi/images/odd")).unwrap(), [1, 2, 3]);

        // Uncompressed, the same bytes as gzip held.
        let plain = out.path().join("part.cpio");
        assert_eq!(write_plain(&archive, 1000, &plain).unwrap(), raw);
        let listed =
            Command::new("cpio").args(["-t", "--quiet", "-F"]).arg(&plain).output().unwrap();
        assert!(listed.status.success());
        assert!(String::from_utf8_lossy(&listed.stdout).lines().any(|l| l == "bin/busybox"));
    }

    /// `cpio -tv` lists the console device as the kernel will create it (listing, not
    /// unpacking: making a device node needs root).
    #[test]
    fn a_device_node_is_listed_with_its_numbers() {
        let mut archive = Archive::default();
        archive.char_device("dev/console", 5, 1, 0o600);
        let mut bytes = Vec::new();
        write_newc(&archive.entries, 1, &mut bytes).unwrap();
        let mut cpio = Command::new("cpio")
            .args(["-t", "-v", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        cpio.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = cpio.wait_with_output().unwrap();
        assert!(out.status.success());
        let listing = String::from_utf8(out.stdout).unwrap();
        let console = listing.lines().find(|l| l.ends_with("dev/console")).unwrap();
        assert!(console.starts_with("crw-------"), "{listing}");
        assert!(console.contains("5,"), "{listing}");
    }

    #[test]
    fn the_fingerprint_changes_with_a_file_and_not_otherwise() {
        let host = tempfile::tempdir().unwrap();
        let archive = sample(host.path());
        let before = archive.fingerprint();
        let mut again = Archive::default();
        again.entries.clone_from(&archive.entries);
        assert_eq!(before, again.fingerprint());
        std::fs::write(host.path().join("busybox"), b"\x7fELF a longer binary").unwrap();
        assert_ne!(before, archive.fingerprint());
    }

    #[test]
    fn a_host_tree_keeps_its_shape() {
        use std::os::unix::fs::symlink;
        let host = tempfile::tempdir().unwrap();
        let t = host.path();
        std::fs::create_dir_all(t.join("sys/class/thermal/thermal_zone0")).unwrap();
        std::fs::write(t.join("sys/class/thermal/thermal_zone0/temp"), "48000\n").unwrap();
        symlink("thermal_zone0", t.join("sys/class/thermal/tz")).unwrap();
        let mut archive = Archive::default();
        archive.tree("pi/fixtures/pi4", t).unwrap();
        let shown: Vec<String> = archive
            .entries
            .iter()
            .map(|e| match &e.source {
                Source::Symlink(target) => format!("{} -> {target}", e.path),
                _ => e.path.clone(),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "pi",
                "pi/fixtures",
                "pi/fixtures/pi4",
                "pi/fixtures/pi4/sys",
                "pi/fixtures/pi4/sys/class",
                "pi/fixtures/pi4/sys/class/thermal",
                "pi/fixtures/pi4/sys/class/thermal/thermal_zone0",
                "pi/fixtures/pi4/sys/class/thermal/thermal_zone0/temp",
                "pi/fixtures/pi4/sys/class/thermal/tz -> thermal_zone0",
            ]
        );
    }
}
