//! `GET /`: the status page over real loopback HTTP, and as headless Chromium renders it.
//!
//! The exporter runs in this process on `127.0.0.1:0`, its hardware collector reading the
//! Raspberry Pi 5 fixture tree of `health-system` (51.45 °C, under-voltage and throttling now),
//! network and stream collectors off, and the `script` collector fed from a [`ScriptHealth`]
//! handle set to a kiosk playing a live event, with a screenshot made by real ffmpeg where the
//! test is about `/screen.jpg`. Nothing here sends a packet beyond loopback: Chromium runs with
//! background networking off and every host name mapped to "not found".

#![cfg(all(feature = "system", feature = "script"))]

mod util;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use health_core::{
    CollectError, Collector, Exposition, MetricDesc, Schedule, Scheduler, Snapshot, Unit,
    async_trait,
};
use health_script::{
    ApiResult, Display, PlayerFigures, PlayerState, ScreenFigures, ScriptHealth, StreamState,
    Thumbnail,
};
use health_server::config::{HealthConfig, Secret, VcgencmdSetting};
use health_server::{AppState, BearerAuth, Exporter, Inputs, router, serve};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use util::{Answer, get};

const LIVE_HEADLINE: &str = "Showing the live event";
const HTML: &str = "text/html; charset=utf-8";
const TOKEN: &str = "page-t0ken";

/// Where Debian's `chromium` package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long one Chromium run may take on a busy two-core machine before it is killed.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

fn pi5() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../health-system/fixtures/pi5")
}

/// Hardware on the Pi 5 fixture every second, network and stream off.
fn config() -> HealthConfig {
    let mut config = util::config();
    config.hardware.sysfs_root = pi5().join("sys");
    config.hardware.procfs_root = pi5().join("proc");
    config.hardware.vcgencmd = VcgencmdSetting::Off;
    config.script.interval = Duration::from_secs(1);
    config
}

/// A kiosk that shows the live event.
fn live_kiosk() -> ScriptHealth {
    let health = ScriptHealth::new(Duration::from_secs(60));
    health.api_request(ApiResult::Live, Duration::from_millis(180), Some(97));
    health.set_stream_state(StreamState::Live);
    health.set_player_state(PlayerState::Playing);
    health.set_display(Display::Stream);
    health.tick();
    health
}

async fn start(config: &HealthConfig, script: Option<ScriptHealth>) -> Exporter {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inputs = Inputs { script, ..Inputs::default() };
    Exporter::start_with(listener, config, inputs).unwrap()
}

