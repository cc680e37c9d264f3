//! The kiosk binary itself (issue 6), against the fake Vimeo API of the integration tests and a
//! real live stream: `ffmpeg -re` writing 1-second HLS segments (320x240, 25 fps, aac), served on
//! 127.0.0.1. mpv runs headless (`PLAYER_ARGS=--no-config --vo=null --ao=null`) and the API is
//! checked every second (`CHECK_INTERVAL=1`).
//!
//! - Resident memory of the kiosk process (`VmRSS`, and its peak `VmHWM`, from
//!   `/proc/PID/status`) with health monitoring off and on, after ~8 s of the holding image and
//!   after ~8 s of the live stream. mpv is a process of its own, so it is excluded by
//!   construction; its `VmRSS` is printed for information. With health on, the exporter runs the
//!   hardware, stream and script collectors (network off) and `/metrics` is scraped every 2 s.
//!   Target: at most 15 MB with health on.
//! - Live latency: with the holding image on screen, the fake switches to "live"; the first
//!   request it serves after the switch is the API's answer of "live", and the figure is the time
//!   from that request to mpv's `playback-restart` event for the stream, seen on an IPC
//!   connection of this bench's own to mpv's socket. Then back to "not started" until the holding
//!   image shows again, [`ROUNDS`] times. Target: at most 2 s locally. The figure includes the
//!   kiosk's reaction and mpv opening the live playlist and its first segments; it is split at
//!   mpv's `start-file` (the kiosk's share before, mpv's after). The time from the switch itself
//!   is printed too: it adds the wait for the kiosk's next check (the switch falls at a random
//!   point of the 1 s interval).
//!
//! The kiosk's stderr (`LOG_LEVEL=warn`) is printed at the end of each run.
//!
//! Run with `cargo bench -p vimeo-monitor --bench kiosk`. Only 127.0.0.1 is contacted. Figures are
//! printed; nothing about them is asserted.

#[path = "../../health-stream/tests/support/mod.rs"]
mod hls;
#[path = "../tests/support/vimeo_api.rs"]
mod vimeo_api;

use std::collections::VecDeque;
use std::net::TcpListener as StdTcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use health_core::testing::bench::{self, Durations, ms};
use hls::{EncoderOptions, HlsServer, LiveEncoder};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vimeo_api::{Reply, VimeoApi};

/// How long each memory phase (holding image, live stream) lasts before the reading.
const SETTLE: Duration = Duration::from_secs(8);
/// Time between `/metrics` scrapes while health monitoring is on.
const SCRAPE_EVERY: Duration = Duration::from_secs(2);
/// Live-latency rounds per kiosk.
const ROUNDS: usize = 10;
/// A round whose switch cannot be told apart from a request is dropped; at most this many tries.
const MAX_TRIES: usize = ROUNDS + 5;
/// The longest wait for mpv to show what the API says.
const SHOW_WITHIN: Duration = Duration::from_secs(20);
/// The longest wait for the kiosk to stop after SIGTERM (it promises 5 s).
const STOP_WITHIN: Duration = Duration::from_secs(10);

fn main() {
    bench::run("cargo bench -p vimeo-monitor --bench kiosk", bench);
}

async fn bench() {
    let started = Instant::now();
    let setup = Setup::start().await;
    println!("kiosk: {}", env!("CARGO_BIN_EXE_vimeo-monitor"));
    println!(
        "live stream: ffmpeg -re 320x240 25 fps + aac, 1 s segments, served on {}",
        setup.stream_url
    );
    println!("player: {}", mpv_version());

    let off = run_kiosk(&setup, false).await;
    let on = run_kiosk(&setup, true).await;

    println!(
        "ratio on/off                 VmRSS holding {:.2}, live {:.2}; VmHWM of the run {:.2}",
        on.holding.rss_kib as f64 / off.holding.rss_kib as f64,
        on.live.rss_kib as f64 / off.live.rss_kib as f64,
        on.end.hwm_kib as f64 / off.end.hwm_kib as f64,
    );
    println!(
        "target                       health-on VmHWM {} (<= 15 MB); health-off live latency \
         median {} (<= 2 s)",
        mb(on.end.hwm_kib),
        ms(off.latency.at(0.5)),
    );
    println!("bench time                   {:.1} s", started.elapsed().as_secs_f64());
}

