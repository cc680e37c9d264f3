//! The kiosk binary end to end: the real `vimeo-monitor`, a real mpv (headless: `--no-config
//! --vo=null --ao=null`), a real live HLS stream from `ffmpeg -re` served on 127.0.0.1, and the
//! fake Vimeo API speaking the real wire format. Nothing else is contacted: the network collector
//! is always off.
//!
//! Each test starts its own kiosk, stream and fake, waits with deadlines rather than fixed
//! sleeps, and leaves nothing running (the [`Kiosk`] guard stops the kiosk and its tree). The
//! figures the issue sets (a new mpv within 2 s of a crash, exit within 5 s of SIGTERM) are
//! asserted as such and printed with `--no-capture`. A failing test prints the kiosk's log.

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

use std::time::{Duration, Instant};

use kiosk::{
    Images, Kiosk, Metrics, Proc, Scene, Settings, Stream, assert_no_canary, exists, free_port,
    process, processes, run_to_exit, signal,
};
use nix::sys::signal::Signal;
use vimeo_api::{Reply, VimeoApi};

/// The longest wait for the screen to follow the API (a check every second).
const SCREEN: Duration = Duration::from_secs(15);
/// The longest wait for mpv to open the live stream and play a second of it.
const PLAY: Duration = Duration::from_secs(20);
/// The longest wait for a collector's figure to show in `/metrics`.
const METRICS: Duration = Duration::from_secs(20);

const HEALTHY: &str = "vimeo_monitor_script_healthy";
const STREAM_STATE: &str = "vimeo_monitor_stream_state";
const PLAYER_STATE: &str = "vimeo_monitor_player_state";
const API_REQUESTS: &str = "vimeo_monitor_api_requests_total";
const CONSECUTIVE_ERRORS: &str = "vimeo_monitor_api_consecutive_errors";
const RESTARTS: &str = "vimeo_monitor_player_restarts_total";
const STALLS: &str = "vimeo_monitor_player_stalls_total";
const AVAILABLE: &str = "vimeo_monitor_stream_available";
const STALLED: &str = "vimeo_monitor_stream_stalled";

fn live(url: &str) -> Reply {
    Reply::Live { url: url.to_owned() }
}

/// `stream_state` is `state` and the kiosk is healthy: it shows what that state calls for.
fn consistent(metrics: &Metrics, state: &str) -> bool {
    metrics.is(STREAM_STATE, &[("state", state)], 1.0) && metrics.is(HEALTHY, &[], 1.0)
}

/// Neither the token nor the signature in `/metrics`, `/status` or the kiosk's log.
async fn assert_no_canary_outside(kiosk: &Kiosk) {
    let metrics = kiosk.http_get("/metrics").await;
    let status = kiosk.http_get("/status").await;
    let log = kiosk.stderr();
    assert_no_canary([("/metrics", &*metrics), ("/status", &*status), ("the log", &*log)]);
}

/// Neither the token nor the signature in the argv of the kiosk or any process below it.
fn assert_no_canary_in_argv(kiosk: &Kiosk) -> Vec<Proc> {
    let mut seen = kiosk.descendants();
    seen.extend(process(kiosk.pid()));
    for process in &seen {
        assert_no_canary([(process.comm.as_str(), process.cmdline.as_str())]);
    }
    seen
}

