//! `examples/custom_collector.rs`, run as a user would: a real child process on a free loopback
//! port, scraped over HTTP, reloaded with SIGHUP, stopped with SIGTERM and reaped.
//!
//! `cargo test` and `cargo nextest run` build the examples next to the test binaries
//! (`target/debug/examples/`) before any test runs; that is where this test finds it.

mod util;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use util::{get, series};

/// The built example, beside this test's own binary (`…/debug/deps/examples-…`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("…/debug/deps/");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p health-server --examples --all-features`",
        path.display()
    );
    path
}

/// Waits for `series` to have `value` in the example's exposition.
async fn wait_for(addr: std::net::SocketAddr, series_name: &str, value: &str) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        text = get(addr, "/metrics", None).await.body;
        if series(&text).get(series_name).is_some_and(|v| v == value) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{series_name} never became {value}:\n{text}");
}

#[tokio::test]
async fn the_custom_collector_example_serves_its_own_metric_beside_the_standard_ones() {
    let work = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    for name in ["a.job", "b.job", "c.job"] {
        std::fs::write(spool.path().join(name), "x").unwrap();
    }
    let mut command = Command::new(example("custom_collector"));
    command
        .arg("127.0.0.1:0")
        .current_dir(work.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HEALTH_NETWORK_ENABLED", "false")
        .env("HEALTH_STREAM_ENABLED", "false")
        .env("HEALTH_HARDWARE_INTERVAL", "1")
        .env("SPOOL_DIR", spool.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
        command.env("LLVM_PROFILE_FILE", profile);
    }
    let mut child = command.spawn().expect("start the example");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), stdout.next_line())
        .await
        .expect("the example says where it listens within 10 s")
        .unwrap();
    let Some(addr) = first.as_deref().and_then(|l| l.strip_prefix("listening on http://")) else {
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
        panic!("unexpected first line {first:?}; stderr:\n{stderr}");
    };
    let addr: std::net::SocketAddr = addr.parse().unwrap();

    let text = wait_for(addr, "acme_spool_files", "3").await;
    wait_for(addr, "acme_collector_up{collector=\"hardware\"}", "1").await;
    assert!(text.contains("# HELP acme_spool_files Files waiting in the spool directory."));
    assert!(!text.contains("vimeo_monitor_"), "{text}");

    // A reload keeps the spool collector, which still sees what happens in its directory.
    let pid = Pid::from_raw(child.id().expect("running") as i32);
    std::fs::remove_file(spool.path().join("a.job")).unwrap();
    kill(pid, Signal::SIGHUP).unwrap();
    wait_for(addr, "acme_spool_files", "2").await;
    wait_for(addr, "acme_collector_up{collector=\"spool\"}", "1").await;

    kill(pid, Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("stopped within 5 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(stdout.next_line().await.unwrap().as_deref(), Some("stopped"));
}
