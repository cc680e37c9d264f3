//! Fixture trees under `fixtures/` and fake `vcgencmd` scripts written to a temporary directory.

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use health_core::SampleValue;

use super::*;

use crate::test_support::{SCRIPTS, fixture, script};

/// A `Pi` that never finds the host's own vcgencmd.
fn pi_without_vcgencmd() -> Pi {
    Pi::with_vcgencmd(Vcgencmd::Auto, Vec::new(), Duration::from_secs(1))
}

async fn run(pi: &Pi, roots: &Roots) -> Snapshot {
    let mut snapshot = Snapshot::new();
    pi.sample(roots, &mut snapshot).await;
    snapshot
}

fn throttled(snapshot: &Snapshot, condition: &str, scope: &str) -> Option<f64> {
    match snapshot.get(&THROTTLED.name, &[("condition", condition), ("scope", scope)]) {
        Some(SampleValue::Gauge(v)) => Some(*v),
        None => None,
        other => panic!("{condition}/{scope}: {other:?}"),
    }
}

/// The eight flags in decode order, `None` where absent.
fn all_flags(snapshot: &Snapshot) -> Vec<Option<f64>> {
    throttle::decode(0)
        .iter()
        .map(|f| throttled(snapshot, f.condition.label(), f.scope.label()))
        .collect()
}

fn model(snapshot: &Snapshot, model: &str) -> Option<SampleValue> {
    snapshot.get(&INFO.name, &[("model", model)]).cloned()
}

fn no_problems(snapshot: &Snapshot) {
    assert_eq!(snapshot.problems(), &[] as &[String]);
}

#[tokio::test]
async fn pi4_reads_get_throttled_zero_and_the_proc_model() {
    let snapshot = run(&pi_without_vcgencmd(), &fixture("pi4")).await;
    no_problems(&snapshot);
    assert_eq!(model(&snapshot, "Raspberry Pi 4 Model B Rev 1.4"), Some(SampleValue::Gauge(1.0)));
    assert_eq!(all_flags(&snapshot), vec![Some(0.0); 8]);
    assert_eq!(snapshot.len(), 9);
}

#[tokio::test]
async fn pi5_get_throttled_wins_over_rpi_volt_and_model_falls_back_to_sysfs() {
    let snapshot = run(&pi_without_vcgencmd(), &fixture("pi5")).await;
    no_problems(&snapshot);
    assert_eq!(model(&snapshot, "Raspberry Pi 5 Model B Rev 1.0"), Some(SampleValue::Gauge(1.0)));
    // 0x50005: under-voltage and throttled, now and since boot.
    let (on, off) = (Some(1.0), Some(0.0));
    assert_eq!(all_flags(&snapshot), vec![on, on, off, off, on, on, off, off]);
    assert_eq!(snapshot.len(), 9);
}

#[tokio::test]
async fn rpi_volt_reports_under_voltage_only() {
    let snapshot = run(&pi_without_vcgencmd(), &fixture("pi-rpi-volt")).await;
    no_problems(&snapshot);
    assert_eq!(
        model(&snapshot, "Raspberry Pi 3 Model B Plus Rev 1.3"),
        Some(SampleValue::Gauge(1.0))
    );
    let (on, none) = (Some(1.0), None);
    assert_eq!(all_flags(&snapshot), vec![on, on, none, none, none, none, none, none]);
    assert_eq!(snapshot.len(), 3);
}

#[tokio::test]
async fn x86_has_no_pi_series() {
    let snapshot = run(&pi_without_vcgencmd(), &fixture("x86")).await;
    no_problems(&snapshot);
    let pi: Vec<&str> =
        snapshot.samples().iter().map(|s| &*s.name).filter(|n| n.starts_with("pi_")).collect();
    assert_eq!(pi, Vec::<&str>::new());
    assert!(snapshot.is_empty());
}

