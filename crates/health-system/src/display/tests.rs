//! The DRM connectors of the fixture trees under `fixtures/`, and fake `cec-ctl` scripts written
//! to a temporary directory.

use std::path::Path;
use std::time::Instant;

use health_core::SampleValue;

use super::*;

use crate::test_support::{SCRIPTS, fixture, script, sys_tree};

fn run(roots: &Roots) -> Snapshot {
    let mut snapshot = Snapshot::new();
    sample(roots, &mut snapshot);
    snapshot
}

/// One row per connector, in emission order: (connector, connected, enabled, dpms on, mode).
type Row = (String, Option<f64>, Option<f64>, Option<f64>, Option<String>);

fn rows(snapshot: &Snapshot) -> Vec<Row> {
    let mut connectors: Vec<String> = Vec::new();
    for sample in snapshot.samples() {
        let Some((_, connector)) = sample.labels.iter().find(|(k, _)| *k == "connector") else {
            panic!("no connector label: {sample:?}")
        };
        if !connectors.contains(connector) {
            connectors.push(connector.clone());
        }
    }
    let gauge = |name: &str, connector: &str| match snapshot.get(name, &[("connector", connector)])
    {
        Some(SampleValue::Gauge(v)) => Some(*v),
        None => None,
        other => panic!("{name}{{{connector}}}: {other:?}"),
    };
    connectors
        .into_iter()
        .map(|c| {
            let modes: Vec<String> = snapshot
                .samples()
                .iter()
                .filter(|s| s.name == MODE.name)
                .filter(|s| s.labels.iter().any(|(k, v)| *k == "connector" && *v == c))
                .map(|s| {
                    assert_eq!(s.value, SampleValue::Gauge(1.0), "{s:?}");
                    s.labels.iter().find(|(k, _)| *k == "mode").unwrap().1.clone()
                })
                .collect();
            assert!(modes.len() <= 1, "{c}: {modes:?}");
            (
                c.clone(),
                gauge(&CONNECTED.name, &c),
                gauge(&ENABLED.name, &c),
                gauge(&DPMS_ON.name, &c),
                modes.into_iter().next(),
            )
        })
        .collect()
}

fn row(connector: &str, connected: f64, enabled: f64, dpms: f64, mode: Option<&str>) -> Row {
    (connector.to_owned(), Some(connected), Some(enabled), Some(dpms), mode.map(str::to_owned))
}

fn no_problems(snapshot: &Snapshot) {
    assert_eq!(snapshot.problems(), &[] as &[String]);
}

#[test]
fn pi4_has_one_hdmi_display_at_1080p_and_an_empty_port_and_composite() {
    let snapshot = run(&fixture("pi4"));
    no_problems(&snapshot);
    assert_eq!(
        rows(&snapshot),
        vec![
            row("Composite-1", 0.0, 0.0, 0.0, None),
            row("HDMI-A-1", 1.0, 1.0, 1.0, Some("1920x1080")),
            row("HDMI-A-2", 0.0, 0.0, 0.0, None),
        ]
    );
    // 3 connectors × 3 flags, and one mode; no Writeback-1, no card0, renderD128 or version.
    assert_eq!(snapshot.len(), 10);
}

#[test]
fn pi5_has_a_4k_display_and_leaves_the_writeback_connector_out() {
    let snapshot = run(&fixture("pi5"));
    no_problems(&snapshot);
    assert_eq!(
        rows(&snapshot),
        vec![
            row("HDMI-A-1", 1.0, 1.0, 1.0, Some("3840x2160")),
            row("HDMI-A-2", 0.0, 0.0, 0.0, None),
        ]
    );
    assert_eq!(snapshot.len(), 7);
}

