//! Parsers from a layer's raw value to the kiosk's own kinds: the API's base URL, the event id,
//! the token, the player and its options, log settings.
//!
//! The kinds both binaries have (seconds, whole numbers, absolute paths) are
//! `config_layers::parse`'s, re-exported here so that `load.rs` finds every parser in one place.
//! A parser answers "is this well-formed", and where more than one thing can be wrong, which;
//! the message saying what is allowed is the setting's (`keys.rs`), and rules between settings
//! are `load.rs`'s.

use std::path::PathBuf;

use config_layers::parse::integer;
pub(crate) use config_layers::parse::{absolute_path, seconds, whole};
use figment::value::Value;

use super::shell::{self, SplitError};
use super::{LogFormat, PlayerKind};
use crate::vimeo::Token;

/// A base URL: `http://` or `https://`, a host, no user name or password (the token is
/// `VIMEO_TOKEN`), no query string or fragment (paths are appended to it); given back without
/// trailing `/`s. What the Vimeo client checks, so a loaded configuration builds a client.
pub(crate) fn url(value: &Value) -> Option<String> {
    let text = value.as_str()?.trim();
    let scheme_ok = text.starts_with("https://") || text.starts_with("http://");
    let url = reqwest::Url::parse(text).ok().filter(|_| scheme_ok)?;
    let well_formed = url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && !text.chars().any(char::is_whitespace);
    well_formed.then(|| text.trim_end_matches('/').to_owned())
}

