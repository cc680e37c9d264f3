//! The real `vimeo-monitor` binary as a child of a test, and what a test looks at from outside:
//! its mpv over the IPC socket, its processes in `/proc`, its `/metrics` and `/status`, its
//! listening sockets and its stderr.
//!
//! A [`Kiosk`] starts with an empty environment (`env_clear`, then `PATH` and the settings),
//! in a private working directory (no stray `.env`) whose short path also holds `RUNTIME_DIR`,
//! and writes its stderr to a file there. Dropping it stops the kiosk (SIGTERM, then SIGKILL)
//! and SIGKILLs any process of its tree still alive, so no mpv, ffprobe or kiosk outlives a test;
//! it prints the kiosk's log when the test fails, or always with `KIOSK_LOG=1` in the
//! environment.
//!
//! Include it with `#[path = "support/kiosk.rs"] mod kiosk;` beside `vimeo_api`, `media` and the
//! health-stream support as `hls`.
// Each test uses a subset, and the items are `pub` so that tests read them as an API.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};

use crate::hls::{EncoderOptions, HlsServer, LiveEncoder, Picture};
use crate::media::Media;
use crate::vimeo_api::{self, VimeoApi};

/// The query string of every playback URL the fake hands out: a signature that must never be
/// seen outside mpv's `path` (argv, logs, `/metrics`, `/status`).
pub const SIG: &str = "CANARY-SIG";
/// How often the wait helpers look again.
pub const POLL: Duration = Duration::from_millis(20);
/// How long one IPC request of ours to mpv may take.
const IPC_WAIT: Duration = Duration::from_secs(1);
/// How long an HTTP request of ours to the exporter may take.
const HTTP_WAIT: Duration = Duration::from_secs(5);
/// How long [`Kiosk`]'s drop waits for a SIGTERM to work before SIGKILL.
const DROP_WAIT: Duration = Duration::from_secs(6);

/// The holding and error images, made once per test by ffmpeg.
pub struct Images {
    /// Blue.
    pub holding: PathBuf,
    /// Red.
    pub error: PathBuf,
    _media: Media,
}

impl Images {
    /// Two 320x240 PNGs in a temporary directory.
    pub fn new() -> Images {
        let media = Media::new();
        let holding = media.image("holding.png", "blue");
        let error = media.image("error.png", "red");
        Images { holding, error, _media: media }
    }

    /// The holding image's path as mpv reports it.
    pub fn holding(&self) -> &str {
        self.holding.to_str().expect("a UTF-8 path")
    }

    /// The error image's path as mpv reports it.
    pub fn error(&self) -> &str {
        self.error.to_str().expect("a UTF-8 path")
    }
}

/// A real live HLS stream: `ffmpeg -re` writing 1 s segments, served on 127.0.0.1.
pub struct Stream {
    encoder: LiveEncoder,
    server: HlsServer,
    _dir: TempDir,
}

impl Stream {
    /// Starts the encoder and the server, and waits for three segments.
    pub async fn start() -> Stream {
        Stream::showing(Picture::Moving).await
    }

    /// [`start`](Self::start), with this picture.
    pub async fn showing(picture: Picture) -> Stream {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let encoder =
            LiveEncoder::start(dir.path(), EncoderOptions { picture, ..EncoderOptions::default() });
        encoder.wait_for_segments(3, Duration::from_secs(30)).await;
        let server = HlsServer::start(dir.path().to_owned()).await;
        Stream { encoder, server, _dir: dir }
    }

    /// The signed-looking playback URL: `http://127.0.0.1:PORT/live.m3u8?sig=CANARY-SIG-...`.
    /// The server ignores the query string.
    pub fn url(&self) -> String {
        format!("{}?sig={SIG}-{}&exp=1795932720", self.server.url("live.m3u8"), self.encoder.pid())
    }

    /// The server, to throttle or hang what it serves.
    pub fn server(&self) -> &HlsServer {
        &self.server
    }

    /// Kills the encoder (SIGKILL): the playlist stops gaining segments, no ENDLIST is written.
    pub fn kill_encoder(&mut self) {
        self.encoder.kill();
    }

    /// Requests for the playlist (`live.m3u8`) get `status` from now on: gone (404), a
    /// signature refused (403).
    pub fn refuse_playlist(&self, status: u16) {
        self.server.answer_status("live.m3u8", status);
    }

    /// Requests for the playlist are accepted and never answered from now on.
    pub fn hang_playlist(&self) {
        self.server.hang("live.m3u8");
    }