/// Not started, live, available soon, rate limited, a server outage while the stream plays and
/// the recovery from it, then unauthorized, with `/metrics` checked at each step. The 401 comes
/// last: after one the kiosk checks again only every 60 s (`Policy::misconfigured_interval`).
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_journey_with_health_monitoring() {
    let images = Images::new();
    let stream = Stream::start().await;
    let url = stream.url();
    let api = VimeoApi::start().await;
    let port = free_port();
    let kiosk = Kiosk::start(&Settings::new(&api, &images).health(port));

    // Not started (400/10008): the holding image.
    kiosk.wait_for_path(images.holding(), SCREEN).await;
    kiosk
        .wait_for_metrics("offline, idle and healthy", METRICS, |m| {
            consistent(m, "offline")
                && m.value(API_REQUESTS, &[("result", "offline")]) > Some(0.0)
                && m.is(PLAYER_STATE, &[("state", "idle")], 1.0)
                && m.is(AVAILABLE, &[], 0.0)
        })
        .await;
    assert_eq!(kiosk.listening_ports(), [port], "the kiosk listens on the metrics port only");

    // Live: mpv plays the URL the API gave, and the stream collectors watch it.
    api.set(live(&url));
    kiosk.wait_until_playing(&url, PLAY).await;
    kiosk
        .wait_for_metrics("live, playing, stream available and moving", METRICS, |m| {
            consistent(m, "live")
                && m.is(PLAYER_STATE, &[("state", "playing")], 1.0)
                && m.value(API_REQUESTS, &[("result", "live")]) > Some(0.0)
                && m.is(AVAILABLE, &[], 1.0)
                && m.is(STALLED, &[], 0.0)
        })
        .await;
    assert_no_canary_in_argv(&kiosk);

    // Available soon (503/7900): offline again, and the collectors stop watching.
    api.set(Reply::AvailableSoon);
    kiosk.wait_for_path(images.holding(), SCREEN).await;
    kiosk
        .wait_for_metrics("offline again, nothing watched", METRICS, |m| {
            consistent(m, "offline") && m.is(AVAILABLE, &[], 0.0)
        })
        .await;

    // Rate limited (429, Retry-After: 3): no request until it has passed. Queued right after a
    // request, so that the next one gets it.
    let before = api.requests();
    kiosk.wait_for("a request", SCREEN, async || (api.requests() > before).then_some(())).await;
    api.queue(vec![Reply::RateLimited { retry_after: Some(3), reset: None }]);
    let limited = api.requests();
    kiosk.wait_for("the 429", SCREEN, async || (api.requests() > limited).then_some(())).await;
    kiosk
        .wait_for("the request after it", SCREEN, async || {
            (api.requests() > limited + 1).then_some(())
        })
        .await;
    let times = api.request_times();
    let gap = times[limited + 1] - times[limited];
    eprintln!("after the 429 (Retry-After: 3): the next request came {gap:?} later");
    assert!(gap >= Duration::from_secs(3), "a request {gap:?} after the 429");
    assert!(gap < Duration::from_secs(6), "requests resumed only {gap:?} after the 429");
    kiosk
        .wait_for_metrics("one rate-limited request, still offline", METRICS, |m| {
            m.is(API_REQUESTS, &[("result", "rate_limited")], 1.0) && consistent(m, "offline")
        })
        .await;
    kiosk.wait_for_path(images.holding(), SCREEN).await;

    // A server outage (500) while the stream plays: it keeps playing past ERROR_THRESHOLD (2).
    api.set(live(&url));
    kiosk.wait_until_playing(&url, PLAY).await;
    let entry = kiosk.entry().await.expect("mpv's playlist entry");
    let before = api.requests();
    api.set(Reply::ServerError(500));
    let outage = async {
        kiosk
            .wait_for("five failed checks", SCREEN, async || {
                (api.requests() >= before + 5).then_some(())
            })
            .await;
    };
    tokio::join!(outage, kiosk.keeps_playing(&url, Duration::from_secs(4)));
    kiosk
        .wait_for_metrics("still live and healthy through the outage", METRICS, |m| {
            consistent(m, "live")
                && m.value(CONSECUTIVE_ERRORS, &[]) >= Some(3.0)
                && m.value(API_REQUESTS, &[("result", "server_error")]) >= Some(3.0)
        })
        .await;
    kiosk.keeps_playing(&url, Duration::from_secs(1)).await;

    // Recovery: the API answers again; the same stream plays on, not reloaded.
    api.set(live(&url));
    kiosk
        .wait_for_metrics("errors cleared", METRICS, |m| {
            consistent(m, "live") && m.is(CONSECUTIVE_ERRORS, &[], 0.0)
        })
        .await;
    kiosk.keeps_playing(&url, Duration::from_secs(1)).await;
    assert_eq!(kiosk.entry().await, Some(entry), "the stream was loaded again");

    // Unauthorized (401): the error image after that one check, without waiting for a threshold.
    let before = api.requests();
    api.set(Reply::Unauthorized);
    let shown = kiosk.wait_for_path(images.error(), SCREEN).await;
    let times = api.request_times();
    assert!(times.len() <= before + 2, "{} checks before the error image", times.len() - before);
    let after_check = shown - times[times.len() - 1];
    eprintln!("401: the error image {after_check:?} after the request");
    assert!(after_check < Duration::from_millis(1500), "{after_check:?} after the 401");
    kiosk
        .wait_for_metrics("error state, healthy", METRICS, |m| {
            consistent(m, "error") && m.is(API_REQUESTS, &[("result", "client_error")], 1.0)
        })
        .await;

    assert_no_canary_outside(&kiosk).await;
}

