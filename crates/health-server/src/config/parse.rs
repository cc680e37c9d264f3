//! Parsers from a layer's raw value to the exporter's own kinds: a helper program (`vcgencmd`,
//! `cec-ctl`), the ping method,
//! the playlist variant, a program, a process name, the bearer token.
//!
//! The kinds both binaries have (booleans, seconds, ports, paths, URLs...) are
//! `config_layers::parse`'s, re-exported here so that `load.rs` finds every parser in one place.
//! A parser only answers "is this well-formed"; the message saying what is allowed is the
//! setting's (`keys.rs`), and rules between settings are `load.rs`'s.

use std::path::PathBuf;

pub(crate) use config_layers::parse::{
    absolute_path, absolute_path_str, boolean, bytes, ip, is_host, list, number, port, seconds,
    url, whole,
};
use figment::value::Value;

use super::{PingMethodSetting, Secret, ToolSetting, VariantSetting};

/// `auto`, `off` (any case) or an absolute path to a helper program (`vcgencmd`, `cec-ctl`).
pub(crate) fn tool(value: &Value) -> Option<ToolSetting> {
    let text = value.as_str()?.trim();
    match text.to_ascii_lowercase().as_str() {
        "auto" => Some(ToolSetting::Auto),
        "off" => Some(ToolSetting::Off),
        _ => absolute_path_str(text).map(ToolSetting::Path),
    }
}

/// `icmp`, `tcp` or `auto`, any case.
pub(crate) fn ping_method(value: &Value) -> Option<PingMethodSetting> {
    match value.as_str()?.trim().to_ascii_lowercase().as_str() {
        "icmp" => Some(PingMethodSetting::Icmp),
        "tcp" => Some(PingMethodSetting::Tcp),
        "auto" => Some(PingMethodSetting::Auto),
        _ => None,
    }
}

/// `max`, `min` (any case) or a positive whole number of bits per second.
pub(crate) fn variant(value: &Value) -> Option<VariantSetting> {
    if let Some(text) = value.as_str() {
        match text.trim().to_ascii_lowercase().as_str() {
            "max" => return Some(VariantSetting::Highest),
            "min" => return Some(VariantSetting::Lowest),
            _ => {}
        }
    }
    bytes(value).filter(|bits| *bits > 0).map(VariantSetting::AtMost)
}

/// A program: a bare name (no `/`, looked up on `PATH`) or an absolute path.
pub(crate) fn program(value: &Value) -> Option<PathBuf> {
    let text = value.as_str()?.trim();
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return None;
    }
    if text.contains('/') { absolute_path_str(text) } else { Some(PathBuf::from(text)) }
}

/// The file name of a program or script, as a process shows it: not empty, no `/` (a path would
/// never equal a process name), no control characters, and at most 255 bytes (`NAME_MAX`).
pub(crate) fn process_name(value: &Value) -> Option<String> {
    let text = value.as_str()?.trim();
    let valid = !text.is_empty()
        && text.len() <= 255
        && !matches!(text, "." | "..")
        && !text.chars().any(|c| c == '/' || c.is_control());
    valid.then(|| text.to_owned())
}

/// A Pushgateway grouping label value: it becomes a URL path segment, so only characters that
/// need no escaping there, and that read well in a dashboard.
pub(crate) fn label_value(value: &Value) -> Option<String> {
    let text = value.as_str()?.trim();
    let valid = !text.is_empty()
        && text.len() <= 128
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    valid.then(|| text.to_owned())
}

/// A bearer token: non-empty visible ASCII, so no whitespace, control characters or accents (it
/// travels in an HTTP header, which cannot carry those; a client could never send it, and a
/// stray space or newline from pasting would make every request fail to match). The kiosk's
/// `VIMEO_TOKEN` follows the same rule.
pub(crate) fn token(value: &Value) -> Option<Secret> {
    let s = value.as_str()?;
    let sendable = !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    sendable.then(|| Secret::new(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::from(s)
    }

    #[test]
    fn paths_must_be_absolute_and_vcgencmd_takes_auto_off_or_a_path() {
        assert_eq!(absolute_path(&text(" /sys ")), Some(PathBuf::from("/sys")));
        assert_eq!(absolute_path(&text("sys")), None);
        assert_eq!(tool(&text("AUTO")), Some(ToolSetting::Auto));
        assert_eq!(tool(&text("off")), Some(ToolSetting::Off));
        assert_eq!(
            tool(&text("/opt/vc/bin/vcgencmd")),
            Some(ToolSetting::Path(PathBuf::from("/opt/vc/bin/vcgencmd")))
        );
        assert_eq!(tool(&text("vcgencmd")), None);
    }

    #[test]
    fn ping_methods() {
        assert_eq!(ping_method(&text("TCP")), Some(PingMethodSetting::Tcp));
        assert_eq!(ping_method(&text("udp")), None);
    }

    #[test]
    fn process_names_are_file_names() {
        for good in ["vimeo_monitor.py", " kiosk ", "Web Content", "vimeo-monitor-kiosk"] {
            assert_eq!(process_name(&text(good)), Some(good.trim().to_owned()), "{good:?}");
        }
        let long = "x".repeat(256);
        for bad in ["", "  ", "/opt/kiosk/vimeo_monitor.py", "a/b", "..", "a\tb", long.as_str()] {
            assert_eq!(process_name(&text(bad)), None, "{bad:?}");
        }
        assert_eq!(process_name(&Value::from(3)), None);
    }

    #[test]
    fn label_values_are_plain() {
        for good in ["kiosks", " hall-a:1 ", "kiosk_2.berlin"] {
            assert_eq!(label_value(&text(good)), Some(good.trim().to_owned()), "{good:?}");
        }
        let long = "x".repeat(129);
        for bad in ["", "a/b", "hall a", "ä", "a?b", long.as_str()] {
            assert_eq!(label_value(&text(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_visible_ascii_a_header_can_carry() {
        for good in ["abc123", "a-b_c.d~e+f/g=", "!#$%&'*^`|~\"0123456789", "x"] {
            assert_eq!(token(&text(good)).map(|s| s.expose().to_owned()).as_deref(), Some(good));
        }
        for bad in [
            "",
            "a b",
            "abc\n",
            "\tabc",
            "abc\r",
            "ab\u{0}c",
            "ab\u{7f}c",
            "tökén",
            "abc\u{a0}",
            "ab\u{200b}c",
            "токен",
            "🔑",
        ] {
            assert!(token(&text(bad)).is_none(), "{bad:?}");
        }
        assert!(token(&Value::from(42)).is_none());
    }
}
