//! Size and free space of mounted filesystems, by mount point.
//!
//! By default every real filesystem is reported: [`is_pseudo`] lists the types left out. With
//! `HEALTH_HARDWARE_DISK_MOUNTPOINTS` set, exactly the configured mount points are reported,
//! whatever their type (a tmpfs `/var/log` too), and one that is not mounted is a problem of the
//! run.
//!
//! The list of mounts is re-read every run, so a USB stick plugged in appears and one pulled out
//! leaves. Never measured, even when configured, because sysinfo does not list them: mounts under
//! `/proc`, `/sys` and `/run` (except `/run/media`); the types `proc`, `sysfs`, `devtmpfs`,
//! `devpts`, `cgroup`, `cgroup2`, `pstore`, `mqueue`, `hugetlbfs`, `rpc_pipefs`, `squashfs`,
//! `iso9660`, `rootfs`; and `nfs`, `nfs4`, `cifs`, `autofs`, whose `statvfs` can hang on a hard
//! mount. A configured one of those is a problem that says so. Disk I/O is not read here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use health_core::{MetricDesc, Snapshot, Unit};
use sysinfo::{Disk, DiskRefreshKind, Disks};

const TOTAL: MetricDesc = MetricDesc::gauge(
    "disk_total_bytes",
    Unit::Bytes,
    "Size of the filesystem mounted here (statvfs f_blocks × f_bsize).",
)
.labels(&["mountpoint"]);
const AVAILABLE: MetricDesc = MetricDesc::gauge(
    "disk_available_bytes",
    Unit::Bytes,
    "Space unprivileged users can still write on the filesystem mounted here (statvfs f_bavail \
     × f_bsize; excludes blocks reserved for root).",
)
.labels(&["mountpoint"]);

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[TOTAL, AVAILABLE];

/// Filesystem types that are not storage of this machine, left out unless configured by name.
///
/// - kernel interfaces: `proc`, `sysfs`, `devtmpfs`, `devpts`, `mqueue`, `debugfs`, `tracefs`,
///   `securityfs`, `pstore`, `bpf`, `configfs`, `nsfs`, `efivarfs`, `binfmt_misc`, `fusectl`,
///   `cgroup`, `cgroup2`, `rpc_pipefs`, `hugetlbfs`, `autofs` (a trigger, not the mount itself);
/// - memory: `tmpfs`, `ramfs` (their size is a share of RAM, already in the memory metrics;
///   configure a log2ram-style `/var/log` by name to watch it);
/// - container layers: `overlay` (each one repeats the disk underneath);
/// - read-only images, always full by design: `squashfs`, `erofs`, `iso9660`, `rootfs`;
/// - network shares, which are another machine's disk: `nfs`, `nfs4`, `cifs`, `smb3`;
/// - userspace filesystems `fuse.*` (sshfs, rclone, lxcfs, gvfs, snapfuse...): remote or virtual.
///   `fuseblk` stays: it is a FUSE driver for a local block device (exFAT or NTFS USB sticks).
fn is_pseudo(fs_type: &str) -> bool {
    const PSEUDO: &[&str] = &[
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "mqueue",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "configfs",
        "nsfs",
        "efivarfs",
        "binfmt_misc",
        "fusectl",
        "cgroup",
        "cgroup2",
        "rpc_pipefs",
        "hugetlbfs",
        "autofs",
        "tmpfs",
        "ramfs",
        "overlay",
        "squashfs",
        "erofs",
        "iso9660",
        "rootfs",
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
    ];
    PSEUDO.contains(&fs_type) || fs_type.starts_with("fuse.")
}

/// The disk part: the mount list kept between runs, and the optional mount point filter.
#[derive(Debug)]
pub(crate) struct DiskSpace {
    disks: Disks,
    mountpoints: Option<Vec<PathBuf>>,
}

impl DiskSpace {
    /// Reads nothing yet; `mountpoints`, when set, are the only ones reported.
    pub(crate) fn new(mountpoints: Option<Vec<PathBuf>>) -> Self {
        Self { disks: Disks::new(), mountpoints }
    }

