//! [`Layers`]: the sources read and merged, lowest first: built-in defaults < TOML file <
//! `.env` < environment; and [`Found`], a value looked up in them with its origin.
//!
//! Values from `.env` and the environment stay strings here (figment's own `Env` provider would
//! guess their types); the binary's parsers type them, with [`parse`](crate::parse) for the
//! common kinds. Reading never stops at a problem: problems are collected for the caller, which
//! goes on to parse every setting.

use std::collections::BTreeMap;
use std::path::Path;

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use crate::sources::{read_dotenv, read_toml};
use crate::{Findings, Origin, Table};

/// The merged layers of one settings table.
#[derive(Debug)]
pub struct Layers {
    figment: Figment,
}

/// A value the layers give for a key, and the layer that gave it.
#[derive(Debug, Clone)]
pub struct Found {
    /// The highest layer that sets the key.
    pub origin: Origin,
    /// The value as that layer gives it: a string from `.env` or the environment, a typed
    /// value from the TOML file.
    pub value: Value,
}

impl Layers {
    /// Reads `T`'s defaults, `file`, `dotenv` and `env` and merges them; what is wrong with the
    /// files are problems, unknown names warnings. A missing `.env` is skipped; a TOML file
    /// that cannot be read or parsed is a problem and adds nothing.
    pub fn read<T: Table>(
        file: Option<&Path>,
        dotenv: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> (Self, Findings) {
        let mut findings = Findings::default();
        let mut figment = Figment::from(Layer::from_env_pairs::<T>(Origin::Default, T::defaults()));
        if let Some(path) = file {
            match read_toml(path) {
                Ok(dict) => {
                    let dict = T::check_toml(path, dict, &mut findings);
                    let origin = Origin::File(path.to_path_buf());
                    figment = figment.merge(Layer { origin, dict });
                }
                Err(problem) => findings.problems.push(problem),
            }
        }
        if let Some(path) = dotenv {
            let pairs = read_dotenv::<T>(path, &mut findings.problems);
            let origin = Origin::DotEnv(path.to_path_buf());
            let names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
            findings.warnings.extend(T::unknown_names(&names, &origin));
            figment = figment.merge(Layer::from_env_pairs::<T>(origin, pairs));
        }
        let names: Vec<&str> = env.keys().map(String::as_str).collect();
        findings.warnings.extend(T::unknown_names(&names, &Origin::Environment));
        let env = env.iter().map(|(k, v)| (k.clone(), v.clone()));
        figment = figment.merge(Layer::from_env_pairs::<T>(Origin::Environment, env));
        (Self { figment }, findings)
    }

    /// The highest layer's value for the dotted TOML key `section.name`, if any sets it.
    pub fn find(&self, toml_key: &str) -> Option<Found> {
        let value = self.figment.find_value(toml_key).ok()?;
        let origin = Origin::of(self.figment.get_metadata(value.tag()));
        Some(Found { origin, value })
    }
}

/// One layer as a figment provider: its values, nested `section.name`, and its origin.
struct Layer {
    origin: Origin,
    dict: Dict,
}

impl Layer {
    /// Environment-style pairs: each name `T` places becomes `section.name`, its value kept as
    /// a string. Other names are left out (the table warns about those it cares for).
    fn from_env_pairs<T: Table>(
        origin: Origin,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let mut dict = Dict::new();
        for (env_name, value) in pairs {
            let Some((section, name)) = T::place_of(&env_name) else { continue };
            let section =
                dict.entry(section.to_owned()).or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, section) = section {
                section.insert(name, Value::from(value));
            }
        }
        Self { origin, dict }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        self.origin.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tempfile::TempDir;

    use super::*;

    /// A table of two settings, `APP_PORT` (`app.port`, default 80) and `APP_NAME` (`app.name`,
    /// a secret).
    struct App;

    impl Table for App {
        fn place_of(env_name: &str) -> Option<(&'static str, String)> {
            let name = env_name.strip_prefix("APP_")?.to_ascii_lowercase();
            matches!(name.as_str(), "port" | "name").then_some(("app", name))
        }

        fn defaults() -> Vec<(String, String)> {
            vec![("APP_PORT".to_owned(), "80".to_owned())]
        }

