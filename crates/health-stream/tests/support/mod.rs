//! Shared support for the health-stream integration tests: a real live HLS stream made by
//! `ffmpeg -re`, an HTTP server on 127.0.0.1 whose misbehaviour tests switch on at run time,
//! a server that never answers, and a look at this process's `ffprobe` children in `/proc`.
//!
//! Every helper talks only to 127.0.0.1 and owns what it starts: an encoder is killed and reaped
//! when dropped, and the servers are tasks on the test's own runtime. Nothing here mocks ffmpeg.
// Each test binary uses a subset, and the items are `pub` so that tests read them as an API.
#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::io::ReaderStream;

/// How often the wait helpers look at the disk and at the child.
const POLL: Duration = Duration::from_millis(50);

/// Name of the file in the stream directory that receives ffmpeg's stderr.
pub const FFMPEG_LOG: &str = "ffmpeg.log";

/// What the [`LiveEncoder`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderOptions {
    /// Picture width (single-variant streams only; variants are always 320x240 and 640x360).
    pub width: u32,
    /// Picture height (single-variant streams only).
    pub height: u32,
    /// Frames per second; also the GOP length, so every 1 s segment starts with a key frame.
    pub fps: u32,
    /// `None`: run until killed. `Some(n)`: `-t n`, then finish normally and write ENDLIST.
    pub seconds: Option<u32>,
    /// `false`: one media playlist `live.m3u8`. `true`: `master.m3u8` with two variants,
    /// `live_0.m3u8` (320x240, ~300k) and `live_1.m3u8` (640x360, ~800k), each with aac audio.
    pub variants: bool,
    /// What the picture shows.
    pub picture: Picture,
}

/// What a [`LiveEncoder`]'s picture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Picture {
    /// A moving test pattern (`testsrc2`): never black, never frozen.
    #[default]
    Moving,
    /// Black frames (`color=black`): what a camera with its cap on sends.
    Black,
    /// One still picture repeated (`smptebars`): a frozen encoder input.
    Still,
}

impl Picture {
    /// The lavfi source for this picture.
    fn source(self, size: &str, fps: u32) -> String {
        match self {
            Self::Moving => format!("testsrc2=size={size}:rate={fps}"),
            Self::Black => format!("color=c=black:size={size}:rate={fps}"),
            Self::Still => format!("smptebars=size={size}:rate={fps}"),
        }
    }
}

impl Default for EncoderOptions {
    fn default() -> Self {
        Self {
            width: 320,
            height: 240,
            fps: 25,
            seconds: None,
            variants: false,
            picture: Picture::Moving,
        }
    }
}

/// A real `ffmpeg -re` child writing a live HLS stream (1 s segments, 6 listed) into a directory.
///
/// Dropping it kills and reaps ffmpeg, so no encoder outlives its test.
#[derive(Debug)]
pub struct LiveEncoder {
    dir: PathBuf,
    playlist: String,
    media_playlists: Vec<String>,
    child: Mutex<Child>,
}

