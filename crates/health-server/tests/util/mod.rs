//! Shared by the integration tests: a real HTTP/1.1 client and a running `health-server` child.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use health_server::config::HealthConfig;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// The hardware collector alone, every second: quick to start, needs nothing outside the machine.
pub fn config() -> HealthConfig {
    let mut config = HealthConfig::default();
    config.network.enabled = false;
    config.stream.enabled = false;
    config.hardware.interval = Duration::from_secs(1);
    config
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as text (lossy: a JPEG reads as garbage here, use `bytes`).
    pub body: String,
    /// The body as sent.
    pub bytes: Vec<u8>,
}

/// A kept-alive HTTP/1.1 connection; its driver task ends when the server closes it.
pub struct Connection {
    pub sender: SendRequest<Empty<Bytes>>,
    pub driver: tokio::task::JoinHandle<()>,
}

pub async fn connect(addr: SocketAddr) -> Connection {
    let stream = TcpStream::connect(addr).await.expect("connect to the exporter");
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    Connection { sender, driver }
}

impl Connection {
    pub async fn get(&mut self, path: &str, token: Option<&str>) -> Answer {
        let mut request = Request::get(path).header("host", "127.0.0.1");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response =
            self.sender.send_request(request.body(Empty::new()).unwrap()).await.expect("response");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            bytes: body.to_vec(),
        }
    }
}

/// GET on a fresh connection.
pub async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Answer {
    connect(addr).await.get(path, token).await
}

/// The series lines of an exposition as `series -> value`.
pub fn series(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' ').map(|(s, v)| (s.to_owned(), v.to_owned())))
        .collect()
}

/// The `health-server` binary under test (built with the `cli` feature only).
#[cfg(feature = "cli")]
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_health-server"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("HEALTH_NETWORK_ENABLED", "false")
        .env("HEALTH_STREAM_ENABLED", "false")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    // A coverage run (cargo tarpaulin) tells instrumented binaries where to write their counts.
    if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
        command.env("LLVM_PROFILE_FILE", profile);
    }
    command
}

/// A `health-server` child serving on 127.0.0.1.
#[cfg(feature = "cli")]
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

#[cfg(feature = "cli")]
impl Server {
    /// Starts the binary on a free loopback port, in `dir` (so no stray `.env` is read).
    ///
    /// The port is found by binding port 0 and releasing it; another process could take it in
    /// between, so a start that fails to bind is retried with a new port.
    pub async fn start(dir: &Path, configure: impl Fn(&mut Command)) -> Server {
        for _ in 0..5 {
            let port =
                std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut command = binary();
            command
                .current_dir(dir)
                .env("HEALTH_METRICS_HOST", "127.0.0.1")
                .env("HEALTH_METRICS_PORT", port.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            configure(&mut command);
            let mut child = command.spawn().expect("spawn health-server");
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            if wait_until_serving(&mut child, addr).await {
                return Server { child, addr };
            }
            let _ = child.kill().await;
        }
        panic!("health-server did not start serving");
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id().expect("running") as i32)
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), signal).expect("send signal");
    }

    /// Waits for the child to exit (at most `limit`) and returns its stderr.
    pub async fn wait(mut self, limit: Duration) -> (std::process::ExitStatus, String) {
        let status =
            tokio::time::timeout(limit, self.child.wait()).await.expect("exited in time").unwrap();
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
        (status, stderr)
    }
}

async fn wait_until_serving(child: &mut Child, addr: SocketAddr) -> bool {
    for _ in 0..200 {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}