/// What one kiosk run measured.
struct Figures {
    holding: Memory,
    live: Memory,
    /// After the latency rounds, with the peak of the whole run.
    end: Memory,
    latency: Durations,
}

/// Starts the kiosk, takes its memory with the holding image and with the stream, measures the
/// live latency, and stops it.
async fn run_kiosk(setup: &Setup, health: bool) -> Figures {
    let name = if health { "health on " } else { "health off" };
    setup.api.set(Reply::NotStarted);
    let kiosk = Kiosk::start(setup, health);
    let mut ipc = kiosk.connect().await;
    let holding = setup.holding.to_str().expect("a UTF-8 path");
    ipc.wait_until_showing(holding, &kiosk).await;
    let mut scrapes = Vec::new();

    settle(&kiosk, &mut scrapes).await;
    let holding_memory = kiosk.memory();
    let mpv = kiosk.mpv_memory();
    println!("{name}  holding image  {holding_memory}  (mpv VmRSS {})", mpv_rss(mpv));

    setup.api.set(Reply::Live { url: setup.stream_url.clone() });
    ipc.wait_until_showing(&setup.stream_url, &kiosk).await;
    settle(&kiosk, &mut scrapes).await;
    let live_memory = kiosk.memory();
    let mpv = kiosk.mpv_memory();
    println!("{name}  live stream    {live_memory}  (mpv VmRSS {})", mpv_rss(mpv));
    if health {
        let (bytes, samples) = scrapes.last().map_or((0, 0), |s: &Scrape| (s.bytes, s.samples));
        let times = Durations::of(scrapes.iter().map(|s| s.took).collect());
        println!(
            "{name}  /metrics       median {}  max {}  ({} scrapes; the last {bytes} bytes, \
             {samples} samples)",
            ms(times.at(0.5)),
            ms(times.max()),
            scrapes.len(),
        );
    }

    setup.api.set(Reply::NotStarted);
    ipc.wait_until_showing(holding, &kiosk).await;
    let mut rounds = Vec::with_capacity(ROUNDS);
    let mut tries = 0;
    while rounds.len() < ROUNDS && tries < MAX_TRIES {
        tries += 1;
        if let Some(round) = live_round(setup, &mut ipc, &kiosk).await {
            rounds.push(round);
        }
    }
    let latency = Durations::of(rounds.iter().map(|r| r.restart - r.answer).collect());
    let kiosk_part = Durations::of(rounds.iter().map(|r| r.start_file - r.answer).collect());
    let mpv_part = Durations::of(rounds.iter().map(|r| r.restart - r.start_file).collect());
    let from_switch = Durations::of(rounds.iter().map(|r| r.restart - r.switch).collect());
    println!(
        "{name}  live latency   median {}  min {}  max {}  ({} rounds; API answer \"live\" -> \
         mpv playback-restart)",
        ms(latency.at(0.5)),
        ms(latency.min()),
        ms(latency.max()),
        latency.len(),
    );
    println!(
        "{name}    of which     kiosk (answer -> mpv start-file) median {}  max {}; mpv \
         (start-file -> playback-restart) median {}  max {}",
        ms(kiosk_part.at(0.5)),
        ms(kiosk_part.max()),
        ms(mpv_part.at(0.5)),
        ms(mpv_part.max()),
    );
    println!(
        "{name}  from switch    median {}  max {}  (fake switched to live -> playback-restart; \
         adds the wait for the next check: 0-1 s, switched at random)",
        ms(from_switch.at(0.5)),
        ms(from_switch.max()),
    );
    let end = kiosk.memory();
    println!("{name}  after rounds   {end}");

    drop(ipc);
    let (stopped, kiosk_stderr) = kiosk.stop().await;
    println!("{name}  stop (SIGTERM) {}, mpv gone with it", ms(stopped));
    let stderr = kiosk_stderr;
    println!("{name}  kiosk stderr   {} lines", stderr.lines().count());
    for line in stderr.lines() {
        println!("    {line}");
    }
    Figures { holding: holding_memory, live: live_memory, end, latency }
}

