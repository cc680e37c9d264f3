//! The sidecar against real processes and real status files: children started here are found by
//! pidfile and by name in the real `/proc`, replaced, killed and reaped; status files are written
//! fresh, stale, wrong and not at all.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use health_core::testing::{collect_checked, gauge};
use health_core::{Collector, Exposition, SampleValue, Snapshot};
use health_script::{SidecarCollector, SidecarOptions};
use tempfile::TempDir;

/// A child that is killed and reaped however the test ends.
struct Kid(Child);

impl Kid {
    /// `sleep 30` whose `argv[0]` is `name` (its `comm` stays `sleep`).
    fn named(name: &str) -> Self {
        let child = Command::new("sleep")
            .arg0(name)
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .expect("sleep is installed");
        let kid = Self(child);
        kid.wait_for_argv0(name);
        kid
    }

    /// `sh SCRIPT`, as a Python kiosk runs as `python3 /opt/kiosk/vimeo_monitor.py`: the name is
    /// the script's, not the interpreter's. The script waits on its stdin, so it starts no child.
    fn script(path: &Path) -> Self {
        std::fs::write(path, "read line\n").unwrap();
        let child = Command::new("sh").arg(path).stdin(Stdio::piped()).spawn().expect("sh");
        let kid = Self(child);
        kid.wait_for_argv0("sh");
        kid
    }

    /// Waits until the child has exec'd: until then `/proc` shows the test binary's argv.
    fn wait_for_argv0(&self, name: &str) {
        let path = format!("/proc/{}/cmdline", self.pid());
        for _ in 0..500 {
            let cmdline = std::fs::read(&path).unwrap_or_default();
            if cmdline.split(|b| *b == 0).next() == Some(name.as_bytes()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("process {} never ran as {name}", self.pid());
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Kills it; reaps it unless `reap` is false, leaving a zombie until dropped.
    fn kill(&mut self, reap: bool) {
        let _ = self.0.kill();
        if reap {
            let _ = self.0.wait();
        } else {
            wait_for_state(self.pid(), 'Z');
        }
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `/proc/PID/stat` shows `state` (a killed child takes a moment to become a zombie).
fn wait_for_state(pid: u32, state: char) {
    for _ in 0..200 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let now = stat.rsplit(')').next().and_then(|rest| rest.trim_start().chars().next());
        if now == Some(state) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("process {pid} never reached state {state}");
}

/// A name no other process on this machine has: tests run in parallel, and so may other runs.
fn unique(stem: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{stem}-{}-{}.py", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn counter(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
    match snapshot.get(name, labels) {
        Some(SampleValue::Counter(total)) => *total,
        other => panic!("{name} {labels:?}: {other:?}"),
    }
}

fn has(snapshot: &Snapshot, name: &str) -> bool {
    snapshot.samples().iter().any(|s| s.name == name)
}

fn sidecar(configure: impl FnOnce(&mut SidecarOptions)) -> SidecarCollector {
    let mut options = SidecarOptions::default();
    configure(&mut options);
    assert!(options.watches_anything());
    SidecarCollector::new(options)
}

#[tokio::test]
async fn by_pidfile_a_replaced_process_is_a_restart_and_a_killed_one_is_down() {
    let dir = TempDir::new().unwrap();
    let pidfile = dir.path().join("kiosk.pid");
    let collector = sidecar(|o| o.pidfile = Some(pidfile.clone()));

    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 0.0, "no pidfile yet");
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());

    let mut first = Kid::named("kiosk.py");
    std::fs::write(&pidfile, format!("{}\n", first.pid())).unwrap();
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 1.0);
    assert_eq!(counter(&snapshot, "script_process_restarts_total", &[]), 0, "first sighting");
    assert!(gauge(&snapshot, "script_process_resident_memory_bytes", &[]) > 0.0);
    let started = gauge(&snapshot, "script_process_start_time_seconds", &[]);
    assert!((started - now()).abs() < 30.0, "started {started}, now {}", now());
    let uptime = gauge(&snapshot, "uptime_seconds", &[]);
    assert!((0.0..30.0).contains(&uptime), "uptime from the process start: {uptime}");
    assert!(!has(&snapshot, "script_healthy"), "without a status file there is no verdict");

    first.kill(true);
    let mut second = Kid::named("kiosk.py");
    std::fs::write(&pidfile, format!("{}\n", second.pid())).unwrap();
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 1.0);
    assert_eq!(counter(&snapshot, "script_process_restarts_total", &[]), 1);

    second.kill(false);
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 0.0, "a zombie runs nothing");
    assert_eq!(counter(&snapshot, "script_process_restarts_total", &[]), 1);
    assert!(!has(&snapshot, "script_process_resident_memory_bytes"));

