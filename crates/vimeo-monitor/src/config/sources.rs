//! Where settings come from: [`KioskSources`], the [`Origin`] of a value, and the figment
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

use super::keys::{self, SECTION};
use super::problem::{KioskProblem, Subject};

/// What to read: the TOML file, the `.env` file and the environment.
#[derive(Debug, Clone, Default)]
pub struct KioskSources {
    /// The TOML file (its `[kiosk]` table); a path that cannot be read is a problem naming it.
    pub file: Option<PathBuf>,
    /// The `.env` file; a missing one is skipped.
    pub dotenv: Option<PathBuf>,
    /// The environment to read (only the kiosk's names matter).
    pub env: BTreeMap<String, String>,
}

impl KioskSources {
    /// From the real process: the environment, `./.env`, and `cli_file` (`--config FILE`) as
    /// the TOML file. Variables that are not UTF-8 are skipped.
    pub fn from_process(cli_file: Option<PathBuf>) -> Self {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let dotenv =
            std::env::current_dir().map_or_else(|_| PathBuf::from(".env"), |d| d.join(".env"));
        Self { file: cli_file, dotenv: Some(dotenv), env }
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

    /// `name` (environment spelling) as a user of this layer writes it: `kiosk.check_interval`
    /// in TOML, `CHECK_INTERVAL` elsewhere.
    pub(crate) fn key_of(&self, name: &str) -> String {
        match self {
            Self::File(_) => keys::toml_key_of(name),
            _ => name.to_owned(),
        }
    }

    /// Where in words, for notes: `in the environment`, `in /x/.env`.
    pub(crate) fn place(&self) -> String {
        match self {
            Self::Default => "by default".to_owned(),
            Self::File(path) | Self::DotEnv(path) => format!("in {}", path.display()),
            Self::Environment => "in the environment".to_owned(),
        }
    }
}

/// One layer as a figment provider: its `[kiosk]` values and its origin.
pub(crate) struct Layer {
    origin: Origin,
    dict: Dict,
}

impl Layer {
    /// A parsed TOML file.
    pub(crate) fn toml(path: &Path, dict: Dict) -> Self {
        Self { origin: Origin::File(path.to_path_buf()), dict }
    }

    /// Environment-style pairs: each name the kiosk knows becomes `kiosk.name` (lowercase), its
    /// value kept as a string. Other names are left out.
    pub(crate) fn from_env_pairs(
        origin: Origin,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let mut table = Dict::new();
        for (name, value) in pairs {
            if keys::is_known(&name) {
                table.insert(name.to_ascii_lowercase(), Value::from(value));
            }
        }
        let mut dict = Dict::new();
        dict.insert(SECTION.to_owned(), Value::from(table));
        Self { origin, dict }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        match &self.origin {
            Origin::Default => Metadata::named("default"),
            Origin::File(path) => Metadata::from(FILE, path.as_path()),
            Origin::DotEnv(path) => Metadata::from(DOTENV, path.as_path()),
            Origin::Environment => Metadata::named(ENVIRONMENT),
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// A problem with a whole file.
fn about_file(path: &Path, message: String) -> KioskProblem {
    KioskProblem { subject: Subject::File { path: path.to_path_buf() }, message }
}

/// Reads and parses the TOML file; a file that cannot be read or parsed is a problem naming it.
pub(crate) fn read_toml(path: &Path) -> Result<Dict, KioskProblem> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| about_file(path, format!("cannot read the configuration file: {e}")))?;
    Toml::from_str::<Dict>(&text).map_err(|e| {
        // Only the message and position: toml's full rendering quotes the offending line,
        // which may hold the token.
        let at = e.span().map(|span| position(&text, span.start)).unwrap_or_default();
        let message = e.message().trim_end().replace('\n', "; ");
        about_file(path, format!("invalid TOML{at}: {message}"))
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
pub(crate) fn read_dotenv(path: &Path, problems: &mut Vec<KioskProblem>) -> Vec<(String, String)> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(e) if e.not_found() => return Vec::new(),
        Err(e) => {
            problems.push(about_file(path, format!("cannot read the .env file: {e}")));
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
                let near = if keys::is_known(name) {
                    format!(" (the line setting {name})")
                } else {
                    String::new()
                };
                problems.push(about_file(
                    path,
                    format!(
                        "a line of the .env file cannot be parsed{near}: check its quotes and \
                         escapes"
                    ),
                ));
            }
            Err(e) => {
                problems.push(about_file(path, format!("cannot read the .env file: {e}")));
                break;
            }
        }
    }
    pairs
}