/// Waits [`SETTLE`], scraping `/metrics` every [`SCRAPE_EVERY`] when health monitoring is on.
async fn settle(kiosk: &Kiosk, scrapes: &mut Vec<Scrape>) {
    let until = tokio::time::Instant::now() + SETTLE;
    match &kiosk.metrics {
        None => tokio::time::sleep_until(until).await,
        Some(url) => {
            let client = reqwest::Client::new();
            while tokio::time::Instant::now() + SCRAPE_EVERY <= until {
                tokio::time::sleep(SCRAPE_EVERY).await;
                scrapes.push(scrape(&client, url).await);
            }
            tokio::time::sleep_until(until).await;
        }
    }
    kiosk.assert_running();
}

/// When things happened in one live-latency round.
struct Round {
    /// The fake was switched to "live".
    switch: Instant,
    /// It received the first request after the switch: the API's answer of "live".
    answer: Instant,
    /// mpv's `start-file` for the stream arrived: the kiosk has loaded it.
    start_file: Instant,
    /// mpv's `playback-restart` for the stream arrived: it plays.
    restart: Instant,
}

/// One round: "live", measured to the stream's `playback-restart`; then "not started" until the
/// holding image is back. `None` when a request arrived during the switch itself, so that which
/// answer it got is unknown.
async fn live_round(setup: &Setup, ipc: &mut Ipc, kiosk: &Kiosk) -> Option<Round> {
    // The holding image came right after a check: switch at a random point of the check interval.
    tokio::time::sleep(Duration::from_millis(fastrand::u64(0..1000))).await;
    ipc.drain();
    let before = Instant::now();
    setup.api.set(Reply::Live { url: setup.stream_url.clone() });
    let switch = Instant::now();
    let (start_file, restart) = ipc.wait_for_restart_of(&setup.stream_url, kiosk).await;
    let times = setup.api.request_times();
    setup.api.set(Reply::NotStarted);
    ipc.wait_for_restart_of(setup.holding.to_str().expect("a UTF-8 path"), kiosk).await;
    if times.iter().any(|at| *at >= before && *at < switch) {
        return None;
    }
    let answer = times.iter().copied().find(|at| *at >= switch);
    let answer = answer.expect("the kiosk asked the API before showing the stream");
    assert!(answer <= start_file, "mpv started the stream before the API said live");
    Some(Round { switch, answer, start_file, restart })
}

/// The fake API, the live stream and the images, shared by both kiosk runs.
struct Setup {
    api: VimeoApi,
    stream_url: String,
    holding: PathBuf,
    error: PathBuf,
    _server: HlsServer,
    _encoder: LiveEncoder,
    _stream_dir: TempDir,
    _images: TempDir,
}

impl Setup {
    async fn start() -> Setup {
        let images = tempfile::tempdir().expect("a temporary directory");
        let holding = image(images.path(), "holding.png", "blue");
        let error = image(images.path(), "error.png", "red");
        let stream_dir = tempfile::tempdir().expect("a temporary directory");
        let encoder = LiveEncoder::start(stream_dir.path(), EncoderOptions::default());
        encoder.wait_for_segments(4, Duration::from_secs(30)).await;
        let server = HlsServer::start(stream_dir.path().to_owned()).await;
        let stream_url = server.url("live.m3u8");
        let api = VimeoApi::start().await;
        Setup {
            api,
            stream_url,
            holding,
            error,
            _server: server,
            _encoder: encoder,
            _stream_dir: stream_dir,
            _images: images,
        }
    }
}

