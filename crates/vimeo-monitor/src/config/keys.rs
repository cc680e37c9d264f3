//! The settings table: every kiosk setting once, with its kind, old name and meaning.
//!
//! Loading, `--check-config`, `.env.sample` and `docs/configuration.md` all follow this table
//! (a test keeps the two files in step with it), so adding a setting is one entry in
//! [`SETTINGS`] plus its field in [`KioskConfig`]; its default is the field's value in
//! [`KioskConfig::new`], written nowhere else. Parsing values is `parse.rs`'s job.
//!
//! Names are the environment's (`CHECK_INTERVAL`); in TOML each is its lowercase form in the
//! `[kiosk]` table (`[kiosk] check_interval`).

use std::path::PathBuf;
use std::time::Duration;

use config_layers::{Kind, Minimum, Origin, access};

use super::{KioskConfig, LogFormat, PlayerKind, image, shell};
use crate::vimeo::Token;

/// The TOML table the kiosk reads.
pub(crate) const SECTION: &str = "kiosk";

/// Names accepted and ignored, with why they are not needed: the original kiosk's OAuth app
/// credentials. Their values are never read.
pub(crate) const IGNORED: [(&str, &str); 2] = [
    ("VIMEO_KEY", "the kiosk authenticates with VIMEO_TOKEN"),
    ("VIMEO_SECRET", "the kiosk authenticates with VIMEO_TOKEN"),
];

/// Prefixes of names that are surely meant for the kiosk: an unknown one always warns.
const KIOSK_PREFIXES: [&str; 2] = ["VIMEO_", "PLAYER_"];

/// Reads and writes one field of [`KioskConfig`].
pub(crate) type Access<T> = config_layers::Access<KioskConfig, T>;

/// A setting's kind (how its text is parsed) and the field it fills.
pub(crate) enum Field {
    /// The Vimeo token: required, secret.
    Token(Access<Token>),
    /// Digits, or an event URL: required.
    EventId(Access<String>),
    /// An `http://` or `https://` URL.
    Url(Access<String>),
    Seconds(Access<Duration>, Minimum),
    /// A whole number within these bounds.
    Count(Access<u32>, u32, u32),
    /// An absolute path to a readable image file: required.
    Image(Access<PathBuf>),
    Player(Access<PlayerKind>),
    /// Words split like a shell would; empty means none.
    Args(Access<Vec<String>>),
    LogLevel(Access<String>),
    /// An absolute file path, or unset.
    LogFile(Access<Option<PathBuf>>),
    LogFormat(Access<LogFormat>),
    /// An absolute directory path, or unset for an automatic choice.
    Dir(Access<Option<PathBuf>>),
}

/// One setting: `NAME` in the environment and `.env`, `[kiosk] name` in TOML.
pub struct Setting {
    name: &'static str,
    /// The original kiosk's name for it, still accepted.
    alias: Option<&'static str>,
    meaning: &'static str,
    /// For a required setting, how to get a value: `VIMEO_TOKEN is not set: <this>`.
    required: Option<&'static str>,
    pub(crate) field: Field,
}

