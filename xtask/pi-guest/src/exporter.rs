//! The exporter with every collector, as a Pi runs it: hardware on the machine's own `/sys` and
//! `/proc`, network (ICMP to 127.0.0.1, the speed test against a local server), the stream (the
//! real ffprobe and the playlist on the guest's live stream), the script collector watching this
//! program, and remote_write to a local receiver. Then 200 scrapes, a quiet window that measures
//! CPU time per collection, a SIGHUP reload, and SIGTERM.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use nix::sys::signal::Signal;

use crate::child::{Started, free_port};
use crate::report::Report;
use crate::sinks::Sinks;
use crate::{Context, exposition, procfs, wait};

/// The collectors that must each succeed (the `collector` label of `collector_runs_total`).
const COLLECTORS: [&str; 6] =
    ["hardware", "network", "stream", "stream_playlist", "script", "remote_write"];
/// Scrapes in a row, as the issue asks.
const SCRAPES: usize = 200;
/// The quiet window over which CPU time is measured: no scrapes, only the collectors.
const QUIET: Duration = Duration::from_secs(30);
/// The most SIGTERM may take (the exporter's promise).
const STOP: Duration = Duration::from_secs(2);
const RUNS: &str = "vimeo_monitor_collector_runs_total";

pub(crate) async fn run(context: &Context, report: &mut Report) -> anyhow::Result<()> {
    let dir = context.work.join("exporter");
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("health.toml");
    std::fs::write(&config, "[hardware]\ninterval = 1\n")?;
    let sinks = Sinks::start().await?;
    let port = free_port()?;
    let env = [
        ("HEALTH_METRICS_HOST", "127.0.0.1".to_owned()),
        ("HEALTH_METRICS_PORT", port.to_string()),
        ("HEALTH_STATE_DIR", dir.display().to_string()),
        ("HEALTH_HARDWARE_ENABLED", "true".to_owned()),
        ("HEALTH_NETWORK_ENABLED", "true".to_owned()),
        ("HEALTH_NETWORK_INTERVAL", "2".to_owned()),
        ("HEALTH_NETWORK_PING_HOSTS", "127.0.0.1".to_owned()),
        ("HEALTH_NETWORK_PING_COUNT", "1".to_owned()),
        ("HEALTH_NETWORK_PING_TIMEOUT", "1".to_owned()),
        ("HEALTH_NETWORK_SPEEDTEST_DOWNLOAD_URL", sinks.download_url()),
        ("HEALTH_NETWORK_SPEEDTEST_MAX_BYTES", "2000000".to_owned()),
        ("HEALTH_STREAM_ENABLED", "true".to_owned()),
        ("HEALTH_STREAM_URL", context.stream.url()),
        ("HEALTH_STREAM_INTERVAL", "5".to_owned()),
        ("HEALTH_STREAM_FFPROBE_TIMEOUT", "4".to_owned()),
        ("HEALTH_STREAM_PLAYLIST_INTERVAL", "2".to_owned()),
        ("HEALTH_SCRIPT_PROCESS_NAME", "pi-guest".to_owned()),
        ("HEALTH_SCRIPT_INTERVAL", "1".to_owned()),
        ("HEALTH_REMOTE_WRITE_URL", sinks.write_url()),
        ("HEALTH_REMOTE_WRITE_INTERVAL", "2".to_owned()),
        ("RUST_LOG", "info".to_owned()), // the standalone exporter's filter; LOG_LEVEL is the kiosk's
    ];
    let config_arg = config.display().to_string();
    let mut exporter =
        Started::spawn("health-server", "health-server", &["--config", &config_arg], &env, &dir)?;
    let outcome = phases(&mut exporter, &sinks, port, &config, report).await;
    if outcome.is_err() {
        exporter.print_log();
    }
    outcome
}

