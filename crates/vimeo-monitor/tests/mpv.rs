//! The player module against a real mpv (0.35 on Debian 12), headless: `--no-config --vo=null
//! --ao=null`. Switching between images and video over IPC, signed URLs kept out of argv, output
//! and errors, a stopped mpv timing out and recovering, and stopping that leaves nothing behind.

#[path = "support/media.rs"]
mod media;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::Uri;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use media::Media;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use tempfile::TempDir;
use tokio::sync::broadcast;
use vimeo_monitor::player::mpv::{Mpv, MpvEvent, MpvOptions, PlayerError};
use vimeo_monitor::player::picture;
use vimeo_monitor::player::quality::{OBSERVED, Quality};

/// Stands for the signature in a signed playback URL.
const CANARY: &str = "CANARY7f3a";

fn options(runtime: &TempDir) -> MpvOptions {
    MpvOptions {
        extra_args: ["--no-config", "--vo=null", "--ao=null"].map(String::from).to_vec(),
        ipc_timeout: Duration::from_secs(2),
        ..MpvOptions::new(runtime.path())
    }
}

async fn spawn(runtime: &TempDir) -> Mpv {
    Mpv::spawn(&options(runtime)).await.expect("mpv starts (missing? run ./scripts/setup)")
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The events up to and including the first one `wanted` accepts; panics after `within`.
async fn wait_for(
    events: &mut broadcast::Receiver<MpvEvent>,
    within: Duration,
    wanted: impl Fn(&MpvEvent) -> bool,
) -> Vec<MpvEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(event)) => {
                let done = wanted(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(error)) => panic!("events ended ({error}) after {seen:?}"),
            Err(_) => panic!("no such event within {within:?}; saw {seen:?}"),
        }
    }
}

fn is_restart(event: &MpvEvent) -> bool {
    *event == MpvEvent::PlaybackRestart
}

fn is_error_end(event: &MpvEvent) -> bool {
    matches!(event, MpvEvent::EndFile { reason } if reason == "error")
}

/// A switch with no gap: the old file was stopped by `loadfile`, nothing ended otherwise and
/// mpv never went idle.
fn assert_seamless(seen: &[MpvEvent]) {
    assert!(!seen.contains(&MpvEvent::Idle), "went idle: {seen:?}");
    for event in seen {
        if let MpvEvent::EndFile { reason } = event {
            assert_eq!(reason, "stop", "{seen:?}");
        }
    }
}