/// Every setting, in the order `--check-config`, `.env.sample` and the docs list them.
static SETTINGS: [Setting; 18] = [
    Setting {
        name: "VIMEO_TOKEN",
        alias: None,
        meaning: "Vimeo personal access token of the account that owns the event. Secret: never printed.",
        required: Some(
            "create a token at https://developer.vimeo.com/apps with the private and video_files \
             scopes (the account must own the event) and set VIMEO_TOKEN to it",
        ),
        field: Field::Token(access!(vimeo.token)),
    },
    Setting {
        name: "VIMEO_LIVE_EVENT_ID",
        alias: None,
        meaning: "The live event to play: its number, or its URL (https://vimeo.com/event/1234567).",
        required: Some(
            "set it to the live event's number, the digits in its URL \
             https://vimeo.com/event/1234567, or to that URL",
        ),
        field: Field::EventId(access!(vimeo.event_id)),
    },
    Setting {
        name: "VIMEO_API_URL",
        alias: None,
        meaning: "Base URL of the Vimeo API; change it only for a test server.",
        required: None,
        field: Field::Url(access!(vimeo.api_url)),
    },
    Setting {
        name: "CHECK_INTERVAL",
        alias: None,
        meaning: "Seconds between checks of the event's status.",
        required: None,
        field: Field::Seconds(access!(vimeo.check_interval), Minimum::AtLeast(1)),
    },
    Setting {
        name: "API_TIMEOUT",
        alias: None,
        meaning: "Seconds one API request may take; at most CHECK_INTERVAL (unset, it shrinks to a shorter interval).",
        required: None,
        field: Field::Seconds(access!(vimeo.api_timeout), Minimum::AboveZero),
    },
    Setting {
        name: "MAX_RETRIES",
        alias: None,
        meaning: "Extra attempts of a failed API request within one check.",
        required: None,
        field: Field::Count(access!(vimeo.max_retries), 0, 10),
    },
    Setting {
        name: "ERROR_THRESHOLD",
        alias: None,
        meaning: "Failed checks in a row, or failed loads of a live stream that cannot be opened, before the error image is shown.",
        required: None,
        field: Field::Count(access!(vimeo.error_threshold), 1, 100),
    },
    Setting {
        name: "HOLDING_IMAGE",
        alias: Some("STATIC_IMAGE_PATH"),
        meaning: "Image shown while the event is not live.",
        required: Some(
            "set it to the absolute path of the image shown while the event is not live",
        ),
        field: Field::Image(access!(images.holding)),
    },
    Setting {
        name: "ERROR_IMAGE",
        alias: Some("ERROR_IMAGE_PATH"),
        meaning: "Image shown while the Vimeo API cannot be used, or the live stream cannot be opened.",
        required: Some(
            "set it to the absolute path of the image shown when the API cannot be used",
        ),
        field: Field::Image(access!(images.error)),
    },
    Setting {
        name: "PLAYER",
        alias: None,
        meaning: "The media player, looked up on PATH.",
        required: None,
        field: Field::Player(access!(player.kind)),
    },
    Setting {
        name: "PLAYER_ARGS",
        alias: None,
        meaning: "Extra options appended to the player's command line, split like a shell would.",
        required: None,
        field: Field::Args(access!(player.args)),
    },
    Setting {
        name: "PLAYER_IPC_TIMEOUT",
        alias: None,
        meaning: "Seconds the player may take to answer on its IPC socket.",
        required: None,
        field: Field::Seconds(access!(player.ipc_timeout), Minimum::AboveZero),
    },
    Setting {
        name: "PLAYER_STALL_TIMEOUT",
        alias: None,
        meaning: "Seconds without playback progress before the stream counts as stalled.",
        required: None,
        field: Field::Seconds(access!(player.stall_timeout), Minimum::AtLeast(1)),
    },
    Setting {
        name: "LOG_LEVEL",
        alias: None,
        meaning: "Log level, or tracing filter directives such as info,player=debug.",
        required: None,
        field: Field::LogLevel(access!(log.level)),
    },
    Setting {
        name: "LOG_FILE",
        alias: None,
        meaning: "A file that receives the logs too, rotated daily; unset logs to stderr only.",
        required: None,
        field: Field::LogFile(access!(log.file)),
    },
    Setting {
        name: "LOG_ROTATION_DAYS",
        alias: None,
        meaning: "Daily log files kept beside LOG_FILE.",
        required: None,
        field: Field::Count(access!(log.rotation_days), 1, 365),
    },
    Setting {
        name: "LOG_FORMAT",
        alias: None,
        meaning: "How log lines are written.",
        required: None,
        field: Field::LogFormat(access!(log.format)),
    },
    Setting {
        name: "RUNTIME_DIR",
        alias: None,
        meaning: "Where the player's IPC socket lives; unset: $RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR/vimeo-monitor, else /run/user/UID/vimeo-monitor, else a private directory in /tmp.",
        required: None,
        field: Field::Dir(access!(runtime_dir)),
    },
];

