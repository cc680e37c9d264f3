//! Where the exporter's settings come from ([`ConfigSources`]), and which names in them are
//! its own: the `HEALTH_*` variables and the TOML sections of its settings table.
//!
//! Reading and merging the layers is `config-layers`' job; this file tells it about this
//! table ([`Table`]). The same `.env` and TOML file carry the kiosk's settings, which are left
//! alone here: only a `HEALTH_*` name that is not a setting warns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config_layers::{
    ConfigProblem, Findings, Origin, Sources, Table, toml_text, unknown_top_level,
};
use figment::value::{Dict, Value};

use super::HealthConfig;
use super::keys::{self, CONFIG_FILE_VAR, PREFIX, Setting, settings};

/// What to read: the TOML file, the `.env` file and the environment.
///
/// Not `config_layers::Sources` itself, because the exporter's file may also come from
/// `$HEALTH_CONFIG` (see [`ConfigSources::from_process`]).
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
        let Sources { file, dotenv, env } = Sources::from_process(cli_file);
        let file =
            file.or_else(|| env.get(CONFIG_FILE_VAR).filter(|p| !p.is_empty()).map(PathBuf::from));
        Self { file, dotenv, env }
    }
}

/// The kiosk's table in the shared TOML file.
const KIOSK_TABLE: &str = "kiosk";

impl Table for HealthConfig {
    /// `HEALTH_SECTION_NAME` → `section.name`, for the names of settings only.
    fn place_of(env_name: &str) -> Option<(&'static str, String)> {
        keys::by_env_name(env_name).map(|s| (s.section(), s.name().to_owned()))
    }

    /// The built-in defaults, as the text a user would write (an unset default is absent).
    fn defaults() -> Vec<(String, String)> {
        settings().iter().filter_map(|s| Some((s.env_name(), s.default_value()?))).collect()
    }

    /// The bearer token and the signed URLs (their query strings are signatures).
    fn is_secret(name: &str) -> bool {
        keys::by_env_name(name).is_some_and(|s| s.is_secret() || s.is_signed_url())
    }

    /// Unknown `HEALTH_*` names, with the nearest known one when it is a likely typo; and
    /// `HEALTH_CONFIG` in `.env`, which comes too late to choose the file.
    fn unknown_names(names: &[&str], origin: &Origin) -> Vec<String> {
        let place = origin.place();
        let known = || settings().iter().map(Setting::env_name).chain([CONFIG_FILE_VAR.to_owned()]);
        let mut warnings: Vec<String> = names
            .iter()
            .filter(|name| name.starts_with(PREFIX) && **name != CONFIG_FILE_VAR)
            .filter(|name| keys::by_env_name(name).is_none())
            .map(|name| {
                let hint = keys::suggest(name, known())
                    .map(|k| format!("; did you mean {k}?"))
                    .unwrap_or_default();
                format!("unknown variable {name} {place} is ignored{hint}")
            })
            .collect();
        if matches!(origin, Origin::DotEnv(_)) && names.contains(&CONFIG_FILE_VAR) {
            warnings.push(format!(
                "{CONFIG_FILE_VAR} {place} is ignored: it must be set in the environment \
                 (or use --config), as the file is chosen before .env is read"
            ));
        }
        warnings
    }

    /// Warns about unknown keys in this crate's TOML sections and drops sections that are not
    /// tables (they would hide the defaults); `[kiosk]` belongs to the kiosk and is left be, and
    /// any other top-level key or table warns.
    fn check_toml(path: &Path, mut dict: Dict, findings: &mut Findings) -> Dict {
        let origin = Origin::File(path.to_path_buf());
        let mut tables: Vec<&str> = settings().iter().map(Setting::section).collect();
        tables.push(KIOSK_TABLE);
        findings.warnings.extend(unknown_top_level(&dict, &tables, &origin, |_| false));
        let sections: Vec<String> =
            dict.keys().filter(|s| keys::is_known_section(s)).cloned().collect();
        for section in sections {
            let Some(Value::Dict(_, table)) = dict.get(&section) else {
                if let Some(value) = dict.remove(&section) {
                    let expected = format!("expected a table [{section}]");
                    findings.problems.push(ConfigProblem::value(
                        section,
                        toml_text(&value),
                        origin.clone(),
                        expected,
                    ));
                }
                continue;
            };
            let known =
                || settings().iter().filter(|s| s.section() == section).map(Setting::toml_key);
            for name in table.keys().filter(|k| keys::by_toml_key(&section, k).is_none()) {
                let key = format!("{section}.{name}");
                let hint = keys::suggest(&key, known())
                    .map(|k| format!("; did you mean {k}?"))
                    .unwrap_or_default();
                let place = origin.place();
                findings.warnings.push(format!("unknown key {key} {place} is ignored{hint}"));
            }
        }
        dict
    }
}