/// `(state, ppid, pgrp)` from `/proc/<pid>/stat`; the fields after the last `)` (the command
/// name may hold anything).
fn stat(pid: u32) -> Option<(char, u32, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// Waits (at most 5 s) until every thread of `pid` is stopped (`T` in `/proc/PID/task/*/stat`).
async fn wait_until_stopped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let states: Vec<char> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .filter_map(|task| {
                let stat = std::fs::read_to_string(task.ok()?.path().join("stat")).ok()?;
                stat[stat.rfind(')')? + 1..].split_whitespace().next()?.chars().next()
            })
            .collect();
        if !states.is_empty() && states.iter().all(|state| *state == 'T') {
            return;
        }
        assert!(Instant::now() < deadline, "mpv {pid} not stopped: {states:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// `pid`, its descendants and the members of its process group.
fn family(pid: u32) -> Vec<u32> {
    let stats: Vec<(u32, u32, u32)> = all_pids()
        .into_iter()
        .filter_map(|p| stat(p).map(|(_, ppid, pgrp)| (p, ppid, pgrp)))
        .collect();
    let mut family = vec![pid];
    let mut grew = true;
    while grew {
        grew = false;
        for &(p, ppid, pgrp) in &stats {
            if !family.contains(&p) && (family.contains(&ppid) || pgrp == pid) {
                family.push(p);
                grew = true;
            }
        }
    }
    family
}

/// Nothing of mpv is left: no process in its group, and no zombie of it under this process.
fn assert_gone(pid: u32) {
    let group: Vec<u32> = all_pids()
        .into_iter()
        .filter(|&p| stat(p).is_some_and(|(_, _, pgrp)| pgrp == pid))
        .collect();
    assert!(group.is_empty(), "left in mpv's process group: {group:?}");
    if let Some((state, ppid, _)) = stat(pid) {
        assert_ne!(ppid, std::process::id(), "mpv {pid} is still our child, state {state}");
    }
}

fn signal(pid: u32, signal: Signal) {
    kill(Pid::from_raw(i32::try_from(pid).unwrap()), signal).unwrap();
}

#[tokio::test]
async fn images_and_video_switch_without_going_idle() {
    let media = Media::new();
    let holding = media.image("holding.png", "blue");
    let error = media.image("error.png", "red");
    let video = media.video("video.ts", 10);
    let runtime = tempfile::tempdir().unwrap();
    let mpv = spawn(&runtime).await;
    assert!(runtime.path().join("mpv.sock").exists());
    assert!(mpv.version().await.unwrap().starts_with("mpv "));
    let mut events = mpv.events();

    mpv.load(text(&holding)).await.unwrap();
    wait_for(&mut events, Duration::from_secs(5), is_restart).await;
    let status = mpv.status().await.unwrap();
    assert_eq!(status.path.as_deref(), Some(text(&holding)));
    assert!(!status.idle);
    // `--image-display-duration=inf`: the image stays.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = mpv.status().await.unwrap();
    assert_eq!(status.path.as_deref(), Some(text(&holding)), "{status:?}");
    assert!(!status.idle && !status.eof_reached, "{status:?}");
    assert!(events.try_recv().is_err(), "the image should just stay");

    mpv.load(text(&video)).await.unwrap();
    assert_seamless(&wait_for(&mut events, Duration::from_secs(5), is_restart).await);
    let before = mpv.status().await.unwrap().time_pos.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = mpv.status().await.unwrap();
    assert!(status.time_pos.unwrap() > before + 0.5, "{before} then {status:?}");
    assert!(!status.paused, "{status:?}");

    // Back to an image, watching `idle-active` all along.
    let switch = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        mpv.load(text(&error)).await.unwrap();
    };
    let watch = async {
        let mut idle = Vec::new();
        for _ in 0..30 {
            idle.push(mpv.get_property::<bool>("idle-active").await.unwrap().unwrap());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        idle
    };
    let ((), idle) = tokio::join!(switch, watch);
    assert!(!idle.contains(&true), "idle-active during the switch: {idle:?}");
    assert_seamless(&wait_for(&mut events, Duration::from_secs(5), is_restart).await);
    assert_eq!(mpv.status().await.unwrap().path.as_deref(), Some(text(&error)));
    mpv.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn observed_properties_arrive_as_changes_and_fill_the_figures() {
    let media = Media::new();
    let video = media.video("video.ts", 10);
    let runtime = tempfile::tempdir().unwrap();
    let mpv = spawn(&runtime).await;
    let mut events = mpv.events();
    for (id, name) in (1u64..).zip(OBSERVED) {
        mpv.observe(id, name).await.unwrap_or_else(|e| panic!("observe {name}: {e}"));
    }
    mpv.load(text(&video)).await.unwrap();
    let mut quality = Quality::default();
    let mut changes = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(event) = tokio::time::timeout_at(deadline, events.recv()).await {
        if let MpvEvent::PropertyChange { name, data } = event.unwrap() {
            changes += 1;
            quality.apply(&name, &data);
        }
    }
    let figures = quality.figures();
    assert_eq!((figures.video_width, figures.video_height), (Some(320), Some(240)), "{figures:?}");
    assert_eq!(figures.hwdec.as_deref(), Some("no"), "--no-config: software decoding");
    assert_eq!(figures.frames_dropped_decoder, Some(0), "{figures:?}");
    assert!(figures.frames_dropped_output.is_some(), "{figures:?}");
    assert_eq!(figures.buffering, Some(false), "{figures:?}");
    let fps = figures.fps.expect("estimated-vf-fps after 3 s of playback");
    assert!((fps - 25.0).abs() < 2.0, "{fps}");
    let stream = quality.stream();
    assert_eq!(stream.frames_per_second, Some(25.0), "{stream:?}");
    assert_eq!(stream.video_codec.as_deref(), Some("h264"));
    assert_eq!(stream.audio_codec.as_deref(), Some("aac"));
    assert_eq!((stream.audio_channels, stream.audio_sample_rate_hertz), (Some(1), Some(48_000.0)));
    // Events, not polling: a smoothly playing file sends a handful of changes a second.
    assert!(changes < 200, "{changes} property changes in 3 s");

    // A screenshot with --vo=null, as the supervisor takes it: a JPEG of the decoded picture.
    let shot = runtime.path().join("screen.jpg");
    mpv.screenshot(&shot).await.unwrap();
    let picture = picture::measure(&std::fs::read(&shot).unwrap()).unwrap();
    assert_eq!(picture.grey.dimensions(), (160, 120), "320x240 scaled to 160 wide");
    assert!(picture.luma_ratio > 0.2 && picture.luma_ratio < 0.8, "{}", picture.luma_ratio);
    mpv.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_end_of_a_stream_keeps_its_last_frame_and_the_next_one_plays() {
    let media = Media::new();
    let short = media.video("short.ts", 1);
    let video = media.video("video.ts", 10);
    let runtime = tempfile::tempdir().unwrap();
    let mpv = spawn(&runtime).await;
    let mut events = mpv.events();

    mpv.load(text(&short)).await.unwrap();
    wait_for(&mut events, Duration::from_secs(5), is_restart).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        let status = mpv.status().await.unwrap();
        if status.eof_reached || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // `--keep-open=yes`: not idle (a black window) but the last frame; `--keep-open-pause=no`:
    // not paused, or mpv 0.35 would start the next file paused too.
    assert!(status.eof_reached && !status.idle && !status.paused, "{status:?}");
    assert_eq!(status.path.as_deref(), Some(text(&short)));

    mpv.load(text(&video)).await.unwrap();
    assert_seamless(&wait_for(&mut events, Duration::from_secs(5), is_restart).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let status = mpv.status().await.unwrap();
    assert!(!status.paused && status.time_pos.unwrap() > 0.3, "{status:?}");
    mpv.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_signed_url_stays_out_of_argv_output_and_errors() {
    let media = Media::new();
    let body = axum::body::Bytes::from(std::fs::read(media.video("live.ts", 10)).unwrap());
    let queries = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&queries);
    let app = Router::new().route(
        "/live.ts",
        get(move |uri: Uri| async move {
            seen.lock().unwrap().push(uri.query().unwrap_or_default().to_owned());
            ([(CONTENT_TYPE, "video/mp2t")], body)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // A stand-in for yt-dlp that records its arguments: mpv's ytdl hook would run it with the
    // URL in its argv when a URL fails to open.
    let ytdl_log = media.dir().join("ytdl-called");
    let fake_ytdl = media.dir().join("fake-ytdl");
    let script = format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 1\n", ytdl_log.display());
    std::fs::write(&fake_ytdl, script).unwrap();
    std::fs::set_permissions(&fake_ytdl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let mut options = options(&runtime);
    options.extra_args.push(format!("--script-opts=ytdl_hook-ytdl_path={}", fake_ytdl.display()));
    let mpv = Mpv::spawn(&options).await.unwrap();
    let pid = mpv.pid().unwrap();
    let mut events = mpv.events();

    let url = format!("http://{address}/live.ts?token={CANARY}");
    mpv.load(&url).await.unwrap();
    wait_for(&mut events, Duration::from_secs(10), is_restart).await;
    assert!(queries.lock().unwrap().iter().any(|q| q.contains(CANARY)), "played over HTTP");
    let status = mpv.status().await.unwrap();
    assert_eq!(status.path.as_deref(), Some(url.as_str()));
    assert!(!format!("{status:?}").contains(CANARY), "{status:?}");
    for process in family(pid) {
        let cmdline = std::fs::read(format!("/proc/{process}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(!cmdline.contains(CANARY), "pid {process}: {cmdline}");
    }

    // A URL that fails: mpv says so in its output, and the ytdl hook (`--ytdl=no`) stays away.
    let missing = format!("http://{address}/missing.ts?token={CANARY}");
    mpv.load(&missing).await.unwrap();
    wait_for(&mut events, Duration::from_secs(10), is_error_end).await;
    assert!(!ytdl_log.exists(), "yt-dlp ran: {}", std::fs::read_to_string(&ytdl_log).unwrap());
    let output = mpv.recent_output();
    assert!(output.iter().any(|line| line.contains("/missing.ts")), "{output:?}");
    assert!(!output.iter().any(|line| line.contains(CANARY)), "{output:?}");
    // `bogus` is refused as `options` (no `=`) by 0.35 and as `index` (no number) by 0.38+.
    let refused = [json!("loadfile"), json!(missing), json!("replace"), json!("bogus")];
    let error = mpv.command(&refused).await.unwrap_err();
    let error = format!("{error} {error:?}");
    assert!(error.contains(&format!("loadfile http://{address}/missing.ts")), "{error}");
    assert!(!error.contains(CANARY), "{error}");

    // The control: with the hook allowed, the stand-in sees the secret, so the check above
    // would have caught a leak. The hook script loads in the background, hence the retries.
    mpv.command(&[json!("set_property"), json!("ytdl"), json!(true)]).await.unwrap();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        mpv.load(&missing).await.unwrap();
        wait_for(&mut events, Duration::from_secs(10), is_error_end).await;
        if ytdl_log.exists() {
            break;
        }
    }
    assert!(std::fs::read_to_string(&ytdl_log).unwrap().contains(CANARY));
    mpv.stop(Duration::from_secs(5)).await;
    server.abort();
}

#[tokio::test]
async fn a_stopped_mpv_times_out_and_recovers_after_sigcont() {
    let media = Media::new();
    let video = media.video("video.ts", 10);
    let runtime = tempfile::tempdir().unwrap();
    let timeout = Duration::from_secs(1);
    let mpv = Mpv::spawn(&MpvOptions { ipc_timeout: timeout, ..options(&runtime) }).await.unwrap();
    let pid = mpv.pid().unwrap();
    let mut events = mpv.events();
    mpv.load(text(&video)).await.unwrap();
    wait_for(&mut events, Duration::from_secs(5), is_restart).await;

    signal(pid, Signal::SIGSTOP);
    // SIGSTOP is delivered to each thread as it is next scheduled: a request sent at once could
    // still be answered. Wait until every thread of mpv's is stopped.
    wait_until_stopped(pid).await;
    let started = Instant::now();
    let error = mpv.status().await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, PlayerError::Timeout { .. }), "{error:?}");
    // One round of requests, all in flight at once: a hang is known after one timeout, not
    // one per request or per batch (two would be 2 s).
    assert!(took >= timeout && took < timeout * 19 / 10, "{took:?}");
    let url = format!("http://127.0.0.1:9/live.m3u8?token={CANARY}");
    let error = mpv.load(&url).await.unwrap_err();
    let error = format!("{error} {error:?}");
    assert!(error.contains("loadfile http://127.0.0.1:9/live.m3u8"), "{error}");
    assert!(!error.contains(CANARY), "{error}");
    for _ in 0..3 {
        let error = mpv.get_property::<u32>("pid").await.unwrap_err();
        assert!(matches!(error, PlayerError::Timeout { .. }), "{error:?}");
    }

    // The late replies (numbers, `null`) arrive now and must not be taken for these answers.
    signal(pid, Signal::SIGCONT);
    // mpv first works through the backlog of requests that timed out; on a loaded machine the
    // first answer may itself miss the 0.5 s bound, so allow a few tries.
    let mut version = mpv.version().await;
    for _ in 0..10 {
        if version.is_ok() {
            break;
        }
        version = mpv.version().await;
    }
    assert!(version.unwrap().starts_with("mpv "));
    assert_eq!(mpv.get_property::<u32>("pid").await.unwrap(), Some(pid));
    mpv.status().await.unwrap();
    mpv.stop(Duration::from_secs(5)).await;
    assert_gone(pid);
}

#[tokio::test]
async fn stop_terminates_and_reaps_the_whole_group() {
    let runtime = tempfile::tempdir().unwrap();
    let mut mpv = spawn(&runtime).await;
    let pid = mpv.pid().unwrap();
    assert_eq!(stat(pid).map(|(_, ppid, pgrp)| (ppid, pgrp)), Some((std::process::id(), pid)));
    assert!(mpv.try_exited().is_none());
    let started = Instant::now();
    mpv.stop(Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(2), "SIGTERM should do");
    assert_gone(pid);
}

#[tokio::test]
async fn a_stopped_mpv_is_woken_to_quit_without_waiting_out_the_grace() {
    let runtime = tempfile::tempdir().unwrap();
    let mpv = spawn(&runtime).await;
    let pid = mpv.pid().unwrap();
    // A stopped process holds SIGTERM pending until it runs again. SIGSTOP takes effect
    // asynchronously, so wait until it has.
    signal(pid, Signal::SIGSTOP);
    wait_until_stopped(pid).await;
    let grace = Duration::from_secs(10);
    let started = Instant::now();
    mpv.stop(grace).await;
    let took = started.elapsed();
    assert!(took < grace / 2, "SIGCONT after SIGTERM should let it quit: {took:?}");
    assert_gone(pid);
}

#[tokio::test]
async fn an_exit_is_noticed_and_the_connection_closes() {
    let runtime = tempfile::tempdir().unwrap();
    let mut mpv = spawn(&runtime).await;
    let pid = mpv.pid().unwrap();
    let mut events = mpv.events();
    signal(pid, Signal::SIGTERM);
    // mpv 0.35 sends no `shutdown` event over IPC: it closes the connection.
    let error = loop {
        match events.recv().await {
            Err(broadcast::error::RecvError::Closed) => break mpv.status().await.unwrap_err(),
            Err(broadcast::error::RecvError::Lagged(_)) | Ok(_) => {}
        }
    };
    assert!(matches!(error, PlayerError::Ipc(_)), "{error:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = mpv.try_exited() {
            break status;
        }
        assert!(Instant::now() < deadline, "mpv got SIGTERM but has not exited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // 4 is mpv's "quit due to a signal": it handled SIGTERM and shut down cleanly instead of
    // being killed by it (it needs `--input-terminal=yes` for that).
    assert_eq!(status.code(), Some(4), "{status}");
    mpv.stop(Duration::from_secs(1)).await;
    assert_gone(pid);
}

#[tokio::test]
async fn start_up_failures_say_what_to_do() {
    let runtime = tempfile::tempdir().unwrap();
    for binary in ["/nonexistent/mpv", "vimeo-monitor-test-no-such-mpv"] {
        let error = Mpv::spawn(&MpvOptions { binary: binary.into(), ..options(&runtime) })
            .await
            .unwrap_err();
        assert!(matches!(error, PlayerError::NotFound { .. }), "{error:?}");
        assert!(error.to_string().contains("Debian package `mpv`"), "{error}");
    }

    let missing_dir = runtime.path().join("missing");
    let error = Mpv::spawn(&MpvOptions { runtime_dir: missing_dir, ..options(&runtime) })
        .await
        .unwrap_err();
    assert!(matches!(error, PlayerError::NoSocket { .. }), "{error:?}");

    let mut bad = options(&runtime);
    bad.extra_args.push("--no-such-option-here".to_owned());
    let error = Mpv::spawn(&bad).await.unwrap_err();
    assert!(matches!(error, PlayerError::Exited { .. }), "{error:?}");
    assert!(error.to_string().contains("no-such-option-here"), "{error}");
}

#[tokio::test]
async fn this_mpv_accepts_our_loadfile_form() {
    let media = Media::new();
    let holding = media.image("holding.png", "blue");
    let runtime = tempfile::tempdir().unwrap();
    let mpv = spawn(&runtime).await;
    let mut events = mpv.events();
    // `loadfile <url> <flags>`: the form `Mpv::load` sends. mpv 0.38 inserted `index` before
    // `options` (`loadfile <url> [<flags> [<index> [<options>]]]`), so a third positional
    // argument is `options` up to 0.37 and `index` from 0.38; with two arguments both read the
    // same thing.
    let reply = mpv.command(&[json!("loadfile"), json!(text(&holding)), json!("replace")]).await;
    assert!(reply.is_ok(), "{reply:?}");
    wait_for(&mut events, Duration::from_secs(5), |e| *e == MpvEvent::FileLoaded).await;
    assert_eq!(mpv.get_property::<String>("path").await.unwrap().as_deref(), Some(text(&holding)));
    mpv.stop(Duration::from_secs(5)).await;
}
