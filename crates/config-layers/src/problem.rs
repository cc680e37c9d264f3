//! [`ConfigErrors`]: every problem found in a configuration, reported at once.
//!
//! A problem names the key as the user wrote it (`HEALTH_METRICS_PORT`, or `metrics.port` in
//! the TOML file), the value given and what is allowed, so it can be fixed without the docs.
//! Secret values are redacted before they get here: this module prints what it is given.

use std::fmt;
use std::path::PathBuf;

use crate::Origin;

/// Every problem in the configuration. `Display`: one problem per line.
#[derive(Debug, thiserror::Error)]
#[error("{}", Lines(.problems))]
pub struct ConfigErrors {
    /// The problems, file-level ones first, then in settings order.
    pub problems: Vec<ConfigProblem>,
    /// The warnings a successful load would have carried: a misspelt name is often why a value
    /// did not take, so show them with the problems. Not part of `Display`.
    pub warnings: Vec<String>,
    /// The notes a successful load would have carried (an old name in use); empty where the
    /// settings have none. Not part of `Display`.
    pub notes: Vec<String>,
}

/// What reading the sources found wrong so far; the loader adds its own and, if any problem
/// remains, reports them all as [`ConfigErrors`].
#[derive(Debug, Default)]
pub struct Findings {
    /// Problems: a load with any fails.
    pub problems: Vec<ConfigProblem>,
    /// Things that look wrong but do not stop a load: unknown names, keys outside their table.
    pub warnings: Vec<String>,
}

/// Problems, one per line.
struct Lines<'a>(&'a [ConfigProblem]);

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

/// One problem: `HEALTH_METRICS_PORT=80a: expected a port number 1-65535`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// What is wrong: a value, a missing setting, or a whole file.
    pub subject: Subject,
    /// What is allowed or what to do: `expected a port number 1-65535`, `no such file`.
    pub message: String,
}

/// What a [`ConfigProblem`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A value given for a key.
    Value {
        /// The key as written in its layer: `HEALTH_METRICS_PORT`, `metrics.port`.
        key: String,
        /// The value as given (`<redacted>` for a secret; TOML syntax from the file).
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
    /// One line of a file (a `.env` line that cannot be parsed).
    Line {
        /// The file.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
    },
}

impl ConfigProblem {
    /// A value its setting cannot take.
    pub fn value(key: String, value: String, origin: Origin, message: String) -> Self {
        Self { subject: Subject::Value { key, value, origin }, message }
    }

    /// A problem with a whole file (missing, unreadable, not TOML).
    pub fn file(path: impl Into<PathBuf>, message: String) -> Self {
        Self { subject: Subject::File { path: path.into() }, message }
    }

    /// A problem with one line of a file (a `.env` line that cannot be parsed).
    pub fn line(path: impl Into<PathBuf>, line: usize, message: String) -> Self {
        Self { subject: Subject::Line { path: path.into(), line }, message }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = &self.message;
        match &self.subject {
            Subject::Value { key, value, origin } => {
                let value = crate::cut(value);
                write!(f, "{}: {message}", origin.sourced_assignment(key, &value))
            }
            Subject::Missing { key, empty_in: None } => write!(f, "{key} is not set: {message}"),
            Subject::Missing { key, empty_in: Some(origin) } => match origin {
                Origin::DotEnv(path) | Origin::File(path) => {
                    write!(f, "{key} is empty (in {}): {message}", path.display())
                }
                Origin::Environment | Origin::Default => write!(f, "{key} is empty: {message}"),
            },
            Subject::File { path } => write!(f, "{}: {message}", path.display()),
            Subject::Line { path, line } => write!(f, "{} line {line}: {message}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(key: &str, value: &str, origin: Origin) -> ConfigProblem {
        let expected = "expected a port number 1-65535".to_owned();
        ConfigProblem::value(key.into(), value.into(), origin, expected)
    }

    fn interval(key: &str, value: &str, origin: Origin) -> ConfigProblem {
        ConfigProblem {
            subject: Subject::Value { key: key.into(), value: value.into(), origin },
            message: "expected a number of seconds, at least 1 (e.g. 10 or 2.5)".into(),
        }
    }

    #[test]
    fn each_layer_has_its_own_wording() {
        let env = port("HEALTH_METRICS_PORT", "80a", Origin::Environment);
        assert_eq!(env.to_string(), "HEALTH_METRICS_PORT=80a: expected a port number 1-65535");
        let dotenv = port("HEALTH_METRICS_PORT", "80a", Origin::DotEnv(PathBuf::from("/x/.env")));
        assert_eq!(
            dotenv.to_string(),
            "HEALTH_METRICS_PORT=80a (from /x/.env): expected a port number 1-65535"
        );
        let file = port("metrics.port", "\"80a\"", Origin::File(PathBuf::from("/x/health.toml")));
        assert_eq!(
            file.to_string(),
            "metrics.port = \"80a\" (in /x/health.toml): expected a port number 1-65535"
        );
    }

    #[test]
    fn each_layer_has_its_own_wording_for_kiosk_names_too() {
        let env = interval("CHECK_INTERVAL", "abc", Origin::Environment);
        assert_eq!(
            env.to_string(),
            "CHECK_INTERVAL=abc: expected a number of seconds, at least 1 (e.g. 10 or 2.5)"
        );
        let dotenv = interval("CHECK_INTERVAL", "abc", Origin::DotEnv("/k/.env".into()));
        assert!(dotenv.to_string().starts_with("CHECK_INTERVAL=abc (from /k/.env): expected"));
        let file = interval("kiosk.check_interval", "\"abc\"", Origin::File("/k/k.toml".into()));
        assert!(
            file.to_string().starts_with("kiosk.check_interval = \"abc\" (in /k/k.toml): expected")
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = format!("{}tail", "9".repeat(300));
        let problem = port("HEALTH_METRICS_PORT", &long, Origin::Environment);
        let text = problem.to_string();
        let shown = format!("HEALTH_METRICS_PORT={}…: expected", "9".repeat(crate::MAX_QUOTED));
        assert!(text.starts_with(&shown), "{text}");
        assert!(!text.contains("tail"), "{text}");
    }

    #[test]
    fn lines_of_a_file_are_numbered() {
        let line = ConfigProblem::line("/k/.env", 7, "`FOO BAR=1`: cannot be parsed".into());
        assert_eq!(line.to_string(), "/k/.env line 7: `FOO BAR=1`: cannot be parsed");
    }

    #[test]
    fn errors_print_one_problem_per_line() {
        let errors = ConfigErrors {
            problems: vec![
                port("HEALTH_METRICS_PORT", "80a", Origin::Environment),
                ConfigProblem::file("/x/health.toml", "cannot read".into()),
            ],
            warnings: vec!["unknown variable HEALTH_X in the environment is ignored".into()],
            notes: vec![],
        };
        assert_eq!(
            errors.to_string(),
            "HEALTH_METRICS_PORT=80a: expected a port number 1-65535\n/x/health.toml: cannot read"
        );
    }

    #[test]
    fn missing_settings_and_files() {
        let missing = |empty_in| ConfigProblem {
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
        let file = ConfigProblem {
            subject: Subject::File { path: "/k/k.toml".into() },
            message: "cannot read".into(),
        };
        let errors = ConfigErrors {
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
