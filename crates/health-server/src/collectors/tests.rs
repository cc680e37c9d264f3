//! The table is complete: whatever the exporter can run has a row, and every row is consistent
//! with the settings, the features and the catalogue.

use super::*;

/// The `HEALTH_*` names in `text`.
fn variables(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|word| word.starts_with("HEALTH_"))
        .collect()
}

#[test]
fn every_variable_a_row_names_is_a_setting() {
    let settings: Vec<String> = crate::config::settings().iter().map(|s| s.env_name()).collect();
    let mut named = Vec::new();
    for entry in COLLECTORS {
        let text = match &entry.enable {
            Enable::Switch { key, .. } => (*key).to_owned(),
            Enable::Presence { hint, .. } => (*hint).to_owned(),
        };
        let runs = entry.runs().iter().map(|run| run.interval);
        for text in std::iter::once(text.as_str()).chain(runs) {
            let variables = variables(text);
            assert!(!variables.is_empty(), "{}: no setting in {text:?}", entry.name);
            named.extend(variables.into_iter().map(|v| (entry.name, v.to_owned())));
        }
    }
    for (collector, variable) in named {
        assert!(settings.contains(&variable), "{collector}: {variable} is not a setting");
    }
}

#[test]
fn a_switch_or_a_present_setting_asks_for_its_collector() {
    let mut config = HealthConfig::default();
    config.hardware.enabled = false;
    config.network.enabled = false;
    config.stream.enabled = false;
    for entry in COLLECTORS {
        assert_eq!(entry.enable.asked_by(&config), None, "{}", entry.name);
    }
    config.network.enabled = true;
    config.script.status_file = Some("/run/kiosk/status.json".into());
    config.push.gateway_url = Some(crate::config::SignedUrl::new("http://127.0.0.1:9091"));
    let asked: Vec<(&str, Option<&str>)> =
        COLLECTORS.iter().map(|entry| (entry.name, entry.enable.asked_by(&config))).collect();
    assert_eq!(
        asked,
        [
            ("hardware", None),
            ("network", Some("HEALTH_NETWORK_ENABLED")),
            ("stream", None),
            ("script", Some("HEALTH_SCRIPT_STATUS_FILE")),
            ("push", Some("HEALTH_PUSHGATEWAY_URL")),
            ("remote_write", None),
        ]
    );
}

#[test]
fn names_are_unique_and_only_a_collector_behind_a_feature_can_be_left_out() {
    let mut names: Vec<&str> = COLLECTORS.iter().map(|entry| entry.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), COLLECTORS.len(), "{names:?}");
    let mut runs: Vec<&str> =
        COLLECTORS.iter().flat_map(|entry| entry.runs().iter().map(|run| run.name)).collect();
    let count = runs.len();
    runs.sort_unstable();
    runs.dedup();
    assert_eq!(runs.len(), count, "{runs:?}");
    for entry in COLLECTORS {
        assert!(entry.feature.is_some() || entry.compiled.is_some(), "{}", entry.name);
    }
}

/// A feature that pulls in a collector crate (`dep:health-…`) must have its row, or compose
/// would never build what it adds.
#[test]
fn every_feature_that_adds_a_collector_crate_has_a_row() {
    let manifest = include_str!("../../Cargo.toml");
    let features = manifest
        .split("\n[")
        .find(|table| table.starts_with("features]"))
        .expect("Cargo.toml has [features]");
    let collector_features: Vec<&str> = features
        .lines()
        .filter(|line| line.contains("\"dep:health-"))
        .filter_map(|line| line.split('=').next())
        .map(str::trim)
        .collect();
    assert!(collector_features.len() >= 4, "{collector_features:?}");
    for feature in collector_features {
        assert!(
            COLLECTORS.iter().any(|entry| entry.feature == Some(feature)),
            "the cargo feature {feature} adds a collector crate but no row in COLLECTORS names it"
        );
    }
}

#[test]
fn the_catalogue_lists_each_run_of_each_row_after_the_self_metrics() {
    let catalogued: Vec<&str> = crate::catalogue().iter().map(|entry| entry.collector).collect();
    let mut expected = vec!["exporter"];
    expected.extend(COLLECTORS.iter().flat_map(|entry| entry.runs().iter().map(|run| run.name)));
    assert_eq!(catalogued, expected);
}

/// Every collector the exporter can run with all features, each way it can be built: its name
/// has a row, and everything it describes is in the catalogue under that name.
#[cfg(all(feature = "system", feature = "network", feature = "stream", feature = "script"))]
#[test]
fn every_collector_the_exporter_builds_has_a_row_and_its_metrics_are_catalogued() {
    use health_core::{Collector, Exposition};

    let dir = tempfile::tempdir().unwrap();
    let mut config =
        HealthConfig { state_dir: Some(dir.path().to_owned()), ..HealthConfig::default() };
    config.script.pidfile = Some(dir.path().join("kiosk.pid"));
    config.network.speedtest_upload_url = Some("http://127.0.0.1:9/up".to_owned());
    let mut built: Vec<Box<dyn Collector>> = crate::compose(&config).unwrap().collectors;
    let kiosk = Inputs {
        stream_source: None,
        script: Some(health_script::ScriptHealth::new(std::time::Duration::from_secs(10))),
    };
    built.extend(crate::compose_with(&config, &kiosk).unwrap().collectors);
    config.push.gateway_url = Some(crate::config::SignedUrl::new("http://127.0.0.1:9091"));
    let pusher = crate::push::from_config(&config.push, &Exposition::default()).unwrap().unwrap();
    built.push(Box::new(pusher));

    let names: Vec<&str> = built.iter().map(|c| c.name()).collect();
    let expected = ["hardware", "network", "stream", "stream_playlist", "script"];
    assert_eq!(names, [&expected[..], &expected[..], &["push"]].concat());
    let catalogue = crate::catalogue();
    for collector in &built {
        let name = collector.name();
        assert!(
            COLLECTORS.iter().any(|entry| entry.runs().iter().any(|run| run.name == name)),
            "{name} has no row in COLLECTORS"
        );
        let entry = catalogue.iter().find(|entry| entry.collector == name).unwrap();
        for desc in collector.describe() {
            assert!(entry.metrics.contains(&desc), "{name}: {} is not catalogued", desc.name);
        }
    }
    // The sidecar and the kiosk's record describe different metrics under one name: both count.
    let script = catalogue.iter().find(|entry| entry.collector == "script").unwrap();
    let script: Vec<&str> = script.metrics.iter().map(|m| &*m.name).collect();
    assert!(script.contains(&"script_process_up") && script.contains(&"api_requests_total"));
}
