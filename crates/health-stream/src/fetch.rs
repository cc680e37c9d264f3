//! HTTP GETs of playlists and segments: bounded in time and size, errors classified the way
//! `playlist_errors_total{status}` counts them, and no error ever quoting a URL's query string.

use std::time::{Duration, Instant};

use health_core::url::is_loopback_host;
use reqwest::{Client, Url};

/// How long connecting may take, whatever the request's own budget.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One client for the loopback interface (never through a proxy) and one for everything else
/// (through `HTTPS_PROXY` and friends when set). Both reuse connections between runs.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    direct: Client,
    proxied: Client,
}

/// A body that arrived whole.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The bytes.
    pub(crate) body: Vec<u8>,
    /// Where they came from after redirects: relative URIs in a playlist resolve against it.
    pub(crate) url: Url,
    /// From sending the request to the last byte.
    pub(crate) elapsed: Duration,
}

/// Why a GET gave nothing usable. Every URL in it is redacted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FetchError {
    /// The server answered with a status other than 2xx.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The redacted URL.
        url: String,
        /// What it answered.
        status: u16,
    },
    /// No whole answer within the budget.
    #[error("{url}: no whole answer within {:.1} s", .timeout.as_secs_f64())]
    Timeout {
        /// The redacted URL.
        url: String,
        /// The budget.
        timeout: Duration,
    },
    /// Connecting, TLS, or reading failed.
    #[error("{url}: {message}")]
    Network {
        /// The redacted URL.
        url: String,
        /// What went wrong, without the URL.
        message: String,
    },
    /// The body is larger than allowed.
    #[error("{url}: more than {limit} bytes")]
    TooLarge {
        /// The redacted URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The body is not what was asked for (not a playlist, no target duration, no variant).
    #[error("{url}: {reason}")]
    Parse {
        /// The redacted URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl FetchError {
    /// The `status` label it is counted under: the HTTP status code, or `timeout`, `network`,
    /// `parse` (a body too large to be a playlist counts as `parse`).
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Status { status, .. } => status.to_string(),
            Self::Timeout { .. } => "timeout".to_owned(),
            Self::Network { .. } => "network".to_owned(),
            Self::TooLarge { .. } | Self::Parse { .. } => "parse".to_owned(),
        }
    }

    /// Whether the budget ran out.
    pub(crate) fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }
}

impl Http {
    /// The two clients. Fails only when TLS cannot be set up.
    pub(crate) fn new() -> Result<Self, reqwest::Error> {
        let builder = || {
            Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(concat!("vimeo-monitor/", env!("CARGO_PKG_VERSION")))
        };
        Ok(Self { direct: builder().no_proxy().build()?, proxied: builder().build()? })
    }

    /// GETs `url`, all of it within `timeout` and `limit` bytes.
    pub(crate) async fn get(
        &self,
        url: &Url,
        limit: u64,
        timeout: Duration,
    ) -> Result<Fetched, FetchError> {
        let redacted = health_core::redact::url(url.as_str());
        let started = Instant::now();
        let whole = tokio::time::timeout(timeout, self.read(url, limit, &redacted)).await;
        match whole {
            Ok(Ok((body, final_url))) => {
                Ok(Fetched { body, url: final_url, elapsed: started.elapsed() })
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(FetchError::Timeout { url: redacted, timeout }),
        }
    }

    /// The request and the bounded read of its body; unbounded in time.
    async fn read(
        &self,
        url: &Url,
        limit: u64,
        redacted: &str,
    ) -> Result<(Vec<u8>, Url), FetchError> {
        let network = |e: reqwest::Error| FetchError::Network {
            url: redacted.to_owned(),
            message: health_core::redact::error_chain(&e.without_url()),
        };
        let mut response = self.client_for(url).get(url.clone()).send().await.map_err(network)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status { url: redacted.to_owned(), status: status.as_u16() });
        }
        let too_large = || FetchError::TooLarge { url: redacted.to_owned(), limit };
        if response.content_length().is_some_and(|length| length > limit) {
            return Err(too_large());
        }
        let final_url = response.url().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, final_url))
    }

    fn client_for(&self, url: &Url) -> &Client {
        if url.host_str().is_some_and(is_loopback_host) { &self.direct } else { &self.proxied }
    }
}
