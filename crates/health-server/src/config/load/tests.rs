//! Loading through every layer: precedence, every error path, warnings and redaction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use super::super::keys::{Field, settings};
use super::super::{ConfigErrors, ConfigSources, HealthConfig, Loaded, Origin};

const TOKEN: &str = "s3cr3t-T0KEN-value";

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn from_env(pairs: &[(&str, &str)]) -> ConfigSources {
    ConfigSources { env: env(pairs), ..ConfigSources::default() }
}

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write a fixture");
    path
}

fn load(sources: &ConfigSources) -> Loaded {
    match HealthConfig::load(sources) {
        Ok(loaded) => loaded,
        Err(e) => panic!("expected a valid configuration, got:\n{e}"),
    }
}

fn problems(sources: &ConfigSources) -> Vec<String> {
    let errors: ConfigErrors = match HealthConfig::load(sources) {
        Ok(loaded) => panic!("expected problems, got {:?}", loaded.config),
        Err(e) => e,
    };
    errors.problems.iter().map(ToString::to_string).collect()
}

fn only_problem(sources: &ConfigSources) -> String {
    let problems = problems(sources);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    problems.into_iter().next().unwrap_or_default()
}

#[test]
fn nothing_set_gives_the_defaults_from_the_default_layer() {
    let loaded = load(&ConfigSources::default());
    assert_eq!(loaded.config, HealthConfig::default());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.origin("HEALTH_METRICS_PORT"), Some(&Origin::Default));
}

#[test]
fn a_missing_dotenv_file_is_skipped() {
    let dir = TempDir::new().expect("tempdir");
    let sources = ConfigSources { dotenv: Some(dir.path().join(".env")), ..Default::default() };
    assert_eq!(load(&sources).config, HealthConfig::default());
}

#[test]
fn from_process_prefers_the_cli_file_and_reads_dotenv_in_the_working_directory() {
    let sources = ConfigSources::from_process(Some(PathBuf::from("/etc/health.toml")));
    assert_eq!(sources.file.as_deref(), Some(Path::new("/etc/health.toml")));
    let dotenv = sources.dotenv.expect("a .env path");
    assert!(dotenv.ends_with(".env"), "{}", dotenv.display());
}

#[test]
fn port_must_be_1_to_65535() {
    for bad in ["80a", "0", "65536", ""] {
        assert_eq!(
            only_problem(&from_env(&[("HEALTH_METRICS_PORT", bad)])),
            format!("HEALTH_METRICS_PORT={bad}: expected a port number 1-65535")
        );
    }
    let loaded = load(&from_env(&[("HEALTH_METRICS_PORT", "9100")]));
    assert_eq!(loaded.config.metrics.port, 9100);
}

#[test]
fn host_must_be_an_ip_address() {
    let problem = only_problem(&from_env(&[("HEALTH_METRICS_HOST", "localhost")]));
    assert!(
        problem.starts_with("HEALTH_METRICS_HOST=localhost: expected an IPv4 or IPv6"),
        "{problem}"
    );
    let loaded = load(&from_env(&[("HEALTH_METRICS_HOST", "::1")]));
    assert_eq!(loaded.config.metrics.host, "::1".parse::<std::net::IpAddr>().expect("ip"));
}

#[test]
fn every_boolean_setting_rejects_a_non_boolean() {
    let booleans: Vec<String> = settings()
        .iter()
        .filter(|s| matches!(s.field, Field::Bool(_)))
        .map(|s| s.env_name())
        .collect();
    assert_eq!(booleans.len(), 9, "{booleans:?}");
    for name in booleans {
        assert_eq!(
            only_problem(&from_env(&[(name.as_str(), "maybe")])),
            format!("{name}=maybe: expected true/false, 1/0, yes/no or on/off")
        );
    }
}

#[test]
fn booleans_accept_every_spelling_from_every_layer() {
    let dir = TempDir::new().expect("tempdir");
    let file = write(&dir, "health.toml", "[network]\nspeedtest_enabled = false\n");
    let dotenv = write(&dir, ".env", "HEALTH_MONITORING_ENABLED=Yes\n");
    let sources = ConfigSources {
        file: Some(file),
        dotenv: Some(dotenv),
        env: env(&[
            ("HEALTH_HARDWARE_ENABLED", "OFF"),
            ("HEALTH_NETWORK_ENABLED", "0"),
            ("HEALTH_STREAM_ENABLED", "no"),
        ]),
    };
    let config = load(&sources).config;
    assert!(config.monitoring_enabled);
    assert!(!config.hardware.enabled);
    assert!(!config.network.enabled);
    assert!(!config.network.speedtest_enabled);
    assert!(!config.stream.enabled);
}

#[test]
fn intervals_below_one_second_are_rejected() {
    for name in ["HEALTH_HARDWARE_INTERVAL", "HEALTH_NETWORK_INTERVAL", "HEALTH_STREAM_INTERVAL"] {
        let problems = problems(&from_env(&[(name, "0.5")]));
        let expected = format!("{name}=0.5: expected a number of seconds, at least 1 second");
        assert!(problems.iter().any(|p| p.starts_with(&expected)), "{problems:#?}");
    }
    let problem = only_problem(&from_env(&[("HEALTH_HARDWARE_INTERVAL", "ten")]));
    assert!(problem.starts_with("HEALTH_HARDWARE_INTERVAL=ten: expected a number"), "{problem}");
}

#[test]
fn durations_may_be_decimal() {
    let dir = TempDir::new().expect("tempdir");
    let file = write(&dir, "health.toml", "[network]\ninterval = 1.5\nping_timeout = 0.4\n");
    let sources = ConfigSources {
        file: Some(file),
        env: env(&[("HEALTH_HARDWARE_INTERVAL", "2.5"), ("HEALTH_STREAM_FFPROBE_TIMEOUT", "0.25")]),
        ..Default::default()
    };
    let config = load(&sources).config;
    assert_eq!(config.hardware.interval, Duration::from_millis(2500));
    assert_eq!(config.network.interval, Duration::from_millis(1500));
    assert_eq!(config.network.ping_timeout, Duration::from_millis(400));
    assert_eq!(config.stream.ffprobe_timeout, Duration::from_millis(250));
}