    /// The playlist is served again.
    pub fn serve_playlist(&self) {
        self.server.clear_rules();
    }

    /// How many requests for the playlist the server has had.
    pub fn playlist_requests(&self) -> usize {
        self.server.requests("live.m3u8")
    }
}

/// What most tests start from: the images, a live stream and the fake Vimeo API.
pub struct Scene {
    /// The holding and error images.
    pub images: Images,
    /// The live stream.
    pub stream: Stream,
    /// Its signed-looking playback URL.
    pub url: String,
    /// The fake API; it answers "not started" until told otherwise.
    pub api: VimeoApi,
}

impl Scene {
    /// Images, a stream with three segments, and the API.
    pub async fn new() -> Scene {
        let images = Images::new();
        let stream = Stream::start().await;
        let url = stream.url();
        let api = VimeoApi::start().await;
        Scene { images, stream, url, api }
    }

    /// The fast test settings against this scene's API and images.
    pub fn settings(&self) -> Settings {
        Settings::new(&self.api, &self.images)
    }

    /// Has the API answer "live" with the stream's URL, starts a kiosk with `settings` and
    /// waits (at most `within`) until it plays the stream.
    pub async fn playing(&self, settings: &Settings, within: Duration) -> Kiosk {
        self.api.set(vimeo_api::Reply::Live { url: self.url.clone() });
        let kiosk = Kiosk::start(settings);
        kiosk.wait_until_playing(&self.url, within).await;
        kiosk
    }
}

/// The kiosk's settings, as environment variables.
#[derive(Debug, Clone)]
pub struct Settings {
    vars: BTreeMap<String, String>,
}

impl Settings {
    /// A fast kiosk against `api`: checks every second, headless mpv, no network collector ever,
    /// health monitoring off.
    pub fn new(api: &VimeoApi, images: &Images) -> Settings {
        let mut settings = Settings { vars: BTreeMap::new() };
        for (key, value) in [
            ("VIMEO_API_URL", api.url().as_str()),
            ("VIMEO_LIVE_EVENT_ID", vimeo_api::EVENT_ID),
            ("VIMEO_TOKEN", vimeo_api::TOKEN),
            ("HOLDING_IMAGE", images.holding()),
            ("ERROR_IMAGE", images.error()),
            ("PLAYER_ARGS", "--no-config --vo=null --ao=null"),
            ("CHECK_INTERVAL", "1"),
            ("API_TIMEOUT", "1"),
            ("MAX_RETRIES", "0"),
            ("ERROR_THRESHOLD", "2"),
            ("PLAYER_IPC_TIMEOUT", "1"),
            ("PLAYER_STALL_TIMEOUT", "4"),
            ("LOG_LEVEL", "debug"),
            ("HEALTH_NETWORK_ENABLED", "false"),
        ] {
            settings = settings.set(key, value);
        }
        settings
    }

    /// Health monitoring on, `/metrics` on 127.0.0.1:`port`: the stream and script collectors
    /// every second or two, the hardware collector off.
    pub fn health(self, port: u16) -> Settings {
        self.set("HEALTH_MONITORING_ENABLED", "true")
            .set("HEALTH_METRICS_HOST", "127.0.0.1")
            .set("HEALTH_METRICS_PORT", &port.to_string())
            .set("HEALTH_HARDWARE_ENABLED", "false")
            .set("HEALTH_STREAM_ENABLED", "true")
            .set("HEALTH_STREAM_INTERVAL", "2")
            .set("HEALTH_STREAM_FFPROBE_TIMEOUT", "1.5")
            .set("HEALTH_STREAM_PLAYLIST_INTERVAL", "1")
            .set("HEALTH_SCRIPT_INTERVAL", "1")
    }

    /// Sets (or replaces) one variable.
    pub fn set(mut self, key: &str, value: &str) -> Settings {
        self.vars.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Leaves one variable unset.
    pub fn without(mut self, key: &str) -> Settings {
        self.vars.remove(key);
        self
    }

    /// The `/metrics` port, when health monitoring is on.
    fn metrics_port(&self) -> Option<u16> {
        let on = self.vars.get("HEALTH_MONITORING_ENABLED").is_some_and(|v| v == "true");
        on.then(|| self.vars.get("HEALTH_METRICS_PORT")?.parse().ok()).flatten()
    }

    /// `vimeo-monitor` with only `PATH` and these settings, in `dir`.
    fn command(&self, dir: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vimeo-monitor"));
        command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
        // A coverage run (cargo tarpaulin) tells instrumented binaries where to write their counts.
        if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
            command.env("LLVM_PROFILE_FILE", profile);
        }
        command.envs(&self.vars).current_dir(dir).stdin(Stdio::null()).kill_on_drop(true);
        command
    }
}

