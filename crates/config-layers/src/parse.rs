//! Parsers from a layer's raw value to a typed one, for the kinds of setting both binaries have.
//!
//! The `.env` file and the environment give strings and a TOML file gives typed values, so each
//! parser takes either: `"yes"` and TOML `true` are both a boolean, `"10"` and TOML `10` both
//! ten seconds. A parser only answers "is this well-formed"; the message saying what is allowed
//! is the setting's, and rules between settings are the loader's. Parsers of one binary's own
//! kinds (a Vimeo event id, a ping method) live in that binary.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::value::{Num, Value};

/// `true/false`, `1/0`, `yes/no`, `on/off` in any case, or a TOML boolean.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(_, b) => Some(*b),
        Value::Num(_, n) => match integer(*n)? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        },
        Value::String(_, s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A TCP port, 1-65535.
pub fn port(value: &Value) -> Option<u16> {
    let port = match value {
        Value::Num(_, n) => u16::try_from(integer(*n)?).ok()?,
        Value::String(_, s) => s.trim().parse::<u16>().ok()?,
        _ => return None,
    };
    (port != 0).then_some(port)
}

/// An IPv4 or IPv6 address.
pub fn ip(value: &Value) -> Option<IpAddr> {
    match value {
        Value::String(_, s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Seconds, whole or decimal (`10`, `2.5`), as text or a TOML number; never negative.
pub fn seconds(value: &Value) -> Option<Duration> {
    let secs = match value {
        Value::Num(_, n) => match n.to_f64() {
            Some(f) => f,
            // Integers convert exactly as far as any sensible interval goes.
            None => integer(*n)? as f64,
        },
        Value::String(_, s) => decimal(s.trim())?,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

/// Comma-separated text (spaces trimmed, empty entries dropped) or a TOML array of strings.
pub fn list(value: &Value) -> Option<Vec<String>> {
    let items: Vec<&str> = match value {
        Value::String(_, s) => s.split(',').collect(),
        Value::Array(_, values) => {
            values.iter().map(Value::as_str).collect::<Option<Vec<&str>>>()?
        }
        _ => return None,
    };
    Some(items.into_iter().map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
}

/// An absolute path (relative ones would depend on the directory the service starts in).
pub fn absolute_path(value: &Value) -> Option<PathBuf> {
    absolute_path_str(value.as_str()?.trim())
}

/// [`absolute_path`] for text already taken out of a list.
pub fn absolute_path_str(text: &str) -> Option<PathBuf> {
    let path = PathBuf::from(text);
    path.is_absolute().then_some(path)
}

/// A whole, non-negative number that fits a `u32`, as text or a TOML integer.
pub fn whole(value: &Value) -> Option<u32> {
    u32::try_from(bytes(value)?).ok()
}

/// A whole, non-negative number (`25000000`), as text or a TOML integer.
pub fn bytes(value: &Value) -> Option<u64> {
    match value {
        Value::Num(_, n) => u64::try_from(integer(*n)?).ok(),
        Value::String(_, s) => {
            let s = s.trim();
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
        }
        _ => None,
    }
}

/// An `http://` or `https://` URL with a host and no whitespace, kept whole (query included).
pub fn url(value: &Value) -> Option<String> {
    let text = value.as_str()?.trim();
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let well_formed = !host.is_empty() && !text.chars().any(char::is_whitespace);
    well_formed.then(|| text.to_owned())
}

/// A finite number, whole or decimal, as text or a TOML number.
pub fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Num(_, n) => n.to_f64().or_else(|| integer(*n).map(|i| i as f64))?,
        Value::String(_, s) => decimal(s.trim())?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Whether `host` is an IPv4/IPv6 address or a DNS host name (RFC 1123 labels).
pub fn is_host(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    // An all-numeric name like `999.1.1.1` is a mistyped address, not a host name.
    let top_is_numeric =
        name.rsplit('.').next().is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()));
    !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok) && !top_is_numeric
}

/// A TOML number as an integer, if it is one: TOML integers are `i64`, but figment may hold
/// any width.
pub fn integer(n: Num) -> Option<i128> {
    n.to_i128().or_else(|| n.to_u128().and_then(|u| i128::try_from(u).ok()))
}

/// `digits` or `digits.digits`: what the docs promise, and not `1e3`, `inf` or `-2`, which
/// `f64::from_str` would take.
fn decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = !whole.is_empty() && digits(whole) && digits(fraction);
    if well_formed { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::from(s)
    }

    #[test]
    fn booleans_in_every_accepted_spelling() {
        for yes in ["true", "TRUE", "True", "1", "yes", "YES", "on", "On", " on "] {
            assert_eq!(boolean(&text(yes)), Some(true), "{yes:?}");
        }
        for no in ["false", "FALSE", "0", "no", "No", "off", "OFF"] {
            assert_eq!(boolean(&text(no)), Some(false), "{no:?}");
        }
        assert_eq!(boolean(&Value::from(true)), Some(true));
        assert_eq!(boolean(&Value::from(false)), Some(false));
    }

    #[test]
    fn booleans_reject_anything_else() {
        for bad in ["maybe", "", "2", "y", "enabled", "truee"] {
            assert_eq!(boolean(&text(bad)), None, "{bad:?}");
        }
        assert_eq!(boolean(&Value::from(2)), None);
    }

    #[test]
    fn ports_are_1_to_65535() {
        assert_eq!(port(&text("9100")), Some(9100));
        assert_eq!(port(&Value::from(65535)), Some(65535));
        for bad in ["80a", "0", "65536", "-1", "", "80.0"] {
            assert_eq!(port(&text(bad)), None, "{bad:?}");
        }
        assert_eq!(port(&Value::from(0)), None);
        assert_eq!(port(&Value::from(70000)), None);
    }

    #[test]
    fn hosts_are_ip_addresses() {
        assert_eq!(ip(&text("127.0.0.1")), "127.0.0.1".parse().ok());
        assert_eq!(ip(&text("::")), "::".parse().ok());
        assert_eq!(ip(&text("localhost")), None);
        assert_eq!(ip(&text("300.1.1.1")), None);
    }

    #[test]
    fn seconds_whole_or_decimal() {
        assert_eq!(seconds(&text("10")), Some(Duration::from_secs(10)));
        assert_eq!(seconds(&text("2.5")), Some(Duration::from_millis(2500)));
        assert_eq!(seconds(&text(" 2.5 ")), Some(Duration::from_millis(2500)));
        assert_eq!(seconds(&text(" 0.25 ")), Some(Duration::from_millis(250)));
        assert_eq!(seconds(&Value::from(7)), Some(Duration::from_secs(7)));
        assert_eq!(seconds(&Value::from(1.5)), Some(Duration::from_millis(1500)));
        for bad in ["ten", "abc", "", "-1", "1e3", "inf", "NaN", "1.2.3", ".5", "10s"] {
            assert_eq!(seconds(&text(bad)), None, "{bad:?}");
        }
        assert_eq!(seconds(&Value::from(-3)), None);
    }

    #[test]
    fn lists_trim_spaces_and_drop_empty_entries() {
        let expected: Vec<String> = vec!["a.example".into(), "1.1.1.1".into()];
        assert_eq!(list(&text(" a.example , ,1.1.1.1,")), Some(expected.clone()));
        assert_eq!(list(&Value::from(vec!["a.example", " 1.1.1.1 ", ""])), Some(expected));
        assert_eq!(list(&text(" , ")), Some(vec![]));
        assert_eq!(list(&Value::from(vec![1, 2])), None);
    }

    #[test]
    fn host_names_and_addresses() {
        for good in ["vimeo.com", "8.8.8.8", "2001:4860:4860::8888", "localhost", "a-b.c.", "x1"] {
            assert!(is_host(good), "{good:?}");
        }
        for bad in ["bad_host", "-a.com", "a..com", "", "http://x", "999.1.1.1", "a b"] {
            assert!(!is_host(bad), "{bad:?}");
        }
    }

    #[test]
    fn paths_must_be_absolute() {
        assert_eq!(absolute_path(&text(" /sys ")), Some(PathBuf::from("/sys")));
        assert_eq!(absolute_path(&text(" /run/kiosk ")), Some(PathBuf::from("/run/kiosk")));
        assert_eq!(absolute_path(&text("sys")), None);
        assert_eq!(absolute_path(&text("run/kiosk")), None);
        assert_eq!(absolute_path_str("/opt/vc/bin/vcgencmd"), Some("/opt/vc/bin/vcgencmd".into()));
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(whole(&text("3")), Some(3));
        assert_eq!(whole(&text(" 3 ")), Some(3));
        assert_eq!(whole(&Value::from(5)), Some(5));
        for bad in ["", "3.0", "-1", "three", "99999999999"] {
            assert_eq!(whole(&text(bad)), None, "{bad:?}");
        }
        assert_eq!(whole(&Value::from(-1)), None);
    }

    #[test]
    fn bytes_and_urls() {
        assert_eq!(bytes(&text(" 25000000 ")), Some(25_000_000));
        assert_eq!(bytes(&text("25MB")), None);
        assert_eq!(
            url(&text("https://speed.example/__down?bytes={bytes}")).as_deref(),
            Some("https://speed.example/__down?bytes={bytes}")
        );
        assert_eq!(
            url(&text("http://127.0.0.1:8080/x")).as_deref(),
            Some("http://127.0.0.1:8080/x")
        );
        for bad in ["ftp://x", "https://", "speed.example", "https://a b"] {
            assert_eq!(url(&text(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn numbers_are_finite_decimals() {
        assert_eq!(number(&text("3")), Some(3.0));
        assert_eq!(number(&text(" 1.5 ")), Some(1.5));
        assert_eq!(number(&Value::from(2)), Some(2.0));
        for bad in ["", "1e3", "inf", "-2", "x"] {
            assert_eq!(number(&text(bad)), None, "{bad:?}");
        }
    }
}