/// When the test screenshots were taken: `Sun, 15 Jun 2025 15:06:40 GMT`.
fn taken() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// A 160×90 JPEG of one colour (`red`, `0x336699`), made by real ffmpeg.
async fn jpeg(colour: &str) -> Vec<u8> {
    let run = tokio::process::Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg(format!("color=c={colour}:s=160x90"))
        .args(["-frames:v", "1", "-c:v", "mjpeg", "-f", "image2pipe", "pipe:1"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("ffmpeg made one JPEG within 30 s")
        .expect("run ffmpeg (apt-get install ffmpeg)");
    assert!(output.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.stdout[..2], [0xff, 0xd8], "not a JPEG");
    output.stdout
}

/// GETs `/` until the page holds every one of `wanted` (the collectors have run), at most 15 s.
async fn page_with(addr: SocketAddr, token: Option<&str>, wanted: &[&str]) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = get(addr, "/", token).await;
        if answer.status == 200 && wanted.iter().all(|w| answer.body.contains(w)) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed {wanted:?}; last answer {}:\n{}",
            answer.status,
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the live kiosk on the Pi 5 fixture must show once both collectors have run.
const LIVE_PI5: &[&str] = &[
    LIVE_HEADLINE,
    "<td class=\"good\">51.5 °C</td>",
    "<th>Throttling now</th><td class=\"bad\">under-voltage, throttled</td>",
];

#[tokio::test]
async fn the_page_shows_a_live_kiosk_on_a_pi() {
    let exporter = start(&config(), Some(live_kiosk())).await;
    let answer = page_with(exporter.local_addr(), None, LIVE_PI5).await;
    assert_eq!(answer.headers["content-type"], HTML);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let csp = answer.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("img-src 'self';"), "{csp}");
    // Both hardware runs so far fed the history: the SoC temperature's sparkline is drawn.
    let answer = page_with(exporter.local_addr(), None, &["<svg class=\"spark\""]).await;
    let body = &answer.body;
    for expected in [
        "<!DOCTYPE html>",
        "<meta http-equiv=\"refresh\" content=\"5\">",
        "<header class=\"headline good\" id=\"headline\"><h1>Showing the live event</h1>",
        "<th>Player</th><td class=\"good\">playing</td>",
        "<th>Screen shows it</th><td class=\"good\">yes</td>",
        "<th>Vimeo API</th><td class=\"good\">answering; last answer ",
        "<th>Since boot</th><td class=\"warn\">under-voltage, throttled</td>",
        "Raspberry Pi 5",
        // Each collector by name in the collectors' table (one that is off says how to turn it
        // on), and the sections of those that are off.
        "<th>hardware</th>",
        "<th>script</th>",
        "<th>network</th><td class=\"plain\" colspan=\"5\">off (reachability and round trip",
        "<h2>Network</h2><p class=\"note\">not monitored: set HEALTH_NETWORK_ENABLED=true</p>",
        "<h2>Stream</h2><p class=\"note\">not monitored: set HEALTH_STREAM_ENABLED=true</p>",
        // No screenshot yet: a dash, and no image.
        "<th>Screenshot</th><td class=\"plain\">—</td>",
        "<th>last hour</th><td><svg class=\"spark\" width=\"120\" height=\"24\"",
        "aria-label=\"51.5 °C\">",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in\n{body}");
    }
    for absent in ["<script", "http://", "https://", "src=", "style="] {
        assert!(!body.contains(absent), "{absent:?} in\n{body}");
    }
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_bearer_token_guards_the_page() {
    let mut config = config();
    config.metrics.bearer_token = Some(Secret::new(TOKEN));
    let exporter = start(&config, Some(live_kiosk())).await;
    let addr = exporter.local_addr();
    for token in [None, Some("wrong"), Some("")] {
        let answer = get(addr, "/", token).await;
        assert_eq!(answer.status, 401, "with {token:?}");
        assert_eq!(answer.headers["www-authenticate"], "Bearer realm=\"vimeo-monitor\"");
        assert!(!answer.body.contains(TOKEN) && !answer.body.contains("<html"), "{}", answer.body);
    }
    let answer = page_with(addr, Some(TOKEN), &[LIVE_HEADLINE]).await;
    assert_eq!(answer.headers["content-type"], HTML);
    assert!(!answer.body.contains(TOKEN), "the token is on the page");
    assert_eq!(get(addr, "/healthz", None).await.status, 200);
    exporter.shutdown().await;
}

#[tokio::test]
async fn with_nothing_enabled_the_page_renders_and_says_not_monitored() {
    let mut config = config();
    config.hardware.enabled = false;
    let exporter = start(&config, None).await;
    let answer = get(exporter.local_addr(), "/", None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], HTML);
    let body = &answer.body;
    assert!(
        body.contains(
            "<header class=\"headline plain\" id=\"headline\"><h1>Kiosk not monitored</h1>"
        ),
        "{body}"
    );
    for section in ["Screen", "Raspberry Pi", "Network", "Stream", "Collectors"] {
        let note = format!("<h2>{section}</h2><p class=\"note\">not monitored: ");
        assert!(body.contains(&note), "missing {note:?} in\n{body}");
    }
    assert!(body.ends_with("</html>\n"));
    exporter.shutdown().await;
}

#[tokio::test]
async fn the_screenshot_is_served_behind_the_token_and_hidden_when_switched_off() {
    let mut config = config();
    config.metrics.bearer_token = Some(Secret::new(TOKEN));
    let kiosk = live_kiosk();
    let mut exporter = start(&config, Some(kiosk.clone())).await;
    let addr = exporter.local_addr();

    // Guarded like /metrics, before and after there is a picture.
    for token in [None, Some("wrong")] {
        let answer = get(addr, "/screen.jpg", token).await;
        assert_eq!(answer.status, 401, "with {token:?}");
        assert!(answer.headers.get("content-type").is_none_or(|t| t != "image/jpeg"));
    }
    let none = get(addr, "/screen.jpg", Some(TOKEN)).await;
    assert_eq!(
        (none.status.as_u16(), none.headers["content-type"].to_str().unwrap()),
        (404, "text/plain; charset=utf-8")
    );
    assert!(none.body.starts_with("no screenshot: the kiosk has not taken one"), "{}", none.body);

    let red = jpeg("red").await;
    kiosk.set_thumbnail(Some(Thumbnail::new(red.clone(), taken())));
    assert_eq!(get(addr, "/screen.jpg", None).await.status, 401);
    let shot = get(addr, "/screen.jpg", Some(TOKEN)).await;
    assert_eq!(shot.status, 200);
    assert_eq!(shot.bytes, red, "the bytes the kiosk set");
    assert_eq!(shot.headers["content-type"], "image/jpeg");
    assert_eq!(shot.headers["cache-control"], "no-store");
    assert_eq!(shot.headers["x-content-type-options"], "nosniff");
    assert_eq!(shot.headers["last-modified"], "Sun, 15 Jun 2025 15:06:40 GMT");
    let page = page_with(addr, Some(TOKEN), &[LIVE_HEADLINE]).await;
    assert!(
        page.body.contains("<tr><td colspan=\"2\" class=\"picture\"><img src=\"screen.jpg\" "),
        "{}",
        page.body
    );

    // HEALTH_SCREEN_THUMBNAIL=false on reload: gone from /screen.jpg and the page at once.
    let mut off = config.clone();
    off.screen.thumbnail = false;
    exporter.reload(&off).await.unwrap();
    let hidden = get(addr, "/screen.jpg", Some(TOKEN)).await;
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.body, "no screenshot: HEALTH_SCREEN_THUMBNAIL=false\n");
    assert_eq!(get(addr, "/screen.jpg", None).await.status, 401, "still guarded when off");
    let page = page_with(addr, Some(TOKEN), &[LIVE_HEADLINE]).await;
    assert!(!page.body.contains("<img") && !page.body.contains("screen.jpg"), "{}", page.body);
    assert!(page.body.contains(
        "<th>Screenshot</th><td class=\"plain\">not shown (HEALTH_SCREEN_THUMBNAIL=false)</td>"
    ));

    // And back on.
    exporter.reload(&config).await.unwrap();
    assert_eq!(get(addr, "/screen.jpg", Some(TOKEN)).await.bytes, red);
    exporter.shutdown().await;
}