/// A port that was free a moment ago (the kiosk binds it itself, so it cannot be handed a
/// listener).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a local address").port()
}

/// A private working directory with a short path: `RUNTIME_DIR` goes inside, and a socket path
/// has at most 107 bytes.
fn work_dir() -> TempDir {
    tempfile::Builder::new().prefix("vmk").tempdir_in("/tmp").expect("a temporary directory")
}

/// Runs the kiosk with `args` until it exits (at most 20 s), for configuration errors.
pub async fn run_to_exit(settings: &Settings, args: &[&str]) -> Output {
    let work = work_dir();
    let mut command = settings.command(work.path());
    command.env("RUNTIME_DIR", work.path().join("run")).args(args);
    let output = command.stdout(Stdio::piped()).stderr(Stdio::piped()).output();
    tokio::time::timeout(Duration::from_secs(20), output)
        .await
        .expect("the kiosk exits on its own with a bad configuration")
        .expect("run the kiosk")
}

/// The real kiosk, running.
pub struct Kiosk {
    child: Child,
    pid: u32,
    work: TempDir,
    runtime_dir: PathBuf,
    metrics_port: Option<u16>,
    http: reqwest::Client,
}

impl Kiosk {
    /// Starts `vimeo-monitor` with `settings`.
    pub fn start(settings: &Settings) -> Kiosk {
        let work = work_dir();
        let runtime_dir = work.path().join("run");
        let log = std::fs::File::create(work.path().join("stderr.log")).expect("a log file");
        let mut command = settings.command(work.path());
        command.env("RUNTIME_DIR", &runtime_dir).stdout(Stdio::null()).stderr(log);
        let child = command.spawn().expect("start vimeo-monitor");
        let pid = child.id().expect("the kiosk's pid");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(HTTP_WAIT)
            .build()
            .expect("an HTTP client");
        Kiosk { child, pid, work, runtime_dir, metrics_port: settings.metrics_port(), http }
    }

    /// Its `RUNTIME_DIR`, which mpv's command line names (`--input-ipc-server`).
    pub fn runtime_dir(&self) -> &Path {
        &self.runtime_dir
    }

