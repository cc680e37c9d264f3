//! Where settings come from: [`Sources`], and reading its two files.
//!
//! The `.env` file is read with dotenvy's iterator and never put into the process environment,
//! and the environment itself is a map handed in, so loading has no side effects and tests
//! never touch the real environment. A `.env` line that cannot be parsed is quoted by number and
//! text, cut short, with a secret's value redacted; the TOML file's lines are never quoted
//! (toml's rendering would show one whole, token included).

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
/// parsed are problems naming their line number and text (a secret's value redacted, see
/// [`shown_line`]) and the rest still count.
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
    // dotenvy's errors carry the text, not the line number: found again in the file, in order.
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = Lines { text: text.lines().collect(), next: 0 };
    let mut pairs = Vec::new();
    for item in iter {
        match item {
            Ok((name, value)) => {
                let name = name.trim_start_matches('\u{feff}').to_owned();
                pairs.push((name, value));
            }
            Err(dotenvy::Error::LineParse(line, _)) => {
                let first = line.lines().next().unwrap_or("").trim_start_matches('\u{feff}');
                let message = format!("`{}`: {}", shown_line::<T>(first), why_not(first));
                problems.push(match lines.number_of(first) {
                    Some(number) => ConfigProblem::line(path, number, message),
                    None => cannot(message),
                });
            }
            Err(e) => {
                problems.push(cannot(format!("cannot read the .env file: {e}")));
                break;
            }
        }
    }
    pairs
}

/// The physical lines of a file, searched in order for the lines dotenvy could not parse.
struct Lines<'a> {
    text: Vec<&'a str>,
    next: usize,
}

impl Lines<'_> {
    /// The number (from 1) of the next line, from where the last search ended, that reads `line`.
    fn number_of(&mut self, line: &str) -> Option<usize> {
        let wanted = line.trim();
        let found = self.text[self.next..]
            .iter()
            .position(|l| l.trim_start_matches('\u{feff}').trim() == wanted)?;
        let index = self.next + found;
        self.next = index + 1;
        Some(index + 1)
    }
}

/// The name a `.env` line sets: the text before `=`, without `export `.
fn name_of(line: &str) -> &str {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line);
    line.split_once('=').map_or(line, |(name, _)| name).trim()
}

/// Whether `name` is a variable name dotenvy and a shell take: letters, digits, `_` (and `.`,
/// which dotenvy allows), not starting with a digit.
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Why dotenvy refused a line, as far as can be told from its text.
fn why_not(line: &str) -> String {
    let name = name_of(line);
    if !line.contains('=') {
        "expected NAME=value".to_owned()
    } else if !is_valid_name(name) {
        format!(
            "{name:?} is not a valid variable name (letters, digits and _, not starting with a \
             digit)"
        )
    } else {
        "the value cannot be parsed: check its quotes and escapes (an unclosed quote takes \
         the lines after it too)"
            .to_owned()
    }
}

/// Words in a name that mark its value as secret, for names no table claims (the other
/// binary's token shares the `.env` file).
const SECRET_WORDS: [&str; 4] = ["TOKEN", "SECRET", "PASSWORD", "KEY"];

/// A `.env` line as a message shows it: at most [`MAX_QUOTED`](crate::MAX_QUOTED) characters;
/// the value redacted when `T` says the name is a secret or the name looks like one; a URL's
/// query string (a signature) redacted.
pub(crate) fn shown_line<T: Table>(line: &str) -> String {
    let name = name_of(line);
    let upper = name.to_ascii_uppercase();
    let secret = T::is_secret(name) || SECRET_WORDS.iter().any(|w| upper.contains(w));
    if secret {
        return format!("{}={}", crate::cut(name), crate::REDACTED);
    }
    let line = match line.find("://").and_then(|at| line[at..].find('?').map(|q| at + q)) {
        Some(query) => format!("{}?{}", &line[..query], crate::REDACTED),
        None => line.to_owned(),
    };
    crate::cut(&line)
}