/// mpv killed outright: a new one within 2 s of the kill, showing the stream again.
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_player_is_replaced_within_two_seconds() {
    let scene = Scene::new().await;
    let url = &scene.url;
    let kiosk = scene.playing(&scene.settings().health(free_port()), PLAY).await;
    let old = kiosk.mpv().expect("the kiosk's mpv");

    signal(old.pid, Signal::SIGKILL);
    let killed = Instant::now();
    let (new, loaded) = kiosk
        .wait_for("a new mpv with the stream loaded", SCREEN, async || {
            let mpv = kiosk.mpv().filter(|mpv| mpv.pid != old.pid)?;
            (kiosk.path().await? == *url).then_some(mpv)
        })
        .await;
    let playing = kiosk.wait_until_playing(url, PLAY).await;
    let (loaded, playing) = (loaded - killed, playing - killed);
    eprintln!("SIGKILL: new mpv (pid {}) has the stream loaded after {loaded:?}", new.pid);
    eprintln!("SIGKILL: ... and plays it (position moving) from {playing:?} after the kill");
    assert!(loaded <= Duration::from_secs(2), "the stream came back {loaded:?} after the kill");
    assert!(!exists(old.pid), "the killed mpv was not reaped: {:?}", process(old.pid));
    kiosk
        .wait_for_metrics("one restart, reason exited", METRICS, |m| {
            m.is(RESTARTS, &[("reason", "exited")], 1.0)
                && m.is(RESTARTS, &[("reason", "hung")], 0.0)
                && consistent(m, "live")
        })
        .await;
}

/// mpv stopped (SIGSTOP) no longer answers: it is killed as a process group, reaped, and
/// replaced.
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_player_is_killed_and_replaced() {
    let images = Images::new();
    let api = VimeoApi::start().await;
    let kiosk = Kiosk::start(&Settings::new(&api, &images).health(free_port()));
    kiosk.wait_for_path(images.holding(), SCREEN).await;
    let old = kiosk.mpv().expect("the kiosk's mpv");
    assert_eq!(old.pgrp, old.pid, "mpv leads its own process group");

    signal(old.pid, Signal::SIGSTOP);
    let stopped = Instant::now();
    let (new, shown) = kiosk
        .wait_for("a new mpv showing the holding image", SCREEN, async || {
            let mpv = kiosk.mpv().filter(|mpv| mpv.pid != old.pid)?;
            (kiosk.path().await? == images.holding()).then_some(mpv)
        })
        .await;
    eprintln!(
        "SIGSTOP: new mpv (pid {}) shows the holding image {:?} later",
        new.pid,
        shown - stopped
    );
    assert!(!exists(old.pid), "the stopped mpv is still there: {:?}", process(old.pid));
    let group: Vec<_> = processes().into_iter().filter(|p| p.pgrp == old.pid).collect();
    assert!(group.is_empty(), "left in the stopped mpv's process group: {group:?}");
    kiosk
        .wait_for_metrics("one restart, reason hung", METRICS, |m| {
            m.is(RESTARTS, &[("reason", "hung")], 1.0) && consistent(m, "offline")
        })
        .await;
}