/// Every setting, in documentation order.
pub fn settings() -> &'static [Setting] {
    &SETTINGS
}

/// The setting `name` names, or of which it is the old name.
#[cfg(test)]
pub(crate) fn by_name(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name || s.alias == Some(name))
}

/// Every name the kiosk knows, in environment spelling: settings, old names, ignored names.
pub fn known_names() -> impl Iterator<Item = &'static str> {
    SETTINGS
        .iter()
        .flat_map(|s| [Some(s.name), s.alias])
        .flatten()
        .chain(IGNORED.iter().map(|(name, _)| *name))
}

/// Whether `name` (environment spelling) is one the kiosk knows.
pub(crate) fn is_known(name: &str) -> bool {
    known_names().any(|known| known == name)
}

/// Whether an unknown environment name looks meant for the kiosk: a kiosk prefix, or a near
/// miss of a known name. Anything else in a shared `.env` or the environment is someone else's.
pub(crate) fn looks_like_kiosk(name: &str) -> bool {
    KIOSK_PREFIXES.iter().any(|p| name.starts_with(p)) || suggest(name).is_some()
}

/// The known name closest to `given`, if one is close enough to be a likely typo. Short names
/// allow fewer edits, so `PAGER` is not taken for `PLAYER`.
pub(crate) fn suggest(given: &str) -> Option<&'static str> {
    config_layers::suggest(given, known_names(), |known| (known.len() / 4).min(2))
}

/// `name` as a TOML key: `kiosk.check_interval`.
pub(crate) fn toml_key_of(name: &str) -> String {
    format!("{SECTION}.{}", name.to_ascii_lowercase())
}

/// `name` (environment spelling) as a user of `origin` writes it: `kiosk.check_interval` in
/// TOML, `CHECK_INTERVAL` elsewhere.
pub(crate) fn key_in(origin: &Origin, name: &str) -> String {
    origin.key(name, &toml_key_of(name))
}

impl Setting {
    /// The environment variable: `CHECK_INTERVAL`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The dotted TOML key: `kiosk.check_interval`.
    pub fn toml_key(&self) -> String {
        toml_key_of(self.name)
    }

