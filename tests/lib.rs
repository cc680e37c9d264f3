//! Helpers for the end-to-end tests: a loopback HTTP GET, the Prometheus tools on PATH, a real
//! Prometheus server to query, and the Grafana dashboard's queries.

pub mod grafana;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// GETs `path` from `addr` and returns the status code and body.
pub async fn get(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    let mut request = Request::get(path).header("host", addr.to_string());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Empty::<Bytes>::new()).map_err(std::io::Error::other)?;
    let response = sender.send_request(request).await.map_err(std::io::Error::other)?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The path of a tool from Debian's `prometheus` package; panics with the install command.
pub fn tool(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/bin").join(name);
    assert!(path.exists(), "{name} is missing: run ./scripts/setup (apt-get install prometheus)");
    path
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_owned()
}

/// Runs `promtool check metrics` on `text`; returns whether it passed and what it printed.
pub async fn promtool_check(text: &str) -> (bool, String) {
    use std::process::Stdio;
    use tokio::io::AsyncWriteExt;
    let mut promtool = tokio::process::Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run promtool");
    let mut stdin = promtool.stdin.take().expect("piped stdin");
    stdin.write_all(text.as_bytes()).await.expect("feed promtool");
    drop(stdin);
    let output = promtool.wait_with_output().await.expect("promtool output");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), report)
}

/// Percent-encodes `text` for a URL query string.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Prometheus server on a free loopback port, killed and reaped by [`stop`](Self::stop) (or
/// killed when dropped).
pub struct Prometheus {
    child: Child,
    /// Its HTTP address.
    pub api: SocketAddr,
    log: std::path::PathBuf,
}

impl Prometheus {
    /// Starts `/usr/bin/prometheus` with `dir/prometheus.yml`, retrying if another process takes
    /// the port first; waits until it is ready.
    pub async fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[], None).await
    }

    /// A remote-write receiver (`--web.enable-remote-write-receiver`, nothing scraped) with its
    /// data in `dir/data`; on `addr` when given (a restart keeps its senders' URL), else on a
    /// free port.
    pub async fn start_receiver(dir: &Path, addr: Option<SocketAddr>) -> Self {
        std::fs::write(dir.join("prometheus.yml"), "global:\n  scrape_interval: 15s\n").unwrap();
        Self::start_with(dir, &["--web.enable-remote-write-receiver"], addr).await
    }

    /// [`start`](Self::start) with `extra` arguments, on `addr` when given.
    pub async fn start_with(dir: &Path, extra: &[&str], addr: Option<SocketAddr>) -> Self {
        let log = dir.join("prometheus.log");
        for _ in 0..5 {
            let api = addr.unwrap_or_else(|| {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port();
                SocketAddr::from(([127, 0, 0, 1], port))
            });
            let mut child = Command::new(tool("prometheus"))
                .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
                .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
                .arg(format!("--web.listen-address={api}"))
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::options().create(true).append(true).open(&log).unwrap())
                .kill_on_drop(true)
                .spawn()
                .expect("start prometheus");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if let Ok((200, _)) = get(api, "/-/ready", None).await {
                    return Self { child, api, log };
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = child.kill().await;
            if addr.is_some() {
                // The port was asked for: give its previous owner a moment to let go.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        panic!("prometheus did not start:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
    }

    /// Stops it as systemd does (SIGTERM, so it closes its database cleanly) and reaps it;
    /// SIGKILL after 10 s.
    pub async fn terminate(mut self) {
        if let Some(pid) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("a pid"));
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            self.child.kill().await.expect("kill prometheus");
        }
    }

    /// GETs an API path and parses the JSON answer, whatever its HTTP status.
    pub async fn api(&self, path: &str) -> Value {
        let (status, body) = get(self.api, path, None).await.expect("Prometheus answers");
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{path}: HTTP {status} ({e}): {body}"))
    }

    /// An instant query: its result, or Prometheus's error.
    pub async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        self.instant_query(expr, "").await
    }

    /// An instant query with `extra` parameters (`&time=...`) added.
    async fn instant_query(&self, expr: &str, extra: &str) -> Result<Vec<Value>, String> {
        let answer = self.api(&format!("/api/v1/query?query={}{extra}", encode(expr))).await;
        match answer["status"].as_str() {
            Some("success") => Ok(answer["data"]["result"].as_array().cloned().unwrap_or_default()),
            _ => Err(format!("{}: {}", answer["errorType"], answer["error"])),
        }
    }

    /// A range query over the last two minutes, as a panel runs it.
    pub async fn query_range(&self, expr: &str) -> Result<Vec<Value>, String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let path = format!(
            "/api/v1/query_range?query={}&start={}&end={now}&step=2",
            encode(expr),
            now - 120
        );
        let answer = self.api(&path).await;
        match answer["status"].as_str() {
            Some("success") => Ok(answer["data"]["result"].as_array().cloned().unwrap_or_default()),
            _ => Err(format!("{}: {}", answer["errorType"], answer["error"])),
        }
    }

    /// The single value of an instant query (an empty answer is `None`).
    pub async fn value(&self, expr: &str) -> Option<f64> {
        single_value(expr, self.query(expr).await)
    }

    /// The same, evaluated at `unix_seconds`. That may be in the future: Prometheus then answers
    /// from the latest samples within its five-minute lookback, as it will then if nothing new
    /// arrives.
    pub async fn value_at(&self, expr: &str, unix_seconds: f64) -> Option<f64> {
        let time = format!("&time={unix_seconds:.3}");
        single_value(expr, self.instant_query(expr, &time).await)
    }

    /// What Prometheus wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills and reaps it.
    pub async fn stop(mut self) {
        self.child.kill().await.expect("kill prometheus");
    }
}

/// The one value of an instant query's answer; `None` when it is empty.
fn single_value(expr: &str, answer: Result<Vec<Value>, String>) -> Option<f64> {
    let result = answer.unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert!(result.len() <= 1, "{expr} gave several series: {result:?}");
    result.first().map(|r| r["value"][1].as_str().unwrap().parse().unwrap())
}

/// Waits until `probe` says done, at most `within`; panics naming `what` and the last answer.
pub async fn wait_for<T: std::fmt::Debug>(
    what: &str,
    within: std::time::Duration,
    mut probe: impl AsyncFnMut() -> (bool, T),
) -> T {
    let deadline = std::time::Instant::now() + within;
    loop {
        let (done, seen) = probe().await;
        if done {
            return seen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not within {within:?}: {what}; last: {seen:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
