//! [`Delivery`]: the handle the exporter holds. It turns each [`Batch`] into queue entries
//! once (label sets normalised and shared) and gives them to every endpoint's queue; the
//! endpoints' tasks do the rest.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use health_core::redact;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::labels::{Interner, normalise};
use super::persist::{self, QueueFile, UNKNOWN};
use super::queue::{Entry, Queue};
use super::send::{Poster, client};
use super::sender::{self, LOG_TARGET, Pace, Shared};
use super::{Batch, DeliveryOptions, EndpointStats, RemoteWriteError};

/// The running senders: a cheap handle (clones share them). Dropping the last handle without
/// [`Delivery::shutdown`] stops the senders at once and saves their queues.
#[derive(Debug, Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoints: Vec<Arc<Shared>>,
    interner: Mutex<Interner>,
    /// Dropped with the last handle: the tasks then stop.
    stop: watch::Sender<Option<Instant>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Delivery {
    /// Starts one sender task per endpoint (needs a tokio runtime), each with its queue as
    /// persisted at the last stop (a file that cannot be read is logged and ignored).
    pub fn start(options: DeliveryOptions) -> Result<Self, RemoteWriteError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RemoteWriteError::NoRuntime)?;
        let client = client(options.timeout)?;
        if let Some(persist) = &options.persist {
            std::fs::create_dir_all(&persist.dir).map_err(|source| {
                RemoteWriteError::PersistDir { dir: persist.dir.clone(), source }
            })?;
        }
        let (stop, _) = watch::channel(None);
        let pace = Pace {
            max_samples_per_request: options.max_samples_per_request.max(1),
            backoff: options.backoff,
        };
        let mut interner = Interner::default();
        let mut endpoints = Vec::new();
        let mut tasks = Vec::new();
        let mut file_keys = HashSet::new();
        for endpoint in options.endpoints {
            let url = redact::url(endpoint.url.as_str());
            let mut queue = Queue::new(options.max_samples, options.max_bytes);
            // The same URL twice (two tenants told apart by their credentials) gets two files.
            let mut key = endpoint.url.to_string();
            for n in 2.. {
                if file_keys.insert(key.clone()) {
                    break;
                }
                key = format!("{}#{n}", endpoint.url);
            }
            let file = options.persist.as_ref().map(|persist| {
                let mut file = QueueFile::new(&persist.dir, &key, persist.max_bytes);
                load(&mut file, &mut queue, &mut interner, &url);
                file
            });
            let shared = Arc::new(Shared::new(url, queue, file));
            let poster = Poster::new(client.clone(), endpoint);
            tasks.push(runtime.spawn(sender::send(
                Arc::clone(&shared),
                poster,
                pace,
                stop.subscribe(),
            )));
            if shared.file.is_some() {
                tasks.push(runtime.spawn(sender::keep_file(
                    Arc::clone(&shared),
                    options.persist_interval,
                    stop.subscribe(),
                )));
            }
            // A queue loaded from disk is sent at once.
            shared.wake.notify_one();
            endpoints.push(shared);
        }
        let inner =
            Inner { endpoints, interner: Mutex::new(interner), stop, tasks: Mutex::new(tasks) };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Queues `batch` for every endpoint. Never blocks, never fails: a full queue drops its
    /// oldest samples (counted in `samples_overflowed`, logged once per outage).
    pub fn enqueue(&self, batch: Batch) {
        let mut entries = Vec::with_capacity(batch.samples());
        {
            let mut interner = self.inner.interner.lock().unwrap_or_else(PoisonError::into_inner);
            for series in batch.series {
                let labels = normalise(series.labels);
                if labels.is_empty() || series.samples.is_empty() {
                    continue;
                }
                let labels = interner.intern(labels);
                entries.extend(series.samples.into_iter().map(|(timestamp, value)| Entry {
                    labels: labels.clone(),
                    timestamp,
                    value,
                }));
            }
        }
        // Stable: within one time, the batch's order.
        entries.sort_by_key(|e| e.timestamp);
        for shared in &self.inner.endpoints {
            let mut state = shared.lock();
            let dropped = state.queue.push(entries.iter().cloned());
            let log = dropped > 0 && !state.overflow_logged;
            state.overflow_logged |= log;
            let (samples, bytes) = (state.queue.samples(), state.queue.bytes());
            drop(state);
            if log {
                tracing::warn!(
                    target: LOG_TARGET,
                    "remote_write to {}: the queue is full ({samples} samples, ~{bytes} bytes); \
                     dropping the oldest samples until a request gets through (counted)",
                    shared.url,
                );
            }
            shared.wake.notify_one();
        }
    }

    /// One per endpoint, in the order given.
    pub fn stats(&self) -> Vec<EndpointStats> {
        self.inner
            .endpoints
            .iter()
            .map(|shared| {
                let state = shared.lock();
                EndpointStats {
                    url: shared.url.clone(),
                    samples_sent: state.sent,
                    samples_retried: state.retried,
                    samples_rejected: state.rejected,
                    samples_overflowed: state.queue.overflowed,
                    queue_samples: state.queue.samples(),
                    queue_bytes: state.queue.bytes(),
                    oldest_queued_ms: state.queue.oldest_ms(),
                    last_success: state.last_success,
                }
            })
            .collect()
    }

    /// Sends what it can, then saves what is left (with `persist`) and stops, all within
    /// `deadline`: sending ends a quarter of it (at most 250 ms) early to leave time for the
    /// write. A request cut short is saved whole and sent again at the next start (the
    /// receiver may then see samples it already has, which Prometheus accepts silently).
    pub async fn shutdown(self, deadline: Duration) {
        let end = Instant::now() + deadline;
        let reserve = (deadline / 4).min(Duration::from_millis(250));
        self.inner.stop.send_replace(Some(end - reserve));
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout_at(end, all).await.is_err() {
            tracing::warn!(
                target: LOG_TARGET,
                "remote_write: the queue was not saved within the {deadline:?} shutdown deadline",
            );
        }
    }
}

/// Loads the queue file into `queue` (its oldest samples dropped beyond the queue's caps).
fn load(file: &mut QueueFile, queue: &mut Queue, interner: &mut Interner, url: &str) {
    match persist::read(&file.path, interner) {
        Ok(None) => {}
        Ok(Some(entries)) => {
            let count = entries.len();
            queue.push(entries);
            file.written = Some((queue.pushed, queue.popped));
            tracing::info!(
                target: LOG_TARGET,
                "remote_write to {url}: {count} samples saved at the last stop are queued again \
                 (from {})",
                file.path.display(),
            );
        }
        Err(error) => {
            file.written = Some(UNKNOWN);
            tracing::warn!(
                target: LOG_TARGET,
                "remote_write to {url}: ignoring {} (it is replaced at the next save): {error}",
                file.path.display(),
            );
        }
    }
}
