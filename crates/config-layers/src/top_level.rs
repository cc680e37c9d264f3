//! [`unknown_top_level`]: the top-level keys of the shared TOML file that no binary reads.
//!
//! Both binaries read one TOML file, each its own tables, so a table neither knows (`[metrcs]`)
//! would be ignored by both without a word; each binary warns about it, naming every table of
//! the file, its own and the other's, so that neither warns about the other's.

use figment::value::{Dict, Value};

use crate::{Origin, suggest, toml_datetime};

/// Warnings for the top-level keys of `dict` (the TOML file at `origin`) that are none of
/// `tables` and that `skip` (names the caller warns about itself) lets through, with the nearest
/// table name when one is a likely typo: `unknown table [metrcs] in /x.toml is ignored; did you
/// mean [metrics]?`.
pub fn unknown_top_level(
    dict: &Dict,
    tables: &[&str],
    origin: &Origin,
    skip: impl Fn(&str) -> bool,
) -> Vec<String> {
    let place = origin.place();
    dict.iter()
        .filter(|(key, _)| !tables.contains(&key.as_str()) && !skip(key))
        .map(|(key, value)| {
            let is_table = matches!(value, Value::Dict(..)) && toml_datetime(value).is_none();
            let what = if is_table { format!("table [{key}]") } else { format!("key {key}") };
            let near = suggest(key, tables.iter().copied(), |t| (t.len() / 3).clamp(1, 2));
            let hint = near.map(|t| format!("; did you mean [{t}]?")).unwrap_or_default();
            format!("unknown {what} at the top level {place} is ignored{hint}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use figment::providers::{Format, Toml};

    use super::*;

    #[test]
    fn unknown_tables_and_keys_are_named_with_a_near_miss() {
        let text = "title = \"x\"\nwhen = 1979-05-27\n[metrics]\nport = 1\n[kiosk]\n\
                    [metrcs]\nport = 2\n[kisok]\n[colours]\n[check]\n";
        let dict: Dict = Toml::from_str(text).expect("TOML");
        let origin = Origin::File("/x/all.toml".into());
        let tables = ["metrics", "kiosk", "network"];
        let warnings = unknown_top_level(&dict, &tables, &origin, |k| k == "check");
        let place = "at the top level in /x/all.toml is ignored";
        assert_eq!(
            warnings,
            [
                format!("unknown table [colours] {place}"),
                format!("unknown table [kisok] {place}; did you mean [kiosk]?"),
                format!("unknown table [metrcs] {place}; did you mean [metrics]?"),
                format!("unknown key title {place}"),
                format!("unknown key when {place}"),
            ]
        );
    }
}