/// A live event id: a positive number (text or a TOML integer; `0` names no event and would
/// only fail at the API, with every check), or a Vimeo URL naming the event, such as
/// `https://vimeo.com/event/1234567` or `https://vimeo.com/event/1234567/embed`, of which only
/// the id is kept. The scheme and `www.` are optional; `api.vimeo.com/live_events/ID` is taken
/// too.
pub(crate) fn event_id(value: &Value) -> Option<String> {
    let text = match value {
        Value::Num(_, n) => {
            return u64::try_from(integer(*n)?).ok().filter(|id| *id > 0).map(|id| id.to_string());
        }
        Value::String(_, s) => s.trim(),
        _ => return None,
    };
    let digits = |s: &str| {
        !s.is_empty()
            && s.len() <= 20
            && s.bytes().all(|b| b.is_ascii_digit())
            && s.bytes().any(|b| b != b'0')
    };
    if digits(text) {
        return Some(text.to_owned());
    }
    let rest =
        text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")).unwrap_or(text);
    let (host, path) = rest.split_once('/')?;
    if !matches!(host, "vimeo.com" | "www.vimeo.com" | "api.vimeo.com") {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').collect();
    segments
        .windows(2)
        .find(|pair| matches!(pair[0], "event" | "live_events") && digits(pair[1]))
        .map(|pair| pair[1].to_owned())
}

/// A token: non-empty visible ASCII, so no whitespace (it travels in an HTTP header, where a
/// stray space or line break from pasting would make every request fail).
pub(crate) fn token(value: &Value) -> Option<Token> {
    let s = value.as_str()?;
    let sendable = !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    sendable.then(|| Token::new(s.to_owned()))
}

/// `mpv`, any case.
pub(crate) fn player(value: &Value) -> Option<PlayerKind> {
    value.as_str()?.trim().eq_ignore_ascii_case("mpv").then_some(PlayerKind::Mpv)
}

/// Player options: text split like a shell would, or a TOML array of strings taken as they are.
pub(crate) fn args(value: &Value) -> Result<Vec<String>, Option<SplitError>> {
    match value {
        Value::String(_, s) => shell::split(s).map_err(Some),
        Value::Array(_, items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or(None),
        _ => Err(None),
    }
}

/// Levels `tracing` knows, as `LOG_LEVEL` accepts them.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// A level (`info`), or `tracing` directives in which every directive names its level
/// (`info,player=debug`). A bare word that is not a level is refused: the filter would take
/// `debg` as a target and log everything from it.
pub(crate) fn log_level(value: &Value) -> Option<String> {
    let text = value.as_str()?.trim();
    let is_level = |s: &str| LEVELS.iter().any(|l| l.eq_ignore_ascii_case(s.trim()));
    let every_directive_has_a_level = text.split(',').all(|directive| {
        is_level(directive) || directive.rsplit_once('=').is_some_and(|(_, level)| is_level(level))
    });
    let parses = crate::logging::filter(text).is_some();
    (!text.is_empty() && every_directive_has_a_level && parses).then(|| text.to_owned())
}

/// `text` or `json`, any case.
pub(crate) fn log_format(value: &Value) -> Option<LogFormat> {
    match value.as_str()?.trim().to_ascii_lowercase().as_str() {
        "text" => Some(LogFormat::Text),
        "json" => Some(LogFormat::Json),
        _ => None,
    }
}

/// An absolute path to a file: not `/` and not ending in `/` (the log file's name is the prefix
/// of its rotated copies).
pub(crate) fn file_path(value: &Value) -> Option<PathBuf> {
    let text = value.as_str()?.trim();
    if text.ends_with('/') {
        return None;
    }
    absolute_path(value).filter(|p| p.file_name().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::from(s)
    }

    #[test]
    fn urls_lose_trailing_slashes() {
        assert_eq!(url(&text("https://api.vimeo.com/")).as_deref(), Some("https://api.vimeo.com"));
        assert_eq!(url(&text("http://127.0.0.1:8080")).as_deref(), Some("http://127.0.0.1:8080"));
        for bad in [
            "ftp://x",
            "https://",
            "api.vimeo.com",
            "https://a b",
            "",
            "https://user:pw@api.vimeo.com",
            "https://api.vimeo.com/?x=1",
            "https://api.vimeo.com#top",
        ] {
            assert_eq!(url(&text(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn event_ids_are_digits_or_event_urls() {
        let cases = [
            ("1234567", Some("1234567")),
            (" 42 ", Some("42")),
            ("https://vimeo.com/event/1234567", Some("1234567")),
            ("https://vimeo.com/event/1234567/embed", Some("1234567")),
            ("https://vimeo.com/event/1234567/a1b2c3d4e5?autoplay=1", Some("1234567")),
            ("vimeo.com/event/99", Some("99")),
            ("http://www.vimeo.com/event/99/", Some("99")),
            ("https://api.vimeo.com/me/live_events/77", Some("77")),
            ("https://vimeo.com/123456", None),
            ("https://example.com/event/1", None),
            ("https://vimeo.com/event/abc", None),
            ("12 34", None),
            ("abc", None),
            ("-5", None),
            ("", None),
            ("0", None),
            ("000", None),
            ("https://vimeo.com/event/0", None),
            ("https://vimeo.com/event/0/embed", None),
            ("007", Some("007")),
        ];
        for (given, expected) in cases {
            assert_eq!(event_id(&text(given)).as_deref(), expected, "{given:?}");
        }
        assert_eq!(event_id(&Value::from(1234567)).as_deref(), Some("1234567"));
        assert_eq!(event_id(&Value::from(-1)), None);
        assert_eq!(event_id(&Value::from(0)), None);
    }

    #[test]
    fn tokens_are_non_empty_without_whitespace() {
        assert_eq!(
            token(&text("abc123")).map(|s| s.expose().to_owned()).as_deref(),
            Some("abc123")
        );
        for bad in ["", "a b", "abc\n", "tök"] {
            assert!(token(&text(bad)).is_none(), "{bad:?}");
        }
        assert!(token(&Value::from(42)).is_none());
    }

    #[test]
    fn players_and_formats() {
        assert_eq!(player(&text("MPV")), Some(PlayerKind::Mpv));
        assert_eq!(player(&text(" mpv ")), Some(PlayerKind::Mpv));
        assert_eq!(player(&text("cvlc")), None);
        assert_eq!(player(&text("ffplay")), None);
        assert_eq!(player(&text("vlc")), None);
        assert_eq!(log_format(&text("JSON")), Some(LogFormat::Json));
        assert_eq!(log_format(&text("logfmt")), None);
    }

    #[test]
    fn args_from_text_or_an_array() {
        assert_eq!(
            args(&text("--fs '--title=A B'")),
            Ok(vec!["--fs".into(), "--title=A B".into()])
        );
        assert_eq!(args(&Value::from(vec!["--title=A B"])), Ok(vec!["--title=A B".into()]));
        assert_eq!(args(&text("")), Ok(vec![]));
        assert_eq!(args(&text("'open")), Err(Some(SplitError::UnterminatedSingle)));
        assert_eq!(args(&Value::from(vec![1, 2])), Err(None));
        assert_eq!(args(&Value::from(3)), Err(None));
    }

    #[test]
    fn log_levels_and_directives() {
        for good in ["info", "DEBUG", "warn", "off", "info,player=debug", "error,reqwest=off"] {
            assert!(log_level(&text(good)).is_some(), "{good:?}");
        }
        for bad in ["", "debg", "verbose", "info,player", "info,player=loud", "3", "info,[=debug"] {
            assert_eq!(log_level(&text(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn paths_must_be_absolute_and_files_need_a_name() {
        assert_eq!(absolute_path(&text(" /run/kiosk ")), Some(PathBuf::from("/run/kiosk")));
        assert_eq!(absolute_path(&text("run/kiosk")), None);
        assert_eq!(
            file_path(&text("/var/log/kiosk.log")),
            Some(PathBuf::from("/var/log/kiosk.log"))
        );
        for bad in ["/", "/var/log/", "kiosk.log", ""] {
            assert_eq!(file_path(&text(bad)), None, "{bad:?}");
        }
    }
}
