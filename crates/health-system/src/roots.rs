//! Where this crate reads the kernel's files: [`Roots`] (from health-core, shared with the network
//! collector), so a Raspberry Pi's `/sys` and `/proc` can be replaced by a fixture tree on any
//! machine (`HEALTH_HARDWARE_SYSFS_ROOT`, `HEALTH_HARDWARE_PROCFS_ROOT`). sysinfo reads the real
//! `/proc` itself and is not re-rooted.

use std::io;
use std::path::Path;

pub use health_core::Roots;

/// The file's content with surrounding whitespace trimmed; `None` when it does not exist.
///
/// A missing file is "no data", not an error: most machines have no Pi firmware files.
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
