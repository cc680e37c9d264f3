//! The transfers of one speed test: a download of at most `max_bytes`, then an optional upload of
//! `max_bytes`. Measures only; the caller bounds the whole test with its timeout and keeps the
//! results. The body bytes each way are counted as they pass ([`Carried`]), so a test that fails
//! or is cut off by the timeout still says what it cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use health_core::url::is_loopback_host;
use reqwest::header::CONTENT_LENGTH;
use reqwest::{Client, StatusCode, Url};
use tokio::io::AsyncReadExt as _;
use tokio_util::io::{InspectReader, ReaderStream};

use super::state::{Figures, Outcome};
use crate::SpeedtestOptions;

/// The placeholder in a URL replaced by `max_bytes`.
pub(crate) const BYTES_PLACEHOLDER: &str = "{bytes}";

/// Size of the chunks an upload is sent in.
const UPLOAD_CHUNK: usize = 64 * 1024;

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransferError {
    /// Building the client, connecting, TLS, or reading the body failed.
    #[error("speed test request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with a status other than 2xx.
    #[error("speed test: {url} answered {status}; check HEALTH_NETWORK_SPEEDTEST_*_URL")]
    Status {
        /// The URL asked.
        url: String,
        /// What it answered.
        status: StatusCode,
    },
    /// The server answered 2xx with an empty body.
    #[error("speed test: {url} sent an empty body")]
    Empty {
        /// The URL asked.
        url: String,
    },
}

impl TransferError {
    /// How a test that failed this way is counted.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Self::Http(e) if e.is_timeout() => Outcome::Timeout,
            _ => Outcome::Error,
        }
    }
}

/// Body bytes a test has received and sent so far; readable while it runs and after it was cut
/// off.
#[derive(Debug, Default)]
pub(crate) struct Carried {
    /// Bytes of the download's body read from the connection.
    pub(crate) download: AtomicU64,
    /// Bytes of the upload's body handed to the connection.
    pub(crate) upload: AtomicU64,
}

impl Carried {
    /// (download, upload) now.
    pub(crate) fn get(&self) -> (u64, u64) {
        (self.download.load(Ordering::Relaxed), self.upload.load(Ordering::Relaxed))
    }
}

/// Runs the download, then the upload if an upload URL is set, counting the bytes in `carried`.
/// Unbounded in time: the caller wraps it in the test's timeout.
pub(crate) async fn measure(
    options: &SpeedtestOptions,
    carried: Arc<Carried>,
) -> Result<Figures, TransferError> {
    let max_bytes = options.max_bytes.to_string();
    let download_url = options.download_url.replace(BYTES_PLACEHOLDER, &max_bytes);
    let upload_url =
        options.upload_url.as_ref().map(|url| url.replace(BYTES_PLACEHOLDER, &max_bytes));
    let client = client(&download_url, upload_url.as_deref(), options.timeout)?;
    let (download_bytes_per_second, latency) =
        download(&client, &download_url, options.max_bytes, &carried).await?;
    let upload_bytes_per_second = match &upload_url {
        Some(url) => Some(upload(&client, url, options.max_bytes, carried).await?),
        None => None,
    };
    Ok(Figures {
        download_bytes_per_second,
        upload_bytes_per_second,
        latency_seconds: latency.as_secs_f64(),
    })
}

/// A client for one test: no compression (the bytes counted are the bytes carried), and no proxy
/// when every URL is on the loopback interface.
fn client(
    download: &str,
    upload: Option<&str>,
    timeout: Duration,
) -> Result<Client, reqwest::Error> {
    let builder = Client::builder()
        .connect_timeout(timeout)
        .user_agent(concat!("vimeo-monitor/", env!("CARGO_PKG_VERSION")));
    let builder = if is_loopback(download) && upload.is_none_or(is_loopback) {
        builder.no_proxy()
    } else {
        builder
    };
    builder.build()
}

/// Whether `url` parses and its host is this machine.
fn is_loopback(url: &str) -> bool {
    Url::parse(url).is_ok_and(|url| url.host_str().is_some_and(is_loopback_host))
}

/// Downloads at most `max_bytes` of `url`: (bytes per second from the response headers to the
/// last byte, time from the request to the response headers).
async fn download(
    client: &Client,
    url: &str,
    max_bytes: u64,
    carried: &Carried,
) -> Result<(f64, Duration), TransferError> {
    let start = Instant::now();
    let mut response = client.get(url).send().await?;
    let first_byte = Instant::now();
    check_status(url, response.status())?;
    let mut received: u64 = 0;
    while received < max_bytes {
        let Some(chunk) = response.chunk().await? else { break };
        // The whole chunk crossed the link, even the part past `max_bytes` that is not timed.
        carried.download.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        received = received.saturating_add(chunk.len() as u64).min(max_bytes);
    }
    let transfer = first_byte.elapsed();
    // Dropping the response closes the connection if the server had more to send.
    drop(response);
    if received == 0 {
        return Err(TransferError::Empty { url: url.to_owned() });
    }
    Ok((rate(received, transfer), first_byte - start))
}

/// Uploads `bytes` zero bytes to `url` in one POST: bytes per second from the request to the
/// response headers.
async fn upload(
    client: &Client,
    url: &str,
    bytes: u64,
    carried: Arc<Carried>,
) -> Result<f64, TransferError> {
    let reader = InspectReader::new(tokio::io::repeat(0).take(bytes), move |chunk: &[u8]| {
        carried.upload.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    });
    let body = reqwest::Body::wrap_stream(ReaderStream::with_capacity(reader, UPLOAD_CHUNK));
    let start = Instant::now();
    let response = client.post(url).header(CONTENT_LENGTH, bytes).body(body).send().await?;
    let elapsed = start.elapsed();
    check_status(url, response.status())?;
    Ok(rate(bytes, elapsed))
}

fn check_status(url: &str, status: StatusCode) -> Result<(), TransferError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(TransferError::Status { url: url.to_owned(), status })
    }
}

/// Bytes per second; a transfer too fast to time counts as one microsecond, so it stays finite.
#[allow(clippy::cast_precision_loss)] // Exact below 2^53 bytes.
fn rate(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64().max(1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:8080/x"));
        assert!(is_loopback("http://[::1]:8080/x"));
        assert!(is_loopback("http://localhost/x"));
        assert!(!is_loopback("https://speed.cloudflare.com/__down?bytes=1"));
        assert!(!is_loopback("not a url"));
    }

    #[test]
    fn rate_is_finite() {
        assert_eq!(rate(1_000, Duration::from_secs(2)), 500.0);
        assert!(rate(1_000, Duration::ZERO).is_finite());
    }
}
