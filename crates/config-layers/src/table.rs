//! What a binary's settings table tells the shared loading ([`Table`]), and the pieces such a
//! table is built from ([`Access`], [`access!`](crate::access), [`Minimum`]).
//!
//! The table itself (names, kinds, messages, defaults) and the struct it fills stay in the
//! binary: only the way layers are read and merged is common. A table decides which names are
//! its own, so two tables can share one `.env` file and one TOML file without warning about
//! each other's names.

use std::path::Path;
use std::time::Duration;

use figment::value::Dict;

use crate::{Findings, Origin};

/// One binary's settings, as the shared loading ([`Layers::read`](crate::Layers::read)) needs
/// to know them. Implemented by the configuration struct the table fills.
pub trait Table {
    /// Where a name from `.env` or the environment goes among the merged values: its TOML
    /// section and key (`HEALTH_METRICS_PORT` → `("metrics", "port")`). `None` for a name that
    /// is not this table's: it is left out.
    fn place_of(env_name: &str) -> Option<(&'static str, String)>;

    /// The built-in defaults as environment-style pairs, read as the lowest layer so that they
    /// are parsed like any value. None by default: a struct that holds its own defaults needs
    /// no layer for them.
    fn defaults() -> Vec<(String, String)> {
        Vec::new()
    }

    /// Whether `name` is a secret of this table (a token): a `.env` line setting it that cannot
    /// be parsed is shown without its value.
    fn is_secret(name: &str) -> bool;

    /// Warnings for the names `origin` (`.env` or the environment) gives that this table does
    /// not know but that look meant for it, e.g. with the nearest known name.
    fn unknown_names(names: &[&str], origin: &Origin) -> Vec<String>;

    /// Checks this table's part of a parsed TOML file (unknown keys warn; a section that is not
    /// a table is a problem and is dropped, as it would hide the defaults) and gives back what
    /// to merge. Other sections belong to someone else and are left be.
    fn check_toml(path: &Path, dict: Dict, findings: &mut Findings) -> Dict;
}

/// Reads and writes one field of the configuration struct `C`, so that a table entry can name
/// its field without a match over every setting.
pub struct Access<C: 'static, T: 'static> {
    /// The field, for rendering the effective value.
    pub get: fn(&C) -> &T,
    /// The field, for storing a parsed value.
    pub get_mut: fn(&mut C) -> &mut T,
}

/// The [`Access`] to a field path of the configuration struct, e.g. `access!(metrics.port)`.
#[macro_export]
macro_rules! access {
    ($($field:ident).+) => {
        $crate::Access { get: |c| &c.$($field).+, get_mut: |c| &mut c.$($field).+ }
    };
}

/// The smallest duration a setting in seconds accepts.
#[derive(Debug, Clone, Copy)]
pub enum Minimum {
    /// At least this many whole seconds.
    AtLeast(u64),
    /// Anything above zero.
    AboveZero,
}

impl Minimum {
    /// Whether `duration` is long enough.
    pub fn admits(self, duration: Duration) -> bool {
        match self {
            Self::AtLeast(secs) => duration >= Duration::from_secs(secs),
            Self::AboveZero => !duration.is_zero(),
        }
    }

    /// Two values it accepts, for a message's example: `10 or 2.5`, or from the minimum up when
    /// that is above 2.5 (`60 or 90`): an example must never be a value the message refuses.
    pub fn examples(self) -> String {
        match self {
            Self::AtLeast(min) if min > 2 => {
                let more = min as f64 * 1.5;
                format!("{min} or {more}")
            }
            Self::AtLeast(_) | Self::AboveZero => "10 or 2.5".to_owned(),
        }
    }

    /// The values it accepts, in a few words: `seconds >= 1`, `seconds > 0`.
    pub fn allowed(self) -> String {
        match self {
            Self::AtLeast(min) => format!("seconds >= {min}"),
            Self::AboveZero => "seconds > 0".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Config {
        inner: Inner,
    }

    struct Inner {
        port: u16,
    }

    #[test]
    fn access_reads_and_writes_a_nested_field() {
        let port: Access<Config, u16> = crate::access!(inner.port);
        let mut config = Config { inner: Inner { port: 1 } };
        *(port.get_mut)(&mut config) = 9100;
        assert_eq!(*(port.get)(&config), 9100);
        assert_eq!(config.inner.port, 9100);
    }

    #[test]
    fn minimums_admit_and_say_what_they_allow() {
        assert!(Minimum::AtLeast(1).admits(Duration::from_secs(1)));
        assert!(!Minimum::AtLeast(60).admits(Duration::from_secs(59)));
        assert!(Minimum::AboveZero.admits(Duration::from_millis(1)));
        assert!(!Minimum::AboveZero.admits(Duration::ZERO));
        assert_eq!(Minimum::AtLeast(60).allowed(), "seconds >= 60");
        assert_eq!(Minimum::AboveZero.allowed(), "seconds > 0");
    }

    #[test]
    fn examples_respect_the_minimum_they_illustrate() {
        let cases = [
            (Minimum::AboveZero, "10 or 2.5"),
            (Minimum::AtLeast(1), "10 or 2.5"),
            (Minimum::AtLeast(2), "10 or 2.5"),
            (Minimum::AtLeast(3), "3 or 4.5"),
            (Minimum::AtLeast(30), "30 or 45"),
            (Minimum::AtLeast(60), "60 or 90"),
            (Minimum::AtLeast(3600), "3600 or 5400"),
        ];
        for (minimum, expected) in cases {
            let examples = minimum.examples();
            assert_eq!(examples, expected, "{minimum:?}");
            for example in examples.split(" or ") {
                let value = figment::value::Value::from(example);
                let seconds = crate::parse::seconds(&value).expect("an example parses");
                assert!(minimum.admits(seconds), "{minimum:?} refuses its example {example}");
            }
        }
    }
}