async fn phases(
    exporter: &mut Started,
    sinks: &Sinks,
    port: u16,
    config: &std::path::Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let base = format!("http://127.0.0.1:{port}");
    let scrape = async |http: &reqwest::Client| -> anyhow::Result<String> {
        let response = http.get(format!("{base}/metrics")).send().await?;
        ensure!(response.status() == 200, "/metrics answered {}", response.status());
        Ok(response.text().await?)
    };
    let started = Instant::now();

    // Every collector has succeeded at least once.
    let all_ran = wait::until(
        exporter.pid(),
        "every collector succeeds once",
        Duration::from_secs(90),
        async || {
            let text = scrape(&http).await.ok()?;
            let missing: Vec<&str> = COLLECTORS
                .into_iter()
                .filter(|c| {
                    let successes =
                        exposition::sum(&text, RUNS, &[("collector", c), ("result", "success")]);
                    successes.unwrap_or_default() < 1.0
                })
                .collect();
            missing.is_empty().then_some(text)
        },
    )
    .await;
    let text = match all_ran {
        Ok((text, _)) => text,
        Err(e) => {
            let text = scrape(&http).await.unwrap_or_default();
            let runs: Vec<String> =
                text.lines().filter(|l| l.starts_with(RUNS)).map(str::to_owned).collect();
            return report
                .failed("exporter.collectors", e.context(format!("runs so far: {runs:?}")));
        }
    };
    report.check(
        "exporter.collectors",
        Ok(format!(
            "{} all succeeded within {:.1} s of start",
            COLLECTORS.join(", "),
            started.elapsed().as_secs_f64()
        )),
    )?;
    report.check("exporter.hardware_from_guest", guest_hardware(&text))?;

    // 200 scrapes, one after another on one kept-alive connection, as Prometheus does.
    let mut times = Vec::with_capacity(SCRAPES);
    let mut bytes = 0;
    for number in 0..SCRAPES {
        let sent = Instant::now();
        let body = scrape(&http).await.with_context(|| format!("scrape {}", number + 1));
        let body = match body {
            Ok(body) => body,
            Err(e) => return report.failed("exporter.scrapes", e),
        };
        times.push(sent.elapsed());
        if !body.contains("vimeo_monitor_build_info") {
            return report.failed(
                "exporter.scrapes",
                anyhow::anyhow!("scrape {} has no build_info", number + 1),
            );
        }
        bytes = body.len();
    }
    times.sort();
    let median = times[SCRAPES / 2];
    let p99 = times[SCRAPES * 99 / 100];
    report.check(
        "exporter.scrapes",
        Ok(format!("{SCRAPES}/{SCRAPES} answered 200 with build_info, {bytes} bytes each")),
    )?;
    report.figure("exporter.scrape_median_ms", median.as_secs_f64() * 1e3, "ms");
    report.figure("exporter.scrape_p99_ms", p99.as_secs_f64() * 1e3, "ms");
    report.figure("exporter.scrape_bytes", bytes as f64, "bytes");

    // CPU time per collection over a quiet window.
    let before_text = scrape(&http).await?;
    let before_cpu = procfs::cpu(exporter.pid())?;
    let before_runs = exposition::sum(&before_text, RUNS, &[]).unwrap_or_default();
    tokio::time::sleep(QUIET).await;
    let after_cpu = procfs::cpu(exporter.pid())?;
    let after_text = scrape(&http).await?;
    let after_runs = exposition::sum(&after_text, RUNS, &[]).unwrap_or_default();
    let runs = after_runs - before_runs;
    report.check(
        "exporter.quiet_window",
        if runs > 0.0 {
            Ok(format!("{runs} collections in {} s", QUIET.as_secs()))
        } else {
            Err(anyhow::anyhow!("no collection ran in {QUIET:?}"))
        },
    )?;
    let own = (after_cpu.own - before_cpu.own).as_secs_f64();
    let children = (after_cpu.children - before_cpu.children).as_secs_f64();
    report.figure("exporter.collections_per_minute", runs * 60.0 / QUIET.as_secs_f64(), "count");
    report.figure("exporter.cpu_per_collection_ms", own * 1e3 / runs, "ms");
    report.figure(
        "exporter.cpu_per_collection_with_children_ms",
        (own + children) * 1e3 / runs,
        "ms",
    );
    report.figure("exporter.cpu_busy_ratio", own / QUIET.as_secs_f64(), "ratio");
    report.figure("exporter.speedtest_downloads", sinks.downloads() as f64, "count");
    let (writes, write_bytes) = sinks.writes();
    report.check(
        "exporter.remote_write",
        if writes > 0 {
            Ok(format!("{writes} requests, {write_bytes} bytes received"))
        } else {
            Err(anyhow::anyhow!("the receiver got nothing"))
        },
    )?;

    let status = procfs::status(exporter.pid())?;
    report.figure("exporter.rss_peak_bytes", status.rss_peak as f64, "bytes");
    report.figure("exporter.rss_bytes", status.rss as f64, "bytes");
    report.figure("exporter.threads", status.threads as f64, "count");

    // SIGHUP: the new interval is in force, and it still serves.
    std::fs::write(config, "[hardware]\ninterval = 2\n")?;
    exporter.signal(Signal::SIGHUP)?;
    let interval = async || -> Option<f64> {
        let body = http.get(format!("{base}/status")).send().await.ok()?.text().await.ok()?;
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        json["collectors"]["hardware"]["interval_seconds"].as_f64()
    };
    let reloaded = wait::until(
        exporter.pid(),
        "the reloaded hardware interval (2 s) in /status",
        Duration::from_secs(15),
        async || (interval().await == Some(2.0)).then_some(()),
    )
    .await
    .and_then(|((), took)| {
        ensure!(exporter.running(), "the exporter exited on SIGHUP");
        Ok(took)
    });
    report.check(
        "exporter.sighup",
        reloaded.map(|took| {
            format!("interval 1 s -> 2 s in force {:.2} s after SIGHUP", took.as_secs_f64())
        }),
    )?;
    report.check("exporter.serves_after_reload", scrape(&http).await.map(|_| "200"))?;

    // SIGTERM: gone within 2 s, with status 0, no child left behind.
    let below = procfs::descendants(exporter.pid());
    let stopped = exporter.terminate(STOP * 2).await.and_then(|(status, took)| {
        ensure!(status.success(), "exit status {status}");
        ensure!(took <= STOP, "took {took:?}, more than {STOP:?}");
        let left: Vec<_> =
            below.iter().filter(|p| procfs::process(p.pid).is_some_and(|p| p.alive())).collect();
        if !left.is_empty() {
            bail!("children left running: {left:?}");
        }
        Ok(took)
    });
    match stopped {
        Ok(took) => {
            report.figure("exporter.sigterm_exit_ms", took.as_secs_f64() * 1e3, "ms");
            report.ok("exporter.sigterm", format!("exit 0 in {:.0} ms", took.as_secs_f64() * 1e3));
            Ok(())
        }
        Err(e) => report.failed("exporter.sigterm", e),
    }
}

/// The hardware collector read this machine's own `/sys` and `/proc`: memory and CPU figures are
/// there and plausible.
fn guest_hardware(text: &str) -> anyhow::Result<String> {
    let memory = exposition::sum(text, "vimeo_monitor_memory_total_bytes", &[])
        .context("no memory_total_bytes")?;
    ensure!(memory > 64e6, "memory_total_bytes {memory} is implausible");
    let cores = exposition::label_values(text, "vimeo_monitor_cpu_core_usage_ratio", "core").len();
    ensure!(cores > 0, "no cpu_core_usage_ratio series");
    let boot = exposition::sum(text, "vimeo_monitor_system_boot_time_seconds", &[])
        .context("no system_boot_time_seconds")?;
    ensure!(boot > 0.0, "boot time {boot}");
    Ok(format!("memory_total_bytes {memory:.0}, {cores} cores, boot time {boot:.0}"))
}
