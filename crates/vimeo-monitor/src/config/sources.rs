//! Which names in the shared sources are the kiosk's: its settings, their old names and the
//! names it ignores, in the environment's spelling, and in TOML the `[kiosk]` table.
//!
//! Reading and merging the layers is `config-layers`' job (`KioskSources` is its `Sources`);
//! this file tells it about the kiosk's table ([`Table`]). Everything else in a
//! shared `.env`, the environment or the TOML file belongs to someone else (the health
//! exporter, the shell, systemd) and is left alone, unless it looks meant for the kiosk.

use std::path::Path;

use config_layers::{ConfigProblem, Findings, Origin, Table, toml_text, unknown_top_level};
use figment::value::{Dict, Value};

use super::KioskConfig;
use super::keys::{self, SECTION};

/// The prefix of the health exporter's names, which share the `.env` file.
const HEALTH_PREFIX: &str = "HEALTH_";

/// The health exporter's tables in the shared TOML file (`health_server::config::settings()`'s
/// sections, asserted by a test): written out, as the kiosk may be built without the exporter.
pub(crate) const HEALTH_TABLES: [&str; 11] = [
    "hardware",
    "metrics",
    "monitoring",
    "network",
    "push",
    "pushgateway",
    "remote_write",
    "screen",
    "script",
    "state",
    "stream",
];

impl Table for KioskConfig {
    /// Every name the kiosk knows goes to `kiosk.name` (lowercase).
    fn place_of(env_name: &str) -> Option<(&'static str, String)> {
        keys::is_known(env_name).then(|| (SECTION, env_name.to_ascii_lowercase()))
    }

    /// `VIMEO_TOKEN`.
    fn is_secret(name: &str) -> bool {
        keys::settings().iter().any(|s| s.name() == name && s.is_secret())
    }

    /// Unknown names that look meant for the kiosk (a kiosk prefix or a near miss of a kiosk
    /// name), with the nearest known one.
    fn unknown_names(names: &[&str], origin: &Origin) -> Vec<String> {
        names
            .iter()
            .filter(|name| !name.starts_with(HEALTH_PREFIX) && !keys::is_known(name))
            .filter(|name| keys::looks_like_kiosk(name))
            .map(|name| {
                let hint =
                    keys::suggest(name).map(|k| format!("; did you mean {k}?")).unwrap_or_default();
                format!("unknown variable {name} {} is ignored{hint}", origin.place())
            })
            .collect()
    }

    /// Warns about unknown keys in `[kiosk]`, kiosk names outside it and top-level keys no
    /// binary reads, and drops a `kiosk` that is not a table (it would hide the defaults). The
    /// health exporter's tables are left to it.
    fn check_toml(path: &Path, mut dict: Dict, findings: &mut Findings) -> Dict {
        let origin = Origin::File(path.to_path_buf());
        let place = origin.place();
        let tables: Vec<&str> = HEALTH_TABLES.iter().copied().chain([SECTION]).collect();
        // Kiosk names at the top level get their own warning, below.
        let is_kiosk_name = |key: &str| keys::is_known(&key.to_ascii_uppercase());
        findings.warnings.extend(unknown_top_level(&dict, &tables, &origin, is_kiosk_name));
        for (key, value) in &dict {
            let is_kiosk_name = keys::is_known(&key.to_ascii_uppercase());
            if is_kiosk_name && !matches!(value, Value::Dict(..)) {
                findings.warnings.push(format!(
                    "{key} at the top level {place} is ignored: kiosk settings go in the \
                     [{SECTION}] table"
                ));
            }
        }
        match dict.get(SECTION) {
            None => {}
            Some(Value::Dict(_, table)) => {
                for key in table.keys() {
                    let known = keys::is_known(&key.to_ascii_uppercase())
                        && *key == key.to_ascii_lowercase();
                    if known {
                        continue;
                    }
                    let hint = keys::suggest(key)
                        .map(|k| format!("; did you mean {}?", keys::toml_key_of(k)))
                        .unwrap_or_default();
                    findings
                        .warnings
                        .push(format!("unknown key {SECTION}.{key} {place} is ignored{hint}"));
                }
            }
            Some(value) => {
                let message = format!("expected a table [{SECTION}]");
                findings.problems.push(ConfigProblem::value(
                    SECTION.to_owned(),
                    toml_text(value),
                    origin,
                    message,
                ));
                dict.remove(SECTION);
            }
        }
        dict
    }
}

#[cfg(all(test, feature = "health"))]
mod tests {
    use std::collections::BTreeSet;

    use super::HEALTH_TABLES;

    #[test]
    fn the_health_tables_are_the_exporters_sections() {
        let sections: BTreeSet<&str> =
            health_server::config::settings().iter().map(|s| s.section()).collect();
        assert_eq!(sections, HEALTH_TABLES.into_iter().collect::<BTreeSet<_>>());
    }
}
