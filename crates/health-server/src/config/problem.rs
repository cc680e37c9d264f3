//! [`ConfigErrors`]: every problem found in the configuration, reported at once.
//!
//! A problem names the key as the user wrote it (`HEALTH_METRICS_PORT`, or `metrics.port` in
//! the TOML file), the value given and what is allowed, so it can be fixed without the docs.
//! Secret values are redacted before they get here.

use std::fmt;
use std::path::Path;

use super::Origin;

/// Every problem in the configuration. `Display`: one problem per line.
#[derive(Debug, thiserror::Error)]
#[error("{}", Lines(.problems))]
pub struct ConfigErrors {
    /// The problems, in settings order (file-level ones first).
    pub problems: Vec<ConfigProblem>,
    /// The warnings [`Loaded::warnings`](super::Loaded::warnings) would have carried: an
    /// unknown name is often why a value did not take, so show them with the problems. Not
    /// part of `Display`.
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
    /// The key as written in its layer (`HEALTH_METRICS_PORT`, `metrics.port`), or the file's
    /// path when the file itself is the problem.
    pub key: String,
    /// The value as given (`<redacted>` for a secret); `None` when the file is the problem.
    pub value: Option<String>,
    /// The layer the value came from.
    pub origin: Origin,
    /// What is allowed or what went wrong: `expected a port number 1-65535`.
    pub expected: String,
}

impl ConfigProblem {
    /// A problem with a whole file (missing, unreadable, not TOML): `origin` is that file.
    pub(crate) fn about_file(path: &Path, origin: Origin, what: String) -> Self {
        Self { key: path.display().to_string(), value: None, origin, expected: what }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, expected) = (&self.key, &self.expected);
        let Some(value) = &self.value else { return write!(f, "{key}: {expected}") };
        match &self.origin {
            Origin::Environment => write!(f, "{key}={value}: {expected}"),
            Origin::DotEnv(path) => {
                write!(f, "{key}={value} (from {}): {expected}", path.display())
            }
            Origin::File(path) => write!(f, "{key} = {value} (in {}): {expected}", path.display()),
            Origin::Default => write!(f, "{key}={value} (default): {expected}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn problem(key: &str, value: &str, origin: Origin) -> ConfigProblem {
        let expected = "expected a port number 1-65535".to_owned();
        ConfigProblem { key: key.into(), value: Some(value.into()), origin, expected }
    }

    #[test]
    fn each_layer_has_its_own_wording() {
        let env = problem("HEALTH_METRICS_PORT", "80a", Origin::Environment);
        assert_eq!(env.to_string(), "HEALTH_METRICS_PORT=80a: expected a port number 1-65535");
        let dotenv =
            problem("HEALTH_METRICS_PORT", "80a", Origin::DotEnv(PathBuf::from("/x/.env")));
        assert_eq!(
            dotenv.to_string(),
            "HEALTH_METRICS_PORT=80a (from /x/.env): expected a port number 1-65535"
        );
        let file =
            problem("metrics.port", "\"80a\"", Origin::File(PathBuf::from("/x/health.toml")));
        assert_eq!(
            file.to_string(),
            "metrics.port = \"80a\" (in /x/health.toml): expected a port number 1-65535"
        );
    }

    #[test]
    fn errors_print_one_problem_per_line() {
        let errors = ConfigErrors {
            problems: vec![
                problem("HEALTH_METRICS_PORT", "80a", Origin::Environment),
                ConfigProblem::about_file(
                    Path::new("/x/health.toml"),
                    Origin::File(PathBuf::from("/x/health.toml")),
                    "cannot read".into(),
                ),
            ],
            warnings: vec!["unknown variable HEALTH_X in the environment is ignored".into()],
        };
        assert_eq!(
            errors.to_string(),
            "HEALTH_METRICS_PORT=80a: expected a port number 1-65535\n/x/health.toml: cannot read"
        );
    }
}