#[test]
fn work_that_outlasts_its_interval_is_named() {
    let sources = ConfigSources {
        env: env(&[
            ("HEALTH_NETWORK_PING_COUNT", "5"),
            ("HEALTH_NETWORK_PING_TIMEOUT", "7"),
            ("HEALTH_NETWORK_SPEEDTEST_TIMEOUT", "90"),
            ("HEALTH_NETWORK_SPEEDTEST_INTERVAL", "60"),
            ("HEALTH_NETWORK_PING_METHOD", "udp"),
            ("HEALTH_NETWORK_SPEEDTEST_DOWNLOAD_URL", "speed.example"),
        ]),
        ..Default::default()
    };
    let text = HealthConfig::load(&sources).expect_err("invalid").to_string();
    assert!(
        text.contains(
            "HEALTH_NETWORK_PING_TIMEOUT=7: expected less than HEALTH_NETWORK_INTERVAL (30 s)"
        ),
        "{text}"
    );
    assert!(text.contains("HEALTH_NETWORK_SPEEDTEST_TIMEOUT=90: expected less than HEALTH_NETWORK_SPEEDTEST_INTERVAL (60 s)"), "{text}");
    assert!(text.contains("HEALTH_NETWORK_PING_METHOD=udp: expected icmp, tcp or auto"), "{text}");
    assert!(text.contains("HEALTH_NETWORK_SPEEDTEST_DOWNLOAD_URL=speed.example: expected an http:// or https:// URL"), "{text}");
}

#[test]
fn speedtest_interval_is_at_least_a_minute() {
    let problem = only_problem(&from_env(&[("HEALTH_NETWORK_SPEEDTEST_INTERVAL", "59")]));
    assert!(
        problem.starts_with("HEALTH_NETWORK_SPEEDTEST_INTERVAL=59: expected a number of seconds, at least 60 seconds"),
        "{problem}"
    );
    let loaded = load(&from_env(&[("HEALTH_NETWORK_SPEEDTEST_INTERVAL", "60")]));
    assert_eq!(loaded.config.network.speedtest_interval, Duration::from_secs(60));
}

#[test]
fn ffprobe_timeout_is_above_zero() {
    let problem = only_problem(&from_env(&[("HEALTH_STREAM_FFPROBE_TIMEOUT", "0")]));
    assert!(
        problem
            .starts_with("HEALTH_STREAM_FFPROBE_TIMEOUT=0: expected a number of seconds above 0"),
        "{problem}"
    );
}

#[test]
fn ffprobe_timeout_must_be_shorter_than_the_stream_interval() {
    let problem = only_problem(&from_env(&[("HEALTH_STREAM_FFPROBE_TIMEOUT", "60")]));
    assert!(
        problem.starts_with(
            "HEALTH_STREAM_FFPROBE_TIMEOUT=60: expected less than HEALTH_STREAM_INTERVAL (60 s)"
        ),
        "{problem}"
    );
    // Only the interval was set: that is the value to fix.
    let problem = only_problem(&from_env(&[("HEALTH_STREAM_INTERVAL", "10")]));
    assert!(
        problem.starts_with(
            "HEALTH_STREAM_INTERVAL=10: expected more than HEALTH_STREAM_FFPROBE_TIMEOUT (15 s)"
        ),
        "{problem}"
    );
    let fine = &[("HEALTH_STREAM_INTERVAL", "10"), ("HEALTH_STREAM_FFPROBE_TIMEOUT", "9.5")];
    assert_eq!(load(&from_env(fine)).config.stream.ffprobe_timeout, Duration::from_millis(9500));
}

#[test]
fn an_unparsable_interval_does_not_add_a_spurious_rule_problem() {
    let sources =
        from_env(&[("HEALTH_STREAM_INTERVAL", "x"), ("HEALTH_STREAM_FFPROBE_TIMEOUT", "100")]);
    let problem = only_problem(&sources);
    assert!(problem.starts_with("HEALTH_STREAM_INTERVAL=x:"), "{problem}");
}

#[test]
fn ping_hosts_are_trimmed_and_empty_entries_dropped() {
    let loaded =
        load(&from_env(&[("HEALTH_NETWORK_PING_HOSTS", " 9.9.9.9 , ,example.org,, ::1 ")]));
    assert_eq!(loaded.config.network.ping_hosts, ["9.9.9.9", "example.org", "::1"]);
}

#[test]
fn empty_ping_hosts_are_an_error_only_while_the_network_collector_is_on() {
    let problem = only_problem(&from_env(&[("HEALTH_NETWORK_PING_HOSTS", " , ")]));
    assert_eq!(
        problem,
        "HEALTH_NETWORK_PING_HOSTS= , : expected at least one host while the network collector is \
         enabled (or turn it off with HEALTH_NETWORK_ENABLED=false)"
    );
    let off = &[("HEALTH_NETWORK_PING_HOSTS", ""), ("HEALTH_NETWORK_ENABLED", "false")];
    let config = load(&from_env(off)).config;
    assert!(config.network.ping_hosts.is_empty());
    assert!(!config.network.enabled);
}

#[test]
fn a_bad_host_name_is_named() {
    let problem = only_problem(&from_env(&[("HEALTH_NETWORK_PING_HOSTS", "8.8.8.8,bad_host")]));
    assert_eq!(
        problem,
        "HEALTH_NETWORK_PING_HOSTS=8.8.8.8,bad_host: expected comma-separated IP addresses or DNS \
         host names (not valid: bad_host)"
    );
}

#[test]
fn a_missing_toml_file_is_named() {
    let dir = TempDir::new().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    let sources = ConfigSources { file: Some(missing.clone()), ..Default::default() };
    let problem = only_problem(&sources);
    assert!(
        problem.starts_with(&format!("{}: cannot read the configuration file", missing.display())),
        "{problem}"
    );
}