#[tokio::test]
async fn with_the_thumbnail_off_from_the_start_there_is_no_picture() {
    let mut config = config();
    config.screen.thumbnail = false;
    let kiosk = live_kiosk();
    kiosk.set_thumbnail(Some(Thumbnail::new(jpeg("red").await, taken())));
    let exporter = start(&config, Some(kiosk)).await;
    let addr = exporter.local_addr();
    let answer = get(addr, "/screen.jpg", None).await;
    assert_eq!(answer.status, 404);
    assert!(answer.bytes.len() < 100 && answer.body.contains("HEALTH_SCREEN_THUMBNAIL=false"));
    let page = page_with(addr, None, &[LIVE_HEADLINE]).await;
    assert!(!page.body.contains("<img"), "{}", page.body);
    exporter.shutdown().await;
}

#[tokio::test]
async fn the_screen_card_reads_the_player_and_the_picture_the_kiosk_hands_over() {
    let kiosk = live_kiosk();
    kiosk.set_player_figures(PlayerFigures {
        frames_dropped_output: Some(12),
        frames_dropped_decoder: Some(3),
        buffering: Some(false),
        buffer_seconds: Some(8.5),
        hwdec: Some("drm".to_owned()),
        ..PlayerFigures::default()
    });
    kiosk.set_screen(Some(ScreenFigures { luma_ratio: 0.41, black: false, frozen_seconds: 0.0 }));
    let exporter = start(&config(), Some(kiosk.clone())).await;
    let addr = exporter.local_addr();
    // Each published figure reads on the page, and the buffer's sparkline is drawn from the
    // script collector's snapshots.
    let page = page_with(
        addr,
        None,
        &[
            "<th>Black</th><td class=\"good\">no (brightness 41 %)</td>",
            "<th>Frozen</th><td class=\"good\">no, the picture moves</td>",
            "<th>Decoding</th><td class=\"good\">in hardware (drm)</td>",
            "<th>Dropped frames</th><td class=\"",
            ">15 (output 12, decoder 3)",
            "<th>Buffer</th><td class=\"good\">8.5 s ahead</td>",
            "<svg class=\"spark\" width=\"120\" height=\"24\" viewBox=\"0 0 120 24\" \
             role=\"img\" aria-label=\"8.5 s\">",
        ],
    )
    .await;
    assert!(page.body.contains(LIVE_HEADLINE), "{}", page.body);

    // A black picture while the event is live turns the headline red.
    kiosk.set_screen(Some(ScreenFigures { luma_ratio: 0.01, black: true, frozen_seconds: 0.0 }));
    let page = page_with(addr, None, &["<h1>Live event: screen black</h1>"]).await;
    assert!(page.body.contains("<th>Black</th><td class=\"bad\">black (brightness 1 %)</td>"));
    exporter.shutdown().await;
}