#[test]
fn pc_has_its_panel_an_empty_displayport_and_a_sleeping_hdmi_monitor() {
    let snapshot = run(&fixture("x86"));
    no_problems(&snapshot);
    assert_eq!(
        rows(&snapshot),
        vec![
            row("DP-1", 0.0, 0.0, 0.0, None),
            // Plugged in and driven, but told to sleep: the screen is dark.
            row("HDMI-A-1", 1.0, 1.0, 0.0, Some("2560x1440")),
            row("eDP-1", 1.0, 1.0, 1.0, Some("1920x1200")),
        ]
    );
    assert_eq!(snapshot.len(), 11);
}

#[test]
fn no_drm_is_no_data_and_no_problem() {
    let snapshot = run(&fixture("pi-rpi-volt"));
    no_problems(&snapshot);
    assert!(snapshot.is_empty());
    let snapshot = run(&Roots { sysfs: "/nonexistent/sys".into(), procfs: "/nonexistent".into() });
    no_problems(&snapshot);
    assert!(snapshot.is_empty());
}

#[test]
fn unparsable_files_are_problems_and_the_rest_still_publishes() {
    let (_dir, roots) = sys_tree(&[
        ("class/drm/card1-HDMI-A-1/status", "connected\n"),
        ("class/drm/card1-HDMI-A-1/enabled", "maybe\n"),
        ("class/drm/card1-HDMI-A-1/dpms", "On\n"),
        ("class/drm/card1-HDMI-A-1/modes", "garbage\n1920x1080\n"),
        ("class/drm/card1-HDMI-A-2/status", "plugged\n"),
        ("class/drm/card1-HDMI-A-2/dpms", "Standby\n"),
    ]);
    let snapshot = run(&roots);
    let path = |file: &str| roots.sys("class/drm").join(file).display().to_string();
    assert_eq!(
        snapshot.problems(),
        &[
            format!(
                "{}: cannot parse \"maybe\": expected enabled or disabled",
                path("card1-HDMI-A-1/enabled")
            ),
            format!(
                "{}: cannot parse \"garbage\\n1920x1080\": expected a mode like 1920x1080 on the \
                 first line",
                path("card1-HDMI-A-1/modes")
            ),
            format!(
                "{}: cannot parse \"plugged\": expected connected, disconnected or unknown",
                path("card1-HDMI-A-2/status")
            ),
        ]
    );
    assert_eq!(
        rows(&snapshot),
        vec![
            ("HDMI-A-1".to_owned(), Some(1.0), None, Some(1.0), None),
            ("HDMI-A-2".to_owned(), None, None, Some(0.0), None),
        ]
    );
}

#[test]
fn the_same_connector_on_two_cards_keeps_the_card_the_second_time() {
    let (_dir, roots) = sys_tree(&[
        ("class/drm/card0-HDMI-A-1/status", "connected\n"),
        ("class/drm/card0-HDMI-A-1/modes", "1920x1080\n"),
        ("class/drm/card1-HDMI-A-1/status", "disconnected\n"),
        ("class/drm/card1-HDMI-A-1/modes", "\n"),
        ("class/drm/card12-Virtual-1/status", "connected\n"),
        // A display that lists no mode: no mode series, no problem.
        ("class/drm/card12-Virtual-1/modes", "\n"),
    ]);
    let snapshot = run(&roots);
    no_problems(&snapshot);
    assert_eq!(
        rows(&snapshot),
        vec![
            ("HDMI-A-1".to_owned(), Some(1.0), None, None, Some("1920x1080".to_owned())),
            ("card1-HDMI-A-1".to_owned(), Some(0.0), None, None, None),
            ("Virtual-1".to_owned(), Some(1.0), None, None, None),
        ]
    );
}

#[test]
fn connector_name_table() {
    assert_eq!(connector_name("card1-HDMI-A-1"), Some("HDMI-A-1"));
    assert_eq!(connector_name("card0-eDP-1"), Some("eDP-1"));
    assert_eq!(connector_name("card10-DP-3"), Some("DP-3"));
    assert_eq!(connector_name("card1-Writeback-1"), None);
    assert_eq!(connector_name("card0"), None);
    assert_eq!(connector_name("card-HDMI-A-1"), None);
    assert_eq!(connector_name("cardX-HDMI-A-1"), None);
    assert_eq!(connector_name("card1-"), None);
    assert_eq!(connector_name("renderD128"), None);
    assert_eq!(connector_name("version"), None);
}

