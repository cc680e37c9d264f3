//! One endpoint's tasks: the sender, which sends while the queue holds samples and retries a
//! failed request, the same one, until the receiver takes or refuses it; and the keeper of the
//! queue file (see [`super::persist`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::persist::{self, Action, QueueFile, UNKNOWN};
use super::queue::Queue;
use super::retry::{backoff, delay};
use super::send::{Attempt, Poster};

/// Where log lines of remote_write go.
pub(crate) const LOG_TARGET: &str = "health.remote_write";

/// `None` while running; the time to stop sending once shutting down. A dropped sender (the
/// last `Delivery` handle gone without `shutdown`) means "stop now".
pub(crate) type Stop = watch::Receiver<Option<Instant>>;

/// What one endpoint's tasks and the `Delivery` handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The endpoint's URL, redacted.
    pub(crate) url: String,
    pub(crate) state: Mutex<State>,
    /// Rung when samples are queued.
    pub(crate) wake: Notify,
    pub(crate) file: Option<tokio::sync::Mutex<QueueFile>>,
}

/// The queue and the figures.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) queue: Queue,
    pub(crate) sent: u64,
    pub(crate) retried: u64,
    pub(crate) rejected: u64,
    pub(crate) last_success: Option<SystemTime>,
    /// Whether the current overflow has been logged (once until a request gets through).
    pub(crate) overflow_logged: bool,
}

impl Shared {
    pub(crate) fn new(url: String, queue: Queue, file: Option<QueueFile>) -> Self {
        let state = State {
            queue,
            sent: 0,
            retried: 0,
            rejected: 0,
            last_success: None,
            overflow_logged: false,
        };
        Self {
            url,
            state: Mutex::new(state),
            wake: Notify::new(),
            file: file.map(tokio::sync::Mutex::new),
        }
    }

    /// The state; a panic elsewhere while it was held leaves consistent figures (every update
    /// is a few assignments), so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How the sender sends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    pub(crate) max_samples_per_request: usize,
    pub(crate) backoff: (Duration, Duration),
}

/// Resolves once shutdown has been asked for.
async fn stop_asked(stop: &mut Stop) {
    while stop.borrow_and_update().is_none() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Resolves when sending must end: at the shutdown's deadline.
async fn stop_due(stop: &mut Stop) {
    stop_asked(stop).await;
    let at = (*stop.borrow()).unwrap_or_else(Instant::now);
    tokio::time::sleep_until(at).await;
}

/// Sends until stopped, then gives the request in flight back to the queue and saves the queue.
pub(crate) async fn send(shared: Arc<Shared>, poster: Poster, pace: Pace, mut stop: Stop) {
    let (first, cap) = pace.backoff;
    let mut attempt = 0u32;
    let mut refused = HashSet::new();
    let mut failing = false;
    'requests: loop {
        let stopping = *stop.borrow();
        if stopping.is_some_and(|at| Instant::now() >= at) {
            break;
        }
        let request = shared.lock().queue.start_request(pace.max_samples_per_request);
        let Some(request) = request else {
            if stopping.is_some() || stop.has_changed().is_err() {
                break;
            }
            tokio::select! {
                () = shared.wake.notified() => {}
                () = stop_asked(&mut stop) => {}
            }
            continue;
        };
        let samples = request.samples() as u64;
        let body = request.compress();
        drop(request);
        loop {
            let outcome = tokio::select! {
                outcome = poster.post(body.clone()) => outcome,
                () = stop_due(&mut stop) => break 'requests,
            };
            match outcome {
                Attempt::Delivered => {
                    let mut state = shared.lock();
                    state.queue.finish_request();
                    state.sent += samples;
                    state.last_success = Some(SystemTime::now());
                    state.overflow_logged = false;
                    drop(state);
                    if failing {
                        tracing::info!(
                            target: LOG_TARGET,
                            "remote_write to {}: delivering again after {attempt} failed attempts",
                            shared.url,
                        );
                    }
                    (attempt, failing) = (0, false);
                    continue 'requests;
                }
                Attempt::Rejected { status, message } => {
                    let mut state = shared.lock();
                    state.queue.finish_request();
                    state.rejected += samples;
                    drop(state);
                    if refused.insert(status) {
                        tracing::warn!(
                            target: LOG_TARGET,
                            "remote_write to {}: HTTP {status}: {message}; its {samples} samples are \
                             dropped, not retried (counted; later HTTP {status} answers are not logged)",
                            shared.url,
                        );
                    }
                    (attempt, failing) = (0, false);
                    continue 'requests;
                }
                Attempt::Retry { reason, after } => {
                    shared.lock().retried += samples;
                    let wait = delay(after, backoff(attempt, first, cap, fastrand::f64()), cap);
                    if !failing {
                        tracing::warn!(
                            target: LOG_TARGET,
                            "remote_write to {}: {reason}; retrying with backoff (up to {cap:?}), \
                             samples wait in the queue",
                            shared.url,
                        );
                        failing = true;
                    }
                    attempt = attempt.saturating_add(1);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = stop_due(&mut stop) => break 'requests,
                    }
                }
            }
        }
    }
    shared.lock().queue.give_back_request();
    if let Some(file) = &shared.file {
        save(&shared, &mut *file.lock().await, true).await;
    }
}