/// A 320x240 PNG of one colour, made by ffmpeg.
fn image(dir: &Path, name: &str, color: &str) -> PathBuf {
    let path = dir.join(name);
    let output = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("color=c={color}:s=320x240"))
        .args(["-frames:v", "1"])
        .arg(&path)
        .output()
        .expect("run ffmpeg");
    assert!(output.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&output.stderr));
    path
}

/// `mpv --version`'s first line.
fn mpv_version() -> String {
    std::process::Command::new("mpv")
        .arg("--version")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "mpv (version unknown)".to_owned())
}

/// The real kiosk binary as a child of this bench.
struct Kiosk {
    child: Child,
    pid: u32,
    /// `/metrics` when health monitoring is on.
    metrics: Option<String>,
    /// The working directory (no `.env` in it) and the kiosk's stderr.
    work: TempDir,
    runtime_dir: PathBuf,
}

impl Kiosk {
    fn start(setup: &Setup, health: bool) -> Kiosk {
        let work = tempfile::Builder::new().prefix("vm").tempdir().expect("a temporary directory");
        let runtime_dir = work.path().join("run");
        let log = std::fs::File::create(work.path().join("stderr.log")).expect("a log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_vimeo-monitor"));
        command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command.envs([
            ("VIMEO_API_URL", setup.api.url().as_str()),
            ("VIMEO_LIVE_EVENT_ID", vimeo_api::EVENT_ID),
            ("VIMEO_TOKEN", vimeo_api::TOKEN),
            ("PLAYER_ARGS", "--no-config --vo=null --ao=null"),
            ("CHECK_INTERVAL", "1"),
            ("API_TIMEOUT", "1"),
            ("LOG_LEVEL", "warn"),
        ]);
        command.env("HOLDING_IMAGE", &setup.holding).env("ERROR_IMAGE", &setup.error);
        command.env("RUNTIME_DIR", &runtime_dir);
        let metrics = health.then(|| {
            let port = free_port();
            command.envs([
                ("HEALTH_MONITORING_ENABLED", "true"),
                ("HEALTH_METRICS_HOST", "127.0.0.1"),
                ("HEALTH_METRICS_PORT", &port.to_string()),
                ("HEALTH_NETWORK_ENABLED", "false"),
            ]);
            format!("http://127.0.0.1:{port}/metrics")
        });
        command.current_dir(work.path()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        let child = command.kill_on_drop(true).spawn().expect("start the kiosk");
        let pid = child.id().expect("the kiosk's pid");
        Kiosk { child, pid, metrics, work, runtime_dir }
    }