/// The encoder dies: mpv stops moving, the kiosk asks the API at once (not at its next check,
/// 30 s away) and loads the fresh URL it gets.
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_is_reloaded_with_a_fresh_url() {
    let images = Images::new();
    let (mut first, second) = tokio::join!(Stream::start(), Stream::start());
    let (first_url, second_url) = (first.url(), second.url());
    let api = VimeoApi::start().await;
    api.set(live(&first_url));
    let settings = Settings::new(&api, &images).health(free_port()).set("CHECK_INTERVAL", "30");
    let kiosk = Kiosk::start(&settings);
    kiosk.wait_until_playing(&first_url, PLAY).await;
    assert_eq!(api.requests(), 1, "one check so far: the next is 30 s away");

    api.set(live(&second_url));
    first.kill_encoder();
    let killed = Instant::now();
    // Progress as the supervisor counts it: the position rises while mpv is not buffering.
    let mut position = kiosk.time_pos().await;
    let mut progressed = Instant::now();
    let deadline = killed + Duration::from_secs(25);
    while kiosk.path().await.as_deref() != Some(&second_url) {
        assert!(Instant::now() < deadline, "no fresh URL loaded");
        let now = kiosk.time_pos().await;
        let buffering = kiosk.property("paused-for-cache").await.and_then(|v| v.as_bool());
        if now > position && buffering == Some(false) {
            progressed = Instant::now();
        }
        if now > position {
            position = now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let loaded = Instant::now();
    let times = api.request_times();
    assert_eq!(times.len(), 2, "one check after the stall, none before it");
    let check = times[1];
    eprintln!(
        "stall: playback last progressed {:?} after the encoder died; the API was asked {:?} \
         after that (PLAYER_STALL_TIMEOUT=4); the fresh URL was loaded {:?} after the kill",
        progressed - killed,
        check - progressed,
        loaded - killed,
    );
    assert!(check >= killed + Duration::from_secs(4), "asked before a stall could be seen");
    kiosk.wait_until_playing(&second_url, PLAY).await;
    kiosk
        .wait_for_metrics("a stall counted, live and healthy", METRICS, |m| {
            m.is(STALLS, &[], 1.0) && consistent(m, "live")
        })
        .await;
}

/// What mpv shows, looked at every 20 ms: its path, or `None` while it is idle (a black window).
async fn showing(kiosk: &Kiosk) -> Option<String> {
    let idle = kiosk.property("idle-active").await.and_then(|v| v.as_bool());
    if idle == Some(true) { None } else { kiosk.path().await }
}

/// Watches mpv until `until` says stop; returns the longest time it was idle meanwhile.
async fn longest_idle(kiosk: &Kiosk, within: Duration, until: impl Fn(&str) -> bool) -> Duration {
    let deadline = Instant::now() + within;
    let (mut longest, mut idle_since) = (Duration::ZERO, None::<Instant>);
    loop {
        assert!(Instant::now() < deadline, "not within {within:?}: last idle run {longest:?}");
        match showing(kiosk).await {
            None => {
                let since = *idle_since.get_or_insert_with(Instant::now);
                longest = longest.max(since.elapsed());
            }
            Some(path) => {
                idle_since = None;
                if until(&path) {
                    return longest;
                }
            }
        }
        tokio::time::sleep(kiosk::POLL).await;
    }
}

/// The API says live but the stream's playlist answers 404: the holding image goes back at once
/// (mpv is never left idle for more than a moment), the error image follows within
/// ERROR_THRESHOLD checks, retries while it shows look at the playlist without touching mpv,
/// and once the playlist answers again the stream plays. The episode is logged once.
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_stream_that_cannot_be_opened_shows_an_image_then_plays_when_it_can() {
    const THRESHOLD: usize = 3;
    let scene = Scene::new().await;
    let (images, url) = (&scene.images, &scene.url);
    let settings = scene.settings().health(free_port()).set("ERROR_THRESHOLD", "3");
    let kiosk = Kiosk::start(&settings);
    kiosk.wait_for_path(images.holding(), SCREEN).await;

    // Live, right after a check, so that every check from here on is answered live.
    scene.stream.refuse_playlist(404);
    let before = scene.api.requests();
    kiosk.wait_for("a check", SCREEN, async || (scene.api.requests() > before).then_some(())).await;
    scene.api.set(live(url));
    let live_from = scene.api.requests();
    let idle = longest_idle(&kiosk, SCREEN, |path| path == images.error()).await;
    let checks = scene.api.requests() - live_from;
    eprintln!(
        "404 playlist: the error image after {checks} live answers; mpv idle at most {idle:?}"
    );
    assert!(checks <= THRESHOLD, "{checks} checks before the error image");
    assert!(idle < Duration::from_secs(1), "mpv idle (a black screen) for {idle:?}");
    kiosk
        .wait_for_metrics("live, the player idle on an image, unhealthy", METRICS, |m| {
            m.is(STREAM_STATE, &[("state", "live")], 1.0)
                && m.is(PLAYER_STATE, &[("state", "idle")], 1.0)
                && m.is(HEALTHY, &[], 0.0)
        })
        .await;

    // Retries while the error image shows (2 s, then 4 s apart) look at the playlist and never
    // load mpv: no black flash. The second check after the error image follows a whole retry.
    let entry = kiosk.entry().await.expect("mpv's playlist entry");
    let looks = || kiosk.stderr().matches("does not answer: HTTP 404").count();
    let (checked, looked) = (scene.api.requests(), looks());
    kiosk
        .wait_for("two retries", SCREEN, async || {
            (scene.api.requests() >= checked + 2).then_some(())
        })
        .await;
    assert!(looks() > looked, "the retry did not look at the playlist");
    assert_eq!(kiosk.entry().await, Some(entry), "mpv was given the stream again");
    assert_eq!(kiosk.path().await.as_deref(), Some(images.error()));

    // The playlist answers again: the next retry plays the stream (backing off 2 s, then 4 s).
    scene.stream.serve_playlist();
    let idle = longest_idle(&kiosk, Duration::from_secs(20), |path| path == url.as_str()).await;
    assert!(idle < Duration::from_secs(1), "mpv idle for {idle:?} before the stream");
    kiosk.wait_until_playing(url, PLAY).await;
    kiosk
        .wait_for_metrics("live, playing, healthy", METRICS, |m| {
            consistent(m, "live") && m.is(PLAYER_STATE, &[("state", "playing")], 1.0)
        })
        .await;

    let log = kiosk.stderr();
    for (line, times) in [
        ("the live stream cannot be opened", 1),
        ("the live stream still cannot be opened after 3 failed loads (its playlist: HTTP 404)", 1),
        ("the live stream plays again after", 1),
    ] {
        assert_eq!(log.matches(line).count(), times, "{line:?} in:\n{log}");
    }
    assert_no_canary_outside(&kiosk).await;
}

/// The API says live but the playlist's server never answers: mpv cannot open the stream, and
/// after PLAYER_STALL_TIMEOUT (4 s) without a picture the holding image is back instead of a
/// reload into the same black; retries time out on the playlist (1 s) without touching mpv,
/// and the error image follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_server_never_answers_gives_way_to_an_image() {
    let scene = Scene::new().await;
    let (images, url) = (&scene.images, &scene.url);
    let kiosk = Kiosk::start(&scene.settings());
    kiosk.wait_for_path(images.holding(), SCREEN).await;

    scene.stream.hang_playlist();
    scene.api.set(live(url));
    let asked = kiosk.wait_for_path(url, SCREEN).await;
    let back = kiosk.wait_for_path(images.holding(), SCREEN).await;
    let black = back - asked;
    eprintln!("a playlist that never answers: the holding image back after {black:?}");
    assert!(black < Duration::from_secs(6), "mpv tried the stream for {black:?}");
    let entry = kiosk.entry().await.expect("mpv's playlist entry");
    kiosk.wait_for_path(images.error(), SCREEN).await;
    // The error image is one load after the holding image: mpv never got the stream again.
    assert_eq!(kiosk.entry().await, Some(entry + 1), "mpv was given the stream again");
    let log = kiosk.stderr();
    assert!(log.contains("(its playlist: no answer within 1.0 s)"), "{log}");
}

/// Vimeo's 500 with error_code 4021 (no video) while the stream plays: the holding image, and
/// it stays so past ERROR_THRESHOLD (2) checks; the stream state is offline, not error.
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_with_no_video_shows_the_holding_image() {
    let scene = Scene::new().await;
    let kiosk = scene.playing(&scene.settings().health(free_port()), PLAY).await;
    scene.api.set(Reply::NoVideo { error_code: 4021 });
    kiosk.wait_for_path(scene.images.holding(), SCREEN).await;
    let before = scene.api.requests();
    kiosk
        .wait_for("three more checks", SCREEN, async || {
            (scene.api.requests() >= before + 3).then_some(())
        })
        .await;
    assert_eq!(kiosk.path().await.as_deref(), Some(scene.images.holding()));
    kiosk
        .wait_for_metrics("offline, healthy, no server error counted", METRICS, |m| {
            consistent(m, "offline")
                && m.value(API_REQUESTS, &[("result", "offline")]) >= Some(3.0)
                && m.is(API_REQUESTS, &[("result", "server_error")], 0.0)
        })
        .await;
    let log = kiosk.stderr();
    assert!(log.contains("the event has no video to stream (HTTP 500, error_code 4021)"), "{log}");
}

/// SIGTERM: exit 0 within 5 s, mpv and every other child gone, the metrics port closed.
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_everything_within_five_seconds() {
    let scene = Scene::new().await;
    let port = free_port();
    let mut kiosk = scene.playing(&scene.settings().health(port), PLAY).await;
    kiosk.wait_for_metrics("live", METRICS, |m| consistent(m, "live")).await;
    let mpv = kiosk.mpv().expect("the kiosk's mpv");
    let tree = kiosk.descendants();

    let (status, took) = kiosk.terminate(Duration::from_secs(10)).await;
    eprintln!("SIGTERM: exited ({status}) after {took:?}");
    assert_eq!(status.code(), Some(0));
    assert!(took <= Duration::from_secs(5), "took {took:?}");
    assert!(!exists(mpv.pid), "mpv left behind: {:?}", process(mpv.pid));
    let left: Vec<_> = tree.iter().filter_map(|p| process(p.pid)).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let socket = kiosk.runtime_dir().to_str().expect("a UTF-8 path").to_owned();
    let strays: Vec<_> = processes().into_iter().filter(|p| p.cmdline.contains(&socket)).collect();
    assert!(strays.is_empty(), "an mpv of this kiosk's is still somewhere: {strays:?}");
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(connect.is_err(), "the metrics port is still open");
}

/// A metrics port already taken is logged once, the OS's reason said once, and the kiosk plays
/// on without health monitoring.
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_metrics_port_is_said_once_and_the_kiosk_plays_on() {
    let images = Images::new();
    let api = VimeoApi::start().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = taken.local_addr().expect("a local address").port();
    let kiosk = Kiosk::start(&Settings::new(&api, &images).health(port));

    kiosk.wait_for_path(images.holding(), SCREEN).await;
    let said = || async {
        let log = kiosk.stderr();
        log.contains("without health monitoring").then_some(log)
    };
    let (log, _) = kiosk.wait_for("the bind error in the log", SCREEN, said).await;
    let line = format!("cannot listen on 127.0.0.1:{port}: Address already in use");
    assert!(log.contains(&line), "{log}");
    assert_eq!(log.matches("Address already in use").count(), 1, "said once: {log}");
    drop(taken);
}

/// Health monitoring off (the default): no port is opened, even with a port configured, and
/// the kiosk works as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_health_monitoring_no_port_is_opened() {
    let images = Images::new();
    let stream = Stream::start().await;
    let url = stream.url();
    let api = VimeoApi::start().await;
    let port = free_port();
    let settings = Settings::new(&api, &images).set("HEALTH_METRICS_PORT", &port.to_string());
    let kiosk = Kiosk::start(&settings);

    kiosk.wait_for_path(images.holding(), SCREEN).await;
    assert_eq!(kiosk.listening_ports(), [0u16; 0], "listening while offline");
    api.set(live(&url));
    kiosk.wait_until_playing(&url, PLAY).await;
    assert_eq!(kiosk.listening_ports(), [0u16; 0], "listening while live");
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err());
    api.set(Reply::NotStarted);
    kiosk.wait_for_path(images.holding(), SCREEN).await;
}

