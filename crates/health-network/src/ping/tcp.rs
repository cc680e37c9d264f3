//! TCP connect probes, for networks that drop ICMP or hosts where ICMP is not permitted.
//!
//! One probe is one connection attempt to `(addr, port)`, closed as soon as it is made; its RTT
//! is the time the handshake took. A refused connection (`ECONNREFUSED`: the host answered the
//! SYN with a RST) counts as a reply too, with the time the refusal took: the host is
//! reachable, only the port is closed. Timeouts and every other error (no route, host
//! unreachable) count as lost.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::Probes;

/// Makes `count` connection attempts to `(addr, port)`, one after the other, each given `timeout`.
pub(super) async fn probe(addr: IpAddr, port: u16, count: u32, timeout: Duration) -> Probes {
    let target = SocketAddr::new(addr, port);
    let mut probes = Probes::default();
    for _ in 0..count {
        probes.sent += 1;
        let started = Instant::now();
        match tokio::time::timeout(timeout, TcpStream::connect(target)).await {
            Ok(Ok(stream)) => {
                probes.rtts.push(started.elapsed());
                drop(stream);
            }
            Ok(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => {
                probes.rtts.push(started.elapsed());
            }
            Ok(Err(e)) => {
                tracing::debug!(target: "health.network", %target, error = %e, "TCP probe failed");
            }
            Err(_) => tracing::debug!(target: "health.network", %target, "TCP probe timed out"),
        }
    }
    probes
}
