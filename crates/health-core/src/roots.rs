//! Where collectors read the kernel's files, so a Raspberry Pi's `/sys` and `/proc` can be
//! replaced by a fixture tree on any machine (`HEALTH_HARDWARE_SYSFS_ROOT`,
//! `HEALTH_NETWORK_SYSFS_ROOT` and their `PROCFS` twins). One type for every collector crate, so
//! a configuration maps onto each the same way.

use std::path::{Path, PathBuf};

/// The roots of the sysfs and procfs trees a collector reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// Stands for `/sys`.
    pub sysfs: PathBuf,
    /// Stands for `/proc`.
    pub procfs: PathBuf,
}

impl Default for Roots {
    /// The machine's own `/sys` and `/proc`.
    fn default() -> Self {
        Self { sysfs: PathBuf::from("/sys"), procfs: PathBuf::from("/proc") }
    }
}

impl Roots {
    /// `base/sys` and `base/proc`: the layout of a fixture tree.
    pub fn under(base: impl AsRef<Path>) -> Self {
        let base = base.as_ref();
        Self { sysfs: base.join("sys"), procfs: base.join("proc") }
    }

    /// `relative` under the sysfs root (`"class/thermal"` → `/sys/class/thermal`).
    pub fn sys(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.sysfs.join(relative)
    }

    /// `relative` under the procfs root (`"net/wireless"` → `/proc/net/wireless`).
    pub fn proc(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.procfs.join(relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_under_their_roots() {
        let machine = Roots::default();
        assert_eq!(machine.sys("class/thermal"), Path::new("/sys/class/thermal"));
        assert_eq!(machine.proc("net/wireless"), Path::new("/proc/net/wireless"));
        let fixture = Roots::under("/tmp/pi4");
        assert_eq!(fixture.sys("class/net/eth0"), Path::new("/tmp/pi4/sys/class/net/eth0"));
        assert_eq!(fixture.proc("device-tree/model"), Path::new("/tmp/pi4/proc/device-tree/model"));
        assert_eq!(fixture, Roots { sysfs: "/tmp/pi4/sys".into(), procfs: "/tmp/pi4/proc".into() });
    }
}
