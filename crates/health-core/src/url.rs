//! What collectors and the kiosk ask of a URL's host: whether it stays on this machine, so a
//! request to it never goes through a proxy (`HTTPS_PROXY` and friends are for the venue's way
//! out, not for a test server or a local player on 127.0.0.1).
//!
//! It takes the host as a parsed URL gives it (`reqwest::Url::host_str`), so this crate needs no
//! URL parser of its own and a host hidden behind userinfo (`http://127.0.0.1@example.com/`) is
//! not mistaken for the loopback one. Showing a URL without its secrets is [`crate::redact::url`].

use std::net::IpAddr;

/// Whether `host` (as `Url::host_str` gives it: an IPv6 address in brackets) names the loopback
/// interface: `localhost` in any case, an address in 127.0.0.0/8, or `::1`.
///
/// ```
/// use health_core::url::is_loopback_host;
/// assert!(is_loopback_host("127.0.0.1") && is_loopback_host("[::1]") && is_loopback_host("LOCALHOST"));
/// assert!(!is_loopback_host("api.vimeo.com"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised_and_others_are_not() {
        let table = [
            ("127.0.0.1", true),
            ("127.255.0.9", true),
            ("[::1]", true),
            ("::1", true),
            ("localhost", true),
            ("LocalHost", true),
            ("[0:0:0:0:0:0:0:1]", true),
            ("128.0.0.1", false),
            ("0.0.0.0", false),
            ("[::]", false),
            ("[::ffff:127.0.0.1]", false),
            ("localhost.example", false),
            ("api.vimeo.com", false),
            ("[127.0.0.1]", true),
            ("[::1", false),
            ("", false),
        ];
        for (host, loopback) in table {
            assert_eq!(is_loopback_host(host), loopback, "{host:?}");
        }
    }
}