    /// What the kiosk wrote to stderr (warnings and errors only).
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.work.path().join("stderr.log")).unwrap_or_default()
    }

    /// Panics, with the kiosk's stderr, if it has exited.
    fn assert_running(&self) {
        assert!(alive(self.pid), "the kiosk exited; its stderr:\n{}", self.stderr());
    }

    /// Connects to mpv's socket once the kiosk has started mpv.
    async fn connect(&self) -> Ipc {
        let socket = self.runtime_dir.join("mpv.sock");
        let deadline = Instant::now() + SHOW_WITHIN;
        loop {
            if let Ok(stream) = UnixStream::connect(&socket).await {
                return Ipc::new(stream);
            }
            self.assert_running();
            assert!(Instant::now() < deadline, "no mpv socket; kiosk stderr:\n{}", self.stderr());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn memory(&self) -> Memory {
        Memory::of(self.pid).unwrap_or_else(|| panic!("the kiosk is gone:\n{}", self.stderr()))
    }

    fn mpv_memory(&self) -> Option<Memory> {
        mpv_pid(self.pid).and_then(Memory::of)
    }

    /// SIGTERM, then waits for the kiosk to exit and checks that its mpv went with it; the time it
    /// took, and the kiosk's stderr.
    async fn stop(mut self) -> (Duration, String) {
        let mpv = mpv_pid(self.pid);
        let start = Instant::now();
        signal(self.pid, Signal::SIGTERM);
        let status = tokio::time::timeout(STOP_WITHIN, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the kiosk did not stop; stderr:\n{}", self.stderr()))
            .expect("wait for the kiosk");
        let took = start.elapsed();
        assert!(status.success(), "the kiosk exited with {status}; stderr:\n{}", self.stderr());
        if let Some(mpv) = mpv {
            let gone = Instant::now() + Duration::from_secs(2);
            while alive(mpv) && Instant::now() < gone {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if alive(mpv) {
                signal(mpv, Signal::SIGKILL);
                panic!("mpv (pid {mpv}) outlived the kiosk");
            }
        }
        (took, self.stderr())
    }
}

impl Drop for Kiosk {
    /// On a panic: SIGTERM so that the kiosk stops its mpv, and SIGKILL both if that fails
    /// (`kill_on_drop` kills the kiosk itself).
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let mpv = mpv_pid(self.pid);
        signal(self.pid, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_WITHIN;
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(mpv) = mpv.filter(|mpv| alive(*mpv)) {
            signal(mpv, Signal::SIGKILL);
        }
    }
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
}

fn signal(pid: u32, signal: Signal) {
    let pid = Pid::from_raw(i32::try_from(pid).expect("a pid fits in i32"));
    let _ = kill(pid, signal);
}

/// The `mpv` child of process `parent`.
fn mpv_pid(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.filter_map(Result::ok).find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (comm, rest) = stat.split_once(" (")?.1.rsplit_once(')')?;
        let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent && comm == "mpv").then_some(pid)
    })
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a local address").port()
}

/// Resident memory of one process, in KiB.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss_kib: u64,
    hwm_kib: u64,
}

impl Memory {
    /// `VmRSS` and `VmHWM` of `/proc/PID/status`; `None` if the process is gone.
    fn of(pid: u32) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(Memory { rss_kib: field("VmRSS:")?, hwm_kib: field("VmHWM:")? })
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kiosk VmRSS {}  VmHWM {}", mb(self.rss_kib), mb(self.hwm_kib))
    }
}