/// A stand-in for the hardware collector whose figures and error carry markup and a signed URL.
#[derive(Debug)]
struct Hostile;

const PI_INFO: MetricDesc =
    MetricDesc::gauge("pi_info", Unit::Info, "The board model.").labels(&["model"]);

#[async_trait]
impl Collector for Hostile {
    fn name(&self) -> &str {
        "hardware"
    }

    fn describe(&self) -> Vec<MetricDesc> {
        vec![PI_INFO]
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(Duration::from_secs(1))
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let mut snapshot = Snapshot::new();
        snapshot.gauge_with(
            "pi_info",
            vec![("model", "<script>alert(\"pi\")</script>".into())],
            1.0,
        );
        snapshot.problem(
            "<img src=x onerror=alert(1)> at https://user:pw@cdn.example/live.m3u8?token=s3cret&x='1'",
        );
        Ok(snapshot)
    }
}

#[tokio::test]
async fn text_from_the_metrics_is_escaped_and_urls_lose_their_secrets() {
    let exposition = Exposition::default();
    let scheduler = Scheduler::builder(exposition.clone()).start(vec![Box::new(Hostile)]).unwrap();
    let state = AppState::new(exposition, scheduler.status(), BearerAuth::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        router(state),
        stop.clone().cancelled_owned(),
        Duration::from_millis(200),
        health_core::ConnectionCounters::default(),
    ));

    let answer = page_with(addr, None, &["<td class=\"bad\">error</td>"]).await;
    let body = &answer.body;
    for expected in [
        "<td class=\"plain\">&lt;script&gt;alert(&quot;pi&quot;)&lt;/script&gt;</td>",
        "&lt;img src=x onerror=alert(1)&gt; at https://cdn.example/live.m3u8",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in\n{body}");
    }
    for leaked in ["<script", "<img", "s3cret", "token=", "pw@", "user:"] {
        assert!(!body.contains(leaked), "{leaked:?} in\n{body}");
    }
    stop.cancel();
    server.await.unwrap();
    scheduler.shutdown(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn headless_chromium_renders_the_live_page() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} not found: this test renders the status page in headless Chromium; install it \
         with `apt-get install chromium` (scripts/setup and CI do)"
    );
    // A pure red screenshot: if the policy or the relative address were wrong, no red.
    let kiosk = live_kiosk();
    kiosk.set_thumbnail(Some(Thumbnail::new(jpeg("red").await, SystemTime::now())));
    let exporter = start(&config(), Some(kiosk)).await;
    let addr = exporter.local_addr();
    page_with(addr, None, LIVE_PI5).await;

    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("shot.png");
    let started = Instant::now();
    let run = chromium(dir.path(), &shot, &format!("http://{addr}/")).await;
    let took = started.elapsed();
    eprintln!("chromium: screenshot and DOM of the status page in {took:?}");
    exporter.shutdown().await;

    assert!(run.success, "chromium failed; its stderr:\n{}", run.stderr);
    assert!(
        run.dom.contains(LIVE_HEADLINE) && run.dom.contains("51.5 °C"),
        "the rendered DOM lacks the live headline or the temperature:\n{}\nstderr:\n{}",
        run.dom,
        run.stderr
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!("no screenshot at {}: {e}; chromium's stderr:\n{}", shot.display(), run.stderr)
    });
    if let Some(copy) = std::env::var_os("HEALTH_TEST_SCREENSHOT") {
        std::fs::write(&copy, &png).unwrap();
    }
    let (width, height, colours) = colour_histogram(&png);
    assert_eq!((width, height), (1024, 768));
    let pixels = u64::from(width * height);
    let (commonest, most) = colours.iter().max_by_key(|(_, n)| **n).map(|(c, n)| (*c, *n)).unwrap();
    assert!(colours.len() >= 32, "only {} colours: is the page blank?", colours.len());
    assert!(most * 10 < pixels * 9, "{commonest:?} covers {most} of {pixels} pixels: blank page?");
    // The headline's green band (#1a7f37, header.good in style.css) is on screen, not just in text.
    let green = colours.get(&[0x1a, 0x7f, 0x37]).copied().unwrap_or(0);
    assert!(green > 20_000, "only {green} pixels of the live headline's green");
    // The 160×90 screenshot is on screen (JPEG's red is near, not exactly, #ff0000).
    let red: u64 = colours
        .iter()
        .filter(|([r, g, b], _)| *r > 200 && *g < 60 && *b < 60)
        .map(|(_, n)| *n)
        .sum();
    assert!(red > 10_000, "only {red} red pixels: the screenshot did not load");
    assert!(run.dom.contains("<img src=\"screen.jpg\""), "{}", run.dom);
}

