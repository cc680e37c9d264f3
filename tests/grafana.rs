//! The Grafana dashboard as the tests read it: its queries, with Grafana's variables put in the
//! way Grafana would.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::workspace_root;

/// The dashboard, relative to the workspace root.
pub const DASHBOARD: &str = "docs/grafana/vimeo-monitor.json";

/// The dashboard document.
pub fn dashboard() -> Value {
    let text = std::fs::read_to_string(workspace_root().join(DASHBOARD))
        .unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

/// Every `expr` of the dashboard (panel targets, annotations), as `("Title [refId]", expr)`.
pub fn queries(document: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    collect_queries(document, "dashboard", &mut found);
    found
}

fn collect_queries(value: &Value, place: &str, into: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            let place = match fields.get("title").or(fields.get("name")).and_then(Value::as_str) {
                Some(title) => title.to_owned(),
                None => place.to_owned(),
            };
            if let Some(expr) = fields.get("expr").and_then(Value::as_str) {
                let reference = fields.get("refId").and_then(Value::as_str).unwrap_or("-");
                into.push((format!("{place} [{reference}]"), expr.to_owned()));
            }
            fields.values().for_each(|v| collect_queries(v, &place, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_queries(v, place, into)),
        _ => {}
    }
}

/// The first query of the panel titled `title`, with `variables` put in.
pub fn panel_query(document: &Value, title: &str, variables: &BTreeMap<&str, String>) -> String {
    let (_, expr) = queries(document)
        .into_iter()
        .find(|(place, _)| place.starts_with(&format!("{title} [")))
        .unwrap_or_else(|| panic!("no panel `{title}` in {DASHBOARD}"));
    substitute(&expr, variables).unwrap_or_else(|e| panic!("panel `{title}`: {e}"))
}

/// Grafana's variables with `job` and `instance` selected, and the built-in intervals short, as
/// for a young database.
pub fn variables(job: &str, instance: &str) -> BTreeMap<&'static str, String> {
    [
        ("datasource", "prometheus".to_owned()),
        ("job", format!("({job})")),
        ("instance", instance.to_owned()),
        ("__rate_interval", "15s".to_owned()),
        ("__interval", "5s".to_owned()),
        ("__interval_ms", "5000".to_owned()),
        ("__range", "5m".to_owned()),
        ("__range_s", "300".to_owned()),
        ("__range_ms", "300000".to_owned()),
    ]
    .into()
}

/// `expr` with each `$name` and `${name}` (or `${name:format}`) replaced from `variables`; an
/// unknown name is an error, `$1` (label_replace) stays.
pub fn substitute(expr: &str, variables: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let (name, after) = if let Some(braced) = rest.strip_prefix('{') {
            let end = braced.find('}').ok_or_else(|| format!("unclosed `${{` in {expr}"))?;
            let name = braced[..end].split(':').next().unwrap_or_default();
            (name, &braced[end + 1..])
        } else {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            let end = end.unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            out.push('$'); // `$1` of label_replace, or a lone `$`.
            continue;
        }
        let value =
            variables.get(name).ok_or_else(|| format!("unknown variable ${name} in {expr}"))?;
        out.push_str(value);
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_substituted_and_unknown_ones_refused() {
        let variables: BTreeMap<&str, String> = [
            ("job", "(a|b)".to_owned()),
            ("__range", "5m".to_owned()),
            ("__range_s", "300".to_owned()),
        ]
        .into();
        let expr =
            r#"label_replace(x{job=~"$job"}[$__range], "y", "$1", "z", "(.*)") * ${__range_s}"#;
        assert_eq!(
            substitute(expr, &variables).unwrap(),
            r#"label_replace(x{job=~"(a|b)"}[5m], "y", "$1", "z", "(.*)") * 300"#
        );
        assert_eq!(substitute("${job:regex}", &variables).unwrap(), "(a|b)");
        assert!(substitute("up{instance=~\"$instance\"}", &variables).is_err());
    }

    #[test]
    fn every_panel_query_is_found_with_its_place() {
        let document = dashboard();
        let found = queries(&document);
        assert!(found.len() >= 50, "only {} queries in {DASHBOARD}", found.len());
        assert!(found.iter().any(|(place, _)| place == "Kiosks up [A]"), "{found:?}");
        let up = panel_query(&document, "Kiosks up", &variables("kiosks", "k1:8080"));
        assert!(up.contains(r#"job=~"(kiosks)""#), "{up}");
        assert!(!up.contains('$') || up.contains("\"$1\""), "{up}");
    }
}
