//! Prometheus Remote-Write 1.0 from the kiosk: the exporter's figures pushed as protobuf +
//! snappy to one or more receivers (Prometheus, Mimir, Thanos Receive, VictoriaMetrics, Alloy),
//! for fleets behind venue NAT that one scraping Prometheus cannot reach.
//!
//! [`Delivery`] owns one bounded queue and one sender task per [`Endpoint`]: every [`Batch`]
//! goes to every endpoint, each at its own pace, so a backup receiver that is down does not
//! hold back the primary.
//!
//! - [`wire`]: the `WriteRequest` protobuf, block snappy, the headers.
//! - `queue`: per endpoint, bounded by samples and by estimated bytes, oldest dropped first.
//! - `send` and `retry`: one `POST` and what its answer means; capped exponential backoff with
//!   jitter, `Retry-After` honoured up to the cap.
//! - `sender`: the task per endpoint that sends while samples wait.
//! - `persist`: the queue on disk across restarts and power cuts, written only when samples
//!   wait undelivered (SD cards wear).
//!
//! What it costs, by default ([`DeliveryOptions::new`]): memory for at most 100,000 queued
//! samples per endpoint (about 1 h of 400 series every 15 s; 32 bytes each plus their label
//! sets, which are shared); with the receiver up, one request per collection and no disk write.

pub mod collector;
mod setup;

pub(crate) use setup::Running;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::config::Secret;

mod delivery;
mod labels;
mod persist;
mod queue;
mod retry;
mod send;
mod sender;
pub mod wire;

pub use delivery::Delivery;

/// One series and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Label pairs, `__name__` included; any order (the encoder sorts them by name, and a
    /// request's series by their labels, as the 1.0 spec asks).
    pub labels: Vec<(String, String)>,
    /// `(milliseconds since the Unix epoch, value)`.
    pub samples: Vec<(i64, f64)>,
}

/// What one collection gives: the series to send, all stamped with that collection's time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The series.
    pub series: Vec<Series>,
}

impl Batch {
    /// How many samples the batch holds.
    pub fn samples(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}

/// How a receiver wants to be authenticated. Credentials never reach a log or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
}

/// One receiver. `Debug` shows the URL through [`health_core::redact::url`] (a query string
/// may carry a tenant's key).
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Where to `POST`; no credentials in it (they are in `auth`).
    pub url: reqwest::Url,
    /// How to authenticate.
    pub auth: Auth,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &health_core::redact::url(self.url.as_str()))
            .field("auth", &self.auth)
            .finish()
    }
}

/// Where the queue survives a restart or a power cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persist {
    /// The directory (one file per endpoint, named by a hash of its URL).
    pub dir: PathBuf,
    /// The largest file written per endpoint; the oldest samples are left out beyond it.
    pub max_bytes: u64,
}

/// How [`Delivery`] sends.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOptions {
    /// Each gets every batch, with its own queue (a primary and a backup).
    pub endpoints: Vec<Endpoint>,
    /// Per request: connecting and the whole answer.
    pub timeout: Duration,
    /// Queue cap per endpoint, in samples (the oldest are dropped first).
    pub max_samples: usize,
    /// Queue cap per endpoint, in bytes, estimated per sample as 32 bytes plus its label set as
    /// if it were not shared (each name and value, plus 4): an upper bound of the memory, since
    /// equal label sets are kept once.
    pub max_bytes: usize,
    /// A request never carries more samples than this.
    pub max_samples_per_request: usize,
    /// The first retry's delay and the cap of the exponential backoff.
    pub backoff: (Duration, Duration),
    /// `None`: the queue lives in memory only.
    pub persist: Option<Persist>,
    /// With `persist`: how long samples wait undelivered before the queue is written to disk,
    /// and then how often it is rewritten while they keep waiting. Each write is the whole
    /// file (at most `persist.max_bytes`): a 1 h outage at the default 5 min costs 12 writes;
    /// a receiver that takes every request costs none.
    pub persist_interval: Duration,
}

impl DeliveryOptions {
    /// `endpoints` with the defaults: a 10 s request timeout; a queue of at most 100,000
    /// samples or 32 MiB (estimated, see `max_bytes`) per endpoint; 2,000 samples per request
    /// (as Prometheus' own sender: a few tens of kB on the wire, far below receivers' limits);
    /// retries after 0.5 s doubling up to 30 s; memory only; with persistence, a write after
    /// 5 min of undelivered samples.
    pub fn new(endpoints: Vec<Endpoint>) -> Self {
        Self {
            endpoints,
            timeout: Duration::from_secs(10),
            max_samples: 100_000,
            max_bytes: 32 << 20,
            max_samples_per_request: 2_000,
            backoff: (Duration::from_millis(500), Duration::from_secs(30)),
            persist: None,
            persist_interval: Duration::from_secs(300),
        }
    }
}

/// One endpoint's figures.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EndpointStats {
    /// The endpoint's URL, redacted ([`health_core::redact::url`]).
    pub url: String,
    /// Accepted by the receiver (2xx).
    pub samples_sent: u64,
    /// In requests that failed and will be retried (5xx, 429, network).
    pub samples_retried: u64,
    /// Dropped: the receiver refused them (other 4xx), never retried. Counted per request: a
    /// receiver refuses a whole request for one bad sample (Prometheus rolls it back).
    pub samples_rejected: u64,
    /// Dropped: the queue was full (oldest first).
    pub samples_overflowed: u64,
    /// Samples waiting.
    pub queue_samples: usize,
    /// Their estimated size.
    pub queue_bytes: usize,
    /// The timestamp of the oldest queued sample, in milliseconds since the Unix epoch.
    pub oldest_queued_ms: Option<i64>,
    /// When the receiver last accepted a request.
    pub last_success: Option<SystemTime>,
}

/// Why delivery cannot start. `#[non_exhaustive]`: new checks may come.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteWriteError {
    /// The HTTP client could not be built (no TLS roots, say).
    #[error("cannot build the HTTP client for remote_write: {0}")]
    Client(#[from] reqwest::Error),
    /// The directory for the queue files cannot be created.
    #[error("remote_write queue directory {} (under HEALTH_STATE_DIR): cannot create it: {source}", dir.display())]
    PersistDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// [`Delivery::start`] was called outside a tokio runtime.
    #[error("remote_write needs a tokio runtime to start its senders in")]
    NoRuntime,
}

#[cfg(test)]
mod tests {
    use super::{Auth, Endpoint};
    use crate::config::Secret;

    #[test]
    fn an_endpoint_prints_without_secrets() {
        let endpoint = Endpoint {
            url: "https://mimir.example/api/v1/push?key=abc".parse().unwrap(),
            auth: Auth::Basic { username: "kiosk".into(), password: Secret::new("pa55") },
        };
        let printed = format!("{endpoint:?}");
        assert!(!printed.contains("abc") && !printed.contains("pa55"), "{printed}");
        assert!(printed.contains("https://mimir.example/api/v1/push"), "{printed}");
    }
}
