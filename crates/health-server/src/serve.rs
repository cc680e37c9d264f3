//! Serving a router on a bound listener, with bounds a kiosk on a venue network needs.
//!
//! Written on hyper directly rather than `axum::serve` because the exporter must bound what a
//! client can hold: a header read timeout (slowloris), a cap on open connections, and a shutdown
//! that closes idle keep-alive connections at once and gives up on busy ones after a deadline.
//!
//! A cap alone lets a few hundred idle keep-alive clients, or clients that reconnect as soon as
//! their half-sent headers time out, hold every slot while Prometheus waits in the backlog. So
//! once the connections near the cap, each new one closes the connection idle the longest (no
//! request in progress: kept alive between requests, or not yet sending one), and the last
//! [`RESERVE`] slots are left for arrivals while every connection is busy. Only when all slots
//! hold requests in progress is a new connection closed on arrival.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use health_core::ConnectionCounters;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service as _, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A client must send its request headers within this time.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Open connections at most, besides those being closed to make room.
const MAX_CONNECTIONS: usize = 256;
/// Slots kept for arrivals: from `MAX_CONNECTIONS - RESERVE` open connections on, each new one
/// closes the longest-idle one.
const RESERVE: usize = 32;
/// How long a recycled connection may take to finish a request that raced the decision.
const RECYCLE_GRACE: Duration = Duration::from_millis(500);

/// What to do with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// Serve it.
    Admit,
    /// Serve it and close the longest-idle connection.
    Recycle,
    /// Close it at once: every slot holds a request in progress.
    Refuse,
}

/// The decision for a new connection when `open` are open and `idle` of them have no request in
/// progress.
fn admission(open: usize, idle: bool) -> Admission {
    if open < MAX_CONNECTIONS - RESERVE {
        Admission::Admit
    } else if idle {
        Admission::Recycle
    } else if open < MAX_CONNECTIONS {
        Admission::Admit
    } else {
        Admission::Refuse
    }
}

/// One connection as the accept loop sees it.
#[derive(Debug)]
struct Slot {
    /// When the connection last became idle, in nanoseconds after the server started, plus one;
    /// [`BUSY`] while a request is in progress.
    idle_since: AtomicU64,
    /// Whether it has answered a request (else it is still waiting for its first headers).
    served: AtomicBool,
    /// Set once chosen for recycling, so it is not chosen twice.
    closing: AtomicBool,
    /// Wakes the connection's task to close it.
    close: Notify,
}

const BUSY: u64 = 0;

impl Slot {
    fn new(now: u64) -> Self {
        Self {
            idle_since: AtomicU64::new(now + 1),
            served: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        }
    }

    /// When it became idle, or `None` while busy or already being closed.
    fn idle_since(&self) -> Option<u64> {
        let since = self.idle_since.load(Ordering::Relaxed);
        (since != BUSY && !self.closing.load(Ordering::Relaxed)).then_some(since)
    }
}

/// The connection idle the longest among `(id, idle since)`, if any is idle.
fn longest_idle(slots: impl IntoIterator<Item = (u64, Option<u64>)>) -> Option<u64> {
    slots.into_iter().filter_map(|(id, since)| Some((since?, id))).min().map(|(_, id)| id)
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains connections for at most
/// `grace` and aborts the rest. Returns once no connection task is left. Connections closed to
/// make room are counted in `counters`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    counters: ConnectionCounters,
) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).keep_alive(true);
    let started = Instant::now();
    let now = move || u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
    let stopping = CancellationToken::new();
    let mut slots: HashMap<u64, Arc<Slot>> = HashMap::new();
    let mut connections = JoinSet::new();
    let mut next_id = 0u64;
    let (mut recycled_before, mut refused_before) = (false, false);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(ended) = connections.join_next(), if !connections.is_empty() => {
                if let Ok(id) = ended {
                    slots.remove(&id);
                }
            }
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(
                            target: "health.server",
                            "accepting a connection failed: {e}",
                        );
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let open = slots.values().filter(|s| !s.closing.load(Ordering::Relaxed)).count();
                let oldest = longest_idle(slots.iter().map(|(id, s)| (*id, s.idle_since())));
                match admission(open, oldest.is_some()) {
                    Admission::Admit => {}
                    Admission::Recycle => {
                        if let Some(slot) = oldest.and_then(|id| slots.get(&id)) {
                            slot.closing.store(true, Ordering::Relaxed);
                            slot.close.notify_one();
                            counters.recycled();
                            if !std::mem::replace(&mut recycled_before, true) {
                                tracing::info!(
                                    target: "health.server",
                                    "{open} connections open: closing the longest idle ones \
                                     to admit new ones",
                                );
                            }
                        }
                    }
                    Admission::Refuse => {
                        drop(stream);
                        counters.refused();
                        if !std::mem::replace(&mut refused_before, true) {
                            tracing::warn!(
                                target: "health.server",
                                "{open} connections busy with requests: refusing new ones \
                                 (counted in http_connections_refused_total; logged once)",
                            );
                        }
                        continue;
                    }
                }
                let id = next_id;
                next_id += 1;
                let slot = Arc::new(Slot::new(now()));
                slots.insert(id, Arc::clone(&slot));
                let connection = serve_connection(
                    &builder,
                    stream,
                    router.clone(),
                    slot,
                    now,
                    stopping.clone(),
                );
                connections.spawn(async move {
                    connection.await;
                    id
                });
            }
        }
    }
    drop(listener);
    stopping.cancel();
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::debug!(
            target: "health.server",
            "connections still busy after {grace:?}; closing them",
        );
    }
    connections.shutdown().await;
}

