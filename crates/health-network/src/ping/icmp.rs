//! ICMP echo probes through `surge-ping` (packets built and parsed with pnet's packet types).
//!
//! A socket per address family is opened for each run: an unprivileged datagram socket first
//! (allowed when the process's group is in `net.ipv4.ping_group_range`, as on Raspberry Pi OS),
//! else a raw socket (root or `CAP_NET_RAW`). Replies are matched to requests by surge-ping:
//! on a datagram socket the kernel picks the identifier and delivers only our own replies, so
//! sequence numbers (unique per [`Pinger`](super::Pinger) across hosts and runs) are the key;
//! on a raw socket, which also sees every other ICMP packet of the host (our own requests on
//! loopback, other pingers' replies), the key is the identifier, random per `Pinger`, and the
//! sequence. Only an echo reply counts: an ICMP error quoting our request (destination
//! unreachable, time exceeded) is a lost probe.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use pnet_packet::icmp::IcmpTypes;
use pnet_packet::icmpv6::Icmpv6Types;
use socket2::Type;
use surge_ping::{Client, Config, ICMP, IcmpPacket, PingIdentifier, PingSequence, SurgeError};

use super::Probes;

/// The payload of every echo request (it comes back in the reply).
const PAYLOAD: &[u8; 16] = b"vimeo-monitor ok";

/// Opens an ICMP socket for one family: `hint` first, then the other kind.
pub(super) fn open(v6: bool, hint: Type) -> io::Result<Client> {
    let kind = if v6 { ICMP::V6 } else { ICMP::V4 };
    Client::new(&Config::builder().kind(kind).sock_type_hint(hint).build())
}

/// The kind of socket a client uses.
pub(super) fn socket_type(client: &Client) -> Type {
    client.get_socket().get_type()
}

/// Sends `count` echo requests to `addr`, one after the other, each given `timeout`.
pub(super) async fn probe(
    client: &Client,
    addr: IpAddr,
    ident: u16,
    next_seq: &AtomicU16,
    count: u32,
    timeout: Duration,
) -> Probes {
    let mut pinger = client.pinger(addr, PingIdentifier(ident)).await;
    pinger.timeout(timeout);
    let mut probes = Probes::default();
    for _ in 0..count {
        let seq = PingSequence(next_seq.fetch_add(1, Ordering::Relaxed));
        probes.sent += 1;
        match pinger.ping(seq, PAYLOAD).await {
            Ok((packet, rtt)) if is_echo_reply(&packet) => probes.rtts.push(rtt),
            Ok((packet, _)) => {
                tracing::debug!(
                    target: "health.network",
                    %addr,
                    ?packet,
                    "ICMP error instead of a reply",
                );
            }
            Err(SurgeError::Timeout { .. }) => {
                tracing::trace!(target: "health.network", %addr, seq = seq.0, "no reply");
            }
            Err(e) => {
                tracing::debug!(target: "health.network", %addr, error = %e, "ICMP probe failed");
            }
        }
    }
    probes
}

fn is_echo_reply(packet: &IcmpPacket) -> bool {
    match packet {
        IcmpPacket::V4(p) => p.get_icmp_type() == IcmpTypes::EchoReply,
        IcmpPacket::V6(p) => p.get_icmpv6_type() == Icmpv6Types::EchoReply,
    }
}
