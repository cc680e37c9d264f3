//! No ffprobe outlives its run: checked in the process table (children of this test process,
//! zombies included), not through the handle. One test in this file, so no other test's ffprobe
//! can be mistaken for a leftover when `cargo test` runs tests as threads of one process.

mod support;

use std::time::{Duration, Instant};

use health_core::testing::gauge;
use health_core::{Collector, SampleValue, Snapshot};
use health_stream::probe::ProbeOptions;
use health_stream::{StreamOptions, StreamSource};
use support::{EncoderOptions, HlsServer, LiveEncoder, ffprobe_children, silent_server};

fn probes(snapshot: &Snapshot, result: &str) -> u64 {
    match snapshot.get("stream_probes_total", &[("result", result)]) {
        Some(SampleValue::Counter(total)) => *total,
        other => panic!("stream_probes_total{{result={result}}}: {other:?}"),
    }
}

/// Waits up to a second for tokio to reap a killed child in the background.
async fn no_ffprobe_left() {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !ffprobe_children().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ffprobe_children(), Vec::new(), "ffprobe left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_that_get_no_answer_end_at_their_timeout_and_leave_no_ffprobe() {
    assert_eq!(ffprobe_children(), Vec::new());
    let timeout = Duration::from_secs(2);
    let source = StreamSource::new();
    let options = StreamOptions {
        source: source.clone(),
        probe: ProbeOptions { timeout, ..ProbeOptions::default() },
        ..StreamOptions::default()
    };
    let (probe, _) = health_stream::collectors(options).unwrap();

    // The playlist answers, the segments never do: ffprobe itself hangs and is killed.
    let dir = tempfile::tempdir().unwrap();
    let encoder = LiveEncoder::start(dir.path(), EncoderOptions::default());
    encoder.wait_for_segments(3, Duration::from_secs(20)).await;
    let server = HlsServer::start(dir.path().to_owned()).await;
    server.hang(".ts");
    source.set(server.url("live.m3u8?token=secret"));
    let started = Instant::now();
    let running = tokio::spawn(async move {
        let snapshot = probe.collect().await.unwrap();
        (probe, snapshot)
    });
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let during = ffprobe_children();
    assert_eq!(during.len(), 1, "one ffprobe while the probe runs: {during:?}");
    assert!(!during[0].cmdline.contains("secret"), "the signed URL is in argv: {during:?}");
    let (probe, snapshot) = running.await.unwrap();
    let took = started.elapsed();
    assert!(took >= timeout && took < timeout + Duration::from_millis(1_500), "took {took:?}");
    assert_eq!(probes(&snapshot, "timeout"), 1);
    assert_eq!(gauge(&snapshot, "stream_available", &[]), 0.0);
    assert!(snapshot.problems().join("").contains("killed"), "{:?}", snapshot.problems());
    no_ffprobe_left().await;

    // A server that accepts and never answers at all: the playlist GET times out, no ffprobe.
    let silent = silent_server().await;
    source.set(format!("http://{silent}/live.m3u8?token=secret"));
    let started = Instant::now();
    let snapshot = probe.collect().await.unwrap();
    assert!(started.elapsed() < timeout + Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(probes(&snapshot, "timeout"), 2);
    assert!(!format!("{snapshot:?}").contains("secret"));
    no_ffprobe_left().await;

    // A run cancelled mid-ffprobe (the scheduler's timeout, a shutdown): killed and reaped too.
    source.set(server.url("live.m3u8?token=secret"));
    let run = tokio::spawn(async move { probe.collect().await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(ffprobe_children().len(), 1, "the run should be waiting on ffprobe");
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    no_ffprobe_left().await;
}