    drop(second);
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 0.0, "the pidfile names a dead PID");
    assert_eq!(counter(&snapshot, "script_process_restarts_total", &[]), 1);

    std::fs::write(&pidfile, "not a pid\n").unwrap();
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 0.0);
    assert!(
        snapshot.problems().iter().any(|p| p.contains("does not hold a process id")),
        "{:?}",
        snapshot.problems()
    );
}

#[tokio::test]
async fn by_name_the_oldest_match_is_watched_and_a_zombie_is_down() {
    let name = unique("kiosk");
    let collector = sidecar(|o| o.process_name = Some(name.clone()));
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 0.0);

    let mut oldest = Kid::named(&name);
    // Start times have a resolution of one clock tick (10 ms).
    std::thread::sleep(Duration::from_millis(50));
    let mut younger = Kid::named(&name);
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 1.0);
    let started = gauge(&snapshot, "script_process_start_time_seconds", &[]);

    oldest.kill(true);
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 1.0, "the younger one took over");
    assert_eq!(counter(&snapshot, "script_process_restarts_total", &[]), 1);
    assert!(gauge(&snapshot, "script_process_start_time_seconds", &[]) > started);

    younger.kill(false);
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 0.0, "a zombie has no argv left");
    assert_eq!(counter(&snapshot, "script_process_restarts_total", &[]), 1);
}

#[tokio::test]
async fn by_name_an_interpreted_script_is_found_by_its_file_name() {
    let dir = TempDir::new().unwrap();
    let name = unique("vimeo_monitor");
    let _kiosk = Kid::script(&dir.path().join(&name));
    let collector = sidecar(|o| o.process_name = Some(name.clone()));
    let up = gauge(&collect_checked(&collector).await, "script_process_up", &[]);
    assert_eq!(up, 1.0, "`sh {name}` is {name}");
}

fn write_status(path: &Path, json: &str) {
    // As scripts are told to: a temporary file renamed over the old one.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn status_sidecar(dir: &TempDir) -> (SidecarCollector, PathBuf) {
    let path = dir.path().join("status.json");
    let collector = sidecar(|o| o.status_file = Some(path.clone()));
    (collector, path)
}

#[tokio::test]
async fn a_fresh_status_file_is_published_as_the_handle_would() {
    let dir = TempDir::new().unwrap();
    let (collector, path) = status_sidecar(&dir);
    let updated = now() - 2.0;
    write_status(
        &path,
        &format!(
            r#"{{"version": 1, "updated": {updated}, "check_interval": 30, "started": {},
                "stream_state": "live", "stream_live_since": {}, "display": "stream",
                "player_state": "buffering",
                "api": {{"requests": {{"live": 10, "rate_limited": 1}}, "consecutive_errors": 0,
                         "last_success": {updated}, "rate_limit_remaining": 40}},
                "player": {{"restarts": {{"hung": 2}}, "stalls": 1, "dropped_frames": 7,
                            "cache_seconds": 3.5, "name": "mpv", "hwdec": "no"}}}}"#,
            updated - 100.0,
            updated - 60.0,
        ),
    );
    let snapshot = collect_checked(&collector).await;
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    assert_eq!(gauge(&snapshot, "script_healthy", &[]), 1.0);
    let age = gauge(&snapshot, "script_status_file_age_seconds", &[]);
    assert!((2.0..10.0).contains(&age), "{age}");
    assert!((100.0..110.0).contains(&gauge(&snapshot, "uptime_seconds", &[])));
    assert!((60.0..70.0).contains(&gauge(&snapshot, "stream_uptime_seconds", &[])));
    assert_eq!(gauge(&snapshot, "stream_state", &[("state", "live")]), 1.0);
    assert_eq!(gauge(&snapshot, "stream_state", &[("state", "offline")]), 0.0);
    assert_eq!(gauge(&snapshot, "player_state", &[("state", "buffering")]), 1.0);
    assert_eq!(counter(&snapshot, "api_requests_total", &[("result", "live")]), 10);
    assert_eq!(counter(&snapshot, "api_requests_total", &[("result", "server_error")]), 0);
    assert_eq!(counter(&snapshot, "player_restarts_total", &[("reason", "hung")]), 2);
    assert_eq!(counter(&snapshot, "player_restarts_total", &[("reason", "failed")]), 0);
    assert_eq!(counter(&snapshot, "player_frames_dropped_total", &[("stage", "output")]), 7);
    assert_eq!(gauge(&snapshot, "player_buffer_seconds", &[]), 3.5);
    assert_eq!(gauge(&snapshot, "player_hwdec_active", &[("hwdec", "no")]), 0.0);
    assert_eq!(gauge(&snapshot, "api_rate_limit_remaining", &[]), 40.0);
    assert_eq!(gauge(&snapshot, "player_info", &[("player", "mpv"), ("hwdec", "no")]), 1.0);
    assert!(!has(&snapshot, "script_process_up"), "no process is watched");

    // What the exposition makes of it, as Prometheus will see it.
    let exposition = Exposition::default();
    exposition.register(collector.name(), &collector.describe()).unwrap();
    exposition.publish(collector.name(), snapshot);
    let text = exposition.render();
    assert!(text.contains("vimeo_monitor_script_healthy 1\n"), "{text}");
    assert!(text.contains("vimeo_monitor_api_requests_total{result=\"live\"} 10\n"), "{text}");

    write_status(
        &path,
        &format!(r#"{{"updated": {}, "stream_state": "live", "display": "holding"}}"#, now()),
    );
    let snapshot = collect_checked(&collector).await;
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    assert_eq!(gauge(&snapshot, "script_healthy", &[]), 0.0, "live, but the holding image");
}