#[test]
fn invalid_toml_is_named_with_its_position_but_not_its_text() {
    let dir = TempDir::new().expect("tempdir");
    let text = format!("[metrics]\nport = 9100\nbearer_token = \"{TOKEN}\n");
    let file = write(&dir, "health.toml", &text);
    let sources = ConfigSources { file: Some(file.clone()), ..Default::default() };
    let problem = only_problem(&sources);
    assert!(
        problem.starts_with(&format!("{}: invalid TOML at line 3", file.display())),
        "{problem}"
    );
    assert!(!problem.contains(TOKEN), "{problem}");
}

#[test]
fn toml_problems_name_the_key_the_value_and_the_file() {
    let dir = TempDir::new().expect("tempdir");
    let file = write(&dir, "health.toml", "[metrics]\nport = \"80a\"\n[hardware]\ninterval = 0\n");
    let sources = ConfigSources { file: Some(file.clone()), ..Default::default() };
    let shown = file.display();
    assert_eq!(
        problems(&sources),
        [
            format!("metrics.port = \"80a\" (in {shown}): expected a port number 1-65535"),
            format!(
                "hardware.interval = 0 (in {shown}): expected a number of seconds, at least 1 \
                 second (e.g. 10 or 2.5)"
            ),
        ]
    );
}

#[test]
fn dotenv_problems_name_the_file() {
    let dir = TempDir::new().expect("tempdir");
    let dotenv = write(&dir, ".env", "# comment\nHEALTH_METRICS_PORT=80a\n");
    let sources = ConfigSources { dotenv: Some(dotenv.clone()), ..Default::default() };
    assert_eq!(
        only_problem(&sources),
        format!(
            "HEALTH_METRICS_PORT=80a (from {}): expected a port number 1-65535",
            dotenv.display()
        )
    );
}

#[test]
fn an_unparsable_dotenv_line_is_named_by_number_and_text_without_a_secret() {
    let dir = TempDir::new().expect("tempdir");
    let cases = [
        (
            format!(
                "# the token\nHEALTH_METRICS_BEARER_TOKEN=\"{TOKEN}\nHEALTH_METRICS_PORT=9100\n"
            ),
            "line 2: `HEALTH_METRICS_BEARER_TOKEN=<redacted>`: the value cannot be parsed",
        ),
        (
            "HEALTH_METRICS_PORT=9100\nHEALTH_METRICS_HOST=\"0.0.0.0\n".to_owned(),
            "line 2: `HEALTH_METRICS_HOST=\"0.0.0.0`: the value cannot be parsed",
        ),
        (
            "HEALTH_METRICS_PORT=9100\n\nHEALTH METRICS_HOST=::\n".to_owned(),
            "line 3: `HEALTH METRICS_HOST=::`: \"HEALTH METRICS_HOST\" is not a valid variable name",
        ),
    ];
    for (text, expected) in cases {
        let dotenv = write(&dir, ".env", &text);
        let sources = ConfigSources { dotenv: Some(dotenv.clone()), ..Default::default() };
        let problem = only_problem(&sources);
        let expected = format!("{} {expected}", dotenv.display());
        assert!(problem.starts_with(&expected), "{problem}\nshould start with\n{expected}");
        assert!(!problem.contains(TOKEN), "{problem}");
    }
}

#[test]
fn a_toml_value_of_the_wrong_kind_names_the_kind_and_dates_show_as_dates() {
    let dir = TempDir::new().expect("tempdir");
    // (the TOML line in its section, the problem after the file's name)
    let cases = [
        ("[metrics]\nhost = 0", "metrics.host = 0", "expected a string, not a number: an IPv4"),
        (
            "[metrics]\nbearer_token = 12345",
            "metrics.bearer_token = <redacted>",
            "expected a string, not a number: a non-empty token",
        ),
        (
            "[hardware]\ninterval = 1979-05-27",
            "hardware.interval = 1979-05-27",
            "expected a number, not a date: a number of seconds",
        ),
        (
            "[hardware]\ninterval = 07:32:00",
            "hardware.interval = 07:32:00",
            "expected a number, not a date: a number of seconds",
        ),
        (
            "[metrics]\nport = [9100]",
            "metrics.port = [9100]",
            "expected a number, not an array of strings: a port number 1-65535",
        ),
        (
            "[network]\nping_hosts = 8",
            "network.ping_hosts = 8",
            "expected an array of strings, not a number: comma-separated",
        ),
        (
            "[network]\nenabled = { on = true }",
            "network.enabled = { on = true }",
            "expected a boolean, not a table: true/false",
        ),
        (
            "[network]\nping_method = true",
            "network.ping_method = true",
            "expected a string, not a boolean: icmp, tcp or auto",
        ),
    ];
    for (text, assignment, expected) in cases {
        let file = write(&dir, "health.toml", &format!("{text}\n"));
        let sources = ConfigSources { file: Some(file.clone()), ..Default::default() };
        let problem = only_problem(&sources);
        let start = format!("{assignment} (in {}): {expected}", file.display());
        assert!(problem.starts_with(&start), "{problem}\nshould start with\n{start}");
        assert!(!problem.contains("private"), "{problem}");
    }
}

#[test]
fn values_longer_than_200_characters_are_cut_in_messages() {
    let long = format!("{}END", "h".repeat(300));
    let problem = only_problem(&from_env(&[("HEALTH_METRICS_HOST", &long)]));
    let start = format!("HEALTH_METRICS_HOST={}…: expected", "h".repeat(200));
    assert!(problem.starts_with(&start), "{problem}");
    assert!(!problem.contains("END"), "{problem}");
}

#[test]
fn a_toml_section_that_is_not_a_table_is_a_problem() {
    let dir = TempDir::new().expect("tempdir");
    let file = write(&dir, "health.toml", "metrics = 5\n");
    let sources = ConfigSources { file: Some(file.clone()), ..Default::default() };
    assert_eq!(
        only_problem(&sources),
        format!("metrics = 5 (in {}): expected a table [metrics]", file.display())
    );
}

