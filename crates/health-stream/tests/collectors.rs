//! Both stream collectors against a real live HLS stream: `ffmpeg -re` writing 1-second segments,
//! served by an HTTP server on 127.0.0.1, probed by the real `ffprobe`.

mod support;

use std::time::{Duration, Instant};

use health_core::testing::{assert_described, gauge};
use health_core::{Collector, SampleValue, Snapshot};
use health_stream::probe::ProbeOptions;
use health_stream::{
    PlayerView, PlaylistCollector, StreamFacts, StreamOptions, StreamProbeCollector, StreamSource,
    VariantChoice,
};
use support::{EncoderOptions, HlsServer, LiveEncoder};

/// The signed-looking query every test URL carries; it must never show.
const SIGNATURE: &str = "token=SIGNATURE-s3cret";

fn options(source: &StreamSource) -> StreamOptions {
    StreamOptions {
        source: source.clone(),
        probe_interval: Duration::from_secs(60),
        probe: ProbeOptions { timeout: Duration::from_secs(15), ..ProbeOptions::default() },
        playlist_interval: Duration::from_secs(1),
        stall_factor: 3.0,
        variant: VariantChoice::Highest,
        segment_download: true,
        player: None,
    }
}

fn collectors(options: StreamOptions) -> (StreamProbeCollector, PlaylistCollector) {
    health_stream::collectors(options).expect("HTTP clients")
}

/// A live encoder with a few segments out, its server, and a source pointing at it.
async fn live(
    dir: &std::path::Path,
    encoder: EncoderOptions,
) -> (LiveEncoder, HlsServer, StreamSource) {
    let encoder = LiveEncoder::start(dir, encoder);
    encoder.wait_for_segments(3, Duration::from_secs(20)).await;
    let server = HlsServer::start(dir.to_owned()).await;
    let source = StreamSource::new();
    source.set(server.url(&format!("{}?{SIGNATURE}", encoder.playlist_name())));
    (encoder, server, source)
}

/// Runs `collector` once: its snapshot, checked against its descriptions and for leaks.
async fn run(collector: &dyn Collector) -> Snapshot {
    let snapshot = collector.collect().await.expect("a stream run never fails as a whole");
    assert_described(&collector.describe(), &snapshot);
    let shown = format!("{snapshot:?}");
    assert!(!shown.contains("SIGNATURE"), "the signed query leaked: {shown}");
    snapshot
}

