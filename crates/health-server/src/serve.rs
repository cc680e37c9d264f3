//! Serving a router on a bound listener, with bounds a kiosk on a venue network needs.
//!
//! Written on hyper directly rather than `axum::serve` because the exporter must bound what a
//! client can hold: a header read timeout (slowloris), a cap on open connections, and a shutdown
//! that closes idle keep-alive connections at once and gives up on busy ones after a deadline.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// A client must send its request headers within this time.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections beyond this many wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 256;

/// Serves `router` on `listener` until `shutdown` resolves, then drains connections for at most
/// `grace` and aborts the rest. Returns once no connection task is left.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => {
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
                let service = TowerToHyperService::new(router.clone());
                let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                connections.spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(
                            target: "health.server",
                            "connection ended with an error: {e}",
                        );
                    }
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::debug!(
            target: "health.server",
            "connections still busy after {grace:?}; closing them",
        );
    }
    connections.shutdown().await;
}