/// While live, with every collector running, no process of the kiosk's carries the token or
/// the signed URL in its argv (readable by every user of the machine).
#[cfg(feature = "health")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_command_line() {
    let scene = Scene::new().await;
    let kiosk = scene.playing(&scene.settings().health(free_port()), PLAY).await;

    // Look often for a while: a short-lived child (ffprobe, were one started) is caught too.
    let mut names = std::collections::BTreeSet::new();
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        names.extend(assert_no_canary_in_argv(&kiosk).into_iter().map(|p| p.comm));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("processes looked at: {names:?}");
    assert!(names.contains("mpv") && names.contains("vimeo-monitor"), "{names:?}");
    // Inside the kiosk the stream figures come from mpv: no ffprobe, and no second download of
    // the stream. (ffprobe's argv is checked where it runs: health-stream's tests.)
    assert!(!names.contains("ffprobe"), "ffprobe ran inside the kiosk: {names:?}");
    assert_no_canary_outside(&kiosk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_exits_2_naming_it() {
    let images = Images::new();
    let api = VimeoApi::start().await;
    let output = run_to_exit(&Settings::new(&api, &images).without("VIMEO_TOKEN"), &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("VIMEO_TOKEN"), "{stderr}");
    assert_eq!(api.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_check_interval_exits_2_naming_it() {
    let images = Images::new();
    let api = VimeoApi::start().await;
    let settings = Settings::new(&api, &images).set("CHECK_INTERVAL", "soon");
    let output = run_to_exit(&settings, &[]).await;
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CHECK_INTERVAL") && stderr.contains("soon"), "{stderr}");
    assert_no_canary([("stdout", &*stdout), ("stderr", &*stderr)]);
    assert_eq!(api.requests(), 0);
}

/// A typo is often why a value did not take: its hint shows beside the problems.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_configuration_keeps_its_typo_hints() {
    let images = Images::new();
    let api = VimeoApi::start().await;
    let settings =
        Settings::new(&api, &images).set("CHECK_INTERVAL", "soon").set("ERROR_TRESHOLD", "3");
    let output = run_to_exit(&settings, &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CHECK_INTERVAL=soon"), "{stderr}");
    assert!(
        stderr.contains("note: unknown variable ERROR_TRESHOLD in the environment is ignored; did you mean ERROR_THRESHOLD?"),
        "{stderr}"
    );
    assert_eq!(api.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_shows_the_token_redacted() {
    let images = Images::new();
    let api = VimeoApi::start().await;
    let output = run_to_exit(&Settings::new(&api, &images), &["--check-config"]).await;
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.lines().any(|line| line.starts_with("VIMEO_TOKEN=<redacted>")), "{stdout}");
    assert!(stdout.contains("CHECK_INTERVAL=1"), "{stdout}");
    assert_no_canary([("stdout", &*stdout), ("stderr", &*stderr)]);
    assert_eq!(api.requests(), 0, "--check-config asks nothing");
}

/// `VIMEO_API_URL` with a user name, password, query string and fragment is refused, and no
/// part of those shows, neither in `--check-config`'s report nor in the start-up error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_url_with_secrets_is_refused_without_showing_them() {
    let images = Images::new();
    let api = VimeoApi::start().await;
    let port = api.addr().port();
    let url = format!("http://kiosk:CANARY-PW@127.0.0.1:{port}/v?key=CANARY-KEY#CANARY-FRAG");
    let settings = Settings::new(&api, &images).set("VIMEO_API_URL", &url);
    for args in [&["--check-config"][..], &[]] {
        let output = run_to_exit(&settings, args).await;
        let (stdout, stderr) =
            (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stdout}\n{stderr}");
        let expected =
            format!("VIMEO_API_URL=http://127.0.0.1:{port}/v: expected an http:// or https:// URL");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
        for text in [&stdout, &stderr] {
            assert!(!text.contains("CANARY"), "{args:?}: {text}");
        }
        assert_no_canary([("stdout", &*stdout), ("stderr", &*stderr)]);
    }
    assert_eq!(api.requests(), 0);
}

/// SIGTERM while mpv hangs (stopped) and a health check of it is waiting for its answer, with
/// the default `PLAYER_IPC_TIMEOUT` of 5 s: still out within 5 s, the stopped mpv killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_hung_player_still_exits_within_five_seconds() {
    let images = Images::new();
    let api = VimeoApi::start().await;
    let mut kiosk = Kiosk::start(&Settings::new(&api, &images).set("PLAYER_IPC_TIMEOUT", "5"));
    kiosk.wait_for_path(images.holding(), SCREEN).await;
    let mpv = kiosk.mpv().expect("the kiosk's mpv");
    signal(mpv.pid, Signal::SIGSTOP);
    // The supervisor asks mpv how it is every second: one request is now waiting.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (status, took) = kiosk.terminate(Duration::from_secs(20)).await;
    eprintln!("SIGTERM with mpv stopped: exited ({status}) after {took:?}");
    assert_eq!(status.code(), Some(0));
    assert!(took <= Duration::from_secs(5), "took {took:?}");
    assert!(!exists(mpv.pid), "mpv left behind: {:?}", process(mpv.pid));
}

/// Under systemd (`Type=notify`): READY=1 once the first screen is up, then WATCHDOG=1 while
/// the main loop runs, over the real notification protocol (a datagram socket in NOTIFY_SOCKET).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_hears_ready_then_watchdog_pings() {
    let images = Images::new();
    let api = VimeoApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&path).unwrap();
    let settings = Settings::new(&api, &images).set("NOTIFY_SOCKET", path.to_str().unwrap());
    let kiosk = Kiosk::start(&settings);
    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut buffer = [0u8; 512];
    while Instant::now() < deadline {
        let received = tokio::time::timeout_at(deadline.into(), socket.recv(&mut buffer)).await;
        let Ok(Ok(n)) = received else { break };
        messages.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
        let watchdogs = messages.iter().filter(|m| m.contains("WATCHDOG=1")).count();
        if messages.iter().any(|m| m.contains("READY=1")) && watchdogs >= 2 {
            break;
        }
    }
    let ready = messages.iter().position(|m| m.contains("READY=1"));
    assert!(ready.is_some(), "no READY=1: {messages:?}\n{}", kiosk.stderr());
    let pings = messages.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    assert!(pings >= 2, "watchdog pings: {messages:?}");
    // READY=1 is sent once mpv has taken the holding image; it is on screen moments later.
    kiosk.wait_for_path(images.holding(), Duration::from_secs(2)).await;
}

