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

use super::{PingMethodSetting, Secret, SecretFile, ToolSetting, VariantSetting};

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

/// Why a remote-write URL list is refused: not a URL, or a URL carrying credentials (which
/// belong in the auth settings, where they are never shown).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UrlsProblem {
    /// These entries, redacted, are not http(s) URLs with a host.
    Invalid(Vec<String>),
    /// An entry carries `user:password@`.
    Credentials,
}

/// Comma-separated `http://` or `https://` URLs, none with credentials.
pub(crate) fn urls(value: &Value) -> Result<Vec<String>, UrlsProblem> {
    let items = list(value).ok_or_else(|| UrlsProblem::Invalid(Vec::new()))?;
    let mut bad = Vec::new();
    let mut credentials = false;
    for item in &items {
        let parsed = url(&Value::from(item.as_str())).and_then(|u| reqwest::Url::parse(&u).ok());
        match parsed {
            Some(u) if !u.username().is_empty() || u.password().is_some() => credentials = true,
            Some(_) => {}
            None => bad.push(health_core::redact::url(item)),
        }
    }
    if credentials {
        Err(UrlsProblem::Credentials)
    } else if bad.is_empty() {
        Ok(items)
    } else {
        Err(UrlsProblem::Invalid(bad))
    }
}

/// A Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`) that is not reserved (`__` prefix).
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// Comma-separated `name=value` labels: valid names, each once, non-empty values.
pub(crate) fn labels(value: &Value) -> Option<Vec<(String, String)>> {
    let mut labels: Vec<(String, String)> = Vec::new();
    for item in list(value)? {
        let (name, value) = item.split_once('=')?;
        let (name, value) = (name.trim(), value.trim());
        let fresh = !labels.iter().any(|(n, _)| n == name);
        if !is_label_name(name) || value.is_empty() || value.chars().any(char::is_control) || !fresh
        {
            return None;
        }
        labels.push((name.to_owned(), value.to_owned()));
    }
    Some(labels)
}

/// A basic-authentication user: not empty, no `:` (it ends the user in the header), no control
/// characters.
pub(crate) fn username(value: &Value) -> Option<String> {
    let text = value.as_str()?.trim();
    let valid = !text.is_empty() && !text.chars().any(|c| c == ':' || c.is_control());
    valid.then(|| text.to_owned())
}

/// A password: not empty, no control characters (spaces are allowed).
pub(crate) fn password(value: &Value) -> Option<Secret> {
    let text = value.as_str()?;
    let valid = !text.is_empty() && !text.chars().any(char::is_control);
    valid.then(|| Secret::new(text))
}

/// Reads a secret from the file `value` names: an absolute path whose contents (one trailing
/// line break dropped, as editors and `echo` add it) are a token when `token`, else a password.
/// The error says what is wrong, never the contents.
pub(crate) fn secret_file(value: &Value, token: bool) -> Result<SecretFile, String> {
    let path = absolute_path(value).ok_or("expected the absolute path of a readable file")?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("expected the absolute path of a readable file (cannot read it: {e})")
    })?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    let secret = if token { self::token(&Value::from(text)) } else { password(&Value::from(text)) };
    let what = if token {
        "one token: visible ASCII, no whitespace or control characters"
    } else {
        "one non-empty password without control characters"
    };
    let secret = secret.ok_or_else(|| format!("expected a file holding {what}"))?;
    Ok(SecretFile::new(path, secret))
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
    fn remote_write_urls_are_http_without_credentials() {
        let two = "http://a.example/api/v1/write, https://b.example:9090/api/v1/push?tenant=x";
        assert_eq!(urls(&text(two)).map(|u| u.len()), Ok(2));
        assert_eq!(urls(&text("https://u:p@a.example/")), Err(UrlsProblem::Credentials));
        assert_eq!(
            urls(&text("http://a.example, https://u@b.example")),
            Err(UrlsProblem::Credentials)
        );
        assert_eq!(
            urls(&text("ftp://a.example/x?sig=s,http://")),
            Err(UrlsProblem::Invalid(vec!["ftp://a.example/x".to_owned(), "http://".to_owned()]))
        );
        assert_eq!(urls(&text("")), Ok(Vec::new()));
    }

    #[test]
    fn external_labels_are_prometheus_label_names_once_each() {
        assert_eq!(
            labels(&text("kiosk=hall-a, site = berlin,_x=1")),
            Some(vec![
                ("kiosk".to_owned(), "hall-a".to_owned()),
                ("site".to_owned(), "berlin".to_owned()),
                ("_x".to_owned(), "1".to_owned()),
            ])
        );
        for bad in ["kiosk", "__name__=x", "1a=b", "a-b=c", "a=", "a=1,a=2", "ä=1", "=x"] {
            assert_eq!(labels(&text(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn usernames_and_passwords() {
        assert_eq!(username(&text(" kiosk ")).as_deref(), Some("kiosk"));
        assert_eq!(username(&text("a:b")), None);
        assert_eq!(
            password(&text("two words")).map(|p| p.expose().to_owned()).as_deref(),
            Some("two words")
        );
        assert!(password(&text("a\nb")).is_none());
        assert!(password(&text("")).is_none());
    }

    #[test]
    fn secret_files_drop_one_line_break_and_name_what_is_wrong() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc123\n").unwrap();
        let value = text(path.to_str().unwrap());
        assert_eq!(secret_file(&value, true).unwrap().contents().expose(), "abc123");
        std::fs::write(&path, "two words\r\n").unwrap();
        assert!(secret_file(&value, true).unwrap_err().contains("one token"));
        assert_eq!(secret_file(&value, false).unwrap().contents().expose(), "two words");
        let missing = text(dir.path().join("missing").to_str().unwrap());
        let error = secret_file(&missing, true).unwrap_err();
        assert!(error.contains("cannot read it: No such file or directory"), "{error}");
        assert!(secret_file(&text("token"), true).unwrap_err().contains("absolute path"));
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
