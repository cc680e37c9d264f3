//! `deploy/install.sh` and `deploy/uninstall.sh`, run for real into a temporary root, with the
//! real `vimeo-monitor` binary; and the shipped unit files through `systemd-analyze verify`.
//!
//! systemd cannot run here (it is not PID 1), so the installer is handed `--systemctl` pointing
//! at a recording stand-in: it logs every call, and on `restart vimeo-monitor.service` starts
//! the installed kiosk in its configuration directory as the user service would. The
//! installer's wait for `/metrics` then meets the real kiosk's real exporter.

// Without the `health` feature the tests that need health monitoring are left out, and so is
// what only they use.
#![cfg_attr(not(feature = "health"), allow(dead_code, unused_imports))]

#[path = "../../health-stream/tests/support/mod.rs"]
mod hls;
#[path = "support/kiosk.rs"]
mod kiosk;
#[path = "support/media.rs"]
mod media;
#[path = "support/vimeo_api.rs"]
mod vimeo_api;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use kiosk::{Images, free_port};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use vimeo_api::VimeoApi;

/// The installer's whole run, metrics wait included, must end within this.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository")
}

/// A directory holding the freshly built kiosk, as a release package's `bin/` would.
fn built_binaries() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(env!("CARGO_BIN_EXE_vimeo-monitor"), dir.path().join("vimeo-monitor"))
        .expect("copy the kiosk binary");
    dir
}

/// A recording systemctl: each call's arguments as one line of `calls`; `restart` of the kiosk
/// starts `BIN` from the configuration directory (its pid in `pid`), `stop` ends it.
fn systemctl_stand_in(dir: &Path, bin: &Path, config_dir: &Path) -> PathBuf {
    let script = dir.join("systemctl");
    let text = format!(
        r#"#!/bin/sh
echo "$*" >> '{calls}'
case "$*" in
    *"restart vimeo-monitor.service")
        cd '{config}' && setsid '{bin}' > '{log}' 2>&1 < /dev/null &
        echo $! > '{pid}' ;;
    *"stop vimeo-monitor.service")
        [ -f '{pid}' ] && kill "$(cat '{pid}')" ;;
esac
exit 0
"#,
        calls = dir.join("calls").display(),
        config = config_dir.display(),
        bin = bin.display(),
        log = dir.join("kiosk.log").display(),
        pid = dir.join("pid").display(),
    );
    std::fs::write(&script, text).expect("write the stand-in");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

