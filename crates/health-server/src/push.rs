//! Push mode: for kiosks behind NAT that Prometheus cannot scrape, the `push` collector `PUT`s
//! the same text `/metrics` serves to a Pushgateway every `HEALTH_PUSH_INTERVAL`.
//!
//! It is a collector so that the scheduler gives it what every collector gets: an interval, a
//! hard timeout, a panic fence, a `/status` entry with its last error, and its own figures in
//! `/metrics` (one run behind in what it pushes, which Prometheus never notices). `PUT` replaces
//! the kiosk's whole group, so a series the kiosk stops exporting leaves the Pushgateway too.
//!
//! The Pushgateway URL may carry `user:password@` (sent as basic authentication); every message
//! shows it through [`health_core::redact::url`], without credentials or query string.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use health_core::{
    CollectError, Collector, Exposition, MetricDesc, Schedule, Snapshot, Unit, redact,
};

use crate::config::PushConfig;

/// The collector's name in `/status` and the `collector` label.
pub const NAME: &str = "push";

const PUSHES: MetricDesc = MetricDesc::counter(
    "pushes_total",
    Unit::None,
    "Pushes to the Pushgateway by result: success, error (refused, or an HTTP error status) or timeout.",
)
.labels(&["result"]);
const LAST_SUCCESS: MetricDesc = MetricDesc::gauge(
    "push_last_success_timestamp_seconds",
    Unit::Seconds,
    "Unix time of the last push the Pushgateway accepted; 0 before the first.",
);
const DURATION: MetricDesc = MetricDesc::gauge(
    "push_duration_seconds",
    Unit::Seconds,
    "How long the last push took, successful or not.",
);

/// What the push collector emits.
pub fn descriptions() -> Vec<MetricDesc> {
    vec![PUSHES, LAST_SUCCESS, DURATION]
}

/// Where and how often to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The Pushgateway's base URL, `http(s)://[user:password@]host:port[/path]`.
    pub gateway: String,
    /// How often.
    pub interval: Duration,
    /// The `job` label of the group.
    pub job: String,
    /// The `instance` label of the group.
    pub instance: String,
}

/// The push collector.
#[derive(Debug)]
pub struct PushCollector {
    options: PushOptions,
    /// `<gateway>/metrics/job/<job>/instance/<instance>`, credentials removed.
    target: reqwest::Url,
    credentials: Option<(String, String)>,
    exposition: Exposition,
    client: reqwest::Client,
    successes: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    last_success: AtomicU64,
}

/// How a push failed, for `pushes_total{result}`.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Error,
    Timeout,
}

/// Why the push collector cannot be built. `#[non_exhaustive]`: new checks may come.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The URL does not parse (the configuration checks it, so this is a caller's bug).
    #[error("HEALTH_PUSHGATEWAY_URL={url}: not a usable URL")]
    Url {
        /// The URL, redacted.
        url: String,
    },
    /// The HTTP client could not be built (no TLS roots, say).
    #[error("cannot build the HTTP client for pushing: {0}")]
    Client(#[from] reqwest::Error),
}

impl PushCollector {
    /// Pushes what `exposition` renders, as `options` say.
    pub fn new(options: PushOptions, exposition: Exposition) -> Result<Self, PushError> {
        let bad = || PushError::Url { url: redact::url(&options.gateway) };
        let mut target = reqwest::Url::parse(&options.gateway).map_err(|_| bad())?;
        let credentials = (!target.username().is_empty()).then(|| {
            let user = percent_decode(target.username());
            let password = target.password().map(percent_decode).unwrap_or_default();
            (user, password)
        });
        target.set_username("").map_err(|()| bad())?;
        target.set_password(None).map_err(|()| bad())?;
        target.path_segments_mut().map_err(|()| bad())?.pop_if_empty().extend([
            "metrics",
            "job",
            &options.job,
            "instance",
            &options.instance,
        ]);
        // A push must finish within its run's time limit (see `schedule`).
        let client = reqwest::Client::builder()
            .timeout(push_timeout(options.interval))
            .connect_timeout(push_timeout(options.interval))
            .build()?;
        Ok(Self {
            options,
            target,
            credentials,
            exposition,
            client,
            successes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
        })
    }

    /// Where it pushes, without credentials: for logs.
    pub fn target(&self) -> String {
        redact::url(self.target.as_str())
    }