#[tokio::test]
async fn stale_garbage_or_missing_status_files_are_problems_without_stale_figures() {
    let dir = TempDir::new().unwrap();
    let (collector, path) = status_sidecar(&dir);
    let healthy_doc = |updated: f64, check_interval: &str| {
        format!(
            r#"{{"updated": {updated}, {check_interval} "stream_state": "offline",
                "display": "holding", "api": {{"requests": {{"offline": 3}}}}}}"#
        )
    };
    // (what the file holds, or None for no file; the problem expected)
    let cases: [(Option<String>, &str); 5] = [
        (None, "does not exist"),
        (
            Some(healthy_doc(now() - 61.0, r#""check_interval": 30,"#)),
            "s ago, more than 60 s (twice its check_interval of 30 s)",
        ),
        (Some(healthy_doc(now() - 16.0, "")), "more than 15 s (3 × HEALTH_SCRIPT_INTERVAL"),
        (Some("{\"updated\": 1, \"stream_state\": ".to_owned()), "not valid: EOF while parsing"),
        (Some("<html>oops</html>".to_owned()), "not valid: expected a JSON object"),
    ];
    for (content, expected) in cases {
        match &content {
            Some(text) => write_status(&path, text),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        let snapshot = collect_checked(&collector).await;
        let problems = snapshot.problems().join("; ");
        assert!(problems.contains(expected), "{content:?}: {problems}");
        assert!(problems.contains(&path.display().to_string()), "{problems}");
        assert_eq!(gauge(&snapshot, "script_healthy", &[]), 0.0, "{content:?}");
        for stale in ["stream_state", "api_requests_total", "uptime_seconds"] {
            assert!(!has(&snapshot, stale), "{stale} published from {content:?}");
        }
    }
    // A fresh file again: figures and health are back, the totals where they were.
    write_status(&path, &healthy_doc(now(), r#""check_interval": 30,"#));
    let snapshot = collect_checked(&collector).await;
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    assert_eq!(gauge(&snapshot, "script_healthy", &[]), 1.0);
    assert_eq!(counter(&snapshot, "api_requests_total", &[("result", "offline")]), 3);
}

#[tokio::test]
async fn a_fresh_status_file_of_a_dead_process_is_not_healthy() {
    let dir = TempDir::new().unwrap();
    let status = dir.path().join("status.json");
    let name = unique("kiosk");
    let collector = sidecar(|o| {
        o.process_name = Some(name.clone());
        o.status_file = Some(status.clone());
    });
    let doc = format!(r#"{{"updated": {}, "stream_state": "error", "display": "error"}}"#, now());
    write_status(&status, &doc);
    let mut kiosk = Kid::named(&name);
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 1.0);
    assert_eq!(gauge(&snapshot, "script_healthy", &[]), 1.0);
    kiosk.kill(true);
    let snapshot = collect_checked(&collector).await;
    assert_eq!(gauge(&snapshot, "script_process_up", &[]), 0.0);
    assert_eq!(gauge(&snapshot, "script_healthy", &[]), 0.0, "its last words are not enough");
}
