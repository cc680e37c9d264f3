//! From the `HEALTH_REMOTE_WRITE_*` settings to a running [`Delivery`] and its collector, and
//! across reloads: the delivery (its queues) is kept while the settings it depends on stay the
//! same, so a reload that changes the labels or the interval loses nothing.

use std::time::Duration;

use health_core::Exposition;

use super::collector::{RemoteWriteCollector, target_labels};
use super::{Auth, Delivery, DeliveryOptions, Endpoint, Persist, RemoteWriteError};
use crate::config::{HealthConfig, RemoteWriteAuth};

/// How long a retired delivery keeps sending its queue to the old receivers after a reload
/// that changed them (in the background; with persistence, what is left is kept on disk).
const REPLACED_FLUSH: Duration = Duration::from_secs(30);

/// The delivery in use and the options it was started with.
#[derive(Debug)]
pub(crate) struct Running {
    options: DeliveryOptions,
    delivery: Delivery,
}

/// The delivery options `config` asks for; `None` without a URL.
pub(crate) fn options(config: &HealthConfig) -> Option<DeliveryOptions> {
    let rw = &config.remote_write;
    if !rw.enabled() {
        return None;
    }
    let auth = match rw.auth() {
        RemoteWriteAuth::None => Auth::None,
        RemoteWriteAuth::Bearer(token) => Auth::Bearer(token),
        RemoteWriteAuth::Basic { username, password } => Auth::Basic { username, password },
    };
    // The settings checked every URL parses without credentials.
    let endpoints = rw
        .urls
        .iter()
        .filter_map(|url| reqwest::Url::parse(url.expose()).ok())
        .map(|url| Endpoint { url, auth: auth.clone() })
        .collect();
    let mut options = DeliveryOptions::new(endpoints);
    options.timeout = rw.timeout;
    options.max_bytes = usize::try_from(rw.queue_max_bytes).unwrap_or(usize::MAX);
    options.persist = rw.persist.then(|| Persist {
        dir: config.state_dir().join("remote_write"),
        max_bytes: rw.persist_max_bytes,
    });
    Some(options)
}

impl Running {
    /// Starts delivery for `config`; `Ok(None)` when remote-write is off.
    pub(crate) fn start(config: &HealthConfig) -> Result<Option<Self>, RemoteWriteError> {
        let Some(options) = options(config) else { return Ok(None) };
        let delivery = Delivery::start(options.clone())?;
        Ok(Some(Self { options, delivery }))
    }

    /// Stops a delivery that is replaced or no longer wanted, in the background: it keeps
    /// sending its queue to its receivers for a while, then keeps the rest on disk with
    /// persistence.
    pub(crate) fn retire(self) {
        tokio::spawn(self.delivery.shutdown(REPLACED_FLUSH));
    }

    /// The collector that feeds this delivery from `exposition`, as `config` says.
    pub(crate) fn collector(
        &self,
        config: &HealthConfig,
        exposition: &Exposition,
    ) -> RemoteWriteCollector {
        let rw = &config.remote_write;
        let labels = target_labels(&rw.labels, &crate::push::host_name());
        RemoteWriteCollector::new(exposition.clone(), self.delivery.clone(), rw.interval, labels)
    }

    /// Whether `config` asks for exactly this delivery.
    pub(crate) fn serves(&self, config: &HealthConfig) -> bool {
        options(config).as_ref() == Some(&self.options)
    }

    /// Sends what it can within `deadline`, then stops (keeping the rest on disk with
    /// persistence).
    pub(crate) async fn shutdown(self, deadline: Duration) {
        self.delivery.shutdown(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, SignedUrl};

    fn config(url: &str) -> HealthConfig {
        let mut config = HealthConfig::default();
        config.remote_write.urls = vec![SignedUrl::new(url)];
        config
    }

    #[test]
    fn only_the_delivery_settings_replace_the_delivery() {
        let base = config("https://rw.example/api/v1/write");
        let wanted = options(&base).expect("a URL turns it on");
        assert_eq!(wanted.endpoints.len(), 1);
        assert_eq!(wanted.max_bytes, 8_000_000);
        assert!(wanted.persist.is_none(), "no SD-card writes unless asked");
        assert_eq!(options(&HealthConfig::default()), None);

        // The collector's settings: the same delivery, its queue kept.
        let mut collector_side = base.clone();
        collector_side.remote_write.interval = Duration::from_secs(60);
        collector_side.remote_write.labels = vec![("kiosk".to_owned(), "hall-a".to_owned())];
        assert_eq!(options(&collector_side), Some(wanted.clone()));

        // The delivery's: a new one.
        let mut changes: Vec<HealthConfig> = Vec::new();
        changes.push(config("https://other.example/api/v1/write"));
        let mut token = base.clone();
        token.remote_write.bearer_token = Some(Secret::new("rotated"));
        changes.push(token);
        let mut persist = base;
        persist.remote_write.persist = true;
        persist.state_dir = Some("/var/lib/vimeo-monitor".into());
        changes.push(persist.clone());
        for changed in &changes {
            assert_ne!(options(changed).as_ref(), Some(&wanted));
        }
        let persisted = options(&persist).and_then(|o| o.persist).expect("persist");
        assert_eq!(persisted.dir, std::path::PathBuf::from("/var/lib/vimeo-monitor/remote_write"));
    }
}
