//! The two servers the exporter's outward probes talk to inside the guest: a speed-test download
//! (`GET /__down?bytes=N`, N zero bytes, as Cloudflare's endpoint answers) and a remote-write
//! receiver that counts what it is sent and answers 204 as Prometheus does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The most a download hands out, whatever is asked.
const MOST_BYTES: usize = 20_000_000;

#[derive(Debug, Default)]
struct Counts {
    downloads: AtomicU64,
    writes: AtomicU64,
    write_bytes: AtomicU64,
}

/// The running servers; dropping it stops them.
#[derive(Debug)]
pub(crate) struct Sinks {
    addr: SocketAddr,
    counts: Arc<Counts>,
    task: JoinHandle<()>,
}

impl Sinks {
    pub(crate) async fn start() -> anyhow::Result<Sinks> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let app = Router::new()
            .route("/__down", get(download))
            .route("/api/v1/write", post(write))
            .with_state(counts.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sinks { addr, counts, task })
    }

    /// The speed test's `HEALTH_NETWORK_SPEEDTEST_DOWNLOAD_URL`.
    pub(crate) fn download_url(&self) -> String {
        format!("http://{}/__down?bytes={{bytes}}", self.addr)
    }

    /// `HEALTH_REMOTE_WRITE_URL`.
    pub(crate) fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// Remote-write requests received, and their bytes (compressed, as sent).
    pub(crate) fn writes(&self) -> (u64, u64) {
        (
            self.counts.writes.load(Ordering::Relaxed),
            self.counts.write_bytes.load(Ordering::Relaxed),
        )
    }

    /// Speed-test downloads served.
    pub(crate) fn downloads(&self) -> u64 {
        self.counts.downloads.load(Ordering::Relaxed)
    }
}

impl Drop for Sinks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(serde::Deserialize)]
struct Size {
    bytes: usize,
}

async fn download(State(counts): State<Arc<Counts>>, Query(size): Query<Size>) -> Vec<u8> {
    counts.downloads.fetch_add(1, Ordering::Relaxed);
    vec![0; size.bytes.min(MOST_BYTES)]
}

async fn write(State(counts): State<Arc<Counts>>, body: Bytes) -> StatusCode {
    counts.writes.fetch_add(1, Ordering::Relaxed);
    counts.write_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}