    /// The original kiosk's name for it, still accepted: `STATIC_IMAGE_PATH`.
    pub fn alias(&self) -> Option<&'static str> {
        self.alias
    }

    /// One line on what it does.
    pub fn meaning(&self) -> &'static str {
        self.meaning
    }

    /// Whether its value must never be shown.
    pub fn is_secret(&self) -> bool {
        matches!(self.field, Field::Token(_))
    }

    /// Whether its value is a URL, shown only through [`health_core::redact::url`]: a user name,
    /// password or query string in it may be a secret.
    pub fn is_url(&self) -> bool {
        matches!(self.field, Field::Url(_))
    }

    /// Whether the kiosk cannot start without it.
    pub fn is_required(&self) -> bool {
        self.required.is_some()
    }

    /// How to give a required setting a value.
    pub(crate) fn required_hint(&self) -> Option<&'static str> {
        self.required
    }

    /// Whether an empty value means "unset" rather than a value to parse.
    pub(crate) fn empty_is_unset(&self) -> bool {
        matches!(self.field, Field::LogFile(_) | Field::Dir(_))
    }

    /// The built-in default in environment syntax; `None` when required or unset by default.
    pub fn default_value(&self) -> Option<String> {
        if self.is_required() {
            return None;
        }
        let unfilled =
            KioskConfig::new("", Token::new(String::new()), PathBuf::new(), PathBuf::new());
        self.value_in(&unfilled)
    }

    /// The values it accepts, in a few words.
    pub fn allowed(&self) -> String {
        match &self.field {
            Field::Token(_) => "non-empty token: visible ASCII, no whitespace".to_owned(),
            Field::EventId(_) => "event number or https://vimeo.com/event/... URL".to_owned(),
            Field::Url(_) => "http:// or https:// URL".to_owned(),
            Field::Seconds(_, minimum) => minimum.allowed(),
            Field::Count(_, min, max) => format!("whole number {min}-{max}"),
            Field::Image(_) => format!("absolute path of a {} file", image::FORMATS),
            Field::Player(_) => "mpv".to_owned(),
            Field::Args(_) => "options, quoted as in a shell".to_owned(),
            Field::LogLevel(_) => {
                "trace, debug, info, warn, error, off, or directives like info,target=debug"
                    .to_owned()
            }
            Field::LogFile(_) | Field::Dir(_) => "absolute path".to_owned(),
            Field::LogFormat(_) => "text or json".to_owned(),
        }
    }

    /// The kinds of TOML value it takes, the one to name in a message first.
    pub(crate) fn kinds(&self) -> &'static [Kind] {
        use Kind::{Array, Number, String};
        match &self.field {
            Field::EventId(_) | Field::Seconds(..) | Field::Count(..) => &[Number, String],
            Field::Args(_) => &[Array, String],
            Field::Token(_)
            | Field::Url(_)
            | Field::Image(_)
            | Field::Player(_)
            | Field::LogLevel(_)
            | Field::LogFile(_)
            | Field::LogFormat(_)
            | Field::Dir(_) => &[String],
        }
    }

    /// The message for a value it cannot accept: `expected a number of seconds, ...`.
    pub(crate) fn expected(&self) -> String {
        match &self.field {
            Field::Token(_) => {
                "expected a token without whitespace or non-ASCII characters (check \
                                for a space or line break picked up when pasting it)"
                    .to_owned()
            }
            Field::EventId(_) => {
                "expected the live event's number, above 0 (e.g. 1234567), or its \
                                  URL (e.g. https://vimeo.com/event/1234567)"
                    .to_owned()
            }
            Field::Url(_) => "expected an http:// or https:// URL with a host and no user name, \
                              password, query string or fragment (e.g. https://api.vimeo.com)"
                .to_owned(),
            Field::Seconds(_, minimum @ Minimum::AtLeast(min)) => {
                let examples = minimum.examples();
                format!("expected a number of seconds, at least {min} (e.g. {examples})")
            }
            Field::Seconds(_, minimum @ Minimum::AboveZero) => {
                format!("expected a number of seconds above 0 (e.g. {})", minimum.examples())
            }
            Field::Count(_, min, max) => format!("expected a whole number from {min} to {max}"),
            Field::Image(_) => {
                "expected an absolute path (e.g. /opt/vimeo-monitor/holding.png)".to_owned()
            }
            Field::Player(_) => {
                "expected mpv (cvlc and ffplay are not supported: they cannot switch content \
                 or report playback without a restart)"
                    .to_owned()
            }
            Field::Args(_) => {
                "expected player options as text, quoted as in a shell, or a TOML array of strings"
                    .to_owned()
            }
            Field::LogLevel(_) => "expected trace, debug, info, warn, error or off, or tracing \
                                   directives that each name a level (e.g. \
                                   info,player=debug)"
                .to_owned(),
            Field::LogFile(_) => {
                "expected an absolute file path (e.g. /var/log/vimeo-monitor/kiosk.log)".to_owned()
            }
            Field::LogFormat(_) => "expected text or json".to_owned(),
            Field::Dir(_) => "expected an absolute path".to_owned(),
        }
    }

    /// Its value in `config`, in environment syntax; the token shows as `<redacted>`, a URL
    /// without user name, password or query string, and an unset one as `None`.
    pub fn value_in(&self, config: &KioskConfig) -> Option<String> {
        Some(match &self.field {
            Field::Token(a) => (a.get)(config).to_string(),
            Field::EventId(a) | Field::LogLevel(a) => (a.get)(config).clone(),
            Field::Url(a) => health_core::redact::url((a.get)(config)),
            Field::Seconds(a, _) => (a.get)(config).as_secs_f64().to_string(),
            Field::Count(a, _, _) => (a.get)(config).to_string(),
            Field::Image(a) => (a.get)(config).display().to_string(),
            Field::Player(a) => (a.get)(config).to_string(),
            Field::Args(a) => shell::join((a.get)(config)),
            Field::LogFile(a) | Field::Dir(a) => (a.get)(config).as_ref()?.display().to_string(),
            Field::LogFormat(a) => (a.get)(config).to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use config_layers::testing::{assert_docs_row, assert_sample_line, workspace_file};

    use super::*;

    #[test]
    fn every_name_is_listed_once() {
        let names: Vec<&str> = known_names().collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert_eq!(by_name("STATIC_IMAGE_PATH").map(Setting::name), Some("HOLDING_IMAGE"));
        assert_eq!(by_name("ERROR_IMAGE_PATH").map(Setting::name), Some("ERROR_IMAGE"));
        assert!(by_name("VIMEO_KEY").is_none() && is_known("VIMEO_KEY"));
    }

    #[test]
    fn toml_keys_are_lowercase_names_in_the_kiosk_table() {
        assert_eq!(
            by_name("CHECK_INTERVAL").map(Setting::toml_key).as_deref(),
            Some("kiosk.check_interval")
        );
    }

    #[test]
    fn defaults_render_as_the_documented_values() {
        let default = |name: &str| by_name(name).and_then(Setting::default_value);
        let expected = [
            ("VIMEO_TOKEN", None),
            ("VIMEO_LIVE_EVENT_ID", None),
            ("VIMEO_API_URL", Some("https://api.vimeo.com")),
            ("CHECK_INTERVAL", Some("10")),
            ("API_TIMEOUT", Some("10")),
            ("MAX_RETRIES", Some("3")),
            ("ERROR_THRESHOLD", Some("5")),
            ("HOLDING_IMAGE", None),
            ("ERROR_IMAGE", None),
            ("PLAYER", Some("mpv")),
            ("PLAYER_ARGS", Some("")),
            ("PLAYER_IPC_TIMEOUT", Some("5")),
            ("PLAYER_STALL_TIMEOUT", Some("15")),
            ("LOG_LEVEL", Some("info")),
            ("LOG_FILE", None),
            ("LOG_ROTATION_DAYS", Some("7")),
            ("LOG_FORMAT", Some("text")),
            ("RUNTIME_DIR", None),
        ];
        assert_eq!(expected.len(), settings().len());
        for (name, value) in expected {
            assert_eq!(default(name).as_deref(), value, "{name}");
        }
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let cases = [
            ("CHECK_INTERVALL", Some("CHECK_INTERVAL")),
            ("ERROR_TRESHOLD", Some("ERROR_THRESHOLD")),
            ("check_interval", Some("CHECK_INTERVAL")),
            ("LOGLEVEL", Some("LOG_LEVEL")),
            ("PLAYERS", Some("PLAYER")),
            ("VIMEO_TOKN", Some("VIMEO_TOKEN")),
            ("PAGER", None),
            ("DISPLAY", None),
            ("LOGNAME", None),
            ("RUNTIME_DIRECTORY", None),
            ("XDG_RUNTIME_DIR", None),
            ("HEALTH_METRICS_PORT", None),
        ];
        for (given, expected) in cases {
            assert_eq!(suggest(given), expected, "{given}");
        }
        assert!(looks_like_kiosk("PLAYER_PATH"));
        assert!(looks_like_kiosk("VIMEO_EVENT_ID"));
        assert!(!looks_like_kiosk("PATH"));
        assert!(!looks_like_kiosk("HOME"));
    }

    #[test]
    fn env_sample_lists_every_setting_with_its_default() {
        let sample = workspace_file(".env.sample");
        for setting in settings() {
            let default = setting.default_value().unwrap_or_default();
            assert_sample_line(&sample, setting.name(), &default);
        }
    }

    #[test]
    fn docs_table_lists_every_setting_with_its_toml_key_and_default() {
        let docs = workspace_file("docs/configuration.md");
        for setting in settings() {
            let default = match setting.default_value() {
                _ if setting.is_required() => "required".to_owned(),
                Some(value) if value.is_empty() => "empty".to_owned(),
                Some(value) => format!("`{value}`"),
                None => "unset".to_owned(),
            };
            assert_docs_row(&docs, setting.name(), &setting.toml_key(), &default);
        }
    }
}
