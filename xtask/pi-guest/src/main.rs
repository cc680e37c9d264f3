//! `pi-guest DATA_DIR`: the program `cargo xtask pi-test` runs inside an emulated Raspberry Pi
//! (a 4-core Cortex-A72 under qemu-system-aarch64) — or natively, for the x86 baseline of the same
//! run. It starts the release binaries found on `PATH` (`health-server`, `vimeo-monitor`, and
//! Debian's `mpv` and `ffprobe`), drives them as a venue would, checks what they do, and measures
//! what they cost. It prints one `PI-TEST …` line per check and per figure (see [`report`]).
//!
//! `DATA_DIR` holds what the host prepared: `hls/` (a short encoded stream, `vod.m3u8` and its
//! segments), `images/` (the holding and error pictures) and `fixtures/` (the Raspberry Pi sysfs
//! trees).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

mod child;
mod exporter;
mod exposition;
mod fixtures;
mod kiosk;
mod live_stream;
mod mpv;
mod procfs;
mod report;
mod sinks;
mod wait;

// The x86 tests' own fakes, so the guest meets the same servers: the HLS file server and the
// Vimeo API speaking its wire format.
#[path = "../../../crates/health-stream/tests/support/mod.rs"]
#[allow(missing_docs, clippy::all)]
mod hls;
#[path = "../../../crates/vimeo-monitor/tests/support/vimeo_api.rs"]
#[allow(missing_docs, clippy::all)]
mod vimeo_api;

use live_stream::LiveStream;
use report::Report;

/// What every phase works with.
#[derive(Debug)]
pub(crate) struct Context {
    /// The host-prepared data (`hls/`, `images/`, `fixtures/`).
    pub(crate) data: PathBuf,
    /// A scratch directory for configuration files, logs and sockets.
    pub(crate) work: PathBuf,
    /// The live stream both phases watch.
    pub(crate) stream: LiveStream,
}

fn main() -> ExitCode {
    let Some(data) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: pi-guest DATA_DIR   (made by cargo xtask pi-test)");
        return ExitCode::from(2);
    };
    // As many workers as the machine has cores, like the binaries under test.
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("pi-guest: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if runtime.block_on(run(data)) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

async fn run(data: PathBuf) -> bool {
    let started = Instant::now();
    let mut report = Report::default();
    let work = std::env::temp_dir().join(format!("pi-guest-{}", std::process::id()));
    let prepared = async {
        std::fs::create_dir_all(&work)?;
        let stream = LiveStream::start(&data.join("hls")).await?;
        anyhow::Ok(Context { data: data.clone(), work: work.clone(), stream })
    }
    .await;
    let context = match prepared {
        Ok(context) => context,
        Err(e) => {
            report.fail("prepare", format_args!("{e:#}"));
            return report.finish();
        }
    };
    report.ok("prepare", format_args!("live stream at {}", context.stream.url()));
    report.figure(
        "machine.cpus",
        std::thread::available_parallelism().map_or(0, |n| n.get()) as f64,
        "count",
    );
    if let Some(total) = memory_total() {
        report.figure("machine.memory_bytes", total as f64, "bytes");
    }

    for (name, outcome) in [
        ("exporter", exporter::run(&context, &mut report).await),
        ("fixtures", fixtures::run(&context, &mut report).await),
        ("kiosk", kiosk::run(&context, &mut report).await),
    ] {
        if let Err(e) = outcome {
            println!("phase {name} stopped: {e:#}");
        }
    }
    report.figure("stream.playlist_requests", context.stream.playlist_requests() as f64, "count");
    report.figure("run.seconds", started.elapsed().as_secs_f64(), "seconds");
    let _ = std::fs::remove_dir_all(&work);
    report.finish()
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn memory_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    Some(line.split_whitespace().next()?.parse::<u64>().ok()? * 1024)
}