/// Copies a fixture tree into a temporary directory so a test can rewrite it.
fn copy_fixture(name: &str) -> (tempfile::TempDir, Roots) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name), dir.path());
    let roots = Roots::under(dir.path());
    (dir, roots)
}

#[tokio::test]
async fn rpi_volt_latches_under_voltage_until_the_boot_changes() {
    let (_dir, roots) = copy_fixture("pi-rpi-volt");
    let alarm = roots.sys("class/hwmon/hwmon0/in0_lcrit_alarm");
    let pi = pi_without_vcgencmd();
    let under_voltage = |snapshot: &Snapshot| {
        no_problems(snapshot);
        (
            throttled(snapshot, "under_voltage", "now"),
            throttled(snapshot, "under_voltage", "since_boot"),
        )
    };

    assert_eq!(under_voltage(&run(&pi, &roots).await), (Some(1.0), Some(1.0)));
    std::fs::write(&alarm, "0\n").unwrap();
    assert_eq!(under_voltage(&run(&pi, &roots).await), (Some(0.0), Some(1.0)));
    assert_eq!(under_voltage(&run(&pi, &roots).await), (Some(0.0), Some(1.0)));

    std::fs::write(roots.proc(BOOT_ID), "99999999-0000-4000-8000-000000000000\n").unwrap();
    assert_eq!(under_voltage(&run(&pi, &roots).await), (Some(0.0), Some(0.0)));
    std::fs::write(&alarm, "1\n").unwrap();
    assert_eq!(under_voltage(&run(&pi, &roots).await), (Some(1.0), Some(1.0)));
    std::fs::write(&alarm, "0\n").unwrap();
    assert_eq!(under_voltage(&run(&pi, &roots).await), (Some(0.0), Some(1.0)));
}

#[tokio::test]
async fn unparsable_files_are_problems_and_the_model_is_still_reported() {
    let (_dir, roots) = copy_fixture("pi4");
    let path = roots.sys(GET_THROTTLED);
    std::fs::write(&path, "0x5000g\n").unwrap();
    let snapshot = run(&pi_without_vcgencmd(), &roots).await;
    assert_eq!(
        snapshot.problems(),
        &[format!("{}: cannot parse \"0x5000g\": invalid digit found in string", path.display())]
    );
    assert_eq!(all_flags(&snapshot), vec![None; 8]);
    assert_eq!(model(&snapshot, "Raspberry Pi 4 Model B Rev 1.4"), Some(SampleValue::Gauge(1.0)));

    let (_dir, roots) = copy_fixture("pi-rpi-volt");
    let path = roots.sys("class/hwmon/hwmon0/in0_lcrit_alarm");
    std::fs::write(&path, "2\n").unwrap();
    let snapshot = run(&pi_without_vcgencmd(), &roots).await;
    assert_eq!(
        snapshot.problems(),
        &[format!("{}: cannot parse \"2\": expected 0 or 1", path.display())]
    );
    assert_eq!(all_flags(&snapshot), vec![None; 8]);
    assert_eq!(snapshot.len(), 1);
}

#[tokio::test]
async fn a_board_that_is_not_a_pi_has_no_pi_info() {
    let (_dir, roots) = copy_fixture("x86");
    std::fs::create_dir_all(roots.proc("device-tree")).unwrap();
    std::fs::write(roots.proc(MODEL_PROC), b"Pine64 RockPro64 v2.1\0").unwrap();
    let snapshot = run(&pi_without_vcgencmd(), &roots).await;
    no_problems(&snapshot);
    assert!(snapshot.is_empty());
}

/// An empty tree (no Pi file at all) and a directory for scripts and what they record.
fn scratch() -> (tempfile::TempDir, Roots) {
    let dir = tempfile::tempdir().unwrap();
    let roots = Roots::under(dir.path());
    (dir, roots)
}

fn calls(path: &Path) -> usize {
    std::fs::read_to_string(path).map(|s| s.lines().count()).unwrap_or(0)
}