/// Serves one connection, keeping its slot's idle time, until the client leaves, its slot is
/// recycled or the server stops.
fn serve_connection(
    builder: &http1::Builder,
    stream: TcpStream,
    router: Router,
    slot: Arc<Slot>,
    now: impl Fn() -> u64 + Send + Sync + 'static,
    stopping: CancellationToken,
) -> impl Future<Output = ()> + Send + 'static {
    let service = TowerToHyperService::new(router);
    let marked = Arc::clone(&slot);
    let now = Arc::new(now);
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let slot = Arc::clone(&marked);
        let now = Arc::clone(&now);
        slot.idle_since.store(BUSY, Ordering::Relaxed);
        let answer = service.call(request);
        async move {
            let response = answer.await;
            slot.served.store(true, Ordering::Relaxed);
            slot.idle_since.store(now() + 1, Ordering::Relaxed);
            response
        }
    });
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    async move {
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = slot.close.notified() => {
                if !slot.served.load(Ordering::Relaxed) {
                    // No request yet, perhaps half a header: nothing is owed to it.
                    return;
                }
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(RECYCLE_GRACE, connection).await {
                    Ok(result) => result,
                    Err(_) => return,
                }
            }
            () = stopping.cancelled() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(target: "health.server", "connection ended with an error: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_connections_are_admitted_by_recycling_near_the_cap() {
        use Admission::{Admit, Recycle, Refuse};
        let edge = MAX_CONNECTIONS - RESERVE;
        let cases = [
            (0, false, Admit),
            (0, true, Admit),
            (edge - 1, true, Admit),
            (edge, true, Recycle),
            (edge, false, Admit),
            (MAX_CONNECTIONS - 1, false, Admit),
            (MAX_CONNECTIONS - 1, true, Recycle),
            (MAX_CONNECTIONS, true, Recycle),
            (MAX_CONNECTIONS, false, Refuse),
            (MAX_CONNECTIONS + 5, false, Refuse),
        ];
        for (open, idle, expected) in cases {
            assert_eq!(admission(open, idle), expected, "{open} open, idle: {idle}");
        }
    }

    #[test]
    fn the_longest_idle_connection_is_chosen() {
        type Slots = &'static [(u64, Option<u64>)];
        let cases: [(Slots, Option<u64>); 5] = [
            (&[], None),
            (&[(1, None), (2, None)], None),
            (&[(1, Some(50)), (2, Some(10)), (3, None)], Some(2)),
            (&[(7, None), (8, Some(3))], Some(8)),
            (&[(4, Some(9)), (5, Some(9))], Some(4)),
        ];
        for (slots, expected) in cases {
            assert_eq!(longest_idle(slots.iter().copied()), expected, "{slots:?}");
        }
    }

    #[test]
    fn a_slot_is_idle_until_busy_or_closing() {
        let slot = Slot::new(41);
        assert_eq!(slot.idle_since(), Some(42));
        slot.idle_since.store(BUSY, Ordering::Relaxed);
        assert_eq!(slot.idle_since(), None);
        slot.idle_since.store(100, Ordering::Relaxed);
        slot.closing.store(true, Ordering::Relaxed);
        assert_eq!(slot.idle_since(), None);
    }
}
