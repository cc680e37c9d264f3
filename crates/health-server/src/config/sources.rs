//! Where settings come from: [`ConfigSources`], the [`Origin`] of a value, and the figment
//! providers for each layer.
//!
//! The `.env` file is read with dotenvy's iterator and never put into the process environment,
//! and the environment itself is a map handed in, so loading has no side effects and tests
//! never touch the real environment. Values from `.env` and the environment stay strings here
//! (figment's own `Env` provider would guess their types); `parse.rs` types them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider, Source};

use super::keys::{self, CONFIG_FILE_VAR, PREFIX};
use super::problem::ConfigProblem;

/// What to read: the TOML file, the `.env` file and the environment.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    /// The TOML file; a path that cannot be read is a problem naming it.
    pub file: Option<PathBuf>,
    /// The `.env` file; a missing one is skipped.
    pub dotenv: Option<PathBuf>,
    /// The environment to read (only `HEALTH_*` names matter).
    pub env: BTreeMap<String, String>,
}

impl ConfigSources {
    /// From the real process: the environment, `./.env`, and `cli_file` or else
    /// `$HEALTH_CONFIG` as the TOML file. Variables that are not UTF-8 are skipped.
    pub fn from_process(cli_file: Option<PathBuf>) -> Self {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let file = cli_file
            .or_else(|| env.get(CONFIG_FILE_VAR).filter(|p| !p.is_empty()).map(PathBuf::from));
        let dotenv =
            std::env::current_dir().map_or_else(|_| PathBuf::from(".env"), |d| d.join(".env"));
        Self { file, dotenv: Some(dotenv), env }
    }
}

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

    /// The setting's key as a user of this layer writes it: `metrics.port` in TOML,
    /// `HEALTH_METRICS_PORT` elsewhere.
    pub(crate) fn key_of(&self, setting: &keys::Setting) -> String {
        match self {
            Self::File(_) => setting.toml_key(),
            _ => setting.env_name(),
        }
    }

    /// `setting` set to `value` as a user of this layer writes it: `network.enabled = false`
    /// in TOML, `HEALTH_NETWORK_ENABLED=false` elsewhere.
    pub(crate) fn assignment(&self, setting: &keys::Setting, value: &str) -> String {
        match self {
            Self::File(_) => format!("{} = {value}", setting.toml_key()),
            _ => format!("{}={value}", setting.env_name()),
        }
    }
}

/// One layer as a figment provider: its values, nested `section.name`, and its origin.
pub(crate) struct Layer {
    origin: Origin,
    dict: Dict,
}

impl Layer {
    /// The built-in defaults, as the text a user would write (an unset default is absent).
    pub(crate) fn defaults() -> Self {
        let pairs =
            keys::settings().iter().filter_map(|s| Some((s.env_name(), s.default_value()?)));
        Self::from_env_pairs(Origin::Default, pairs)
    }

    /// A parsed TOML file.
    pub(crate) fn toml(path: &Path, dict: Dict) -> Self {
        Self { origin: Origin::File(path.to_path_buf()), dict }
    }

    /// Environment-style pairs: each known `HEALTH_SECTION_NAME` becomes `section.name`,
    /// its value kept as a string. Unknown names are left out (they only warn).
    pub(crate) fn from_env_pairs(
        origin: Origin,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let mut dict = Dict::new();
        for (name, value) in pairs {
            let Some(setting) = keys::by_env_name(&name) else { continue };
            let section = dict
                .entry(setting.section().to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, section) = section {
                section.insert(setting.name().to_owned(), Value::from(value));
            }
        }
        Self { origin, dict }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        match &self.origin {
            Origin::Default => Metadata::named(DEFAULT),
            Origin::File(path) => Metadata::from(FILE, path.as_path()),
            Origin::DotEnv(path) => Metadata::from(DOTENV, path.as_path()),
            Origin::Environment => Metadata::named(ENVIRONMENT),
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// Reads and parses the TOML file; a file that cannot be read or parsed is a problem naming it.
pub(crate) fn read_toml(path: &Path) -> Result<Dict, ConfigProblem> {
    let problem = |what: String| ConfigProblem::about_file(path, Origin::File(path.into()), what);
    let text = std::fs::read_to_string(path)
        .map_err(|e| problem(format!("cannot read the configuration file: {e}")))?;
    Toml::from_str::<Dict>(&text).map_err(|e| {
        // Only the message and position: toml's full rendering quotes the offending line,
        // which may hold the bearer token.
        let at = e.span().map(|span| position(&text, span.start)).unwrap_or_default();
        let message = e.message().trim_end().replace('\n', "; ");
        problem(format!("invalid TOML{at}: {message}"))
    })
}

/// ` at line L, column C` for a byte offset.
fn position(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" at line {line}, column {column}")
}

/// Reads the `.env` file's pairs in order. A missing file gives none; lines that cannot be
/// parsed are problems (without their text, which may hold the token) and the rest still count.
pub(crate) fn read_dotenv(path: &Path, problems: &mut Vec<ConfigProblem>) -> Vec<(String, String)> {
    let cannot = |what: String| ConfigProblem::about_file(path, Origin::DotEnv(path.into()), what);
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(e) if e.not_found() => return Vec::new(),
        Err(e) => {
            problems.push(cannot(format!("cannot read the .env file: {e}")));
            return Vec::new();
        }
    };
    let mut pairs = Vec::new();
    for item in iter {
        match item {
            Ok((name, value)) => {
                let name = name.trim_start_matches('\u{feff}').to_owned();
                pairs.push((name, value));
            }
            Err(dotenvy::Error::LineParse(line, _)) => {
                let name = line.split('=').next().unwrap_or("").trim();
                let is_name = |n: &str| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                let near = if name.starts_with(PREFIX) && is_name(name) {
                    format!(" (the line setting {name})")
                } else {
                    String::new()
                };
                problems.push(cannot(format!(
                    "a line of the .env file cannot be parsed{near}: check its quotes and escapes"
                )));
            }
            Err(e) => {
                problems.push(cannot(format!("cannot read the .env file: {e}")));
                break;
            }
        }
    }
    pairs
}