#[tokio::test]
async fn vcgencmd_auto_takes_the_first_candidate_that_exists() {
    let _serial = SCRIPTS.lock().await;
    let (dir, roots) = scratch();
    let fake = script(
        dir.path(),
        "vcgencmd",
        r#"[ "$1" = get_throttled ] || exit 9; echo throttled=0x50005"#,
    );
    let candidates = vec![dir.path().join("missing"), fake];
    let pi = Pi::with_vcgencmd(Vcgencmd::Auto, candidates, Duration::from_secs(2));
    let snapshot = run(&pi, &roots).await;
    no_problems(&snapshot);
    let (on, off) = (Some(1.0), Some(0.0));
    assert_eq!(all_flags(&snapshot), vec![on, on, off, off, on, on, off, off]);
    assert_eq!(snapshot.len(), 8);
}

#[tokio::test]
async fn vcgencmd_garbage_and_failures_are_problems_with_the_output() {
    let _serial = SCRIPTS.lock().await;
    let (dir, roots) = scratch();
    let garbage = script(dir.path(), "garbage", "echo 'hello world'");
    let pi = Pi::with_vcgencmd(Vcgencmd::Path(garbage.clone()), Vec::new(), Duration::from_secs(2));
    let snapshot = run(&pi, &roots).await;
    assert_eq!(
        snapshot.problems(),
        &[format!(
            "{} get_throttled: cannot parse \"hello world\": expected `throttled=0x<hex>`",
            garbage.display()
        )]
    );
    assert!(snapshot.is_empty());
    // Not a permission failure: tried again next time.
    assert_eq!(run(&pi, &roots).await.problems().len(), 1);

    let failing = script(dir.path(), "failing", "printf out; printf '%0300d' 0 >&2; exit 3");
    let pi = Pi::with_vcgencmd(Vcgencmd::Path(failing.clone()), Vec::new(), Duration::from_secs(2));
    let snapshot = run(&pi, &roots).await;
    // stdout, then stderr, cut at 200 characters.
    let quoted = format!("out\n{}…", "0".repeat(196));
    assert_eq!(
        snapshot.problems(),
        &[format!("{} get_throttled: exit status: 3: {quoted:?}", failing.display())]
    );
    assert!(snapshot.is_empty());

    let missing = dir.path().join("missing");
    let pi = Pi::with_vcgencmd(Vcgencmd::Path(missing.clone()), Vec::new(), Duration::from_secs(2));
    let snapshot = run(&pi, &roots).await;
    assert_eq!(
        snapshot.problems(),
        &[format!("{}: cannot run: No such file or directory (os error 2)", missing.display())]
    );
}

#[tokio::test]
async fn vcgencmd_that_hangs_is_killed_and_reaped_within_the_timeout() {
    let _serial = SCRIPTS.lock().await;
    let (dir, roots) = scratch();
    let pid_file = dir.path().join("pid");
    // `exec` keeps the PID: the process the test looks for is the one that sleeps.
    let hang =
        script(dir.path(), "hang", &format!("echo $$ > '{}'; exec sleep 30", pid_file.display()));
    let timeout = Duration::from_millis(500);
    let pi = Pi::with_vcgencmd(Vcgencmd::Path(hang.clone()), Vec::new(), timeout);

    let started = Instant::now();
    let snapshot = run(&pi, &roots).await;
    let elapsed = started.elapsed();

    assert!(elapsed < timeout + Duration::from_secs(1), "took {elapsed:?}");
    assert!(elapsed >= timeout, "took {elapsed:?}");
    assert_eq!(
        snapshot.problems(),
        &[format!("{} get_throttled: no answer within 500ms; killed", hang.display())]
    );
    assert!(snapshot.is_empty());
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc_entry = PathBuf::from(format!("/proc/{}", pid.trim()));
    // Gone, not a zombie: a zombie keeps its /proc entry until it is reaped.
    assert!(!proc_entry.exists(), "{} still exists", proc_entry.display());
}

