//! The hardware collector on the Raspberry Pi fixture trees (`/pi/fixtures/<tree>/{sys,proc}`,
//! copies of health-system's): a one-shot collection each, as a Pi 4 or 5 would report itself.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};

use crate::report::Report;
use crate::{Context, exposition};

/// The longest a one-shot collection may take, emulated.
const ONCE: Duration = Duration::from_secs(30);

pub(crate) async fn run(context: &Context, report: &mut Report) -> anyhow::Result<()> {
    let trees = context.data.join("fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&trees)
        .with_context(|| format!("reading {}", trees.display()))?
        .flatten()
        .filter(|e| e.path().join("sys").is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    ensure!(!names.is_empty(), "no fixture trees in {}", trees.display());
    let mut failed = None;
    for name in names {
        let root = trees.join(&name);
        let outcome = once(&root).await.with_context(|| format!("on fixture {name}"));
        if let Err(e) = report.check(&format!("fixture.{name}"), outcome) {
            failed = Some(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// `health-server --once` with only the hardware collector, rooted at `root`.
async fn once(root: &std::path::Path) -> anyhow::Result<String> {
    let mut command = tokio::process::Command::new("health-server");
    command
        .arg("--once")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HEALTH_NETWORK_ENABLED", "false")
        .env("HEALTH_STREAM_ENABLED", "false")
        .env("HEALTH_HARDWARE_VCGENCMD", "off")
        .env("HEALTH_HARDWARE_CEC", "off")
        .env("HEALTH_HARDWARE_SYSFS_ROOT", root.join("sys"))
        .env("HEALTH_HARDWARE_PROCFS_ROOT", root.join("proc"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let started = Instant::now();
    let output = tokio::time::timeout(ONCE, command.output())
        .await
        .with_context(|| format!("--once did not finish within {ONCE:?}"))?
        .context("running health-server --once")?;
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "--once exited {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default()
    );
    let pi = text.lines().filter(|l| l.starts_with("vimeo_monitor_pi_")).count();
    let display = text.lines().filter(|l| l.starts_with("vimeo_monitor_display_")).count();
    let throttled = exposition::sum(&text, "vimeo_monitor_pi_throttled", &[]);
    ensure!(pi > 0, "no vimeo_monitor_pi_* series");
    Ok(format!(
        "{pi} Pi series (throttled flags sum {}), {display} display series, in {:.2} s",
        throttled.unwrap_or_default(),
        started.elapsed().as_secs_f64()
    ))
}