#[test]
fn several_problems_are_reported_together() {
    let sources = from_env(&[
        ("HEALTH_METRICS_PORT", "80a"),
        ("HEALTH_HARDWARE_INTERVAL", "0"),
        ("HEALTH_STREAM_ENABLED", "maybe"),
        ("HEALTH_METRICS_HOST", "nowhere"),
    ]);
    let errors = HealthConfig::load(&sources).expect_err("four problems");
    assert_eq!(errors.problems.len(), 4, "{errors}");
    let text = errors.to_string();
    assert_eq!(text.lines().count(), 4, "{text}");
    for key in [
        "HEALTH_METRICS_PORT=80a",
        "HEALTH_HARDWARE_INTERVAL=0",
        "HEALTH_STREAM_ENABLED=maybe",
        "HEALTH_METRICS_HOST=nowhere",
    ] {
        assert!(text.contains(key), "{key} missing from:\n{text}");
    }
}

/// The same key in file, `.env` and environment, each layer present or not.
fn layered(dir: &TempDir, file: bool, dotenv: bool, environment: bool) -> Loaded {
    let sources = ConfigSources {
        file: file.then(|| write(dir, "health.toml", "[metrics]\nport = 1001\n")),
        dotenv: dotenv.then(|| write(dir, ".env", "HEALTH_METRICS_PORT=1002\n")),
        env: if environment { env(&[("HEALTH_METRICS_PORT", "1003")]) } else { BTreeMap::new() },
    };
    load(&sources)
}

#[test]
fn the_environment_beats_dotenv_which_beats_the_file() {
    let dir = TempDir::new().expect("tempdir");
    let all = layered(&dir, true, true, true);
    assert_eq!(all.config.metrics.port, 1003);
    assert_eq!(all.origin("HEALTH_METRICS_PORT"), Some(&Origin::Environment));

    let no_env = layered(&dir, true, true, false);
    assert_eq!(no_env.config.metrics.port, 1002);
    assert_eq!(
        no_env.origin("HEALTH_METRICS_PORT"),
        Some(&Origin::DotEnv(dir.path().join(".env")))
    );

    let file_only = layered(&dir, true, false, false);
    assert_eq!(file_only.config.metrics.port, 1001);
    let file = dir.path().join("health.toml");
    assert_eq!(file_only.origin("HEALTH_METRICS_PORT"), Some(&Origin::File(file)));
}

#[test]
fn each_layer_alone_sets_the_value() {
    let dir = TempDir::new().expect("tempdir");
    assert_eq!(layered(&dir, false, true, false).config.metrics.port, 1002);
    assert_eq!(layered(&dir, false, false, true).config.metrics.port, 1003);
    let env_over_file = layered(&dir, true, false, true);
    assert_eq!(env_over_file.config.metrics.port, 1003);
    // A key set nowhere keeps its default while another is overridden.
    assert_eq!(env_over_file.config.hardware.interval, Duration::from_secs(10));
    assert_eq!(env_over_file.origin("HEALTH_HARDWARE_INTERVAL"), Some(&Origin::Default));
}

#[test]
fn toml_arrays_and_values_from_the_file() {
    let dir = TempDir::new().expect("tempdir");
    let text =
        "[network]\nping_hosts = [\"a.example\", \" 10.0.0.1 \"]\n[stream]\nenabled = false\n";
    let file = write(&dir, "health.toml", text);
    let config = load(&ConfigSources { file: Some(file), ..Default::default() }).config;
    assert_eq!(config.network.ping_hosts, ["a.example", "10.0.0.1"]);
    assert!(!config.stream.enabled);
}

#[test]
fn unknown_variables_warn_with_a_suggestion() {
    let dir = TempDir::new().expect("tempdir");
    let dotenv = write(&dir, ".env", "HEALTH_STREAM_ENABLE=false\n");
    let sources = ConfigSources {
        dotenv: Some(dotenv.clone()),
        env: env(&[
            ("HEALTH_METRICS_PROT", "9100"),
            ("HEALTH_KIOSK_PLAYER", "mpv"),
            ("HEALTH_CONFIG", "/etc/health.toml"),
            ("PATH", "/usr/bin"),
        ]),
        ..Default::default()
    };
    let loaded = load(&sources);
    assert_eq!(
        loaded.warnings,
        [
            format!(
                "unknown variable HEALTH_STREAM_ENABLE in {} is ignored; did you mean \
                 HEALTH_STREAM_ENABLED?",
                dotenv.display()
            ),
            "unknown variable HEALTH_KIOSK_PLAYER in the environment is ignored".to_owned(),
            "unknown variable HEALTH_METRICS_PROT in the environment is ignored; did you mean \
             HEALTH_METRICS_PORT?"
                .to_owned(),
        ]
    );
    assert_eq!(loaded.config.metrics.port, 8080, "an unknown name sets nothing");
}

#[test]
fn unknown_toml_keys_warn_but_unknown_sections_are_left_to_the_kiosk() {
    let dir = TempDir::new().expect("tempdir");
    let text = "[metrics]\nprot = 9100\n[kiosk]\nplayer = \"mpv\"\n";
    let file = write(&dir, "health.toml", text);
    let loaded = load(&ConfigSources { file: Some(file.clone()), ..Default::default() });
    assert_eq!(
        loaded.warnings,
        [format!(
            "unknown key metrics.prot in {} is ignored; did you mean metrics.port?",
            file.display()
        )]
    );
}

#[test]
fn unknown_top_level_keys_and_tables_warn_with_a_near_miss() {
    let dir = TempDir::new().expect("tempdir");
    let text =
        "port = 9100\n[metrcs]\nport = 9100\n[kisok]\n[kiosk]\nplayer = \"mpv\"\n[colours]\n";
    let file = write(&dir, "health.toml", text);
    let loaded = load(&ConfigSources { file: Some(file.clone()), ..Default::default() });
    let at = format!("at the top level in {} is ignored", file.display());
    assert_eq!(
        loaded.warnings,
        [
            format!("unknown table [colours] {at}"),
            format!("unknown table [kisok] {at}; did you mean [kiosk]?"),
            format!("unknown table [metrcs] {at}; did you mean [metrics]?"),
            format!("unknown key port {at}"),
        ]
    );
}

