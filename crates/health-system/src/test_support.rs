//! Helpers shared by this crate's unit tests.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::Roots;

/// The fixture tree `fixtures/<name>` (its `sys` and `proc`).
pub(crate) fn fixture(name: &str) -> Roots {
    Roots::under(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name))
}

/// A temporary sysfs tree holding these files: `(path relative to /sys, content)`.
pub(crate) fn sys_tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Roots) {
    let dir = tempfile::tempdir().unwrap();
    let roots = Roots::under(dir.path());
    for (path, content) in files {
        let path = roots.sys(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    (dir, roots)
}

/// Writes an executable bash script `dir/name` with this body (a fake `vcgencmd` or `cec-ctl`);
/// hold [`SCRIPTS`] while writing and running it.
pub(crate) fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Keeps one thread busy for `duration`, so CPU figures have something to see.
pub(crate) fn burn(duration: Duration) {
    std::thread::spawn(move || {
        // Until the thread has had `duration` of CPU, not of wall time: on a loaded machine (CI
        // running beside the tests) a thread gets only a share of the time that passes. A wall
        // clock limit of ten times the duration keeps a broken reading from looping forever.
        let start = Instant::now();
        let cpu_start = thread_cpu();
        let mut x = 0_u64;
        while thread_cpu().saturating_sub(cpu_start) < duration && start.elapsed() < duration * 10 {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
    })
    .join()
    .unwrap();
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Serialises the tests that write and run scripts (fake `vcgencmd`, fake `cec-ctl`), across
/// modules: a script written while another test forks can fail to execute with ETXTBSY (the
/// forked child briefly holds the write descriptor).
pub(crate) static SCRIPTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