    async fn push(&self) -> Result<(), (Failure, String)> {
        let body = self.exposition.render();
        let mut request = self
            .client
            .put(self.target.clone())
            .header(reqwest::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
            .body(body);
        if let Some((user, password)) = &self.credentials {
            request = request.basic_auth(user, Some(password));
        }
        let target = self.target();
        match request.send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                let text: String = text.trim().chars().take(200).collect();
                Err((Failure::Error, format!("push to {target}: HTTP {status}: {text}")))
            }
            Err(error) if error.is_timeout() => Err((
                Failure::Timeout,
                format!(
                    "push to {target}: no answer within {:?}",
                    push_timeout(self.options.interval)
                ),
            )),
            Err(error) => {
                let cause = std::error::Error::source(&error)
                    .map_or_else(|| error.to_string(), ToString::to_string);
                Err((Failure::Error, format!("push to {target}: {}", redact::urls_in(&cause))))
            }
        }
    }

    fn figures(&self, took: Duration) -> Snapshot {
        let mut snapshot = Snapshot::new();
        for (result, count) in
            [("success", &self.successes), ("error", &self.errors), ("timeout", &self.timeouts)]
        {
            snapshot.counter_with(
                PUSHES.name,
                vec![("result", result.to_owned())],
                count.load(Ordering::Relaxed),
            );
        }
        #[allow(clippy::cast_precision_loss, reason = "Unix seconds fit an f64 exactly")]
        let last = self.last_success.load(Ordering::Relaxed) as f64;
        snapshot.gauge(LAST_SUCCESS.name, last);
        snapshot.gauge(DURATION.name, took.as_secs_f64());
        snapshot
    }
}

/// The push collector `config` asks for, if any: `None` without `HEALTH_PUSHGATEWAY_URL`.
pub(crate) fn from_config(
    config: &PushConfig,
    exposition: &Exposition,
) -> Result<Option<PushCollector>, PushError> {
    let Some(gateway) = &config.gateway_url else { return Ok(None) };
    let instance = config.instance.clone().unwrap_or_else(host_name);
    let options = PushOptions {
        gateway: gateway.expose().to_owned(),
        interval: config.interval,
        job: config.job.clone().unwrap_or_else(|| "vimeo-monitor".to_owned()),
        instance,
    };
    PushCollector::new(options, exposition.clone()).map(Some)
}

/// This machine's host name, the default `instance` (push and remote-write); `unknown` when it
/// has none.
pub(crate) fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The HTTP time limit for one push: most of the interval, at most 10 s.
fn push_timeout(interval: Duration) -> Duration {
    interval.mul_f64(0.7).min(Duration::from_secs(10))
}

/// `user` and `password` as written in a URL are percent-encoded.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

#[async_trait]
impl Collector for PushCollector {
    fn name(&self) -> &str {
        NAME
    }

    fn describe(&self) -> Vec<MetricDesc> {
        descriptions()
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(self.options.interval)
            .with_timeout(push_timeout(self.options.interval) + Duration::from_millis(500))
    }

    async fn collect(&self) -> Result<Snapshot, CollectError> {
        let started = Instant::now();
        let outcome = self.push().await;
        let took = started.elapsed();
        match outcome {
            Ok(()) => {
                self.successes.fetch_add(1, Ordering::Relaxed);
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
                self.last_success.store(now.as_secs(), Ordering::Relaxed);
                Ok(self.figures(took))
            }
            Err((failure, message)) => {
                let counter = match failure {
                    Failure::Error => &self.errors,
                    Failure::Timeout => &self.timeouts,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                // The figures still go out, with the failure in `/status`.
                let mut snapshot = self.figures(took);
                snapshot.problem(message);
                Ok(snapshot)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collector(gateway: &str) -> PushCollector {
        let options = PushOptions {
            gateway: gateway.to_owned(),
            interval: Duration::from_secs(15),
            job: "kiosks".to_owned(),
            instance: "hall-a:1".to_owned(),
        };
        PushCollector::new(options, Exposition::default()).unwrap()
    }

    #[test]
    fn the_group_path_follows_the_gateway_url_and_credentials_come_out() {
        let push = collector("https://user:p%40ss@push.example:9091/gw/");
        assert_eq!(
            push.target.as_str(),
            "https://push.example:9091/gw/metrics/job/kiosks/instance/hall-a:1"
        );
        assert_eq!(push.credentials, Some(("user".to_owned(), "p@ss".to_owned())));
        assert!(!push.target().contains("p%40ss"));
        let plain = collector("http://127.0.0.1:9091");
        assert_eq!(
            plain.target.as_str(),
            "http://127.0.0.1:9091/metrics/job/kiosks/instance/hall-a:1"
        );
        assert_eq!(plain.credentials, None);
    }

    #[test]
    fn the_time_limit_fits_the_interval() {
        assert_eq!(push_timeout(Duration::from_secs(1)), Duration::from_millis(700));
        assert_eq!(push_timeout(Duration::from_secs(60)), Duration::from_secs(10));
        let push = collector("http://127.0.0.1:9091");
        assert!(push.schedule().timeout < push.schedule().interval);
    }
}
