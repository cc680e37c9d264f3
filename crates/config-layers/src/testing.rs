//! Checks that keep a settings table and its documentation in step, for the binaries' own
//! tests (feature `test-util`). Both binaries document their settings in the one `.env.sample`
//! and the one `docs/configuration.md`, in the same form: a commented `NAME=default` line, and
//! a table row that starts with the name and shows the TOML key and the default.
//!
//! What each table checks beyond that (no unknown names, how a required setting shows) stays
//! in its own tests.

use std::path::PathBuf;

/// The examples a setting's "allowed" text gives (`e.g. 10 or 2.5`), each one value: both
/// binaries check that every example is a value its setting accepts.
pub fn message_examples(expected: &str) -> Vec<String> {
    expected
        .split("e.g. ")
        .skip(1)
        .flat_map(|rest| {
            let inside = rest.split(')').next().unwrap_or("");
            inside.split(" or ").map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

/// A file of the workspace, by its path from the workspace root (`.env.sample`); panics when it
/// cannot be read.
pub fn workspace_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Panics unless `sample` (the text of `.env.sample`) has the line `# NAME=default`, spaces
/// around it aside.
pub fn assert_sample_line(sample: &str, name: &str, default: &str) {
    let line = format!("# {name}={default}");
    assert!(sample.lines().any(|l| l.trim() == line), ".env.sample lacks `{line}`");
}

/// Panics unless `docs` (the text of `docs/configuration.md`) has a table row for `name` that
/// shows `toml_key` (in backticks) and `default` as the docs write it (`` `10` ``, `unset`).
pub fn assert_docs_row(docs: &str, name: &str, toml_key: &str, default: &str) {
    let start = format!("| `{name}` |");
    let row = docs
        .lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("docs/configuration.md has no table row for `{name}`"));
    let toml = format!("`{toml_key}`");
    assert!(row.contains(&toml), "the row of {name} lacks {toml}: {row}");
    assert!(row.contains(default), "the row of {name} lacks its default {default}: {row}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = "| Variable | TOML | Default |\n| `PORT` | `app.port` | `80` |\n";

    #[test]
    fn a_documented_setting_passes() {
        assert_sample_line("# comment\n  # PORT=80\n", "PORT", "80");
        assert_docs_row(DOCS, "PORT", "app.port", "`80`");
    }

    #[test]
    #[should_panic(expected = ".env.sample lacks `# PORT=80`")]
    fn a_sample_without_the_line_fails() {
        assert_sample_line("# PORT=81\n", "PORT", "80");
    }

    #[test]
    #[should_panic(expected = "lacks its default unset")]
    fn a_row_with_another_default_fails() {
        assert_docs_row(DOCS, "PORT", "app.port", "unset");
    }

    #[test]
    #[should_panic(expected = "no table row for `HOST`")]
    fn a_missing_row_fails() {
        assert_docs_row(DOCS, "HOST", "app.host", "unset");
    }

    #[test]
    fn the_workspace_files_are_found() {
        assert!(workspace_file("Cargo.toml").contains("[workspace]"));
    }
}