fn mpv_rss(memory: Option<Memory>) -> String {
    memory.map_or_else(|| "?".to_owned(), |memory| mb(memory.rss_kib))
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

/// One `/metrics` scrape.
struct Scrape {
    took: Duration,
    bytes: usize,
    samples: usize,
}

async fn scrape(client: &reqwest::Client, url: &str) -> Scrape {
    let start = Instant::now();
    let response = client.get(url).send().await.expect("GET /metrics");
    assert!(response.status().is_success(), "GET /metrics: {}", response.status());
    let body = response.text().await.expect("the /metrics body");
    let took = start.elapsed();
    assert!(body.contains("vimeo_monitor_script_healthy"), "no script collector in:\n{body}");
    let samples = body.lines().filter(|line| !line.is_empty() && !line.starts_with('#')).count();
    Scrape { took, bytes: body.len(), samples }
}

/// Our own connection to mpv's IPC socket: mpv sends every event to every client, and answers
/// our requests on it.
struct Ipc {
    writer: OwnedWriteHalf,
    lines: mpsc::UnboundedReceiver<(Instant, Value)>,
    /// Events that arrived while a reply was awaited.
    pending: VecDeque<(Instant, Value)>,
    next_id: u64,
    reader: JoinHandle<()>,
}

impl Ipc {
    fn new(stream: UnixStream) -> Ipc {
        let (read, writer) = stream.into_split();
        let (tx, lines) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut read = BufReader::new(read).lines();
            while let Ok(Some(line)) = read.next_line().await {
                let at = Instant::now();
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && tx.send((at, value)).is_err()
                {
                    return;
                }
            }
        });
        Ipc { writer, lines, pending: VecDeque::new(), next_id: 1, reader }
    }

    /// Forgets the events received so far.
    fn drain(&mut self) {
        self.pending.clear();
        while self.lines.try_recv().is_ok() {}
    }

    /// The next event (replies to others' requests are not sent to us), when it arrived.
    async fn next_event(&mut self, kiosk: &Kiosk) -> (Instant, Value) {
        if let Some(event) = self.pending.pop_front() {
            return event;
        }
        loop {
            match tokio::time::timeout(SHOW_WITHIN, self.lines.recv()).await {
                Ok(Some((at, value))) if value.get("event").is_some() => return (at, value),
                Ok(Some(_)) => {}
                Ok(None) => panic!("mpv closed the IPC socket; kiosk stderr:\n{}", kiosk.stderr()),
                Err(_) => panic!("no mpv event for {SHOW_WITHIN:?}; stderr:\n{}", kiosk.stderr()),
            }
        }
    }

    /// mpv's `path` property: what it has loaded.
    async fn path(&mut self, kiosk: &Kiosk) -> Option<String> {
        self.property("path", kiosk).await.and_then(|path| path.as_str().map(str::to_owned))
    }

    /// When the first `playback-restart` from now on arrived while mpv had `target` loaded, and
    /// the `start-file` before it.
    async fn wait_for_restart_of(&mut self, target: &str, kiosk: &Kiosk) -> (Instant, Instant) {
        let deadline = Instant::now() + SHOW_WITHIN;
        let mut start_file = None;
        loop {
            let (at, event) = self.next_event(kiosk).await;
            if event["event"] == "start-file" {
                start_file = Some(at);
            }
            if event["event"] == "playback-restart"
                && self.path(kiosk).await.as_deref() == Some(target)
            {
                return (start_file.expect("mpv's start-file before its playback-restart"), at);
            }
            assert!(
                Instant::now() < deadline,
                "mpv did not start {} within {SHOW_WITHIN:?}; kiosk stderr:\n{}",
                without_query(target),
                kiosk.stderr()
            );
        }
    }

    /// Waits until mpv has `target` loaded and playing (it may be already).
    async fn wait_until_showing(&mut self, target: &str, kiosk: &Kiosk) {
        let deadline = Instant::now() + SHOW_WITHIN;
        loop {
            if self.path(kiosk).await.as_deref() == Some(target) {
                let playing = self.property("playback-time", kiosk).await.is_some();
                if playing {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "mpv did not show {} within {SHOW_WITHIN:?}; kiosk stderr:\n{}",
                without_query(target),
                kiosk.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Any property, `None` when mpv has none (unavailable).
    async fn property(&mut self, name: &str, kiosk: &Kiosk) -> Option<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request =
            json!({ "command": ["get_property", name], "request_id": id }).to_string();
        request.push('\n');
        self.writer.write_all(request.as_bytes()).await.expect("write to mpv's socket");
        loop {
            match tokio::time::timeout(SHOW_WITHIN, self.lines.recv()).await {
                Ok(Some((_, value))) if value.get("request_id") == Some(&json!(id)) => {
                    return (value["error"] == "success").then(|| value["data"].clone());
                }
                Ok(Some(event)) => {
                    if event.1.get("event").is_some() {
                        self.pending.push_back(event);
                    }
                }
                Ok(None) => panic!("mpv closed the IPC socket; kiosk stderr:\n{}", kiosk.stderr()),
                Err(_) => panic!("mpv did not answer; kiosk stderr:\n{}", kiosk.stderr()),
            }
        }
    }
}

impl Drop for Ipc {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A target without its query string, for messages.
fn without_query(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}
