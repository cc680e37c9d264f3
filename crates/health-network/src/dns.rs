//! Resolving a configured ping host: a literal IP address is used as is, a name is looked up
//! with the system resolver (`getaddrinfo`, so `/etc/hosts` counts) under a timeout, and the
//! lookup is reported as `network_dns_up` and `network_dns_lookup_seconds`.
//!
//! Names under the reserved `.invalid` top-level domain fail at once without asking anyone
//! (RFC 6761, section 6.4). It does not cache answers, and it pings only the first address the
//! resolver returns (getaddrinfo already sorts them by RFC 6724 preference).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use health_core::{MetricDesc, Snapshot, Unit};

/// How long the last lookup of a name took, failed or not.
pub(crate) const DNS_LOOKUP: MetricDesc = MetricDesc::gauge(
    "network_dns_lookup_seconds",
    Unit::Seconds,
    "How long resolving the ping host's name took in the last run, answer or failure \
     (hosts given as names only).",
)
.labels(&["host"]);
/// Whether the last lookup of a name gave an address.
pub(crate) const DNS_UP: MetricDesc = MetricDesc::gauge(
    "network_dns_up",
    Unit::None,
    "1 if the ping host's name resolved to an address in the last run, else 0 \
     (hosts given as names only).",
)
.labels(&["host"]);

/// Where a configured host is, this run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// The host was an IP address: nothing was looked up.
    Literal(IpAddr),
    /// The name resolved to this address after `elapsed`.
    Resolved { addr: IpAddr, elapsed: Duration },
    /// The name did not resolve (no such name, no answer in time, resolver error).
    Failed { elapsed: Duration, reason: String },
}

impl Target {
    /// The address to probe, if there is one.
    pub(crate) fn addr(&self) -> Option<IpAddr> {
        match self {
            Self::Literal(addr) | Self::Resolved { addr, .. } => Some(*addr),
            Self::Failed { .. } => None,
        }
    }

    /// Adds `network_dns_*{host}` for a name; nothing for a literal address.
    pub(crate) fn emit(&self, host: &str, snapshot: &mut Snapshot) {
        let (up, elapsed) = match self {
            Self::Literal(_) => return,
            Self::Resolved { elapsed, .. } => (1.0, elapsed),
            Self::Failed { elapsed, .. } => (0.0, elapsed),
        };
        snapshot.gauge_with(DNS_UP.name, vec![("host", host.to_owned())], up);
        snapshot.gauge_with(
            DNS_LOOKUP.name,
            vec![("host", host.to_owned())],
            elapsed.as_secs_f64(),
        );
    }
}

/// The IP address `host` spells, if it is one (`[::1]` is accepted too).
pub(crate) fn literal(host: &str) -> Option<IpAddr> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.parse().ok()
}

/// Resolves `host`, giving up after `timeout`.
pub(crate) async fn resolve(host: &str, timeout: Duration) -> Target {
    if let Some(addr) = literal(host) {
        return Target::Literal(addr);
    }
    if is_reserved_invalid(host) {
        return Target::Failed {
            elapsed: Duration::ZERO,
            reason: format!("`{host}` is under the reserved .invalid domain (RFC 6761)"),
        };
    }
    let started = Instant::now();
    let answer = tokio::time::timeout(timeout, tokio::net::lookup_host((host, 0))).await;
    let elapsed = started.elapsed();
    let reason = match answer {
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(addr) => return Target::Resolved { addr: addr.ip(), elapsed },
            None => format!("`{host}` resolved to no address"),
        },
        Ok(Err(e)) => format!("cannot resolve `{host}`: {e}"),
        Err(_) => format!("resolving `{host}` took longer than {timeout:?}"),
    };
    tracing::debug!(target: "health.network", host, %reason, "DNS lookup failed");
    Target::Failed { elapsed, reason }
}

/// Whether `host` is `invalid` or a name under it, which never resolves (RFC 6761, 6.4).
fn is_reserved_invalid(host: &str) -> bool {
    let name = host.trim_end_matches('.');
    let len = name.len();
    name.eq_ignore_ascii_case("invalid")
        || (len > ".invalid".len()
            && name.is_char_boundary(len - ".invalid".len())
            && name[len - ".invalid".len()..].eq_ignore_ascii_case(".invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_recognised() {
        assert_eq!(literal("127.0.0.1"), Some(IpAddr::from([127, 0, 0, 1])));
        assert_eq!(literal("::1"), Some("::1".parse().unwrap()));
        assert_eq!(literal("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(literal("localhost"), None);
        assert_eq!(literal("1.2.3"), None);
    }

    #[test]
    fn invalid_domain_is_recognised() {
        for name in ["nonexistent.invalid", "a.b.INVALID.", "invalid"] {
            assert!(is_reserved_invalid(name), "{name}");
        }
        for name in ["localhost", "invalid.example", "notinvalid", "ünvalid"] {
            assert!(!is_reserved_invalid(name), "{name}");
        }
    }

    #[tokio::test]
    async fn a_literal_is_not_looked_up_and_emits_nothing() {
        let target = resolve("::1", Duration::from_secs(1)).await;
        assert_eq!(target, Target::Literal("::1".parse().unwrap()));
        let mut snapshot = Snapshot::new();
        target.emit("::1", &mut snapshot);
        assert!(snapshot.is_empty());
    }

    #[tokio::test]
    async fn localhost_resolves_to_loopback() {
        let target = resolve("localhost", Duration::from_secs(2)).await;
        let Target::Resolved { addr, elapsed } = target.clone() else {
            panic!("localhost did not resolve: {target:?}")
        };
        assert!(addr.is_loopback(), "{addr}");
        assert!(elapsed < Duration::from_secs(2));
        let mut snapshot = Snapshot::new();
        target.emit("localhost", &mut snapshot);
        let labels = [("host", "localhost")];
        assert_eq!(
            snapshot.get(&DNS_UP.name, &labels),
            Some(&health_core::SampleValue::Gauge(1.0))
        );
        let Some(health_core::SampleValue::Gauge(seconds)) =
            snapshot.get(&DNS_LOOKUP.name, &labels)
        else {
            panic!("no lookup time")
        };
        assert!((0.0..2.0).contains(seconds), "{seconds}");
    }

    #[tokio::test]
    async fn an_invalid_name_fails_without_a_query() {
        let target = resolve("nonexistent.invalid", Duration::from_secs(5)).await;
        let Target::Failed { elapsed, reason } = &target else { panic!("{target:?}") };
        assert_eq!(*elapsed, Duration::ZERO);
        assert!(reason.contains("RFC 6761"), "{reason}");
        assert_eq!(target.addr(), None);
    }
}