#[test]
fn state_parser_tables() {
    assert_eq!(parse_status("connected"), Ok(true));
    assert_eq!(parse_status("disconnected"), Ok(false));
    assert_eq!(parse_status("unknown"), Ok(false));
    assert!(parse_status("Connected").is_err());
    assert_eq!(parse_enabled("enabled"), Ok(true));
    assert_eq!(parse_enabled("disabled"), Ok(false));
    assert!(parse_enabled("").is_err());
    assert_eq!(parse_dpms("On"), Ok(true));
    for asleep in ["Standby", "Suspend", "Off"] {
        assert_eq!(parse_dpms(asleep), Ok(false), "{asleep}");
    }
    assert!(parse_dpms("on").is_err());
}

#[test]
fn preferred_mode_table() {
    assert_eq!(preferred_mode("1920x1080\n1280x720"), Ok(Some("1920x1080")));
    assert_eq!(preferred_mode("1920x1080i"), Ok(Some("1920x1080i")));
    assert_eq!(preferred_mode(""), Ok(None));
    assert_eq!(preferred_mode("\n\n"), Ok(None));
    assert!(preferred_mode("1920x").is_err());
    assert!(preferred_mode("x1080").is_err());
    assert!(preferred_mode("1920 x 1080").is_err());
    assert!(preferred_mode(&format!("{}x1", "9".repeat(40))).is_err());
}

#[test]
fn cec_power_status_table() {
    use super::cec::parse_power_status;
    // What cec-ctl prints, around the reply's operand.
    let reply = |state: &str| {
        format!(
            "Driver Info:\n\tDriver Name                : vc4_hdmi\n\n\
             Transmit from Playback Device 1 to TV (4 to 0):\n\
             CEC_MSG_GIVE_DEVICE_POWER_STATUS (0x8f)\n\
             \tSequence: 12 Tx Timestamp: 1234.567s\n\
             \tReceived from TV (0 to 4):\n\
             CEC_MSG_REPORT_POWER_STATUS (0x90):\n\
             \tpwr-state: {state}\n\
             \tSequence: 0 Rx Timestamp: 1234.612s\n"
        )
    };
    assert_eq!(parse_power_status(&reply("on (0x00)")), Some(true));
    assert_eq!(parse_power_status(&reply("standby (0x01)")), Some(false));
    assert_eq!(parse_power_status(&reply("to-on (0x02)")), Some(true));
    assert_eq!(parse_power_status(&reply("to-standby (0x03)")), Some(false));
    // libcec's spelling, with and without the code.
    assert_eq!(parse_power_status("pwr-state: in transition standby to on (0x02)"), Some(true));
    assert_eq!(parse_power_status("pwr-state: in transition on to standby"), Some(false));
    assert_eq!(parse_power_status("\tPWR-STATE: On"), Some(true));
    assert_eq!(parse_power_status("pwr-state: standby"), Some(false));
    // The code wins over a name it contradicts; an unknown code is no answer.
    assert_eq!(parse_power_status("pwr-state: on (0x01)"), Some(false));
    assert_eq!(parse_power_status("pwr-state: (0x04)"), None);
    assert_eq!(parse_power_status("pwr-state: sleeping"), None);
    // The TV did not answer.
    assert_eq!(
        parse_power_status(
            "Transmit from Playback Device 1 to TV (4 to 0):\n\
             CEC_MSG_GIVE_DEVICE_POWER_STATUS (0x8f)\n\
             \tTx, Not Acknowledged (4), Max Retries\n"
        ),
        None
    );
    assert_eq!(parse_power_status(""), None);
}

/// A directory for scripts, and a stand-in for `/dev/cec0` in it.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("cec0");
    std::fs::write(&device, "").unwrap();
    (dir, device)
}

