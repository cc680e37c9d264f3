//! Where settings come from: [`Sources`], and reading its two files.
//!
//! The `.env` file is read with dotenvy's iterator and never put into the process environment,
//! and the environment itself is a map handed in, so loading has no side effects and tests
//! never touch the real environment. Problems never quote a line of either file: it may hold a
//! token.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::Dict;

use crate::{ConfigProblem, Table};

/// What to read: the TOML file, the `.env` file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The TOML file; a path that cannot be read is a problem naming it.
    pub file: Option<PathBuf>,
    /// The `.env` file; a missing one is skipped.
    pub dotenv: Option<PathBuf>,
    /// The environment to read (only the names a settings table knows matter).
    pub env: BTreeMap<String, String>,
}

impl Sources {
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

/// Reads and parses the TOML file; a file that cannot be read or parsed is a problem naming it.
pub(crate) fn read_toml(path: &Path) -> Result<Dict, ConfigProblem> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigProblem::file(path, format!("cannot read the configuration file: {e}"))
    })?;
    Toml::from_str::<Dict>(&text).map_err(|e| {
        // Only the message and position: toml's full rendering quotes the offending line,
        // which may hold a token.
        let at = e.span().map(|span| position(&text, span.start)).unwrap_or_default();
        let message = e.message().trim_end().replace('\n', "; ");
        ConfigProblem::file(path, format!("invalid TOML{at}: {message}"))
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
/// parsed are problems (without their text, which may hold a token; named by the setting they
/// start with when `T` claims it) and the rest still count.
pub(crate) fn read_dotenv<T: Table>(
    path: &Path,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<(String, String)> {
    let cannot = |what: String| ConfigProblem::file(path, what);
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
                let near = if T::claims(name) {
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