fn counter(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
    match snapshot.get(name, labels) {
        Some(SampleValue::Counter(total)) => *total,
        other => panic!("{name} {labels:?}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_stream_is_probed_and_its_playlist_advances() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = EncoderOptions { width: 320, height: 240, fps: 25, ..EncoderOptions::default() };
    let (_encoder, _server, source) = live(dir.path(), encoder).await;
    let (probe, playlist) = collectors(options(&source));

    let probed = run(&probe).await;
    assert!(probed.problems().is_empty(), "{:?}", probed.problems());
    assert_eq!(gauge(&probed, "stream_available", &[]), 1.0);
    assert_eq!(gauge(&probed, "stream_width_pixels", &[]), 320.0);
    assert_eq!(gauge(&probed, "stream_height_pixels", &[]), 240.0);
    assert_eq!(gauge(&probed, "stream_frames_per_second", &[]), 25.0);
    assert_eq!(gauge(&probed, "stream_audio_channels", &[]), 2.0);
    assert_eq!(gauge(&probed, "stream_audio_sample_rate_hertz", &[]), 48_000.0);
    let info = [("video_codec", "h264"), ("audio_codec", "aac")];
    assert_eq!(gauge(&probed, "stream_info", &info), 1.0);
    let bitrate = gauge(&probed, "stream_bitrate_bytes_per_second", &[]);
    assert!((5_000.0..500_000.0).contains(&bitrate), "bitrate {bitrate} B/s");
    assert_eq!(counter(&probed, "stream_probes_total", &[("result", "success")]), 1);
    assert_eq!(counter(&probed, "stream_probes_total", &[("result", "timeout")]), 0);
    let probe_seconds = gauge(&probed, "stream_probe_duration_seconds", &[]);
    assert!(probe_seconds > 0.0 && probe_seconds < 15.0, "{probe_seconds}");
    assert!(gauge(&probed, "stream_last_probe_success_timestamp_seconds", &[]) > 1.7e9);

    let first = run(&playlist).await;
    assert!(first.problems().is_empty(), "{:?}", first.problems());
    assert_eq!(gauge(&first, "stream_variants", &[]), 1.0);
    assert_eq!(gauge(&first, "stream_target_duration_seconds", &[]), 1.0);
    assert_eq!(gauge(&first, "stream_ended", &[]), 0.0);
    assert_eq!(gauge(&first, "stream_stalled", &[]), 0.0);
    assert!(gauge(&first, "stream_playlist_fetch_duration_seconds", &[]) > 0.0);
    let sequence = |s: &Snapshot| gauge(s, "stream_media_sequence", &[]);
    let mut last = first;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let next = run(&playlist).await;
        // Advancing: a new segment at least every 1.5 target durations, never a step back.
        assert_eq!(gauge(&next, "stream_stalled", &[]), 0.0);
        assert!(gauge(&next, "stream_seconds_since_playlist_advanced", &[]) <= 1.5);
        assert!(sequence(&next) >= sequence(&last));
        last = next;
    }
    // On loopback a 1-second segment downloads far faster than real time.
    let ratio = gauge(&last, "stream_segment_download_ratio", &[]);
    assert!(ratio > 0.0 && ratio < 0.5, "ratio {ratio}");
    assert_eq!(counter(&last, "stream_playlist_errors_total", &[("status", "timeout")]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_encoder_stalls_within_the_stall_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut encoder, _server, source) = live(dir.path(), EncoderOptions::default()).await;
    let (_, playlist) = collectors(options(&source));
    let interval = Duration::from_secs(1);
    // (seconds since the playlist advanced, stalled) of every run, one run per interval.
    let mut runs: Vec<(f64, f64)> = Vec::new();
    let record = async |runs: &mut Vec<(f64, f64)>| {
        let snapshot = run(&playlist).await;
        let since = gauge(&snapshot, "stream_seconds_since_playlist_advanced", &[]);
        runs.push((since, gauge(&snapshot, "stream_stalled", &[])));
    };
    for _ in 0..3 {
        record(&mut runs).await;
        tokio::time::sleep(interval).await;
    }
    assert!(runs.iter().all(|r| r.1 == 0.0), "stalled while live: {runs:?}");
    encoder.kill();
    let killed = Instant::now();
    while runs.last().is_some_and(|r| r.1 == 0.0) && killed.elapsed() < Duration::from_secs(12) {
        tokio::time::sleep(interval).await;
        record(&mut runs).await;
    }
    let stalled_after = killed.elapsed();
    let (since, stalled) = *runs.last().unwrap();
    assert_eq!(stalled, 1.0, "never stalled: {runs:?}");
    // Flagged by the first run past 3 × the 1 s target duration since the last advance seen:
    // within one playlist interval (and the fetch's own few milliseconds) of the limit.
    assert!(since > 3.0 && since <= 4.2, "stalled {since} s after the last advance: {runs:?}");
    assert!(runs.iter().rev().skip(1).all(|r| r.1 == 0.0 && r.0 <= 3.0), "{runs:?}");
    // From the kill: the last segment may have been seen up to one interval late.
    assert!(stalled_after <= Duration::from_millis(5_500), "{stalled_after:?} after the kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoder_that_finishes_ends_the_stream_without_a_stall() {
    let dir = tempfile::tempdir().unwrap();
    let finite = EncoderOptions { seconds: Some(4), ..EncoderOptions::default() };
    let (mut encoder, _server, source) = live(dir.path(), finite).await;
    encoder.wait_finished(Duration::from_secs(20)).await;
    let (_, playlist) = collectors(options(&source));
    let ended = run(&playlist).await;
    assert_eq!(gauge(&ended, "stream_ended", &[]), 1.0);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let later = run(&playlist).await;
    assert_eq!(gauge(&later, "stream_ended", &[]), 1.0);
    assert!(gauge(&later, "stream_seconds_since_playlist_advanced", &[]) > 3.0);
    assert_eq!(gauge(&later, "stream_stalled", &[]), 0.0, "an ended stream is not stalled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playlist_errors_are_counted_by_status_and_probes_fail_without_stale_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (_encoder, server, source) = live(dir.path(), EncoderOptions::default()).await;
    let (probe, playlist) = collectors(options(&source));
    let good = run(&probe).await;
    assert_eq!(gauge(&good, "stream_available", &[]), 1.0);
    run(&playlist).await;

    server.answer_status(".m3u8", 404);
    let not_found = run(&playlist).await;
    assert_eq!(counter(&not_found, "stream_playlist_errors_total", &[("status", "404")]), 1);
    let problem = not_found.problems().join("\n");
    assert!(problem.contains("HTTP 404") && problem.contains("/live.m3u8"), "{problem}");
    // The clock runs on from the last advance; no stall yet.
    assert_eq!(gauge(&not_found, "stream_stalled", &[]), 0.0);
    server.clear_rules();
    server.answer_status(".m3u8", 403);
    let forbidden = run(&playlist).await;
    assert_eq!(counter(&forbidden, "stream_playlist_errors_total", &[("status", "403")]), 1);
    assert_eq!(counter(&forbidden, "stream_playlist_errors_total", &[("status", "404")]), 1);
    assert_eq!(counter(&forbidden, "stream_playlist_errors_total", &[("status", "parse")]), 0);

    let failed = run(&probe).await;
    assert_eq!(gauge(&failed, "stream_available", &[]), 0.0);
    for stale in ["stream_width_pixels", "stream_bitrate_bytes_per_second", "stream_info"] {
        assert!(failed.samples().iter().all(|s| s.name != stale), "{stale} survived a failure");
    }
    assert_eq!(counter(&failed, "stream_probes_total", &[("result", "error")]), 1);
    assert_eq!(counter(&failed, "stream_probes_total", &[("result", "success")]), 1);
    assert!(gauge(&failed, "stream_last_probe_success_timestamp_seconds", &[]) > 0.0);
    assert!(failed.problems().join("").contains("HTTP 403"), "{:?}", failed.problems());

    server.clear_rules();
    let recovered = run(&playlist).await;
    assert!(recovered.problems().is_empty(), "{:?}", recovered.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_playlists_are_parse_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("garbage.m3u8"), "<html>Service Unavailable</html>").unwrap();
    std::fs::write(dir.path().join("cut.m3u8"), "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n")
        .unwrap();
    let server = HlsServer::start(dir.path().to_owned()).await;
    let source = StreamSource::new();
    let (probe, playlist) = collectors(options(&source));
    for (name, expected) in [("garbage.m3u8", 1), ("cut.m3u8", 2)] {
        source.set(server.url(&format!("{name}?{SIGNATURE}")));
        let snapshot = run(&playlist).await;
        assert_eq!(
            counter(&snapshot, "stream_playlist_errors_total", &[("status", "parse")]),
            expected
        );
        let probed = run(&probe).await;
        assert_eq!(gauge(&probed, "stream_available", &[]), 0.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_means_nothing_is_fetched_and_nothing_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let (_encoder, server, source) = live(dir.path(), EncoderOptions::default()).await;
    let live_url = source.current().unwrap();
    source.clear();
    let (probe, playlist) = collectors(options(&source));
    let offline = run(&probe).await;
    assert!(offline.problems().is_empty(), "offline is not a failure");
    assert_eq!(gauge(&offline, "stream_available", &[]), 0.0);
    assert_eq!(counter(&offline, "stream_probes_total", &[("result", "success")]), 0);
    assert!(run(&playlist).await.is_empty());
    assert_eq!(server.requests(".m3u8") + server.requests(".ts"), 0);

    source.set(live_url.expose());
    assert_eq!(gauge(&run(&probe).await, "stream_available", &[]), 1.0);
    assert_eq!(gauge(&run(&playlist).await, "stream_stalled", &[]), 0.0);
    source.clear();
    let after = run(&probe).await;
    assert_eq!(gauge(&after, "stream_available", &[]), 0.0);
    assert!(after.samples().iter().all(|s| s.name != "stream_width_pixels"));
    let playlist_after = run(&playlist).await;
    assert!(
        playlist_after.samples().iter().all(|s| s.name != "stream_stalled"),
        "{playlist_after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_playlist_is_followed_to_the_variant_a_player_would_pick() {
    let dir = tempfile::tempdir().unwrap();
    let two = EncoderOptions { variants: true, ..EncoderOptions::default() };
    let (encoder, server, source) = live(dir.path(), two).await;
    let media = encoder.media_playlists().to_vec();
    assert_eq!(media.len(), 2, "{media:?}");

    let (probe, playlist) = collectors(options(&source));
    let highest = run(&playlist).await;
    assert!(highest.problems().is_empty(), "{:?}", highest.problems());
    assert_eq!(gauge(&highest, "stream_variants", &[]), 2.0);
    let high_bandwidth = gauge(&highest, "stream_variant_bandwidth_bytes_per_second", &[]);
    assert_eq!(gauge(&run(&probe).await, "stream_width_pixels", &[]), 640.0);

    let lowest = StreamOptions { variant: VariantChoice::Lowest, ..options(&source) };
    let (probe, playlist) = collectors(lowest);
    let low = run(&playlist).await;
    assert!(gauge(&low, "stream_variant_bandwidth_bytes_per_second", &[]) < high_bandwidth);
    assert_eq!(gauge(&run(&probe).await, "stream_width_pixels", &[]), 320.0);
    // The master is fetched once per collector set; afterwards only the variant is.
    let masters = server.requests("master.m3u8");
    run(&playlist).await;
    assert_eq!(server.requests("master.m3u8"), masters);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_served_slower_than_real_time_gives_a_ratio_above_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_encoder, server, source) = live(dir.path(), EncoderOptions::default()).await;
    // A 1-second segment of this stream is tens of kilobytes: at 8 KB/s it takes seconds.
    server.throttle(".ts", 8_000);
    let (_, playlist) = collectors(options(&source));
    let started = Instant::now();
    let mut ratio = None;
    while ratio.is_none() && started.elapsed() < Duration::from_secs(15) {
        let snapshot = run(&playlist).await;
        ratio = snapshot.get("stream_segment_download_ratio", &[]).cloned();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    match ratio {
        Some(SampleValue::Gauge(ratio)) => assert!(ratio > 1.0, "ratio {ratio}"),
        other => panic!("no ratio within 15 s: {other:?}"),
    }
    // One download at a time: runs every half second did not start one each.
    assert!(server.requests(".ts") <= 4, "{} segment requests", server.requests(".ts"));
}

#[tokio::test]
async fn inside_the_player_the_stream_figures_come_from_it_and_no_ffprobe_runs() {
    use std::sync::{Arc, Mutex};
    let source = StreamSource::new();
    // A URL nothing answers on and an ffprobe that does not exist: a probe would fail loudly.
    source.set(format!("http://127.0.0.1:9/live.m3u8?{SIGNATURE}"));
    let said: Arc<Mutex<Option<StreamFacts>>> = Arc::default();
    let view = {
        let said = Arc::clone(&said);
        PlayerView::new(move || said.lock().unwrap().clone())
    };
    let options = StreamOptions {
        probe: ProbeOptions { ffprobe: "/nonexistent/ffprobe".into(), ..ProbeOptions::default() },
        player: Some(view),
        ..options(&source)
    };
    let (probe, _) = collectors(options);

    // Live, but the player does not play it (yet): not available, and nothing probed.
    let snapshot = run(&probe).await;
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    assert_eq!(gauge(&snapshot, "stream_available", &[]), 0.0);
    assert_eq!(counter(&snapshot, "stream_probes_total", &[("result", "error")]), 0);

    *said.lock().unwrap() = Some(StreamFacts {
        bitrate_bytes_per_second: Some(216_000.0),
        width: Some(1280),
        height: Some(720),
        frames_per_second: Some(25.0),
        audio_channels: Some(2),
        audio_sample_rate_hertz: Some(48_000.0),
        video_codec: Some("h264".to_owned()),
        audio_codec: Some("aac".to_owned()),
    });
    let snapshot = run(&probe).await;
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    assert_eq!(gauge(&snapshot, "stream_available", &[]), 1.0);
    assert_eq!(gauge(&snapshot, "stream_width_pixels", &[]), 1280.0);
    assert_eq!(gauge(&snapshot, "stream_frames_per_second", &[]), 25.0);
    assert_eq!(gauge(&snapshot, "stream_bitrate_bytes_per_second", &[]), 216_000.0);
    assert_eq!(
        gauge(&snapshot, "stream_info", &[("video_codec", "h264"), ("audio_codec", "aac")]),
        1.0
    );
    let probes: u64 = ["success", "timeout", "error"]
        .iter()
        .map(|result| counter(&snapshot, "stream_probes_total", &[("result", result)]))
        .sum();
    assert_eq!(probes, 0, "no ffprobe ran");
}