        fn is_secret(name: &str) -> bool {
            name == "APP_NAME"
        }

        fn unknown_names(names: &[&str], origin: &Origin) -> Vec<String> {
            let unknown =
                names.iter().filter(|n| n.starts_with("APP_") && Self::place_of(n).is_none());
            unknown.map(|name| format!("unknown {name} {}", origin.place())).collect()
        }

        fn check_toml(_: &Path, dict: Dict, findings: &mut Findings) -> Dict {
            let others = dict.keys().filter(|k| *k != "app");
            findings.warnings.extend(others.map(|k| format!("[{k}] is not ours")));
            dict
        }
    }

    fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write a fixture");
        path
    }

    fn read(
        file: Option<&Path>,
        dotenv: Option<&Path>,
        env: &[(&str, &str)],
    ) -> (Layers, Vec<String>, Vec<String>) {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let (layers, Findings { problems, warnings }) = Layers::read::<App>(file, dotenv, &env);
        (layers, problems.iter().map(ToString::to_string).collect(), warnings)
    }

    #[test]
    fn the_environment_beats_dotenv_which_beats_the_file_which_beats_the_defaults() {
        let dir = TempDir::new().expect("tempdir");
        let file = write(&dir, "app.toml", "[app]\nport = 8080\nname = \"file\"\n[other]\nx = 1\n");
        let dotenv = write(&dir, ".env", "APP_NAME=dotenv\nAPP_PROT=1\n");
        let (layers, problems, warnings) = read(Some(&file), Some(&dotenv), &[("APP_NAME", "env")]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            warnings,
            ["[other] is not ours".to_owned(), format!("unknown APP_PROT in {}", dotenv.display())]
        );
        let port = layers.find("app.port").expect("app.port");
        assert_eq!((port.origin, port.value.to_i128()), (Origin::File(file), Some(8080)));
        let name = layers.find("app.name").expect("app.name");
        assert_eq!((name.origin, name.value.as_str()), (Origin::Environment, Some("env")));

        let (defaults, _, _) = read(None, None, &[]);
        let port = defaults.find("app.port").expect("the default layer");
        assert_eq!((port.origin, port.value.as_str()), (Origin::Default, Some("80")));
        assert!(defaults.find("app.name").is_none());
    }

    #[test]
    fn values_from_dotenv_and_the_environment_stay_text() {
        let dir = TempDir::new().expect("tempdir");
        let dotenv = write(&dir, ".env", "APP_PORT=8080\n");
        let (layers, _, _) = read(None, Some(&dotenv), &[]);
        let port = layers.find("app.port").expect("app.port");
        assert_eq!((port.origin, port.value.as_str()), (Origin::DotEnv(dotenv), Some("8080")));
    }

    #[test]
    fn files_that_cannot_be_read_are_problems_that_never_quote_a_line() {
        let dir = TempDir::new().expect("tempdir");
        let missing = dir.path().join("missing.toml");
        let (layers, problems, _) = read(Some(&missing), Some(&dir.path().join(".env")), &[]);
        assert_eq!(problems.len(), 1, "a missing .env is skipped: {problems:?}");
        let prefix = format!("{}: cannot read the configuration file: ", missing.display());
        assert!(problems[0].starts_with(&prefix), "{problems:?}");
        assert!(layers.find("app.port").is_some(), "the defaults still count");

        let toml = write(&dir, "bad.toml", "[app]\nname = \"s3cr3t\n");
        let dotenv = write(&dir, ".env", "APP_PORT=81\nAPP_NAME=\"s3cr3t\n");
        let (layers, problems, _) = read(Some(&toml), Some(&dotenv), &[]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with(&format!("{}: invalid TOML at line 2", toml.display())));
        assert_eq!(
            problems[1],
            format!(
                "{} line 2: `APP_NAME=<redacted>`: the value cannot be parsed: check its quotes \
                 and escapes (an unclosed quote takes the lines after it too)",
                dotenv.display()
            )
        );
        assert!(!problems.concat().contains("s3cr3t"), "{problems:?}");
        assert!(layers.find("app.name").is_none());
        let port = layers.find("app.port").expect("the lines before still count");
        assert_eq!(port.value.as_str(), Some("81"));
    }