/// `LOG_FILE` with `LOG_FORMAT=json`: a dated file (`kiosk.log.YYYY-MM-DD`, UTC, one per day)
/// next to older ones, pruned at start to `LOG_ROTATION_DAYS` files; every line on stderr and in
/// the file is a JSON object with the component's target; state changes are logged once each,
/// not once per poll; no secret in either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_go_to_a_dated_file_and_old_files_are_pruned() {
    let images = Images::new();
    let stream = Stream::start().await;
    let url = stream.url();
    let api = VimeoApi::start().await;
    let logs = tempfile::tempdir().unwrap();
    // Five days of older files, oldest first (pruning goes by creation time), and one file of
    // someone else's that must be left alone.
    let old: Vec<String> = (20..25).map(|day| format!("kiosk.log.2026-10-{day}")).collect();
    for name in &old {
        std::fs::write(logs.path().join(name), "{}\n").unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(logs.path().join("other.log"), "keep me\n").unwrap();
    let settings = Settings::new(&api, &images)
        .set("LOG_FILE", logs.path().join("kiosk.log").to_str().unwrap())
        .set("LOG_FORMAT", "json")
        .set("LOG_ROTATION_DAYS", "3");
    let today_before = utc_date();
    let mut kiosk = Kiosk::start(&settings);
    kiosk.wait_for_path(images.holding(), SCREEN).await;
    api.set(live(&url));
    kiosk.wait_until_playing(&url, PLAY).await;
    // A few more checks that change nothing (seen by the API, not assumed after a sleep): they
    // must not add a line each.
    let asked = api.requests();
    kiosk
        .wait_for("three more checks while live", Duration::from_secs(10), async || {
            (api.requests() >= asked + 3).then_some(())
        })
        .await;
    let (status, _) = kiosk.terminate(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0));
    let today_after = utc_date();

    let mut names: Vec<String> = std::fs::read_dir(logs.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let today = [today_before, today_after]
        .into_iter()
        .map(|day| format!("kiosk.log.{day}"))
        .find(|name| names.contains(name))
        .unwrap_or_else(|| panic!("no file for today among {names:?}"));
    // Three kept: the two newest older files and today's.
    assert_eq!(names, [&old[3], &old[4], &today, "other.log"], "{names:?}");

    let file = std::fs::read_to_string(logs.path().join(&today)).unwrap();
    let stderr = kiosk.stderr();
    assert_no_canary([("the log file", &*file), ("stderr", &*stderr)]);
    for (place, text) in [("the log file", &file), ("stderr", &stderr)] {
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not JSON in {place} ({e}): {line}"))
            })
            .collect();
        let targets: Vec<&str> = lines.iter().filter_map(|l| l["target"].as_str()).collect();
        assert_eq!(targets.len(), lines.len(), "a line without a target in {place}");
        for target in ["monitor", "player"] {
            assert!(targets.contains(&target), "no `{target}` line in {place}: {targets:?}");
        }
        let messages: Vec<&str> =
            lines.iter().filter_map(|l| l["fields"]["message"].as_str()).collect();
        assert!(messages.len() > 2, "{place}: {messages:?}");
        // Three checks or more ran while live: state changes are logged, polls that change
        // nothing are not.
        let monitor_info =
            lines.iter().filter(|l| l["target"] == "monitor" && l["level"] == "INFO").count();
        assert!((2..=5).contains(&monitor_info), "{place}: {monitor_info} info lines: {text}");
    }
}

/// Today's date in UTC, as the log file names have it.
fn utc_date() -> String {
    let output = std::process::Command::new("date").args(["-u", "+%Y-%m-%d"]).output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