/// Writes the queue file when samples have waited a whole `every` undelivered, removes it once
/// they have gone (see [`super::persist`]); ends when shutdown is asked for.
pub(crate) async fn keep_file(shared: Arc<Shared>, every: Duration, mut stop: Stop) {
    let Some(file) = &shared.file else { return };
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = stop_asked(&mut stop) => return,
        }
        let mut file = file.lock().await;
        let (pushed, popped) = {
            let state = shared.lock();
            (state.queue.pushed, state.queue.popped)
        };
        match file.check(pushed, popped) {
            Action::Nothing => {}
            Action::Write => save(&shared, &mut file, false).await,
            Action::Remove => match persist::remove(&file.path) {
                Ok(()) => file.written = None,
                Err(error) => tracing::warn!(
                    target: LOG_TARGET,
                    "remote_write to {}: cannot remove {}: {error}",
                    shared.url,
                    file.path.display(),
                ),
            },
        }
    }
}

/// Writes the queue as it is now (or removes the file when it is empty).
async fn save(shared: &Shared, file: &mut QueueFile, last: bool) {
    let (entries, counters) = {
        let state = shared.lock();
        (state.queue.entries(), (state.queue.pushed, state.queue.popped))
    };
    let (path, max_bytes, count) = (file.path.clone(), file.max_bytes, entries.len());
    let written = tokio::task::spawn_blocking(move || {
        if entries.is_empty() {
            persist::remove(&path).map(|()| 0)
        } else {
            persist::write(&path, &entries, max_bytes)
        }
    })
    .await
    .unwrap_or_else(|error| Err(std::io::Error::other(error)));
    let path = file.path.display();
    match written {
        Ok(_) if count == 0 => file.written = None,
        Ok(skipped) => {
            file.written = Some(counters);
            let kept = count - skipped;
            if last || skipped > 0 {
                tracing::info!(
                    target: LOG_TARGET,
                    "remote_write to {}: {kept} undelivered samples saved in {path} for the next \
                     start{}",
                    shared.url,
                    if skipped > 0 {
                        format!(" ({skipped} older ones left out: the file's size cap)")
                    } else {
                        String::new()
                    },
                );
            } else {
                tracing::debug!(target: LOG_TARGET, "remote_write to {}: saved {kept} samples in {path}", shared.url);
            }
        }
        Err(error) => {
            file.written = Some(UNKNOWN);
            tracing::warn!(
                target: LOG_TARGET,
                "remote_write to {}: cannot save the queue in {path}: {error}",
                shared.url,
            );
        }
    }
}
