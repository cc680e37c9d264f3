//! [`Origin`]: the layer a value came from, and how a user of that layer writes a key.
//!
//! A figment value only remembers its layer through the metadata of the provider that gave it,
//! so the round trip (origin → metadata when a layer is built, metadata → origin when a value
//! is found) lives here, in one place.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::{Metadata, Source};

/// The layer a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// The TOML file at this path.
    File(PathBuf),
    /// The `.env` file at this path.
    DotEnv(PathBuf),
    /// The process environment.
    Environment,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File(path) => write!(f, "file ({})", path.display()),
            Self::DotEnv(path) => write!(f, ".env ({})", path.display()),
            Self::Environment => f.write_str("environment"),
        }
    }
}

/// The figment metadata names of the layers, read back by [`Origin::of`].
const DEFAULT: &str = "default";
const FILE: &str = "TOML file";
const DOTENV: &str = ".env file";
const ENVIRONMENT: &str = "environment";

impl Origin {
    /// The metadata a layer from this origin carries, so that [`Origin::of`] finds it again.
    pub(crate) fn metadata(&self) -> Metadata {
        match self {
            Self::Default => Metadata::named(DEFAULT),
            Self::File(path) => Metadata::from(FILE, path.as_path()),
            Self::DotEnv(path) => Metadata::from(DOTENV, path.as_path()),
            Self::Environment => Metadata::named(ENVIRONMENT),
        }
    }

    /// The origin a figment value's metadata records.
    pub(crate) fn of(metadata: Option<&Metadata>) -> Self {
        let Some(metadata) = metadata else { return Self::Default };
        let path = || metadata.source.as_ref().and_then(Source::file_path).map(Path::to_path_buf);
        match (metadata.name.as_ref(), path()) {
            (FILE, Some(path)) => Self::File(path),
            (DOTENV, Some(path)) => Self::DotEnv(path),
            (ENVIRONMENT, _) => Self::Environment,
            _ => Self::Default,
        }
    }

    /// A key as a user of this layer writes it: `toml_key` (`metrics.port`) in the TOML file,
    /// `env_name` (`HEALTH_METRICS_PORT`) everywhere else.
    pub fn key(&self, env_name: &str, toml_key: &str) -> String {
        match self {
            Self::File(_) => toml_key.to_owned(),
            _ => env_name.to_owned(),
        }
    }

    /// `key` set to `value` as a user of this layer writes it: `network.enabled = false` in
    /// TOML, `HEALTH_NETWORK_ENABLED=false` elsewhere. Says nothing of where: for hints.
    pub fn assignment(&self, key: &str, value: &str) -> String {
        match self {
            Self::File(_) => format!("{key} = {value}"),
            _ => format!("{key}={value}"),
        }
    }

    /// The same, saying where unless it is the environment, for problems:
    /// `CHECK_INTERVAL=abc`, `CHECK_INTERVAL=abc (from /k/.env)`,
    /// `kiosk.check_interval = "abc" (in /k/kiosk.toml)`, `PORT=0 (default)`.
    pub fn sourced_assignment(&self, key: &str, value: &str) -> String {
        match self {
            Self::Environment => format!("{key}={value}"),
            Self::DotEnv(path) => format!("{key}={value} (from {})", path.display()),
            Self::File(path) => format!("{key} = {value} (in {})", path.display()),
            Self::Default => format!("{key}={value} (default)"),
        }
    }

    /// Where, in words, for warnings and notes: `in the environment`, `in /x/.env`.
    pub fn place(&self) -> String {
        match self {
            Self::Default => "by default".to_owned(),
            Self::File(path) | Self::DotEnv(path) => format!("in {}", path.display()),
            Self::Environment => "in the environment".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_origin_survives_the_metadata_round_trip() {
        for origin in [
            Origin::Default,
            Origin::File(PathBuf::from("/x/health.toml")),
            Origin::DotEnv(PathBuf::from("/x/.env")),
            Origin::Environment,
        ] {
            assert_eq!(Origin::of(Some(&origin.metadata())), origin);
        }
        assert_eq!(Origin::of(None), Origin::Default);
    }

    #[test]
    fn keys_and_assignments_follow_the_layer() {
        let file = Origin::File(PathBuf::from("/x/health.toml"));
        assert_eq!(file.key("HEALTH_METRICS_PORT", "metrics.port"), "metrics.port");
        assert_eq!(
            Origin::Environment.key("HEALTH_METRICS_PORT", "metrics.port"),
            "HEALTH_METRICS_PORT"
        );
        assert_eq!(file.assignment("network.enabled", "false"), "network.enabled = false");
        assert_eq!(
            Origin::DotEnv(PathBuf::from("/x/.env")).assignment("HEALTH_NETWORK_ENABLED", "false"),
            "HEALTH_NETWORK_ENABLED=false"
        );
        assert_eq!(file.place(), "in /x/health.toml");
        assert_eq!(Origin::Environment.place(), "in the environment");
        assert_eq!(file.to_string(), "file (/x/health.toml)");
    }
}