    /// Re-reads the mount list and the sizes, and adds them to `snapshot`.
    pub(crate) fn sample(&mut self, snapshot: &mut Snapshot) {
        // `true`: drop mounts that are gone. Only sizes: no /proc/diskstats, no device kind.
        self.disks.refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
        // One entry per mount point; when mounts are stacked the last one listed is the one seen.
        let mut by_mountpoint: BTreeMap<&Path, &Disk> = BTreeMap::new();
        for disk in self.disks.list() {
            by_mountpoint.insert(disk.mount_point(), disk);
        }
        match &self.mountpoints {
            None => {
                for (mountpoint, disk) in by_mountpoint {
                    if disk.total_space() > 0 && !is_pseudo(&disk.file_system().to_string_lossy()) {
                        add(snapshot, mountpoint, disk);
                    }
                }
            }
            Some(wanted) => {
                let mut reported: Vec<&Path> = Vec::new();
                for mountpoint in wanted {
                    if reported.contains(&mountpoint.as_path()) {
                        continue;
                    }
                    reported.push(mountpoint);
                    match by_mountpoint.get(mountpoint.as_path()) {
                        Some(disk) if disk.total_space() > 0 => add(snapshot, mountpoint, disk),
                        Some(disk) => {
                            snapshot.problem(format!(
                                "disk: {} ({}) reports a size of 0; remove it from \
                                 HEALTH_HARDWARE_DISK_MOUNTPOINTS",
                                mountpoint.display(),
                                disk.file_system().to_string_lossy()
                            ));
                        }
                        None => {
                            snapshot.problem(missing(mountpoint));
                        }
                    }
                }
            }
        }
    }
}

fn add(snapshot: &mut Snapshot, mountpoint: &Path, disk: &Disk) {
    let label = mountpoint.to_string_lossy().into_owned();
    // u64 → f64 is exact up to 2^53 bytes (8 PiB).
    snapshot
        .gauge_with(TOTAL.name, vec![("mountpoint", label.clone())], disk.total_space() as f64)
        .gauge_with(AVAILABLE.name, vec![("mountpoint", label)], disk.available_space() as f64);
}

/// Why a configured mount point has no figures: not mounted, or mounted where sysinfo never looks.
fn missing(mountpoint: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    match mounted_type(&mounts, mountpoint) {
        Some(fs_type) => format!(
            "disk: {} is mounted ({fs_type}) but its size cannot be read here (network shares and \
             mounts under /proc, /sys and /run are not measured); remove it from \
             HEALTH_HARDWARE_DISK_MOUNTPOINTS",
            mountpoint.display()
        ),
        None => format!(
            "disk: {} is not mounted (configured in HEALTH_HARDWARE_DISK_MOUNTPOINTS)",
            mountpoint.display()
        ),
    }
}

/// The type of the last mount at `mountpoint` in a `/proc/mounts` text, if any.
fn mounted_type(mounts: &str, mountpoint: &Path) -> Option<String> {
    mounts.lines().rev().find_map(|line| {
        let mut fields = line.split_whitespace();
        let _device = fields.next()?;
        let path = unescape_octal(fields.next()?);
        let fs_type = fields.next()?;
        (Path::new(&path) == mountpoint).then(|| fs_type.to_owned())
    })
}