#[test]
fn health_config_in_dotenv_warns_that_it_is_ignored() {
    let dir = TempDir::new().expect("tempdir");
    let dotenv = write(&dir, ".env", "HEALTH_CONFIG=/etc/health.toml\n");
    let loaded = load(&ConfigSources { dotenv: Some(dotenv), ..Default::default() });
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].starts_with("HEALTH_CONFIG in "), "{:?}", loaded.warnings);
}

#[test]
fn the_token_never_shows_in_debug_or_describe_effective() {
    let dir = TempDir::new().expect("tempdir");
    let dotenv = write(&dir, ".env", &format!("HEALTH_METRICS_BEARER_TOKEN={TOKEN}\n"));
    let sources = ConfigSources {
        dotenv: Some(dotenv.clone()),
        env: env(&[("HEALTH_METRICS_BEARER_TOKN", TOKEN)]),
        ..Default::default()
    };
    let loaded = load(&sources);
    assert_eq!(loaded.config.metrics.bearer_token.as_ref().map(|t| t.expose()), Some(TOKEN));
    let debug = format!("{loaded:?}");
    let described = loaded.describe_effective();
    let warnings = loaded.warnings.join("\n");
    for text in [&debug, &described, &warnings] {
        assert!(!text.contains(TOKEN), "the token leaked into:\n{text}");
    }
    assert!(warnings.contains("did you mean HEALTH_METRICS_BEARER_TOKEN?"), "{warnings}");
    let line = format!("HEALTH_METRICS_BEARER_TOKEN=<redacted>  # .env ({})", dotenv.display());
    assert!(described.lines().any(|l| l == line), "no `{line}` in:\n{described}");
}

