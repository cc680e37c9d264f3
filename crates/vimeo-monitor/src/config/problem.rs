//! [`KioskConfigErrors`]: every problem found in the kiosk's configuration, reported at once.
//!
//! A problem names the key as the user wrote it (`CHECK_INTERVAL`, or `kiosk.check_interval`
//! in the TOML file), the value given and what is allowed, so it can be fixed without the docs.
//! The token's value is redacted before it gets here.

use std::fmt;
use std::path::PathBuf;

use super::Origin;

/// Every problem in the configuration. `Display`: one problem per line.
#[derive(Debug, thiserror::Error)]
#[error("{}", Lines(.problems))]
pub struct KioskConfigErrors {
    /// The problems, file-level ones first, then in settings order.
    pub problems: Vec<KioskProblem>,
    /// The warnings [`LoadedKiosk::warnings`](super::LoadedKiosk::warnings) would have carried:
    /// a misspelt name is often why a value did not take, so show them with the problems. Not
    /// part of `Display`.
    pub warnings: Vec<String>,
    /// The notes [`LoadedKiosk::notes`](super::LoadedKiosk::notes) would have carried. Not part
    /// of `Display`.
    pub notes: Vec<String>,
}

/// Problems, one per line.
struct Lines<'a>(&'a [KioskProblem]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// One problem: `CHECK_INTERVAL=abc: expected a number of seconds, at least 1 (e.g. 10 or 2.5)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskProblem {
    /// What is wrong: a value, a missing setting, or a whole file.
    pub subject: Subject,
    /// What is allowed or what to do: `expected a port number 1-65535`, `no such file`.
    pub message: String,
}

/// What a [`KioskProblem`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A value given for a key.
    Value {
        /// The key as written in its layer: `CHECK_INTERVAL`, `kiosk.check_interval`.
        key: String,
        /// The value as given (`<redacted>` for the token; TOML syntax from the file).
        value: String,
        /// The layer it came from.
        origin: Origin,
    },
    /// A required setting that is not set (`empty_in: None`) or set to nothing.
    Missing {
        /// The key as written in its layer (environment spelling when not set anywhere).
        key: String,
        /// The layer that set it to an empty value.
        empty_in: Option<Origin>,
    },
    /// A whole file: missing, unreadable, not TOML.
    File {
        /// The file.
        path: PathBuf,
    },
}

impl fmt::Display for KioskProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = &self.message;
        match &self.subject {
            Subject::Value { key, value, origin } => {
                write!(f, "{}: {message}", assignment(key, value, origin))
            }
            Subject::Missing { key, empty_in: None } => write!(f, "{key} is not set: {message}"),
            Subject::Missing { key, empty_in: Some(origin) } => match origin {
                Origin::DotEnv(path) => {
                    write!(f, "{key} is empty (in {}): {message}", path.display())
                }
                Origin::File(path) => {
                    write!(f, "{key} is empty (in {}): {message}", path.display())
                }
                Origin::Environment | Origin::Default => write!(f, "{key} is empty: {message}"),
            },
            Subject::File { path } => write!(f, "{}: {message}", path.display()),
        }
    }
}

/// `key` set to `value` as its layer writes it, saying where when not the environment:
/// `CHECK_INTERVAL=abc`, `CHECK_INTERVAL=abc (from /k/.env)`, `kiosk.check_interval = "abc" (in
/// /k/kiosk.toml)`.
pub(crate) fn assignment(key: &str, value: &str, origin: &Origin) -> String {
    match origin {
        Origin::Environment => format!("{key}={value}"),
        Origin::DotEnv(path) => format!("{key}={value} (from {})", path.display()),
        Origin::File(path) => format!("{key} = {value} (in {})", path.display()),
        Origin::Default => format!("{key}={value} (default)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(key: &str, value: &str, origin: Origin) -> KioskProblem {
        KioskProblem {
            subject: Subject::Value { key: key.into(), value: value.into(), origin },
            message: "expected a number of seconds, at least 1 (e.g. 10 or 2.5)".into(),
        }
    }

    #[test]
    fn each_layer_has_its_own_wording() {
        let env = value("CHECK_INTERVAL", "abc", Origin::Environment);
        assert_eq!(
            env.to_string(),
            "CHECK_INTERVAL=abc: expected a number of seconds, at least 1 (e.g. 10 or 2.5)"
        );
        let dotenv = value("CHECK_INTERVAL", "abc", Origin::DotEnv("/k/.env".into()));
        assert!(dotenv.to_string().starts_with("CHECK_INTERVAL=abc (from /k/.env): expected"));
        let file = value("kiosk.check_interval", "\"abc\"", Origin::File("/k/k.toml".into()));
        assert!(
            file.to_string().starts_with("kiosk.check_interval = \"abc\" (in /k/k.toml): expected")
        );
    }

    #[test]
    fn missing_settings_and_files() {
        let missing = |empty_in| KioskProblem {
            subject: Subject::Missing { key: "VIMEO_TOKEN".into(), empty_in },
            message: "create a token".into(),
        };
        assert_eq!(missing(None).to_string(), "VIMEO_TOKEN is not set: create a token");
        assert_eq!(
            missing(Some(Origin::DotEnv("/k/.env".into()))).to_string(),
            "VIMEO_TOKEN is empty (in /k/.env): create a token"
        );
        assert_eq!(
            missing(Some(Origin::Environment)).to_string(),
            "VIMEO_TOKEN is empty: create a token"
        );
        let file = KioskProblem {
            subject: Subject::File { path: "/k/k.toml".into() },
            message: "cannot read".into(),
        };
        let errors = KioskConfigErrors {
            problems: vec![file, missing(None)],
            warnings: vec!["unknown".into()],
            notes: vec![],
        };
        assert_eq!(
            errors.to_string(),
            "/k/k.toml: cannot read\nVIMEO_TOKEN is not set: create a token"
        );
    }
}