/// What one Chromium run gave.
struct Run {
    success: bool,
    dom: String,
    stderr: String,
}

/// Runs headless Chromium on `url` once: a 1024×768 screenshot to `shot` and the DOM on stdout.
/// Killed (its whole process group) and reaped after [`CHROMIUM_TIMEOUT`].
async fn chromium(dir: &Path, shot: &Path, url: &str) -> Run {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;

    let mut command = tokio::process::Command::new(CHROMIUM);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-quic",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-breakpad",
            "--disable-client-side-phishing-detection",
            "--dns-prefetch-disable",
            "--no-pings",
            "--no-proxy-server",
            // No name resolves: only the loopback address literal below can be reached.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--force-color-profile=srgb",
            "--hide-scrollbars",
            "--window-size=1024,768",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .current_dir(dir)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start chromium");
    let group = Pid::from_raw(child.id().expect("running") as i32);
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = tokio::time::timeout(CHROMIUM_TIMEOUT, child.wait()).await;
    // Its helpers (zygote, renderer) may outlive it: end the whole group, then reap.
    let _ = killpg(group, Signal::SIGKILL);
    let status = match status {
        Ok(status) => status.expect("wait for chromium"),
        Err(_) => {
            let _ = child.wait().await;
            let stderr = stderr.await.unwrap_or_default();
            panic!("chromium took more than {CHROMIUM_TIMEOUT:?}; killed. Its stderr:\n{stderr}");
        }
    };
    let dom = stdout.await.unwrap_or_default();
    let stderr = stderr.await.unwrap_or_default();
    Run { success: status.success(), dom, stderr }
}

/// Reads a pipe to its end in a task of its own, so that a chatty child never blocks on it.
fn drain(
    mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut bytes = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), pipe.read_to_end(&mut bytes)).await;
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Width, height and how many pixels have each RGB colour.
fn colour_histogram(png: &[u8]) -> (u32, u32, HashMap<[u8; 3], u64>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a sane size")];
    let frame = reader.next_frame(&mut buffer).expect("one frame");
    let channels = frame.color_type.samples();
    assert!(channels >= 3, "expected colour, got {:?}", frame.color_type);
    let mut colours = HashMap::new();
    for pixel in buffer[..frame.buffer_size()].chunks_exact(channels) {
        *colours.entry([pixel[0], pixel[1], pixel[2]]).or_insert(0) += 1;
    }
    (frame.width, frame.height, colours)
}