#[tokio::test]
async fn vcgencmd_without_permission_is_reported_once_then_skipped() {
    let _serial = SCRIPTS.lock().await;
    let (dir, roots) = scratch();
    let count = dir.path().join("calls");
    let denied = script(
        dir.path(),
        "denied",
        &format!(
            "echo call >> '{}'; echo 'VCHI initialization failed' >&2; exit 255",
            count.display()
        ),
    );
    let pi = Pi::with_vcgencmd(Vcgencmd::Path(denied.clone()), Vec::new(), Duration::from_secs(2));

    let first = run(&pi, &roots).await;
    assert_eq!(
        first.problems(),
        &[format!(
            "{} get_throttled: permission denied (VCHI initialization failed); add the user \
             running the exporter to the `video` group: sudo usermod -aG video <user>, then \
             restart the exporter; not running it again",
            denied.display()
        )]
    );
    assert!(first.is_empty());
    assert_eq!(calls(&count), 1);

    let second = run(&pi, &roots).await;
    no_problems(&second);
    assert!(second.is_empty());
    assert_eq!(calls(&count), 1);
}

#[tokio::test]
async fn vcgencmd_permission_failure_falls_back_to_rpi_volt() {
    let _serial = SCRIPTS.lock().await;
    let (_fixture, roots) = copy_fixture("pi-rpi-volt");
    let dir = tempfile::tempdir().unwrap();
    // Not executable: spawning fails with EACCES.
    let path = dir.path().join("vcgencmd");
    std::fs::write(&path, "#!/bin/bash\necho throttled=0x0\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let pi = Pi::with_vcgencmd(Vcgencmd::Auto, vec![path.clone()], Duration::from_secs(2));

    let first = run(&pi, &roots).await;
    assert_eq!(
        first.problems(),
        &[format!(
            "{} get_throttled: permission denied (Permission denied (os error 13)); add the user \
             running the exporter to the `video` group: sudo usermod -aG video <user>, then \
             restart the exporter; not running it again",
            path.display()
        )]
    );
    assert_eq!(throttled(&first, "under_voltage", "now"), Some(1.0));
    assert_eq!(throttled(&first, "under_voltage", "since_boot"), Some(1.0));
    assert_eq!(first.len(), 3);

    let second = run(&pi, &roots).await;
    no_problems(&second);
    assert_eq!(throttled(&second, "under_voltage", "now"), Some(1.0));
    assert_eq!(second.len(), 3);
}

#[tokio::test]
async fn vcgencmd_off_never_runs() {
    let _serial = SCRIPTS.lock().await;
    let (dir, roots) = scratch();
    let count = dir.path().join("calls");
    let fake = script(
        dir.path(),
        "vcgencmd",
        &format!("echo call >> '{}'; echo throttled=0x0", count.display()),
    );
    let pi = Pi::with_vcgencmd(Vcgencmd::Off, vec![fake], Duration::from_secs(2));
    let snapshot = run(&pi, &roots).await;
    no_problems(&snapshot);
    assert!(snapshot.is_empty());
    assert_eq!(calls(&count), 0);
}

#[test]
fn descriptions_follow_conventions() {
    for desc in DESCRIPTIONS {
        assert_eq!(desc.convention_problems(), Vec::<String>::new(), "{}", desc.name);
    }
}

#[test]
fn pi_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Pi>();
}

#[tokio::test]
async fn new_looks_in_the_raspberry_pi_os_places_with_a_2s_timeout() {
    let pi = Pi::new(Vcgencmd::Auto);
    assert_eq!(
        pi.candidates,
        [PathBuf::from("/usr/bin/vcgencmd"), PathBuf::from("/opt/vc/bin/vcgencmd")]
    );
    assert_eq!(pi.timeout, Duration::from_secs(2));
    // get_throttled exists, so the host's vcgencmd (if any) is never consulted.
    let snapshot = run(&pi, &fixture("pi4")).await;
    no_problems(&snapshot);
    assert_eq!(all_flags(&snapshot), vec![Some(0.0); 8]);
}