/// `/proc/mounts` writes space, tab, newline and backslash in paths as `\040`-style octal.
fn unescape_octal(field: &str) -> String {
    field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;
    use health_core::SampleValue;
    use health_core::testing::assert_described;

    /// `(mount point, fs type)` of every mount, from `/proc/self/mountinfo`.
    fn mountinfo() -> Vec<(PathBuf, String)> {
        let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        text.lines()
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let dash = fields.iter().position(|f| *f == "-").unwrap();
                (PathBuf::from(unescape_octal(fields[4])), fields[dash + 1].to_owned())
            })
            .collect()
    }

    fn gauge(snapshot: &Snapshot, name: &str, mountpoint: &str) -> Option<f64> {
        match snapshot.get(name, &[("mountpoint", mountpoint)]) {
            Some(SampleValue::Gauge(v)) => Some(*v),
            None => None,
            other => panic!("{name}: {other:?}"),
        }
    }

    /// A real filesystem this machine has: `/` when it is one, else the first real mount.
    fn expected_real_mount() -> PathBuf {
        let mounts = mountinfo();
        let real = |(path, fs): &(PathBuf, String)| {
            !is_pseudo(fs) && !path.starts_with("/proc") && !path.starts_with("/sys")
        };
        let root = mounts.iter().rev().find(|(path, _)| path == Path::new("/"));
        match root {
            Some(root) if real(root) => root.0.clone(),
            _ => mounts.iter().find(|m| real(m)).expect("no real filesystem mounted").0.clone(),
        }
    }

    #[test]
    fn reports_the_real_filesystems_and_no_pseudo_ones() {
        let mut disks = DiskSpace::new(None);
        let mut snapshot = Snapshot::new();
        disks.sample(&mut snapshot);
        assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());

        let expected = expected_real_mount();
        let label = expected.to_string_lossy();
        let total = gauge(&snapshot, &TOTAL.name, &label).expect("real filesystem missing");
        let available = gauge(&snapshot, &AVAILABLE.name, &label).unwrap();
        assert!(total >= available && available > 0.0, "{label}: {total} / {available}");

        assert_described(DESCRIPTIONS, &snapshot);
        let types = mountinfo();
        let mut seen = Vec::new();
        for sample in snapshot.samples() {
            let mountpoint = Path::new(&sample.labels[0].1);
            // The type of the mount on top: the last one listed at this path.
            let fs_type = types.iter().rev().find(|(p, _)| p == mountpoint).map(|(_, t)| t);
            let fs_type = fs_type.unwrap_or_else(|| panic!("{mountpoint:?} not in mountinfo"));
            for pseudo in ["tmpfs", "proc", "sysfs", "overlay", "devtmpfs", "cgroup", "cgroup2"] {
                assert_ne!(fs_type, pseudo, "{mountpoint:?} reported");
            }
            if sample.name == TOTAL.name {
                assert!(!seen.contains(&mountpoint), "{mountpoint:?} twice");
                seen.push(mountpoint);
            }
        }
    }

    #[test]
    fn the_filter_reports_exactly_the_configured_mount_points() {
        let expected = expected_real_mount();
        let absent = PathBuf::from("/no/such/mount/point");
        let mut disks = DiskSpace::new(Some(vec![expected.clone(), absent, expected.clone()]));
        let mut snapshot = Snapshot::new();
        disks.sample(&mut snapshot);

        let label = expected.to_string_lossy();
        assert_eq!(snapshot.len(), 2, "{:?}", snapshot.samples());
        assert!(gauge(&snapshot, &TOTAL.name, &label).is_some());
        assert!(gauge(&snapshot, &AVAILABLE.name, &label).is_some());
        assert_eq!(snapshot.problems().len(), 1, "{:?}", snapshot.problems());
        assert!(snapshot.problems()[0].contains("/no/such/mount/point is not mounted"));
    }

    #[test]
    fn the_filter_takes_a_type_left_out_by_default() {
        // A tmpfs that sysinfo can list (not under /run, /sys or /proc), e.g. /dev/shm.
        let tmpfs = mountinfo().into_iter().find(|(p, t)| {
            t == "tmpfs" && !["/run", "/sys", "/proc"].iter().any(|skip| p.starts_with(skip))
        });
        let Some((tmpfs, _)) = tmpfs else { return };
        let label = tmpfs.to_string_lossy().into_owned();

        let mut snapshot = Snapshot::new();
        DiskSpace::new(None).sample(&mut snapshot);
        assert_eq!(gauge(&snapshot, &TOTAL.name, &label), None, "{label} reported by default");

        let mut snapshot = Snapshot::new();
        DiskSpace::new(Some(vec![tmpfs])).sample(&mut snapshot);
        assert!(gauge(&snapshot, &TOTAL.name, &label).is_some(), "{:?}", snapshot.problems());
        assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    }

    #[test]
    fn a_mounted_but_unmeasurable_mount_point_says_so() {
        let mut disks = DiskSpace::new(Some(vec![PathBuf::from("/proc")]));
        let mut snapshot = Snapshot::new();
        disks.sample(&mut snapshot);
        assert!(snapshot.is_empty());
        assert_eq!(snapshot.problems().len(), 1);
        assert!(snapshot.problems()[0].contains("/proc is mounted (proc)"), "{snapshot:?}");
    }

    #[test]
    fn pseudo_types_are_recognised() {
        for fs in ["proc", "tmpfs", "overlay", "cgroup2", "fuse.sshfs", "fuse.lxcfs", "squashfs"] {
            assert!(is_pseudo(fs), "{fs}");
        }
        for fs in ["ext4", "vfat", "exfat", "btrfs", "xfs", "f2fs", "fuseblk", "ntfs3"] {
            assert!(!is_pseudo(fs), "{fs}");
        }
    }

    #[test]
    fn mount_table_lookup_takes_the_last_mount_and_unescapes_paths() {
        let mounts = "/dev/sda1 /media/my\\040stick vfat rw 0 0\n\
                      none /x tmpfs rw 0 0\n\
                      overlay /x overlay rw 0 0\n";
        assert_eq!(mounted_type(mounts, Path::new("/media/my stick")).as_deref(), Some("vfat"));
        assert_eq!(mounted_type(mounts, Path::new("/x")).as_deref(), Some("overlay"));
        assert_eq!(mounted_type(mounts, Path::new("/y")), None);
    }
}
