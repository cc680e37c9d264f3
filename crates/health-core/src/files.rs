//! Reading the kernel's directories for collectors: a missing one is "no data", an unreadable one
//! a problem of the run.

use std::io;
use std::path::Path;

use crate::Snapshot;

/// The names in `dir`; empty when it does not exist, a problem when it cannot be listed.
pub fn list_dir(dir: &Path, snapshot: &mut Snapshot) -> Vec<String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            snapshot.problem(format!("{}: cannot list: {e}", dir.display()));
            return Vec::new();
        }
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_empty_and_present_is_listed() {
        let mut snapshot = Snapshot::new();
        assert!(list_dir(Path::new("/nonexistent/dir"), &mut snapshot).is_empty());
        let dir = std::env::temp_dir().join(format!("health-core-list-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        assert_eq!(list_dir(&dir, &mut snapshot), ["a"]);
        std::fs::remove_dir_all(&dir).unwrap();
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert!(list_dir(&file, &mut snapshot).is_empty());
        assert_eq!(snapshot.problems().len(), 1, "{:?}", snapshot.problems());
    }
}