    /// The kiosk's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Everything the kiosk wrote to stderr so far: its log.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.work.path().join("stderr.log")).unwrap_or_default()
    }

    /// Waits until `probe` returns `Some`, at most `within`; panics naming `what`. Returns the
    /// value and when it was first seen.
    pub async fn wait_for<T>(
        &self,
        what: impl fmt::Display,
        within: Duration,
        mut probe: impl AsyncFnMut() -> Option<T>,
    ) -> (T, Instant) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(value) = probe().await {
                return (value, Instant::now());
            }
            assert!(Instant::now() < deadline, "not within {within:?}: {what}");
            let running = process(self.pid).is_some_and(|p| p.state != 'Z');
            assert!(running, "the kiosk exited while waiting for: {what}");
            tokio::time::sleep(POLL).await;
        }
    }

    // --- mpv -----------------------------------------------------------------------------

    /// One property of the running mpv, on a connection of our own to its socket (mpv serves
    /// several clients). `None` when there is no mpv answering, or it has no such value now.
    pub async fn property(&self, name: &str) -> Option<Value> {
        let exchange = async {
            let stream = UnixStream::connect(self.runtime_dir.join("mpv.sock")).await.ok()?;
            let (read, mut write) = stream.into_split();
            let request = json!({ "command": ["get_property", name], "request_id": 1 });
            write.write_all(format!("{request}\n").as_bytes()).await.ok()?;
            let mut lines = BufReader::new(read).lines();
            while let Some(line) = lines.next_line().await.ok()? {
                let Ok(message) = serde_json::from_str::<Value>(&line) else { continue };
                if message.get("request_id") == Some(&json!(1)) {
                    return (message["error"] == "success").then(|| message["data"].clone());
                }
            }
            None
        };
        tokio::time::timeout(IPC_WAIT, exchange).await.ok().flatten()
    }

    /// What mpv has loaded (`path`): an image's path or the stream's full URL.
    pub async fn path(&self) -> Option<String> {
        self.property("path").await?.as_str().map(str::to_owned)
    }

    /// Which load of mpv's this is (`playlist/0/id`): every `loadfile` makes a new entry.
    pub async fn entry(&self) -> Option<u64> {
        self.property("playlist/0/id").await?.as_u64()
    }

    /// mpv's playback position (`time-pos`).
    pub async fn time_pos(&self) -> Option<f64> {
        self.property("time-pos").await?.as_f64()
    }

    /// Waits until mpv has `target` loaded; returns when that was first seen.
    pub async fn wait_for_path(&self, target: &str, within: Duration) -> Instant {
        let what = format!("mpv shows {}", without_query(target));
        self.wait_for(what, within, async || (self.path().await? == target).then_some(())).await.1
    }

    /// Waits until mpv plays `target`: its position rises on four looks in a row, 250 ms apart
    /// (moving, not one jump). Returns the first look of that run that saw it rise.
    pub async fn wait_until_playing(&self, target: &str, within: Duration) -> Instant {
        let deadline = Instant::now() + within;
        self.wait_for_path(target, within).await;
        let mut last: Option<f64> = None;
        let mut rising_since: Option<Instant> = None;
        let mut rises = 0;
        loop {
            let position = self.time_pos().await;
            let loaded = self.path().await.as_deref() == Some(target);
            match (last, position) {
                (Some(before), Some(now)) if loaded && now > before => {
                    rises += 1;
                    let since = *rising_since.get_or_insert_with(Instant::now);
                    if rises == 4 {
                        return since;
                    }
                }
                _ => (rises, rising_since) = (0, None),
            }
            last = position;
            assert!(
                Instant::now() < deadline,
                "mpv does not play {} within {within:?} (at {last:?})",
                without_query(target),
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Asserts that playback of `target` keeps moving for `during`.
    pub async fn keeps_playing(&self, target: &str, during: Duration) {
        let until = Instant::now() + during;
        let mut last = self.time_pos().await;
        let mut moved_at = Instant::now();
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(250)).await;
            assert_eq!(self.path().await.as_deref(), Some(target), "what mpv plays");
            let now = self.time_pos().await;
            if now > last {
                last = now;
                moved_at = Instant::now();
            }
            assert!(moved_at.elapsed() < Duration::from_secs(3), "playback stopped at {last:?}");
        }
    }

    /// The kiosk's living mpv (not a zombie), if any.
    pub fn mpv(&self) -> Option<Proc> {
        descendants(self.pid).into_iter().find(|p| p.comm == "mpv" && p.state != 'Z')
    }

    /// Every process below the kiosk, zombies included.
    pub fn descendants(&self) -> Vec<Proc> {
        descendants(self.pid)
    }

    // --- health monitoring -----------------------------------------------------------------

    /// `GET /metrics`, parsed. Panics with the kiosk's log if it cannot be read.
    pub async fn metrics(&self) -> Metrics {
        Metrics::parse(self.http_get("/metrics").await)
    }

    /// Waits until `/metrics` satisfies `check`; returns that scrape.
    pub async fn wait_for_metrics(
        &self,
        what: impl fmt::Display,
        within: Duration,
        check: impl Fn(&Metrics) -> bool,
    ) -> Metrics {
        self.wait_for(what, within, async || {
            let metrics = self.try_metrics().await?;
            check(&metrics).then_some(metrics)
        })
        .await
        .0
    }

    async fn try_metrics(&self) -> Option<Metrics> {
        let response = self.http.get(self.url("/metrics")).send().await.ok()?;
        response.status().is_success().then_some(())?;
        Some(Metrics::parse(response.text().await.ok()?))
    }

    /// The body of `GET path` on the exporter; panics unless it is 200.
    pub async fn http_get(&self, path: &str) -> String {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.text().await.expect("a body")
    }

    /// `http://127.0.0.1:PORT/path` of the exporter.
    pub fn url(&self, path: &str) -> String {
        let port = self.metrics_port.expect("health monitoring is on");
        format!("http://127.0.0.1:{port}{path}")
    }

    /// The TCP ports the kiosk process listens on (its own sockets, from `/proc`).
    pub fn listening_ports(&self) -> Vec<u16> {
        listening_ports(self.pid)
    }

    // --- stopping ----------------------------------------------------------------------------

    /// SIGTERM; waits (at most `within`) for the kiosk to exit. Returns how it exited and how
    /// long that took; panics if it did not exit in time.
    pub async fn terminate(&mut self, within: Duration) -> (ExitStatus, Duration) {
        signal(self.pid, Signal::SIGTERM);
        let sent = Instant::now();
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the kiosk did not exit within {within:?} of SIGTERM"));
        (status.expect("wait for the kiosk"), sent.elapsed())
    }
}

