//! What one stream run costs, against a real live stream: `ffmpeg -re` writing 1-second HLS
//! segments (320x240, 25 fps, aac), served on 127.0.0.1 by the integration tests' HLS server.
//!
//! - the ffprobe run (`StreamProbeCollector`: playlist fetch, private copy, real ffprobe), next to
//!   a bare `ffprobe -show_format -show_streams` child on the same URL as the baseline;
//! - the playlist run (`PlaylistCollector`) without and with the segment download, which runs in
//!   a task of its own that the run does not wait for;
//! - the peak RSS of this process (ffprobe children are not counted).
//!
//! Run with `cargo bench -p health-stream --bench runs`. Only 127.0.0.1 is contacted. Figures are
//! printed; nothing about timing is asserted.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use health_core::testing::bench::{self, Durations, ms};
use health_core::{Collector, SampleValue, Snapshot};
use health_stream::probe::ProbeOptions;
use health_stream::{StreamOptions, StreamSource, VariantChoice};
use support::{EncoderOptions, HlsServer, LiveEncoder};

const PROBE_WARM_UP: usize = 3;
const PROBE_RUNS: usize = 30;
const PLAYLIST_WARM_UP: usize = 10;
const PLAYLIST_RUNS: usize = 200;
/// Untimed pause between playlist runs, so that the 200 runs span a few new segments and the
/// segment downloads (section 3) overlap the runs rather than all being skipped.
const PLAYLIST_PAUSE: Duration = Duration::from_millis(10);

fn main() {
    bench::run("cargo bench -p health-stream --bench runs", bench);
}

async fn bench() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let encoder = LiveEncoder::start(dir.path(), EncoderOptions::default());
    encoder.wait_for_segments(4, Duration::from_secs(30)).await;
    let server = HlsServer::start(dir.path().to_owned()).await;
    let url = server.url("live.m3u8?token=x");
    let source = StreamSource::new();
    source.set(url.clone());
    println!("live stream: ffmpeg -re 320x240 25 fps + aac, 1 s segments, served on {url}");

    // 1. ffprobe run: the collector, then a bare ffprobe child on the same URL.
    let (probe, _) = health_stream::collectors(options(&source, false)).expect("HTTP clients");
    for _ in 0..PROBE_WARM_UP {
        checked(probe.collect().await);
    }
    let mut collector_times = Vec::with_capacity(PROBE_RUNS);
    for _ in 0..PROBE_RUNS {
        let start = Instant::now();
        let snapshot = checked(probe.collect().await);
        collector_times.push(start.elapsed());
        match snapshot.get("stream_available", &[]) {
            Some(SampleValue::Gauge(available)) if *available == 1.0 => {}
            other => panic!("the stream was not available: {other:?}"),
        }
    }
    for _ in 0..PROBE_WARM_UP {
        bare_ffprobe(&url).await;
    }
    let mut bare_times = Vec::with_capacity(PROBE_RUNS);
    for _ in 0..PROBE_RUNS {
        let start = Instant::now();
        bare_ffprobe(&url).await;
        bare_times.push(start.elapsed());
    }
    let collector = Durations::of(collector_times);
    let bare = Durations::of(bare_times);
    println!(
        "ffprobe run (collector)      median {}  p90 {}  min {}  max {}  ({PROBE_RUNS} runs)",
        ms(collector.at(0.5)),
        ms(collector.at(0.9)),
        ms(collector.min()),
        ms(collector.max()),
    );
    println!(
        "ffprobe run (bare ffprobe)   median {}  p90 {}  min {}  max {}  ({PROBE_RUNS} runs)",
        ms(bare.at(0.5)),
        ms(bare.at(0.9)),
        ms(bare.min()),
        ms(bare.max()),
    );
    println!(
        "ffprobe ratio                median(collector) / median(bare ffprobe) = {:.2}",
        collector.at(0.5).as_secs_f64() / bare.at(0.5).as_secs_f64(),
    );

    // 2. playlist run without the segment download: fetch, parse, tracking.
    let (_, playlist) = health_stream::collectors(options(&source, false)).expect("HTTP clients");
    let plain = Durations::of(playlist_runs(&playlist).await);
    println!(
        "playlist run (no segments)   median {}  p90 {}  p99 {}  max {}  ({PLAYLIST_RUNS} runs)",
        ms(plain.at(0.5)),
        ms(plain.at(0.9)),
        ms(plain.at(0.99)),
        ms(plain.max()),
    );

    // 3. playlist run with the segment download, which the run hands to a task of its own.
    let segments_before = server.requests(".ts");
    let (_, playlist) = health_stream::collectors(options(&source, true)).expect("HTTP clients");
    let with_segments = Durations::of(playlist_runs(&playlist).await);
    let downloads = server.requests(".ts") - segments_before;
    println!(
        "playlist run (segments on)   median {}  p99 {}  ({PLAYLIST_RUNS} runs, {downloads} \
         segment downloads started)",
        ms(with_segments.at(0.5)),
        ms(with_segments.at(0.99)),
    );

    // 4. peak RSS of this process.
    println!("peak RSS (VmHWM)             {:.1} MB", peak_rss_kib() as f64 / 1024.0);
    println!("bench time                   {:.1} s", started.elapsed().as_secs_f64());
    drop(encoder);
}

fn options(source: &StreamSource, segment_download: bool) -> StreamOptions {
    StreamOptions {
        source: source.clone(),
        probe_interval: Duration::from_secs(60),
        probe: ProbeOptions { timeout: Duration::from_secs(15), ..ProbeOptions::default() },
        playlist_interval: Duration::from_secs(2),
        stall_factor: 3.0,
        variant: VariantChoice::Highest,
        segment_download,
        player: None,
    }
}

/// The snapshot of a run that must have gone well.
fn checked(result: Result<Snapshot, health_core::CollectError>) -> Snapshot {
    let snapshot = result.expect("a stream run never fails as a whole");
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    snapshot
}

/// Warm-up, then the timed runs, with an untimed pause between runs.
async fn playlist_runs(playlist: &dyn Collector) -> Vec<Duration> {
    for _ in 0..PLAYLIST_WARM_UP {
        checked(playlist.collect().await);
        tokio::time::sleep(PLAYLIST_PAUSE).await;
    }
    let mut times = Vec::with_capacity(PLAYLIST_RUNS);
    for _ in 0..PLAYLIST_RUNS {
        let start = Instant::now();
        let snapshot = playlist.collect().await;
        times.push(start.elapsed());
        checked(snapshot);
        tokio::time::sleep(PLAYLIST_PAUSE).await;
    }
    times
}

/// `ffprobe -v error -show_format -show_streams -of json <url>`, which must succeed.
async fn bare_ffprobe(url: &str) {
    let output = tokio::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_format", "-show_streams", "-of", "json", url])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run ffprobe");
    assert!(
        output.status.success(),
        "ffprobe failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `VmHWM` of `/proc/self/status`, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}