#[test]
fn a_token_a_header_cannot_carry_is_a_configuration_error() {
    let dir = TempDir::new().expect("tempdir");
    // (as in the environment, as written in TOML)
    let cases = [
        ("s3cr\u{e9}t-token", r#""s3cr\u00e9t-token""#),
        ("s3cret\u{1}token", r#""s3cret\u0001token""#),
        ("s3cret\u{7f}token", r#""s3cret\u007ftoken""#),
        ("s3cret\ttoken", r#""s3cret\ttoken""#),
        ("s3cret\u{a0}token", r#""s3cret\u00a0token""#),
        ("s3cret\u{1f511}", r#""s3cret\U0001F511""#),
    ];
    for (raw, toml) in cases {
        let file = write(&dir, "health.toml", &format!("[metrics]\nbearer_token = {toml}\n"));
        let from_file = ConfigSources { file: Some(file), ..Default::default() };
        for sources in [from_env(&[("HEALTH_METRICS_BEARER_TOKEN", raw)]), from_file] {
            let problem = only_problem(&sources);
            assert!(
                problem.contains("HEALTH_METRICS_BEARER_TOKEN")
                    || problem.contains("metrics.bearer_token"),
                "{raw:?}: {problem}"
            );
            assert!(problem.contains("visible ASCII, no whitespace"), "{raw:?}: {problem}");
            assert!(!problem.contains("s3cr"), "{raw:?}: {problem}");
        }
    }
}

#[test]
fn the_token_never_shows_in_errors() {
    let problem = only_problem(&from_env(&[("HEALTH_METRICS_BEARER_TOKEN", "")]));
    assert_eq!(
        problem,
        "HEALTH_METRICS_BEARER_TOKEN=<redacted>: expected a non-empty token: visible ASCII, no \
         whitespace or control characters (check for a space or line break picked up when \
         pasting it)"
    );
    let spaced = format!("{TOKEN} trailing");
    let problem = only_problem(&from_env(&[("HEALTH_METRICS_BEARER_TOKEN", spaced.as_str())]));
    assert!(!problem.contains(TOKEN), "{problem}");

    let dir = TempDir::new().expect("tempdir");
    let file = write(&dir, "health.toml", "[metrics]\nbearer_token = 424242\n");
    let sources = ConfigSources { file: Some(file), ..Default::default() };
    let errors = HealthConfig::load(&sources).expect_err("a number is no token");
    let shown = format!("{errors}\n{errors:?}");
    assert!(!shown.contains("424242"), "{shown}");
    assert!(shown.contains("metrics.bearer_token = <redacted> (in "), "{shown}");
}

#[test]
fn a_signed_stream_url_never_shows_its_query_string() {
    let url = "https://cdn.example/live/playlist.m3u8?hmac=QUERY-SECRET&exp=1";
    let loaded = load(&from_env(&[("HEALTH_STREAM_URL", url)]));
    assert_eq!(loaded.config.stream.url.as_ref().map(|u| u.expose()), Some(url));
    let shown = format!("{loaded:?}\n{}", loaded.describe_effective());
    assert!(!shown.contains("QUERY-SECRET"), "{shown}");
    assert!(
        shown.contains("HEALTH_STREAM_URL=https://cdn.example/live/playlist.m3u8  # environment"),
        "{shown}"
    );
    let bad = "ftp://cdn.example/live.m3u8?hmac=QUERY-SECRET";
    let problem = only_problem(&from_env(&[("HEALTH_STREAM_URL", bad)]));
    assert_eq!(
        problem,
        "HEALTH_STREAM_URL=ftp://cdn.example/live.m3u8: expected an http:// or https:// URL with a host"
    );
}

#[test]
fn stream_settings_parse_and_name_what_is_allowed() {
    let loaded = load(&from_env(&[
        ("HEALTH_STREAM_STALL_FACTOR", "2.5"),
        ("HEALTH_STREAM_VARIANT", "3000000"),
        ("HEALTH_STREAM_FFPROBE_PATH", "/opt/ffmpeg/bin/ffprobe"),
        ("HEALTH_STREAM_PLAYLIST_INTERVAL", "4"),
    ]));
    let stream = &loaded.config.stream;
    assert_eq!(stream.stall_factor, 2.5);
    assert_eq!(stream.variant, super::super::VariantSetting::AtMost(3_000_000));
    assert_eq!(stream.ffprobe_path, PathBuf::from("/opt/ffmpeg/bin/ffprobe"));
    assert_eq!(stream.playlist_interval, Duration::from_secs(4));
    let lowest = load(&from_env(&[("HEALTH_STREAM_VARIANT", "MIN")]));
    assert_eq!(lowest.config.stream.variant, super::super::VariantSetting::Lowest);
    let cases = [
        ("HEALTH_STREAM_STALL_FACTOR", "1", "expected a number, at least 1.5 (e.g. 3)"),
        ("HEALTH_STREAM_STALL_FACTOR", "-3", "expected a number, at least 1.5 (e.g. 3)"),
        (
            "HEALTH_STREAM_VARIANT",
            "best",
            "expected max, min, or a whole number of bits per second (e.g. 3000000)",
        ),
        (
            "HEALTH_STREAM_FFPROBE_PATH",
            "bin/ffprobe",
            "expected a program name (looked up on PATH) or an absolute path",
        ),
        (
            "HEALTH_STREAM_PLAYLIST_INTERVAL",
            "0.5",
            "expected a number of seconds, at least 1 second (e.g. 10 or 2.5)",
        ),
    ];
    for (name, value, expected) in cases {
        assert_eq!(
            only_problem(&from_env(&[(name, value)])),
            format!("{name}={value}: {expected}")
        );
    }
}

#[test]
fn describe_effective_has_one_line_per_setting_with_its_origin() {
    let loaded = load(&from_env(&[("HEALTH_METRICS_PORT", "9100")]));
    let described = loaded.describe_effective();
    let lines: Vec<&str> = described.lines().collect();
    assert_eq!(lines.len(), settings().len(), "{described}");
    assert!(lines.contains(&"HEALTH_METRICS_PORT=9100  # environment"), "{described}");
    assert!(lines.contains(&"HEALTH_HARDWARE_INTERVAL=10  # default"), "{described}");
    assert!(lines.contains(&"HEALTH_NETWORK_PING_HOSTS=8.8.8.8,1.1.1.1,vimeo.com  # default"));
    assert!(lines.contains(&"# HEALTH_METRICS_BEARER_TOKEN is not set  # default"), "{described}");
}

#[test]
fn errors_keep_the_warnings_that_may_explain_them() {
    let sources = from_env(&[("HEALTH_METRICS_PORT", "80a"), ("HEALTH_STREM_ENABLED", "no")]);
    let errors = HealthConfig::load(&sources).expect_err("a bad port");
    assert_eq!(errors.problems.len(), 1, "{errors}");
    assert_eq!(
        errors.warnings,
        ["unknown variable HEALTH_STREM_ENABLED in the environment is ignored; did you mean \
          HEALTH_STREAM_ENABLED?"]
    );
    assert!(!errors.to_string().contains("HEALTH_STREM_ENABLED"), "Display is problems only");
}

#[test]
fn rule_problems_in_the_file_use_toml_syntax() {
    let dir = TempDir::new().expect("tempdir");
    let file = write(&dir, "health.toml", "[network]\nping_hosts = []\n");
    let sources = ConfigSources { file: Some(file.clone()), ..Default::default() };
    assert_eq!(
        only_problem(&sources),
        format!(
            "network.ping_hosts = [] (in {}): expected at least one host while the network \
             collector is enabled (or turn it off with network.enabled = false)",
            file.display()
        )
    );
}

#[test]
fn script_settings_parse_and_only_watching_something_asks_for_the_sidecar() {
    let defaults = load(&ConfigSources::default()).config.script;
    assert_eq!(defaults.interval, Duration::from_secs(5));
    assert_eq!(defaults.procfs_root, PathBuf::from("/proc"));
    assert_eq!(defaults.sidecar_setting(), None, "nothing to watch by default");

    let loaded = load(&from_env(&[
        ("HEALTH_SCRIPT_PIDFILE", "/run/vimeo-monitor/kiosk.pid"),
        ("HEALTH_SCRIPT_PROCESS_NAME", " vimeo_monitor.py "),
        ("HEALTH_SCRIPT_STATUS_FILE", "/run/vimeo-monitor/status.json"),
        ("HEALTH_SCRIPT_INTERVAL", "2.5"),
        ("HEALTH_SCRIPT_PROCFS_ROOT", "/srv/fixtures/proc"),
    ]));
    let script = &loaded.config.script;
    assert_eq!(script.pidfile.as_deref(), Some(Path::new("/run/vimeo-monitor/kiosk.pid")));
    assert_eq!(script.process_name.as_deref(), Some("vimeo_monitor.py"));
    assert_eq!(script.status_file.as_deref(), Some(Path::new("/run/vimeo-monitor/status.json")));
    assert_eq!(script.interval, Duration::from_millis(2500));
    assert_eq!(script.procfs_root, PathBuf::from("/srv/fixtures/proc"));
    assert_eq!(script.sidecar_setting(), Some("HEALTH_SCRIPT_PIDFILE"));
    let described = loaded.describe_effective();
    assert!(
        described.contains("HEALTH_SCRIPT_PROCESS_NAME=vimeo_monitor.py  # environment"),
        "{described}"
    );
    assert!(!described.contains("# HEALTH_SCRIPT_PIDFILE is not set"), "{described}");

    for (name, value) in [
        ("HEALTH_SCRIPT_PROCESS_NAME", "kiosk.py"),
        ("HEALTH_SCRIPT_STATUS_FILE", "/run/status.json"),
    ] {
        let config = load(&from_env(&[(name, value)])).config;
        assert_eq!(config.script.sidecar_setting(), Some(name));
    }
}

#[test]
fn script_settings_from_the_toml_file() {
    let dir = TempDir::new().expect("tempdir");
    let file = write(
        &dir,
        "health.toml",
        "[script]\nprocess_name = \"vimeo_monitor.py\"\ninterval = 10\nstatus_file = 3\n",
    );
    let sources = ConfigSources { file: Some(file.clone()), ..Default::default() };
    assert_eq!(
        only_problem(&sources),
        format!(
            "script.status_file = 3 (in {}): expected a string, not a number: an absolute path",
            file.display()
        )
    );
    let file =
        write(&dir, "ok.toml", "[script]\nprocess_name = \"vimeo_monitor.py\"\ninterval = 10\n");
    let config = load(&ConfigSources { file: Some(file), ..Default::default() }).config;
    assert_eq!(config.script.process_name.as_deref(), Some("vimeo_monitor.py"));
    assert_eq!(config.script.interval, Duration::from_secs(10));
}

#[test]
fn bad_script_settings_name_the_variable_the_value_and_what_is_allowed() {
    let process_name = "expected the file name of a program or script, without a directory or \
                        control characters, at most 255 bytes (e.g. vimeo_monitor.py)";
    let cases = [
        ("HEALTH_SCRIPT_PIDFILE", "kiosk.pid", "expected an absolute path"),
        ("HEALTH_SCRIPT_STATUS_FILE", "run/status.json", "expected an absolute path"),
        ("HEALTH_SCRIPT_PROCESS_NAME", "/opt/kiosk/vimeo_monitor.py", process_name),
        ("HEALTH_SCRIPT_PROCESS_NAME", "", process_name),
        (
            "HEALTH_SCRIPT_INTERVAL",
            "0.5",
            "expected a number of seconds, at least 1 second (e.g. 10 or 2.5)",
        ),
        ("HEALTH_SCRIPT_INTERVAL", "5s", "expected a number of seconds, at least 1 second"),
        ("HEALTH_SCRIPT_PROCFS_ROOT", "proc", "expected an absolute path"),
    ];
    for (name, value, expected) in cases {
        let problem = only_problem(&from_env(&[(name, value)]));
        assert!(problem.starts_with(&format!("{name}={value}: {expected}")), "{problem}");
    }
    let warnings = load(&from_env(&[("HEALTH_SCRIPT_PIDFILES", "/run/k.pid")])).warnings;
    assert_eq!(
        warnings,
        ["unknown variable HEALTH_SCRIPT_PIDFILES in the environment is ignored; did you mean \
          HEALTH_SCRIPT_PIDFILE?"]
    );
}

#[test]
fn cec_takes_auto_off_or_an_absolute_path() {
    use crate::config::CecSetting;
    assert_eq!(load(&from_env(&[])).config.hardware.cec, CecSetting::Auto);
    assert_eq!(
        load(&from_env(&[("HEALTH_HARDWARE_CEC", "OFF")])).config.hardware.cec,
        CecSetting::Off
    );
    assert_eq!(
        load(&from_env(&[("HEALTH_HARDWARE_CEC", "/opt/v4l/cec-ctl")])).config.hardware.cec,
        CecSetting::Path("/opt/v4l/cec-ctl".into())
    );
    assert_eq!(
        only_problem(&from_env(&[("HEALTH_HARDWARE_CEC", "cec-ctl")])),
        "HEALTH_HARDWARE_CEC=cec-ctl: expected auto, off or an absolute path"
    );
}

#[test]
fn the_speed_test_defaults_cost_at_most_240_mb_a_day_and_wait_for_the_stream() {
    let network = load(&from_env(&[])).config.network;
    assert_eq!(network.speedtest_max_bytes, 10_000_000);
    assert_eq!(network.speedtest_interval, Duration::from_secs(3600));
    assert!(!network.speedtest_during_playback);
    let tests_a_day = 86_400 / network.speedtest_interval.as_secs();
    assert_eq!(tests_a_day * network.speedtest_max_bytes, 240_000_000);
    let loaded = load(&from_env(&[("HEALTH_NETWORK_SPEEDTEST_DURING_PLAYBACK", "yes")]));
    assert!(loaded.config.network.speedtest_during_playback);
}

#[test]
fn every_example_in_a_message_is_a_value_its_setting_accepts() {
    assert_eq!(
        config_layers::testing::message_examples("at least 60 (e.g. 60 or 90)"),
        ["60", "90"]
    );
    let mut checked = 0;
    for setting in settings() {
        for example in config_layers::testing::message_examples(&setting.expected()) {
            let mut config = HealthConfig::default();
            let value = figment::value::Value::from(example.as_str());
            let result = super::apply(setting, &value, &mut config);
            assert_eq!(result, Ok(()), "{}: the example {example:?}", setting.env_name());
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} examples found");
    let problem = only_problem(&from_env(&[("HEALTH_NETWORK_SPEEDTEST_INTERVAL", "30")]));
    assert_eq!(
        problem,
        "HEALTH_NETWORK_SPEEDTEST_INTERVAL=30: expected a number of seconds, at least 60 seconds \
         (e.g. 60 or 90)"
    );
}

#[test]
fn remote_write_settings_parse() {
    let dir = TempDir::new().expect("tempdir");
    let token = write(&dir, "token", &format!("{TOKEN}\n"));
    let loaded = load(&from_env(&[
        (
            "HEALTH_REMOTE_WRITE_URL",
            "https://a.example/api/v1/write?tenant=QUERY-SECRET, http://b.example:9090/api/v1/write",
        ),
        ("HEALTH_REMOTE_WRITE_INTERVAL", "1"),
        ("HEALTH_REMOTE_WRITE_LABELS", "kiosk=hall-a,site=berlin"),
        ("HEALTH_REMOTE_WRITE_BEARER_TOKEN_FILE", token.to_str().expect("utf-8")),
        ("HEALTH_REMOTE_WRITE_PERSIST", "true"),
    ]));
    let rw = &loaded.config.remote_write;
    assert!(rw.enabled());
    assert_eq!(rw.urls.len(), 2);
    assert_eq!(rw.interval, Duration::from_secs(1));
    assert_eq!(rw.labels[1], ("site".to_owned(), "berlin".to_owned()));
    assert_eq!(rw.auth(), super::super::RemoteWriteAuth::Bearer(super::super::Secret::new(TOKEN)));
    let shown = format!("{loaded:?}\n{}", loaded.describe_effective());
    assert!(!shown.contains(TOKEN) && !shown.contains("QUERY-SECRET"), "{shown}");
    let line = "HEALTH_REMOTE_WRITE_URL=https://a.example/api/v1/write,http://b.example:9090/api/v1/write  # environment";
    assert!(shown.lines().any(|l| l == line), "no `{line}` in:\n{shown}");
    assert!(!HealthConfig::default().remote_write.enabled());
    assert!(!HealthConfig::default().remote_write.persist, "no SD-card writes unless asked");

    let basic = load(&from_env(&[
        ("HEALTH_REMOTE_WRITE_USERNAME", "kiosk"),
        ("HEALTH_REMOTE_WRITE_PASSWORD", "two words"),
    ]));
    let expected = super::super::RemoteWriteAuth::Basic {
        username: "kiosk".to_owned(),
        password: super::super::Secret::new("two words"),
    };
    assert_eq!(basic.config.remote_write.auth(), expected);
    assert!(basic.describe_effective().contains("HEALTH_REMOTE_WRITE_PASSWORD=<redacted>"));
}

#[test]
fn bad_remote_write_settings_name_the_variable_the_value_and_what_is_allowed() {
    let dir = TempDir::new().expect("tempdir");
    let missing = dir.path().join("missing-token");
    let missing = missing.to_str().expect("utf-8");
    let cases: [(&[(&str, &str)], &str); 9] = [
        (
            &[("HEALTH_REMOTE_WRITE_URL", "https://user:hunter2@mimir.example/api/v1/push")],
            "HEALTH_REMOTE_WRITE_URL=https://mimir.example/api/v1/push: expected URLs without \
             credentials: put them in the auth settings (HEALTH_REMOTE_WRITE_USERNAME and \
             _PASSWORD, or _BEARER_TOKEN), which are never shown",
        ),
        (
            &[("HEALTH_REMOTE_WRITE_URL", "http://a.example,ftp://b.example/x?sig=s")],
            "HEALTH_REMOTE_WRITE_URL=http://a.example,ftp://b.example/x: expected comma-separated \
             http:// or https:// URLs with a host (e.g. \
             http://prometheus.example:9090/api/v1/write) (not valid: ftp://b.example/x)",
        ),
        (
            &[("HEALTH_REMOTE_WRITE_LABELS", "kiosk=hall-a,__name__=x")],
            "HEALTH_REMOTE_WRITE_LABELS=kiosk=hall-a,__name__=x: expected comma-separated \
             name=value pairs, each name a Prometheus label name (letters, digits and _, not \
             starting with a digit or __) given once, each value without a comma (e.g. \
             kiosk=hall-a,site=berlin)",
        ),
        (
            &[("HEALTH_REMOTE_WRITE_INTERVAL", "0.5")],
            "HEALTH_REMOTE_WRITE_INTERVAL=0.5: expected a number of seconds, at least 1 second",
        ),
        (
            &[("HEALTH_REMOTE_WRITE_BEARER_TOKEN_FILE", missing)],
            "HEALTH_REMOTE_WRITE_BEARER_TOKEN_FILE=",
        ),
        (
            &[
                ("HEALTH_REMOTE_WRITE_BEARER_TOKEN", TOKEN),
                ("HEALTH_REMOTE_WRITE_USERNAME", "k"),
                ("HEALTH_REMOTE_WRITE_PASSWORD", "p"),
            ],
            "HEALTH_REMOTE_WRITE_BEARER_TOKEN=<redacted>: expected either a bearer token or basic \
             authentication (HEALTH_REMOTE_WRITE_USERNAME with HEALTH_REMOTE_WRITE_PASSWORD), not both",
        ),
        (
            &[("HEALTH_REMOTE_WRITE_USERNAME", "kiosk")],
            "HEALTH_REMOTE_WRITE_USERNAME=kiosk: expected a password with it: set \
             HEALTH_REMOTE_WRITE_PASSWORD or HEALTH_REMOTE_WRITE_PASSWORD_FILE",
        ),
        (
            &[("HEALTH_REMOTE_WRITE_PASSWORD", "p")],
            "HEALTH_REMOTE_WRITE_PASSWORD=<redacted>: expected HEALTH_REMOTE_WRITE_USERNAME with \
             it: basic authentication needs a user",
        ),
        (
            &[("HEALTH_REMOTE_WRITE_QUEUE_MAX_BYTES", "1000")],
            "HEALTH_REMOTE_WRITE_QUEUE_MAX_BYTES=1000: expected a whole number of bytes, at least 100000",
        ),
    ];
    for (pairs, expected) in cases {
        let problem = only_problem(&from_env(pairs));
        assert!(problem.starts_with(expected), "{pairs:?}:\n{problem}\nexpected:\n{expected}");
        assert!(!problem.contains("hunter2") && !problem.contains(TOKEN), "{problem}");
    }
    let problem = only_problem(&from_env(&[("HEALTH_REMOTE_WRITE_BEARER_TOKEN_FILE", missing)]));
    assert!(problem.contains(missing) && problem.contains("No such file"), "{problem}");

    let token = write(&dir, "token", "abc\n");
    let both = only_problem(&from_env(&[
        ("HEALTH_REMOTE_WRITE_BEARER_TOKEN", TOKEN),
        ("HEALTH_REMOTE_WRITE_BEARER_TOKEN_FILE", token.to_str().expect("utf-8")),
    ]));
    assert!(
        both.ends_with(
            "expected only one of HEALTH_REMOTE_WRITE_BEARER_TOKEN and \
             HEALTH_REMOTE_WRITE_BEARER_TOKEN_FILE"
        ),
        "{both}"
    );
}