impl Drop for Kiosk {
    /// SIGTERM (the kiosk stops its mpv), SIGKILL if that does not work, then SIGKILL to every
    /// process of its tree seen before, should any remain.
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("KIOSK_LOG").is_some() {
            eprintln!("--- the kiosk's log (pid {}) ---\n{}", self.pid, self.stderr());
        }
        let tree = descendants(self.pid);
        if self.child.try_wait().ok().flatten().is_none() {
            signal(self.pid, Signal::SIGTERM);
            let deadline = Instant::now() + DROP_WAIT;
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            let _ = self.child.start_kill();
            let _ = self.child.try_wait();
        }
        for process in tree {
            if exists(process.pid) {
                signal(process.pid, Signal::SIGKILL);
            }
        }
    }
}

/// `target` without its query string, for messages.
pub fn without_query(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}

/// Sends `signal` to process `pid`; one that is gone already is fine.
pub fn signal(pid: u32, signal: Signal) {
    let pid = Pid::from_raw(i32::try_from(pid).expect("a pid fits in i32"));
    let _ = kill(pid, signal);
}

// --- /metrics --------------------------------------------------------------------------------

/// One scrape of `/metrics`: its text and its samples.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// The exposition as served.
    pub text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Metrics {
    fn parse(text: String) -> Metrics {
        let samples = text
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let value = value.parse().ok()?;
                let (name, labels) = match series.split_once('{') {
                    Some((name, labels)) => (name, parse_labels(labels.strip_suffix('}')?)),
                    None => (series, BTreeMap::new()),
                };
                Some((name.to_owned(), labels, value))
            })
            .collect();
        Metrics { text, samples }
    }

    /// The value of `name` (full name, `vimeo_monitor_...`) whose labels include `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples.iter().find_map(|(sample, have, value)| {
            let matches =
                sample == name && labels.iter().all(|(k, v)| have.get(*k).is_some_and(|h| h == v));
            matches.then_some(*value)
        })
    }

    /// Whether `name{labels}` is exactly `expected`.
    pub fn is(&self, name: &str, labels: &[(&str, &str)], expected: f64) -> bool {
        self.value(name, labels) == Some(expected)
    }
}

/// `a="x",b="y"` (values without escaped quotes or commas: ours have none).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((key.trim().to_owned(), value.trim().trim_matches('"').to_owned()))
        })
        .collect()
}

// --- /proc -----------------------------------------------------------------------------------

/// A process seen in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// Its id.
    pub pid: u32,
    /// Its parent's id.
    pub ppid: u32,
    /// Its process group.
    pub pgrp: u32,
    /// `R`, `S`, `T` (stopped), `Z` (zombie: exited, not reaped), ...
    pub state: char,
    /// Its name.
    pub comm: String,
    /// Its argv, NULs as spaces; empty for a zombie.
    pub cmdline: String,
}

/// Process `pid`, zombie or not, if it exists.
pub fn process(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    Some(Proc { pid, ppid, pgrp, state, comm, cmdline })
}

/// Whether a process `pid` exists, zombies included.
pub fn exists(pid: u32) -> bool {
    process(pid).is_some()
}

/// Every process in `/proc`.
pub fn processes() -> Vec<Proc> {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter_map(process)
        .collect()
}

/// Every process below `pid` (children, their children, ...), zombies included.
pub fn descendants(pid: u32) -> Vec<Proc> {
    let all = processes();
    let mut found: Vec<Proc> = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for process in all.iter().filter(|p| p.ppid == parent) {
            parents.push(process.pid);
            found.push(process.clone());
        }
    }
    found
}

/// The TCP ports process `pid` listens on: its socket inodes (`/proc/PID/fd`) among the LISTEN
/// entries of its network namespace's `tcp` and `tcp6` tables.
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter_map(|link| {
                    let link = link.to_str()?.to_owned();
                    Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            if *state == "0A" && inodes.iter().any(|mine| mine == inode) {
                let port =
                    local.rsplit_once(':').and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
                ports.extend(port);
            }
        }
    }
    ports
}

/// Panics if any of `texts` (named) contains the token or the stream's signature.
pub fn assert_no_canary<'a>(texts: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (name, text) in texts {
        for canary in [vimeo_api::TOKEN, SIG] {
            assert!(!text.contains(canary), "`{canary}` in {name}:\n{text}");
        }
    }
}