/// A fake cec-ctl that records its arguments in `args` and answers with this power state.
fn fake_cec_ctl(dir: &Path, name: &str, state: &str) -> PathBuf {
    let args = dir.join("args");
    script(
        dir,
        name,
        &format!(
            "echo \"$*\" >> '{}'\n\
             printf 'CEC_MSG_REPORT_POWER_STATUS (0x90):\\n\\tpwr-state: {state}\\n'",
            args.display()
        ),
    )
}

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args"))
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

async fn power(tv: &TvPower) -> Snapshot {
    let mut snapshot = Snapshot::new();
    tv.sample(&mut snapshot).await;
    snapshot
}

fn power_on(snapshot: &Snapshot) -> Option<f64> {
    match snapshot.get(&POWER_ON.name, &[]) {
        Some(SampleValue::Gauge(v)) => Some(*v),
        None => None,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn auto_asks_the_tv_once_per_run_with_the_documented_arguments() {
    let _serial = SCRIPTS.lock().await;
    let (dir, device) = scratch();
    let on = fake_cec_ctl(dir.path(), "cec-ctl", "on (0x00)");
    let candidates = vec![dir.path().join("missing"), on];
    let tv = TvPower::with_paths(Cec::Auto, candidates, device.clone(), Duration::from_secs(2));
    let snapshot = power(&tv).await;
    no_problems(&snapshot);
    assert_eq!(power_on(&snapshot), Some(1.0));
    assert_eq!(snapshot.len(), 1);
    assert_eq!(
        calls(dir.path()),
        [format!("-d {} --to 0 --give-device-power-status", device.display())]
    );
    power(&tv).await;
    assert_eq!(calls(dir.path()).len(), 2, "one question per run");
}

#[tokio::test]
async fn standby_and_transitions_read_as_the_state_the_tv_is_heading_for() {
    let _serial = SCRIPTS.lock().await;
    let (dir, device) = scratch();
    for (i, (state, expected)) in [
        ("standby (0x01)", 0.0),
        ("to-on (0x02)", 1.0),
        ("to-standby (0x03)", 0.0),
        ("in transition standby to on (0x02)", 1.0),
    ]
    .into_iter()
    .enumerate()
    {
        let path = fake_cec_ctl(dir.path(), &format!("cec-ctl-{i}"), state);
        let tv = TvPower::with_paths(
            Cec::Path(path),
            Vec::new(),
            device.clone(),
            Duration::from_secs(2),
        );
        let snapshot = power(&tv).await;
        no_problems(&snapshot);
        assert_eq!(power_on(&snapshot), Some(expected), "{state}");
    }
}

#[tokio::test]
async fn auto_without_the_tool_or_the_device_asks_nothing_and_reports_nothing() {
    let _serial = SCRIPTS.lock().await;
    let (dir, device) = scratch();
    let tool = fake_cec_ctl(dir.path(), "cec-ctl", "on (0x00)");
    let timeout = Duration::from_secs(2);

    let no_tool = TvPower::with_paths(Cec::Auto, vec![dir.path().join("missing")], device, timeout);
    let no_device =
        TvPower::with_paths(Cec::Auto, vec![tool.clone()], dir.path().join("cec9"), timeout);
    let off = TvPower::with_paths(Cec::Off, vec![tool], dir.path().join("cec0"), timeout);
    for tv in [no_tool, no_device, off] {
        let snapshot = power(&tv).await;
        no_problems(&snapshot);
        assert!(snapshot.is_empty(), "{tv:?}");
    }
    assert_eq!(calls(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn auto_failures_and_unanswered_questions_are_no_data_without_a_problem() {
    let _serial = SCRIPTS.lock().await;
    let (dir, device) = scratch();
    let failing = script(
        dir.path(),
        "failing",
        "echo 'Failed to open /dev/cec0: Permission denied' >&2; exit 1",
    );
    let silent =
        script(dir.path(), "silent", "printf '\\tTx, Not Acknowledged (4), Max Retries\\n'");
    for program in [failing, silent] {
        let tv = TvPower::with_paths(
            Cec::Auto,
            vec![program.clone()],
            device.clone(),
            Duration::from_secs(2),
        );
        let snapshot = power(&tv).await;
        no_problems(&snapshot);
        assert!(snapshot.is_empty(), "{}", program.display());
    }
}

#[tokio::test]
async fn an_explicit_path_that_fails_is_a_problem_but_no_answer_is_not() {
    let _serial = SCRIPTS.lock().await;
    let (dir, device) = scratch();
    let timeout = Duration::from_secs(2);
    let failing =
        script(dir.path(), "failing", "printf out; echo 'Failed to open device' >&2; exit 1");
    let tv = TvPower::with_paths(Cec::Path(failing.clone()), Vec::new(), device.clone(), timeout);
    let snapshot = power(&tv).await;
    assert_eq!(
        snapshot.problems(),
        &[format!(
            "{} --give-device-power-status: exit status: 1: \"out\\nFailed to open device\"",
            failing.display()
        )]
    );
    assert!(snapshot.is_empty());

    let missing = dir.path().join("missing");
    let tv = TvPower::with_paths(Cec::Path(missing.clone()), Vec::new(), device.clone(), timeout);
    assert_eq!(
        power(&tv).await.problems(),
        &[format!("{}: cannot run: No such file or directory (os error 2)", missing.display())]
    );

    let silent =
        script(dir.path(), "silent", "printf '\\tTx, Not Acknowledged (4), Max Retries\\n'");
    let tv = TvPower::with_paths(Cec::Path(silent), Vec::new(), device, timeout);
    let snapshot = power(&tv).await;
    no_problems(&snapshot);
    assert!(snapshot.is_empty());
}

#[tokio::test]
async fn cec_ctl_that_hangs_is_killed_and_reaped_within_the_timeout() {
    let _serial = SCRIPTS.lock().await;
    let (dir, device) = scratch();
    let pid_file = dir.path().join("pid");
    // `exec` keeps the PID: the process the test looks for is the one that sleeps.
    let hang =
        script(dir.path(), "hang", &format!("echo $$ > '{}'; exec sleep 30", pid_file.display()));
    let timeout = Duration::from_millis(500);

    for setting in [Cec::Path(hang.clone()), Cec::Auto] {
        let tv = TvPower::with_paths(setting.clone(), vec![hang.clone()], device.clone(), timeout);
        let started = Instant::now();
        let snapshot = power(&tv).await;
        let elapsed = started.elapsed();
        assert!(
            elapsed >= timeout && elapsed < timeout + Duration::from_secs(1),
            "took {elapsed:?}"
        );
        assert!(snapshot.is_empty());
        let expected = match setting {
            Cec::Auto => Vec::new(),
            _ => vec![format!(
                "{} --give-device-power-status: no answer within 500ms; killed",
                hang.display()
            )],
        };
        assert_eq!(snapshot.problems(), &expected[..], "{setting:?}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let proc_entry = PathBuf::from(format!("/proc/{}", pid.trim()));
        // Gone, not a zombie: a zombie keeps its /proc entry until it is reaped.
        assert!(!proc_entry.exists(), "{} still exists", proc_entry.display());
        std::fs::remove_file(&pid_file).unwrap();
    }
}

#[tokio::test]
async fn new_looks_for_usr_bin_cec_ctl_and_dev_cec0_with_a_3s_timeout() {
    let tv = TvPower::new(Cec::Auto);
    assert_eq!(tv.candidates, [PathBuf::from("/usr/bin/cec-ctl")]);
    assert_eq!(tv.device, PathBuf::from("/dev/cec0"));
    assert_eq!(tv.timeout, Duration::from_secs(3));
}

#[test]
fn descriptions_follow_conventions() {
    for desc in DESCRIPTIONS {
        assert_eq!(desc.convention_problems(), Vec::<String>::new(), "{}", desc.name);
    }
}