async fn run(script: &str, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new("bash");
    command.arg(repo().join("deploy").join(script)).args(args).kill_on_drop(true);
    // No terminal: the installer must not ask anything.
    command.stdin(std::process::Stdio::null());
    let output = tokio::time::timeout(RUN_WITHIN, command.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {RUN_WITHIN:?}"))
        .expect("run bash");
    eprintln!(
        "--- {script} {args:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every file under `root`, relative, sorted.
fn files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

// It turns health monitoring on and waits for the kiosk's /metrics.
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_configure_reinstall_and_uninstall_into_a_temporary_root() {
    let root = tempfile::tempdir().unwrap();
    let root_arg = root.path().to_str().unwrap();
    let bin = built_binaries();
    let common = [
        "--root",
        root_arg,
        "--user",
        "pi",
        "--home",
        "/home/pi",
        "--no-deps",
        "--metrics-wait",
        "30",
    ];
    let from = ["--from", bin.path().to_str().unwrap()];
    let config = root.path().join("home/pi/.config/vimeo-monitor/.env");
    let installed = root.path().join("usr/local/bin/vimeo-monitor");
    let user_unit = root.path().join("usr/local/lib/systemd/user/vimeo-monitor.service");
    let system_unit = root.path().join("usr/local/lib/systemd/system/health-server.service");

    // First run: everything installed, a configuration made from the sample, then checked.
    let first = run("install.sh", &[&common[..], &from[..]].concat()).await;
    assert_eq!(first.status.code(), Some(0));
    let said = stdout(&first);
    assert_eq!(mode(&installed), 0o755);
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(config.parent().unwrap()), 0o700);
    let sample = std::fs::read_to_string(repo().join(".env.sample")).unwrap();
    assert_eq!(std::fs::read_to_string(&config).unwrap(), sample);
    let exporter_config = root.path().join("etc/vimeo-monitor/health-server.env");
    assert_eq!(mode(&exporter_config), 0o600);
    let exporter_text = std::fs::read_to_string(&exporter_config).unwrap();
    assert!(exporter_text.contains("# HEALTH_METRICS_PORT=8080"), "{exporter_text}");
    assert!(!exporter_text.contains("VIMEO_TOKEN"), "only the exporter's part: {exporter_text}");
    // The sample has no token or images yet: --check-config says so, by name.
    assert!(said.contains("configuration needs attention"), "{said}");
    assert!(said.contains("VIMEO_TOKEN is not set"), "{said}");
    assert!(said.contains("HOLDING_IMAGE is not set"), "{said}");
    let unit = std::fs::read_to_string(&user_unit).unwrap();
    assert!(unit.contains("\nExecStart=/usr/local/bin/vimeo-monitor\n"), "{unit}");
    assert_eq!(mode(&user_unit), 0o644);
    let unit = std::fs::read_to_string(&system_unit).unwrap();
    assert!(unit.contains("\nExecStart=/usr/local/bin/health-server\n"), "{unit}");
    assert!(said.contains("systemctl not run"), "{said}");
    let after_first = files(root.path());

    // The operator fills the configuration in: health monitoring on, a (fake) event live.
    let api = VimeoApi::start().await;
    let images = Images::new();
    let port = free_port();
    let filled = format!(
        "VIMEO_TOKEN={token}\nVIMEO_LIVE_EVENT_ID={event}\nVIMEO_API_URL={url}\n\
         HOLDING_IMAGE={holding}\nERROR_IMAGE={error}\n\
         PLAYER_ARGS=\"--no-config --vo=null --ao=null\"\n\
         HEALTH_MONITORING_ENABLED=yes\nHEALTH_METRICS_HOST=127.0.0.1\nHEALTH_METRICS_PORT={port}\n\
         HEALTH_NETWORK_ENABLED=false\nHEALTH_HARDWARE_ENABLED=false\nHEALTH_STREAM_ENABLED=false\n",
        token = vimeo_api::TOKEN,
        event = vimeo_api::EVENT_ID,
        url = api.url(),
        holding = images.holding(),
        error = images.error(),
    );
    std::fs::write(&config, &filled).unwrap();

    // Second run, with a systemctl: the configuration is kept, found valid, the kiosk enabled
    // and started, and its /metrics answers.
    let shim_dir = tempfile::tempdir().unwrap();
    let systemctl = systemctl_stand_in(shim_dir.path(), &installed, config.parent().unwrap());
    let with_systemctl = ["--systemctl", systemctl.to_str().unwrap()];
    let second = run("install.sh", &[&common[..], &from[..], &with_systemctl[..]].concat()).await;
    let kiosk_pid = std::fs::read_to_string(shim_dir.path().join("pid")).ok();
    let _stop = KillOnDrop(kiosk_pid.as_deref().and_then(|p| p.trim().parse().ok()));
    assert_eq!(second.status.code(), Some(0));
    let said = stdout(&second);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), filled, "the configuration was touched");
    assert!(said.contains("kept the existing"), "{said}");
    assert!(said.contains("configuration is valid"), "{said}");
    assert!(
        said.contains(&format!("/metrics answers on http://127.0.0.1:{port}/metrics")),
        "{said}\nkiosk log:\n{}",
        std::fs::read_to_string(shim_dir.path().join("kiosk.log")).unwrap_or_default()
    );
    let calls = std::fs::read_to_string(shim_dir.path().join("calls")).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [
            "daemon-reload",
            "--global enable vimeo-monitor.service",
            "--user --machine=pi@ restart vimeo-monitor.service",
        ]
    );
    // Idempotent: the same files, nothing new.
    assert_eq!(files(root.path()), after_first);

    // Uninstall: the kiosk stopped, binaries and units gone, the configuration kept.
    let uninstall = run(
        "uninstall.sh",
        &[&["--root", root_arg, "--user", "pi", "--home", "/home/pi"][..], &with_systemctl[..]]
            .concat(),
    )
    .await;
    assert_eq!(uninstall.status.code(), Some(0));
    assert!(stdout(&uninstall).contains("kept the configuration"), "{}", stdout(&uninstall));
    assert_eq!(
        files(root.path()),
        ["etc/vimeo-monitor/health-server.env", "home/pi/.config/vimeo-monitor/.env"]
    );
    let calls = std::fs::read_to_string(shim_dir.path().join("calls")).unwrap();
    assert!(calls.contains("--user --machine=pi@ stop vimeo-monitor.service"), "{calls}");
    assert!(calls.contains("--global disable vimeo-monitor.service"), "{calls}");
    if let Some(pid) = _stop.0 {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while kill(Pid::from_raw(pid), None).is_ok() {
            assert!(std::time::Instant::now() < deadline, "the kiosk did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn bad_options_exit_2_and_a_missing_binary_says_how_to_build_it() {
    let output = run("install.sh", &["--frobnicate"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown option --frobnicate"));

    let root = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let output = run(
        "install.sh",
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--user",
            "pi",
            "--home",
            "/home/pi",
            "--no-deps",
            "--from",
            empty.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("vimeo-monitor is missing"), "{stderr}");
}

/// `systemd-analyze verify` accepts both units as shipped, with `ExecStart` pointed at a real
/// binary (verify checks it exists). Warnings count as failures: verify exits 0 on an unknown
/// key or a bad value and only prints them.
#[test]
fn systemd_analyze_verifies_the_units() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_vimeo-monitor");
    for (unit, scope) in
        [("vimeo-monitor.service", "--user"), ("health-server.service", "--system")]
    {
        let text = std::fs::read_to_string(repo().join("deploy").join(unit)).unwrap();
        let exec = text.lines().find(|l| l.starts_with("ExecStart=")).expect("an ExecStart");
        let text = text.replace(exec, &format!("ExecStart={binary}"));
        let path = dir.path().join(unit);
        std::fs::write(&path, text).unwrap();
        let output = std::process::Command::new("systemd-analyze")
            .args(["verify", "--man=no", scope])
            .arg(&path)
            .env("XDG_RUNTIME_DIR", runtime.path())
            .output()
            .expect("systemd-analyze (Debian package systemd) runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{unit}: {said}");
        assert_eq!(said.trim(), "", "{unit}: verify complained");
    }
}

/// SIGTERMs the kiosk the stand-in started, should the test fail before uninstalling.
struct KillOnDrop(Option<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
}