impl LiveEncoder {
    /// Starts ffmpeg writing into `dir` (which must exist); returns at once, before any segment.
    pub fn start(dir: &Path, options: EncoderOptions) -> LiveEncoder {
        let EncoderOptions { width, height, fps, seconds, variants, picture } = options;
        let log = fs::File::create(dir.join(FFMPEG_LOG)).expect("create ffmpeg log file");
        let mut command = Command::new("ffmpeg");
        command.current_dir(dir).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        command.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"]);
        let size = if variants { "640x360".to_owned() } else { format!("{width}x{height}") };
        command.args(["-re", "-f", "lavfi", "-i", &picture.source(&size, fps)]);
        command.args(["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]);
        if let Some(seconds) = seconds {
            command.args(["-t", &seconds.to_string()]);
        }
        let gop = fps.to_string();
        command.args(["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency"]);
        command.args(["-g", &gop, "-keyint_min", &gop, "-sc_threshold", "0"]);
        command.args(["-c:a", "aac", "-ac", "2", "-b:a", "64k"]);
        command.args(["-f", "hls", "-hls_time", "1", "-hls_list_size", "6"]);
        command.args(["-hls_flags", "delete_segments+independent_segments"]);
        let (playlist, media_playlists) = if variants {
            command.args(["-map", "0:v", "-map", "1:a", "-map", "0:v", "-map", "1:a"]);
            command.args(["-s:v:0", "320x240", "-b:v:0", "300k"]);
            command.args(["-s:v:1", "640x360", "-b:v:1", "800k"]);
            command.args(["-master_pl_name", "master.m3u8", "-var_stream_map", "v:0,a:0 v:1,a:1"]);
            command.args(["-hls_segment_filename", "live_%v_%d.ts", "live_%v.m3u8"]);
            ("master.m3u8", vec!["live_0.m3u8".to_owned(), "live_1.m3u8".to_owned()])
        } else {
            command.args(["-hls_segment_filename", "live_%d.ts", "live.m3u8"]);
            ("live.m3u8", vec!["live.m3u8".to_owned()])
        };
        let child = command.spawn().expect("spawn ffmpeg (is /usr/bin/ffmpeg installed?)");
        LiveEncoder {
            dir: dir.to_owned(),
            playlist: playlist.to_owned(),
            media_playlists,
            child: Mutex::new(child),
        }
    }

    /// The file a player opens: `live.m3u8` or `master.m3u8`.
    pub fn playlist_name(&self) -> &str {
        &self.playlist
    }

    /// The media playlists ffmpeg writes: `["live.m3u8"]` or `["live_0.m3u8", "live_1.m3u8"]`.
    pub fn media_playlists(&self) -> &[String] {
        &self.media_playlists
    }

    /// The directory the stream is written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The process id of ffmpeg.
    pub fn pid(&self) -> u32 {
        self.lock_child().id()
    }

    /// What ffmpeg has written to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join(FFMPEG_LOG)).unwrap_or_default()
    }

    /// Waits until every media playlist (and the master, if any) exists and each lists at least
    /// `segments` segments. Panics, showing ffmpeg's stderr, on timeout or if ffmpeg exited.
    pub async fn wait_for_segments(&self, segments: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let ready = self.read(&self.playlist).is_some()
                && self.media_playlists.iter().all(|name| {
                    self.read(name).is_some_and(|text| segments_of(&text).len() >= segments)
                });
            if ready {
                return;
            }
            let exited = self.lock_child().try_wait().expect("poll ffmpeg");
            if let Some(status) = exited {
                panic!(
                    "ffmpeg exited ({status}) before {segments} segments were listed; stderr:\n{}",
                    self.stderr()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "no {segments} segments listed in {:?} within {timeout:?}; stderr:\n{}",
                    self.media_playlists,
                    self.stderr()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Kills ffmpeg with SIGKILL and reaps it: the stream stops dead, no ENDLIST is written.
    pub fn kill(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        if child.try_wait().expect("poll ffmpeg").is_none() {
            // The child may exit between the poll and the signal; `wait` reaps it either way.
            let _ = child.kill();
        }
        child.wait().expect("reap ffmpeg");
    }

    /// Waits for ffmpeg to finish on its own (`seconds: Some(n)`), asserts it succeeded and that
    /// every media playlist ends with `#EXT-X-ENDLIST`. Panics with ffmpeg's stderr otherwise.
    pub async fn wait_finished(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.lock_child().try_wait().expect("poll ffmpeg") {
                break status;
            }
            if Instant::now() >= deadline {
                panic!("ffmpeg did not finish within {timeout:?}; stderr:\n{}", self.stderr());
            }
            tokio::time::sleep(POLL).await;
        };
        assert!(status.success(), "ffmpeg failed ({status}); stderr:\n{}", self.stderr());
        for name in &self.media_playlists {
            let text = self.read(name).unwrap_or_default();
            assert!(text.contains("#EXT-X-ENDLIST"), "{name} has no ENDLIST:\n{text}");
        }
    }

    fn read(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.dir.join(name)).ok()
    }

    fn lock_child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for LiveEncoder {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// How the [`HlsServer`] treats requests whose path ends with a suffix.
#[derive(Debug, Clone)]
enum Rule {
    Status(String, u16),
    Throttle(String, u64),
    Hang(String),
}

impl Rule {
    fn suffix(&self) -> &str {
        match self {
            Rule::Status(suffix, _) | Rule::Throttle(suffix, _) | Rule::Hang(suffix) => suffix,
        }
    }
}

#[derive(Debug, Default)]
struct ServerState {
    /// Newest last; the newest matching rule wins.
    rules: Vec<Rule>,
    /// Path (without query) of every request received, in order.
    requests: Vec<String>,
}

#[derive(Debug, Clone)]
struct Shared {
    dir: Arc<PathBuf>,
    state: Arc<Mutex<ServerState>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An HTTP/1.1 server (axum) on 127.0.0.1 serving the files of a directory, whose behaviour
/// per path suffix can be switched at run time: a fixed status, a throttled body, no answer.
///
/// Query strings are ignored for the file lookup. It runs on the runtime that started it and is
/// stopped when dropped (a request left hanging ends with that runtime).
#[derive(Debug)]
pub struct HlsServer {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl HlsServer {
    /// Binds 127.0.0.1:0 and serves `dir` from a task on the current tokio runtime.
    pub async fn start(dir: PathBuf) -> HlsServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address of the HLS server");
        let shared = Shared { dir: Arc::new(dir), state: Arc::default() };
        let app = Router::new().fallback(serve_file).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("HLS test server failed");
        });
        HlsServer { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT/<path>` (a leading `/` in `path` is optional).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests whose path ends with `file_suffix` get `status` with a short text body.
    pub fn answer_status(&self, file_suffix: &str, status: u16) {
        StatusCode::from_u16(status).expect("a valid HTTP status");
        self.shared.lock().rules.push(Rule::Status(file_suffix.to_owned(), status));
    }

    /// Bodies of files whose path ends with `file_suffix` are sent in 4 KiB chunks paced to
    /// `bytes_per_second` (Content-Length is still sent), so a download takes about size/rate.
    pub fn throttle(&self, file_suffix: &str, bytes_per_second: u64) {
        assert!(bytes_per_second > 0, "a throttle needs a rate above zero");
        self.shared.lock().rules.push(Rule::Throttle(file_suffix.to_owned(), bytes_per_second));
    }

    /// Requests whose path ends with `file_suffix` are accepted and never answered.
    pub fn hang(&self, file_suffix: &str) {
        self.shared.lock().rules.push(Rule::Hang(file_suffix.to_owned()));
    }

    /// Removes every rule: all paths are served normally again.
    pub fn clear_rules(&self) {
        self.shared.lock().rules.clear();
    }

    /// How many requests whose path (query excluded) ends with `file_suffix` were received.
    pub fn requests(&self, file_suffix: &str) -> usize {
        self.shared.lock().requests.iter().filter(|path| path.ends_with(file_suffix)).count()
    }
}

impl Drop for HlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_file(State(shared): State<Shared>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    let rule = {
        let mut state = shared.lock();
        state.requests.push(path.clone());
        state.rules.iter().rev().find(|rule| path.ends_with(rule.suffix())).cloned()
    };
    match rule {
        Some(Rule::Status(_, status)) => {
            let status = StatusCode::from_u16(status).expect("checked when the rule was set");
            return (status, format!("{status} (test rule for {path})\n")).into_response();
        }
        Some(Rule::Hang(_)) => return std::future::pending().await,
        Some(Rule::Throttle(..)) | None => {}
    }
    let Some(file) = local_path(&shared.dir, &path) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let Ok(body) = tokio::fs::read(&file).await else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let content_type = match file.extension().and_then(|extension| extension.to_str()) {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("ts") => "video/mp2t",
        _ => "application/octet-stream",
    };
    let length = body.len();
    let body = match rule {
        Some(Rule::Throttle(_, rate)) => throttled(body, rate),
        _ => Body::from(body),
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The file under `dir` that the URL path names, or `None` if it leaves `dir` or names `dir`.
fn local_path(dir: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = Path::new(url_path.trim_start_matches('/'));
    let mut file = dir.to_owned();
    for component in relative.components() {
        match component {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (file != dir).then_some(file)
}

/// A body that hands out `data` in 4 KiB chunks, no faster than `rate` bytes per second.
fn throttled(data: Vec<u8>, rate: u64) -> Body {
    const CHUNK: usize = 4096;
    let (mut writer, reader) = tokio::io::duplex(CHUNK);
    // Ends when the body is complete or the client went away (the reader is dropped).
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let mut sent = 0u64;
        for chunk in data.chunks(CHUNK) {
            tokio::time::sleep_until(start + Duration::from_secs_f64(sent as f64 / rate as f64))
                .await;
            if writer.write_all(chunk).await.is_err() {
                return;
            }
            sent += chunk.len() as u64;
        }
        let _ = writer.shutdown().await;
    });
    Body::from_stream(ReaderStream::with_capacity(reader, CHUNK))
}

/// Accepts TCP connections on 127.0.0.1:0 and never reads from or answers them; the sockets are
/// held open until the test's runtime ends.
pub async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address of the silent server");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// A process seen in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildProcess {
    /// Its process id.
    pub pid: i32,
    /// Its state letter from `/proc/PID/stat`: `R`, `S`, `D`, `Z` (zombie, not reaped), ...
    pub state: char,
    /// Its arguments joined by spaces; empty for a zombie.
    pub cmdline: String,
}

/// Every `ffprobe` process whose parent is this process, zombies included: the process table's
/// view, independent of any handle the code under test keeps.
pub fn ffprobe_children() -> Vec<ChildProcess> {
    let me = i32::try_from(std::process::id()).expect("pid fits in i32");
    let mut children: Vec<ChildProcess> = fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| read_process(pid).ok().flatten())
        .filter(|(parent, comm, _)| *parent == me && comm == "ffprobe")
        .map(|(_, _, process)| process)
        .collect();
    children.sort_by_key(|process| process.pid);
    children
}

/// `(parent pid, comm, process)`; `Ok(None)` if `/proc/PID/stat` cannot be parsed.
fn read_process(pid: i32) -> io::Result<Option<(i32, String, ChildProcess)>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so split at the last `)`.
    let Some((_, rest)) = stat.rsplit_once(')') else { return Ok(None) };
    let mut fields = rest.split_whitespace();
    let Some(state) = fields.next().and_then(|state| state.chars().next()) else {
        return Ok(None);
    };
    let Some(parent) = fields.next().and_then(|parent| parent.parse().ok()) else {
        return Ok(None);
    };
    let comm = fs::read_to_string(format!("/proc/{pid}/comm"))?.trim_end().to_owned();
    let cmdline = fs::read(format!("/proc/{pid}/cmdline"))?;
    let cmdline = String::from_utf8_lossy(&cmdline)
        .split('\0')
        .filter(|argument| !argument.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Some((parent, comm, ChildProcess { pid, state, cmdline })))
}

/// The value of `#EXT-X-MEDIA-SEQUENCE`, if the playlist has one.
pub fn media_sequence_of(playlist_text: &str) -> Option<u64> {
    playlist_text
        .lines()
        .find_map(|line| line.trim().strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|value| value.trim().parse().ok())
}

/// The segment URI lines (every non-empty line not starting with `#`), in order. For a master
/// playlist these are the variant playlists.
pub fn segments_of(playlist_text: &str) -> Vec<String> {
    playlist_text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}