    /// One `.env` line that dotenvy refuses, with what is around it.
    fn dotenv_problems(text: &str) -> (Vec<String>, Layers, PathBuf) {
        let dir = TempDir::new().expect("tempdir");
        let dotenv = write(&dir, ".env", text);
        let (layers, problems, _) = read(None, Some(&dotenv), &[]);
        let prefix = format!("{} ", dotenv.display());
        let problems = problems.iter().map(|p| p.replace(&prefix, "")).collect();
        (problems, layers, dotenv)
    }

    #[test]
    fn dotenv_lines_that_cannot_be_parsed_are_named_by_number_and_text() {
        let cases: [(&str, &str); 6] = [
            (
                "# c\nAPP_PORT=81\n\n2FOO=1\n",
                "line 4: `2FOO=1`: \"2FOO\" is not a valid variable name (letters, digits and _, \
                 not starting with a digit)",
            ),
            (
                "FOO BAR=1\n",
                "line 1: `FOO BAR=1`: \"FOO BAR\" is not a valid variable name (letters, digits \
                 and _, not starting with a digit)",
            ),
            (
                "A=1\nB=2\nC=3\nD=4\nE=5\nF=6\njust words\n",
                "line 7: `just words`: expected NAME=value",
            ),
            (
                "OTHER=\"open\n",
                "line 1: `OTHER=\"open`: the value cannot be parsed: check its quotes and escapes \
                 (an unclosed quote takes the lines after it too)",
            ),
            (
                "VIMEO_TOKEN='abc\n",
                "line 1: `VIMEO_TOKEN=<redacted>`: the value cannot be parsed: check its quotes \
                 and escapes (an unclosed quote takes the lines after it too)",
            ),
            (
                "HEALTH_STREAM_URL=\"https://cdn.example/x.m3u8?sig=abc\n",
                "line 1: `HEALTH_STREAM_URL=\"https://cdn.example/x.m3u8?<redacted>`: the value \
                 cannot be parsed: check its quotes and escapes (an unclosed quote takes the \
                 lines after it too)",
            ),
        ];
        for (text, expected) in cases {
            let (problems, _, _) = dotenv_problems(text);
            assert_eq!(problems, [expected.to_owned()], "{text:?}");
        }
    }

    #[test]
    fn the_same_bad_line_twice_gets_both_numbers() {
        let (problems, layers, _) = dotenv_problems("1A=1\nAPP_PORT=82\n1A=1\n");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("line 1: "), "{problems:?}");
        assert!(problems[1].starts_with("line 3: "), "{problems:?}");
        assert_eq!(layers.find("app.port").expect("app.port").value.as_str(), Some("82"));
    }

    #[test]
    fn long_dotenv_lines_are_cut() {
        let long = format!("BAD NAME={}END\n", "x".repeat(400));
        let (problems, _, _) = dotenv_problems(&long);
        let quoted = problems[0].split('`').nth(1).expect("the line, quoted");
        assert_eq!(quoted.chars().count(), crate::MAX_QUOTED + 1, "{quoted}");
        assert!(quoted.ends_with('…') && !problems[0].contains("END"), "{problems:?}");
    }

    /// What docs/configuration.md promises about comments.
    #[test]
    fn a_comment_after_a_space_is_stripped_and_a_hash_inside_a_value_is_kept() {
        let cases = [
            ("APP_PORT=81 # the port\n", "81"),
            ("APP_PORT=81\t# the port\n", "81"),
            ("APP_PORT=8#1\n", "8#1"),
            ("APP_PORT=\"8 # 1\" # the port\n", "8 # 1"),
            ("APP_PORT='8 #1'\n", "8 #1"),
            ("# APP_PORT=1\nAPP_PORT=81\n", "81"),
        ];
        for (text, expected) in cases {
            let (problems, layers, _) = dotenv_problems(text);
            assert!(problems.is_empty(), "{text:?}: {problems:?}");
            let port = layers.find("app.port").expect("app.port");
            assert_eq!(port.value.as_str(), Some(expected), "{text:?}");
        }
    }
}
