//! Loading through every layer: required settings, every parse error, precedence, old names,
//! ignored names, warnings, rules between settings, and the token never shown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use super::super::PlayerKind;
use super::super::image::tests::PNG_1X1;
use super::super::keys::{by_name, settings};
use super::super::{KioskConfig, KioskConfigErrors, KioskSources, LoadedKiosk, LogFormat, Origin};
use crate::vimeo::Token;

/// A token that must never appear in any output.
const TOKEN: &str = "vimeo-canary-T0KEN-7f3a9c";

/// A temporary directory with two real images, and sources that name them.
struct Kiosk {
    dir: TempDir,
    holding: PathBuf,
    error: PathBuf,
}

impl Kiosk {
    fn new() -> Self {
        let dir = TempDir::new().expect("tempdir");
        let holding = dir.path().join("holding.png");
        let error = dir.path().join("error.png");
        std::fs::write(&holding, PNG_1X1).expect("write holding.png");
        std::fs::write(&error, PNG_1X1).expect("write error.png");
        Self { dir, holding, error }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write a fixture");
        path
    }

    /// The required settings, as the environment.
    fn required(&self) -> Vec<(String, String)> {
        vec![
            ("VIMEO_TOKEN".into(), TOKEN.into()),
            ("VIMEO_LIVE_EVENT_ID".into(), "1234567".into()),
            ("HOLDING_IMAGE".into(), self.holding.display().to_string()),
            ("ERROR_IMAGE".into(), self.error.display().to_string()),
        ]
    }

    /// The required settings plus `pairs` (which override them) in the environment.
    fn env(&self, pairs: &[(&str, &str)]) -> KioskSources {
        let mut env: BTreeMap<String, String> = self.required().into_iter().collect();
        env.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        KioskSources { env, ..KioskSources::default() }
    }

    fn expected_default(&self) -> KioskConfig {
        KioskConfig::new(
            "1234567",
            Token::new(TOKEN.to_owned()),
            self.holding.clone(),
            self.error.clone(),
        )
    }
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn load(sources: &KioskSources) -> LoadedKiosk {
    match KioskConfig::load(sources) {
        Ok(loaded) => loaded,
        Err(e) => panic!("expected a valid configuration, got:\n{e}"),
    }
}

fn errors(sources: &KioskSources) -> KioskConfigErrors {
    match KioskConfig::load(sources) {
        Ok(loaded) => panic!("expected problems, got {:?}", loaded.config),
        Err(e) => e,
    }
}

fn problems(sources: &KioskSources) -> Vec<String> {
    errors(sources).problems.iter().map(ToString::to_string).collect()
}

fn only_problem(sources: &KioskSources) -> String {
    let problems = problems(sources);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    problems.into_iter().next().unwrap_or_default()
}

#[test]
fn the_required_settings_alone_give_the_defaults() {
    let kiosk = Kiosk::new();
    let loaded = load(&kiosk.env(&[]));
    assert_eq!(loaded.config, kiosk.expected_default());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
    assert_eq!(loaded.origin("CHECK_INTERVAL"), Some(&Origin::Default));
    assert_eq!(loaded.origin("VIMEO_TOKEN"), Some(&Origin::Environment));
}

#[test]
fn nothing_set_names_every_required_setting_and_how_to_set_it() {
    let problems = problems(&KioskSources::default());
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "VIMEO_TOKEN is not set: create a token at https://developer.vimeo.com/apps with the "
        ),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].starts_with("VIMEO_LIVE_EVENT_ID is not set: set it to"),
        "{}",
        problems[1]
    );
    assert!(problems[2].starts_with("HOLDING_IMAGE is not set: set it to"), "{}", problems[2]);
    assert!(problems[3].starts_with("ERROR_IMAGE is not set: set it to"), "{}", problems[3]);
}

#[test]
fn a_missing_dotenv_file_is_skipped() {
    let kiosk = Kiosk::new();
    let sources = KioskSources { dotenv: Some(kiosk.path(".env")), ..kiosk.env(&[]) };
    assert_eq!(load(&sources).config, kiosk.expected_default());
}

#[test]
fn from_process_takes_the_cli_file_and_dotenv_in_the_working_directory() {
    let sources = KioskSources::from_process(Some(PathBuf::from("/etc/vimeo-monitor/kiosk.toml")));
    assert_eq!(sources.file.as_deref(), Some(Path::new("/etc/vimeo-monitor/kiosk.toml")));
    assert!(sources.dotenv.is_some_and(|p| p.ends_with(".env")));
}

#[test]
fn every_setting_names_the_key_the_value_and_what_is_allowed() {
    let kiosk = Kiosk::new();
    let passwd = Path::new("/etc/passwd");
    let dir = kiosk.dir.path().display().to_string();
    let unterminated = "--title='My Event";
    // (name, value, a fragment of the message)
    let cases: &[(&str, &str, &str)] = &[
        ("VIMEO_TOKEN", "two words", "expected a token without whitespace"),
        (
            "VIMEO_LIVE_EVENT_ID",
            "abc",
            "expected the live event's number, above 0 (e.g. 1234567), or its URL",
        ),
        ("VIMEO_LIVE_EVENT_ID", "0", "expected the live event's number, above 0"),
        ("VIMEO_LIVE_EVENT_ID", "https://vimeo.com/event/0", "above 0"),
        ("VIMEO_LIVE_EVENT_ID", "12 34", "expected the live event's number"),
        (
            "VIMEO_LIVE_EVENT_ID",
            "https://vimeo.com/123",
            "its URL (e.g. https://vimeo.com/event/1234567)",
        ),
        ("VIMEO_API_URL", "api.vimeo.com", "expected an http:// or https:// URL with a host"),
        ("VIMEO_API_URL", "ftp://api.vimeo.com", "expected an http:// or https:// URL"),
        ("CHECK_INTERVAL", "abc", "expected a number of seconds, at least 1 (e.g. 10 or 2.5)"),
        ("CHECK_INTERVAL", "0.5", "at least 1"),
        ("CHECK_INTERVAL", "", "at least 1"),
        ("CHECK_INTERVAL", "10s", "at least 1"),
        ("API_TIMEOUT", "0", "expected a number of seconds above 0"),
        ("API_TIMEOUT", "-1", "above 0"),
        ("MAX_RETRIES", "11", "expected a whole number from 0 to 10"),
        ("MAX_RETRIES", "three", "from 0 to 10"),
        ("ERROR_THRESHOLD", "0", "expected a whole number from 1 to 100"),
        ("ERROR_THRESHOLD", "101", "from 1 to 100"),
        ("HOLDING_IMAGE", "holding.png", "expected an absolute path"),
        ("HOLDING_IMAGE", "/x.png", "no such file"),
        ("HOLDING_IMAGE", &dir, "is a directory, not an image file"),
        ("ERROR_IMAGE", "/etc/passwd", "not an image (PNG, JPEG, GIF, WebP or BMP expected)"),
        ("PLAYER", "vlc", "expected mpv (cvlc and ffplay are not supported"),
        ("PLAYER", "cvlc", "expected mpv"),
        (
            "PLAYER_ARGS",
            unterminated,
            "cannot split it into options: a single quote (') is not closed",
        ),
        ("PLAYER_ARGS", "--fs \"x", "a double quote (\") is not closed"),
        ("PLAYER_IPC_TIMEOUT", "0", "expected a number of seconds above 0"),
        ("PLAYER_STALL_TIMEOUT", "0.5", "expected a number of seconds, at least 1"),
        (
            "LOG_LEVEL",
            "verbose",
            "expected trace, debug, info, warn, error or off, or tracing directives",
        ),
        ("LOG_LEVEL", "info,player", "each name a level"),
        ("LOG_FILE", "kiosk.log", "expected an absolute file path"),
        ("LOG_FILE", "/var/log/", "expected an absolute file path"),
        ("LOG_ROTATION_DAYS", "0", "expected a whole number from 1 to 365"),
        ("LOG_ROTATION_DAYS", "366", "from 1 to 365"),
        ("LOG_FORMAT", "xml", "expected text or json"),
        ("RUNTIME_DIR", "run/kiosk", "expected an absolute path"),
    ];
    for setting in settings() {
        assert!(
            cases.iter().any(|(name, ..)| *name == setting.name()),
            "no case for {}",
            setting.name()
        );
    }
    for (name, value, fragment) in cases {
        if *name == "ERROR_IMAGE" && !passwd.is_file() {
            continue;
        }
        let problem = only_problem(&kiosk.env(&[(name, value)]));
        let shown = if *name == "VIMEO_TOKEN" { "<redacted>" } else { value };
        let prefix = format!("{name}={shown}: ");
        assert!(problem.starts_with(&prefix), "{problem:?} should start with {prefix:?}");
        assert!(problem.contains(fragment), "{problem:?} should contain {fragment:?}");
    }
}

#[test]
fn the_examples_of_the_docs_read_exactly_so() {
    let kiosk = Kiosk::new();
    assert_eq!(
        only_problem(&kiosk.env(&[("CHECK_INTERVAL", "abc")])),
        "CHECK_INTERVAL=abc: expected a number of seconds, at least 1 (e.g. 10 or 2.5)"
    );
    assert_eq!(
        only_problem(&kiosk.env(&[("HOLDING_IMAGE", "/x.png")])),
        "HOLDING_IMAGE=/x.png: no such file"
    );
    if Path::new("/etc/passwd").is_file() {
        assert_eq!(
            only_problem(&kiosk.env(&[("ERROR_IMAGE", "/etc/passwd")])),
            "ERROR_IMAGE=/etc/passwd: not an image (PNG, JPEG, GIF, WebP or BMP expected)"
        );
    }
}

#[test]
fn accepted_values_are_typed() {
    let kiosk = Kiosk::new();
    let sources = kiosk.env(&[
        ("VIMEO_LIVE_EVENT_ID", "https://vimeo.com/event/7654321/embed"),
        ("VIMEO_API_URL", "https://api.example.test/vimeo/"),
        ("CHECK_INTERVAL", "2.5"),
        ("API_TIMEOUT", "1.5"),
        ("MAX_RETRIES", "0"),
        ("ERROR_THRESHOLD", "100"),
        ("PLAYER", "MPV"),
        ("PLAYER_ARGS", "--fs '--window-title=My Event' \"--x=a\\\"b\""),
        ("PLAYER_IPC_TIMEOUT", "0.25"),
        ("PLAYER_STALL_TIMEOUT", "30"),
        ("LOG_LEVEL", "info,player=debug"),
        ("LOG_FILE", "/var/log/vimeo-monitor/kiosk.log"),
        ("LOG_ROTATION_DAYS", "365"),
        ("LOG_FORMAT", "JSON"),
        ("RUNTIME_DIR", "/run/kiosk"),
    ]);
    let config = load(&sources).config;
    assert_eq!(config.vimeo.event_id, "7654321");
    assert_eq!(config.vimeo.api_url, "https://api.example.test/vimeo");
    assert_eq!(config.vimeo.check_interval, Duration::from_millis(2500));
    assert_eq!(config.vimeo.api_timeout, Duration::from_millis(1500));
    assert_eq!((config.vimeo.max_retries, config.vimeo.error_threshold), (0, 100));
    assert_eq!(config.player.kind, PlayerKind::Mpv);
    assert_eq!(config.player.args, ["--fs", "--window-title=My Event", "--x=a\"b"]);
    assert_eq!(config.player.ipc_timeout, Duration::from_millis(250));
    assert_eq!(config.player.stall_timeout, Duration::from_secs(30));
    assert_eq!(config.log.level, "info,player=debug");
    assert_eq!(config.log.file.as_deref(), Some(Path::new("/var/log/vimeo-monitor/kiosk.log")));
    assert_eq!((config.log.rotation_days, config.log.format), (365, LogFormat::Json));
    assert_eq!(config.runtime_dir.as_deref(), Some(Path::new("/run/kiosk")));
    assert_eq!(config.runtime_dir(), PathBuf::from("/run/kiosk"));
}

#[test]
fn the_environment_beats_dotenv_which_beats_the_toml_file() {
    let kiosk = Kiosk::new();
    let file = kiosk
        .write("kiosk.toml", "[kiosk]\ncheck_interval = 30\nmax_retries = 1\nplayer = \"MPV\"\n");
    let dotenv = kiosk.write(".env", "CHECK_INTERVAL=20\nMAX_RETRIES=2\n");
    let all = |env_pairs: &[(&str, &str)]| KioskSources {
        file: Some(file.clone()),
        dotenv: Some(dotenv.clone()),
        ..kiosk.env(env_pairs)
    };

    let loaded = load(&all(&[("CHECK_INTERVAL", "15")]));
    assert_eq!(loaded.config.vimeo.check_interval, Duration::from_secs(15));
    assert_eq!(loaded.origin("CHECK_INTERVAL"), Some(&Origin::Environment));
    assert_eq!(loaded.config.vimeo.max_retries, 2);
    assert_eq!(loaded.origin("MAX_RETRIES"), Some(&Origin::DotEnv(dotenv.clone())));
    assert_eq!(loaded.config.player.kind, PlayerKind::Mpv);
    assert_eq!(loaded.origin("PLAYER"), Some(&Origin::File(file.clone())));
    assert_eq!(loaded.origin("LOG_LEVEL"), Some(&Origin::Default));

    let loaded = load(&all(&[]));
    assert_eq!(loaded.config.vimeo.check_interval, Duration::from_secs(20));

    let only_file = KioskSources { file: Some(file.clone()), ..kiosk.env(&[]) };
    assert_eq!(load(&only_file).config.vimeo.check_interval, Duration::from_secs(30));
}

#[test]
fn the_toml_file_takes_typed_values_and_is_quoted_in_problems() {
    let kiosk = Kiosk::new();
    let file = kiosk.write(
        "kiosk.toml",
        &format!(
            "[metrics]\nport = 9100\n\n[kiosk]\nvimeo_token = \"{TOKEN}\"\nvimeo_live_event_id = 42\n\
             holding_image = \"{}\"\nerror_image = \"{}\"\ncheck_interval = 2.5\n\
             player_args = [\"--title=A B\", \"--fs\"]\n",
            kiosk.holding.display(),
            kiosk.error.display()
        ),
    );
    let sources = KioskSources { file: Some(file), ..KioskSources::default() };
    let loaded = load(&sources);
    assert_eq!(loaded.config.vimeo.event_id, "42");
    assert_eq!(loaded.config.vimeo.token.expose(), TOKEN);
    assert_eq!(loaded.config.vimeo.check_interval, Duration::from_millis(2500));
    assert_eq!(loaded.config.player.args, ["--title=A B", "--fs"]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    let bad = kiosk.write("bad.toml", "[kiosk]\ncheck_interval = \"abc\"\nmax_retries = -1\n");
    let sources = KioskSources { file: Some(bad.clone()), ..kiosk.env(&[]) };
    let shown = bad.display();
    assert_eq!(
        problems(&sources),
        [
            format!(
                "kiosk.check_interval = \"abc\" (in {shown}): expected a number of seconds, at least 1 (e.g. 10 or 2.5)"
            ),
            format!("kiosk.max_retries = -1 (in {shown}): expected a whole number from 0 to 10"),
        ]
    );
}

#[test]
fn a_toml_value_of_the_wrong_kind_names_the_kind_and_dates_show_as_dates() {
    let kiosk = Kiosk::new();
    let cases = [
        ("vimeo_api_url = 42", "kiosk.vimeo_api_url = 42", "expected a string, not a number: an"),
        ("player = true", "kiosk.player = true", "expected a string, not a boolean: mpv"),
        (
            "check_interval = 1979-05-27T07:32:00Z",
            "kiosk.check_interval = 1979-05-27T07:32:00Z",
            "expected a number, not a date: a number of seconds",
        ),
        (
            "vimeo_live_event_id = [1]",
            "kiosk.vimeo_live_event_id = [1]",
            "expected a number, not an array of strings: the live event's number",
        ),
        ("log_format = 1", "kiosk.log_format = 1", "expected a string, not a number: text or json"),
    ];
    for (line, assignment, expected) in cases {
        // The event id from the file, where the environment would hide it.
        let id =
            if line.starts_with("vimeo_live_event_id") { "" } else { "vimeo_live_event_id = 7\n" };
        let file = kiosk.write("kiosk.toml", &format!("[kiosk]\n{id}{line}\n"));
        let mut sources = KioskSources { file: Some(file.clone()), ..kiosk.env(&[]) };
        sources.env.remove("VIMEO_LIVE_EVENT_ID");
        let problem = only_problem(&sources);
        let start = format!("{assignment} (in {}): {expected}", file.display());
        assert!(problem.starts_with(&start), "{problem}\nshould start with\n{start}");
    }
}

#[test]
fn dotenv_problems_say_where_the_value_came_from() {
    let kiosk = Kiosk::new();
    let dotenv = kiosk.write(".env", "PLAYER=vlc\nVIMEO_TOKEN=\n");
    let mut sources = KioskSources { dotenv: Some(dotenv.clone()), ..kiosk.env(&[]) };
    sources.env.remove("VIMEO_TOKEN");
    let shown = dotenv.display();
    let problems = problems(&sources);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with(&format!("VIMEO_TOKEN is empty (in {shown}): create a token")),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].starts_with(&format!("PLAYER=vlc (from {shown}): expected mpv (")),
        "{}",
        problems[1]
    );
}

#[test]
fn empty_optional_paths_mean_unset() {
    let kiosk = Kiosk::new();
    let loaded = load(&kiosk.env(&[("LOG_FILE", ""), ("RUNTIME_DIR", " "), ("PLAYER_ARGS", "")]));
    assert_eq!(loaded.config, kiosk.expected_default());
    assert_eq!(loaded.origin("LOG_FILE"), Some(&Origin::Environment));
}

#[test]
fn files_that_cannot_be_read_are_problems() {
    let kiosk = Kiosk::new();
    let missing = kiosk.path("missing.toml");
    let sources = KioskSources { file: Some(missing.clone()), ..kiosk.env(&[]) };
    let problem = only_problem(&sources);
    let prefix = format!("{}: cannot read the configuration file", missing.display());
    assert!(problem.starts_with(&prefix), "{problem}");

    let broken = kiosk.write("broken.toml", &format!("[kiosk]\nvimeo_token = \"{TOKEN}\n"));
    let sources = KioskSources { file: Some(broken), ..kiosk.env(&[]) };
    let problem = only_problem(&sources);
    assert!(problem.contains("invalid TOML at line 2"), "{problem}");
    assert!(!problem.contains(TOKEN), "{problem}");

    let not_a_table = kiosk.write("flat.toml", "kiosk = 5\n");
    let sources = KioskSources { file: Some(not_a_table.clone()), ..kiosk.env(&[]) };
    assert_eq!(
        only_problem(&sources),
        format!("kiosk = 5 (in {}): expected a table [kiosk]", not_a_table.display())
    );
}

#[test]
fn an_old_name_alone_is_used_with_a_note() {
    let kiosk = Kiosk::new();
    let holding = kiosk.holding.display().to_string();
    let mut sources = kiosk.env(&[("STATIC_IMAGE_PATH", &holding)]);
    sources.env.remove("HOLDING_IMAGE");
    let loaded = load(&sources);
    assert_eq!(loaded.config.images.holding, kiosk.holding);
    assert_eq!(
        loaded.notes,
        [
            "STATIC_IMAGE_PATH in the environment is the old name of HOLDING_IMAGE: rename it to HOLDING_IMAGE"
        ]
    );
    let line = format!("HOLDING_IMAGE={holding}  # environment as STATIC_IMAGE_PATH");
    assert!(
        loaded.describe_effective().lines().any(|l| l == line),
        "{}",
        loaded.describe_effective()
    );

    let error = kiosk.error.display().to_string();
    let file = kiosk.write("kiosk.toml", &format!("[kiosk]\nerror_image_path = \"{error}\"\n"));
    let mut sources = KioskSources { file: Some(file.clone()), ..kiosk.env(&[]) };
    sources.env.remove("ERROR_IMAGE");
    let loaded = load(&sources);
    assert_eq!(loaded.config.images.error, kiosk.error);
    assert_eq!(
        loaded.notes,
        [format!(
            "kiosk.error_image_path in {} is the old name of kiosk.error_image: rename it to kiosk.error_image",
            file.display()
        )]
    );
}

#[test]
fn an_old_name_repeating_the_new_one_is_noted() {
    let kiosk = Kiosk::new();
    let holding = kiosk.holding.display().to_string();
    let loaded = load(&kiosk.env(&[("STATIC_IMAGE_PATH", &holding)]));
    assert_eq!(loaded.config.images.holding, kiosk.holding);
    assert_eq!(loaded.notes.len(), 1, "{:?}", loaded.notes);
    assert!(loaded.notes[0].contains("STATIC_IMAGE_PATH in the environment repeats HOLDING_IMAGE"));
    assert_eq!(loaded.origin("HOLDING_IMAGE"), Some(&Origin::Environment));
}

#[test]
fn an_old_name_that_disagrees_is_a_problem_naming_both() {
    let kiosk = Kiosk::new();
    let other = kiosk.path("other.png");
    std::fs::write(&other, PNG_1X1).expect("write other.png");
    let dotenv = kiosk.write(".env", &format!("HOLDING_IMAGE={}\n", kiosk.holding.display()));
    let mut sources = KioskSources {
        dotenv: Some(dotenv.clone()),
        ..kiosk.env(&[("STATIC_IMAGE_PATH", &other.display().to_string())])
    };
    sources.env.remove("HOLDING_IMAGE");
    assert_eq!(
        only_problem(&sources),
        format!(
            "STATIC_IMAGE_PATH={}: conflicts with HOLDING_IMAGE={} (from {}); STATIC_IMAGE_PATH is \
             the old name of HOLDING_IMAGE: keep only HOLDING_IMAGE",
            other.display(),
            kiosk.holding.display(),
            dotenv.display()
        )
    );
}

#[test]
fn a_bad_value_under_an_old_name_is_named_so() {
    let kiosk = Kiosk::new();
    let mut sources = kiosk.env(&[("ERROR_IMAGE_PATH", "/nowhere/error.png")]);
    sources.env.remove("ERROR_IMAGE");
    assert_eq!(only_problem(&sources), "ERROR_IMAGE_PATH=/nowhere/error.png: no such file");
}

#[test]
fn vimeo_key_and_secret_are_ignored_with_a_note_that_never_shows_them() {
    let kiosk = Kiosk::new();
    let dotenv = kiosk.write(".env", "VIMEO_SECRET=secret-canary-5521\n");
    let sources = KioskSources {
        dotenv: Some(dotenv.clone()),
        ..kiosk.env(&[("VIMEO_KEY", "key-canary-8812")])
    };
    let loaded = load(&sources);
    assert_eq!(
        loaded.notes,
        [
            "VIMEO_KEY in the environment is not needed: the kiosk authenticates with VIMEO_TOKEN; it is ignored".to_owned(),
            format!(
                "VIMEO_SECRET in {} is not needed: the kiosk authenticates with VIMEO_TOKEN; it is ignored",
                dotenv.display()
            ),
        ]
    );
    let everything = format!("{loaded:?}\n{}", loaded.describe_effective());
    for canary in ["key-canary-8812", "secret-canary-5521"] {
        assert!(!everything.contains(canary), "{canary} leaked:\n{everything}");
    }
}

#[test]
fn unknown_names_warn_only_when_they_look_like_kiosk_ones() {
    let kiosk = Kiosk::new();
    let dotenv = kiosk.write(".env", "ERROR_TRESHOLD=3\nHEALTH_METRICS_PORT=9100\nEDITOR=vi\n");
    let sources = KioskSources {
        dotenv: Some(dotenv.clone()),
        ..kiosk.env(&[
            ("CHECK_INTERVALL", "5"),
            ("PLAYER_PATH", "/usr/local/bin/mpv"),
            ("PATH", "/usr/bin"),
            ("PAGER", "less"),
            ("HEALTH_NETWORK_INTERVALL", "5"),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
        ])
    };
    let loaded = load(&sources);
    assert_eq!(
        loaded.warnings,
        [
            format!(
                "unknown variable ERROR_TRESHOLD in {} is ignored; did you mean ERROR_THRESHOLD?",
                dotenv.display()
            ),
            "unknown variable CHECK_INTERVALL in the environment is ignored; did you mean CHECK_INTERVAL?".to_owned(),
            "unknown variable PLAYER_PATH in the environment is ignored".to_owned(),
        ]
    );
    assert_eq!(loaded.config.vimeo.check_interval, Duration::from_secs(10));
}

#[test]
fn unknown_toml_keys_warn_and_other_tables_are_left_alone() {
    let kiosk = Kiosk::new();
    let file = kiosk.write(
        "kiosk.toml",
        "check_interval = 5\n[metrics]\nport = 9100\nbogus = 1\n[kiosk]\ncheck_intervall = 5\nCHECK_INTERVAL = 5\nplayer = \"mpv\"\n",
    );
    let sources = KioskSources { file: Some(file.clone()), ..kiosk.env(&[]) };
    let loaded = load(&sources);
    let at = file.display();
    assert_eq!(
        loaded.warnings,
        [
            format!(
                "check_interval at the top level in {at} is ignored: kiosk settings go in the [kiosk] table"
            ),
            format!(
                "unknown key kiosk.CHECK_INTERVAL in {at} is ignored; did you mean kiosk.check_interval?"
            ),
            format!(
                "unknown key kiosk.check_intervall in {at} is ignored; did you mean kiosk.check_interval?"
            ),
        ]
    );
}

#[test]
fn unknown_top_level_keys_and_tables_warn_with_a_near_miss() {
    let kiosk = Kiosk::new();
    let file = kiosk.write(
        "kiosk.toml",
        "title = \"hall\"\n[metrics]\nport = 9100\n[kisok]\nplayer = \"mpv\"\n[netwrk]\n[colours]\n",
    );
    let sources = KioskSources { file: Some(file.clone()), ..kiosk.env(&[]) };
    let loaded = load(&sources);
    let at = format!("at the top level in {} is ignored", file.display());
    assert_eq!(
        loaded.warnings,
        [
            format!("unknown table [colours] {at}"),
            format!("unknown table [kisok] {at}; did you mean [kiosk]?"),
            format!("unknown table [netwrk] {at}; did you mean [network]?"),
            format!("unknown key title {at}"),
        ]
    );
}

#[test]
fn api_timeout_may_not_exceed_the_check_interval() {
    let kiosk = Kiosk::new();
    let why = "one API request must not outlast the time between checks";
    assert_eq!(
        only_problem(&kiosk.env(&[("API_TIMEOUT", "30")])),
        format!("API_TIMEOUT=30: expected at most CHECK_INTERVAL (10 s): {why}")
    );
    // The default timeout shrinks to a shorter interval.
    let loaded = load(&kiosk.env(&[("CHECK_INTERVAL", "2.5")]));
    assert_eq!(loaded.config.vimeo.api_timeout, Duration::from_millis(2500));
    assert_eq!(loaded.origin("API_TIMEOUT"), Some(&Origin::Default));
    assert_eq!(
        only_problem(&kiosk.env(&[("CHECK_INTERVAL", "5"), ("API_TIMEOUT", "7.5")])),
        format!("API_TIMEOUT=7.5: expected at most CHECK_INTERVAL (5 s): {why}")
    );
    let loaded = load(&kiosk.env(&[("CHECK_INTERVAL", "5"), ("API_TIMEOUT", "5")]));
    assert_eq!(loaded.config.vimeo.api_timeout, Duration::from_secs(5));
    // A value that did not parse is not compared.
    let problem = only_problem(&kiosk.env(&[("CHECK_INTERVAL", "5"), ("API_TIMEOUT", "x")]));
    assert!(problem.starts_with("API_TIMEOUT=x: expected a number"), "{problem}");
}

#[test]
fn a_plain_http_api_url_warns() {
    let kiosk = Kiosk::new();
    let loaded = load(&kiosk.env(&[("VIMEO_API_URL", "http://127.0.0.1:8080")]));
    assert_eq!(
        loaded.warnings,
        [
            "VIMEO_API_URL in the environment is http://, so VIMEO_TOKEN travels unencrypted: use it only for a local test server"
        ]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let kiosk = Kiosk::new();
    let dotenv = kiosk.write(".env", "MAX_RETRIES=99\n");
    let sources = KioskSources {
        dotenv: Some(dotenv.clone()),
        env: env(&[
            ("VIMEO_LIVE_EVENT_ID", "my event"),
            ("CHECK_INTERVAL", "abc"),
            ("PLAYER", "vlc"),
            ("ERROR_IMAGE", "/nowhere.png"),
            ("LOG_FORMAT", "xml"),
            ("CHECK_INTERVALL", "5"),
        ]),
        ..KioskSources::default()
    };
    let errors = errors(&sources);
    let text = errors.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    assert!(lines[0].starts_with("VIMEO_TOKEN is not set: "), "{text}");
    assert!(lines[1].starts_with("VIMEO_LIVE_EVENT_ID=my event: expected"), "{text}");
    assert!(lines[2].starts_with("CHECK_INTERVAL=abc: expected"), "{text}");
    assert_eq!(
        lines[3],
        format!("MAX_RETRIES=99 (from {}): expected a whole number from 0 to 10", dotenv.display())
    );
    assert!(lines[4].starts_with("HOLDING_IMAGE is not set: "), "{text}");
    assert_eq!(lines[5], "ERROR_IMAGE=/nowhere.png: no such file");
    assert!(lines[6].starts_with("PLAYER=vlc: expected mpv ("), "{text}");
    assert_eq!(lines[7], "LOG_FORMAT=xml: expected text or json");
    assert_eq!(errors.warnings.len(), 1, "{:?}", errors.warnings);
}

#[test]
fn describe_effective_shows_every_setting_and_where_it_came_from() {
    let kiosk = Kiosk::new();
    let dotenv = kiosk.write(".env", "PLAYER_ARGS=\"--fs '--title=My Event'\"\n");
    let sources =
        KioskSources { dotenv: Some(dotenv.clone()), ..kiosk.env(&[("CHECK_INTERVAL", "12")]) };
    let text = load(&sources).describe_effective();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), settings().len(), "{text}");
    for expected in [
        "VIMEO_TOKEN=<redacted>  # environment".to_owned(),
        "VIMEO_LIVE_EVENT_ID=1234567  # environment".to_owned(),
        "VIMEO_API_URL=https://api.vimeo.com  # default".to_owned(),
        "CHECK_INTERVAL=12  # environment".to_owned(),
        format!("PLAYER_ARGS=--fs '--title=My Event'  # .env ({})", dotenv.display()),
        "PLAYER_IPC_TIMEOUT=5  # default".to_owned(),
        "# LOG_FILE is not set  # default".to_owned(),
        "# RUNTIME_DIR is not set  # default".to_owned(),
    ] {
        assert!(lines.contains(&expected.as_str()), "lacks {expected:?}:\n{text}");
    }
    // What it shows loads back to the same configuration.
    let pairs: Vec<(String, String)> = lines
        .iter()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once("  # ").and_then(|(a, _)| a.split_once('=')))
        .filter(|(name, _)| *name != "VIMEO_TOKEN")
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .chain([("VIMEO_TOKEN".to_owned(), TOKEN.to_owned())])
        .collect();
    let again = KioskSources { env: pairs.into_iter().collect(), ..KioskSources::default() };
    assert_eq!(load(&again).config, load(&sources).config);
}

#[test]
fn the_token_never_shows() {
    let kiosk = Kiosk::new();
    let dotenv = kiosk.write(".env", &format!("VIMEO_TOKEN={TOKEN}\n"));
    let valid = KioskSources { dotenv: Some(dotenv.clone()), ..kiosk.env(&[]) };
    let loaded = load(&valid);
    assert_eq!(loaded.config.vimeo.token.expose(), TOKEN);
    let shown = format!(
        "{loaded:?}\n{}\n{:?}\n{:?}\n{}",
        loaded.describe_effective(),
        loaded.warnings,
        loaded.notes,
        loaded.config.vimeo.token
    );
    assert!(!shown.contains(TOKEN), "the token leaked:\n{shown}");

    let with_space = format!("{TOKEN} x");
    let file = kiosk.write(
        "kiosk.toml",
        &format!("[kiosk]\nvimeo_token = \"{TOKEN}\"\nvimeo_tokn = \"{TOKEN}\"\n"),
    );
    for sources in [
        kiosk.env(&[("VIMEO_TOKEN", &with_space), ("CHECK_INTERVAL", "x")]),
        KioskSources {
            file: Some(file.clone()),
            ..kiosk.env(&[("VIMEO_TOKEN", " "), ("PLAYER", "vlc")])
        },
        KioskSources { file: Some(file), dotenv: Some(dotenv), ..kiosk.env(&[("PLAYER", "vlc")]) },
    ] {
        let errors = errors(&sources);
        let shown = format!("{errors}\n{errors:?}");
        assert!(!shown.contains(TOKEN), "the token leaked:\n{shown}");
    }
    let problem = only_problem(&kiosk.env(&[("VIMEO_TOKEN", &with_space)]));
    assert!(
        problem.starts_with("VIMEO_TOKEN=<redacted>: expected a token without whitespace"),
        "{problem}"
    );
}

#[test]
fn an_api_url_shows_without_user_password_or_query() {
    let kiosk = Kiosk::new();
    let problem = only_problem(&kiosk.env(&[(
        "VIMEO_API_URL",
        "https://kiosk:CANARY-PW@api.example.test/v?key=CANARY-KEY#CANARY-FRAG",
    )]));
    assert!(
        problem.starts_with(
            "VIMEO_API_URL=https://api.example.test/v: expected an http:// or https:// URL"
        ),
        "{problem}"
    );
    let file = kiosk.write(
        "kiosk.toml",
        "[kiosk]\nvimeo_api_url = \"https://api.example.test/?key=CANARY-KEY\"\n",
    );
    let sources = KioskSources { file: Some(file.clone()), ..kiosk.env(&[]) };
    let errors = errors(&sources);
    let shown = format!("{errors}\n{errors:?}");
    assert!(!shown.contains("CANARY"), "{shown}");
    assert!(
        shown.contains(&format!(
            "kiosk.vimeo_api_url = \"https://api.example.test/\" (in {})",
            file.display()
        )),
        "{shown}"
    );
    let setting = by_name("VIMEO_API_URL").expect("the setting");
    assert!(setting.is_url() && !by_name("CHECK_INTERVAL").expect("a setting").is_url());
}

#[test]
fn images_as_every_accepted_format() {
    let kiosk = Kiosk::new();
    let jpeg = kiosk.path("error.jpg");
    std::fs::write(&jpeg, [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'])
        .expect("jpeg");
    let gif = kiosk.path("holding.gif");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00").expect("gif");
    let sources = kiosk.env(&[
        ("HOLDING_IMAGE", &gif.display().to_string()),
        ("ERROR_IMAGE", &jpeg.display().to_string()),
    ]);
    let images = load(&sources).config.images;
    assert_eq!((images.holding, images.error), (gif, jpeg));
}

#[test]
fn the_default_of_every_setting_loads_back_as_itself() {
    let kiosk = Kiosk::new();
    let pairs: Vec<(String, String)> =
        settings().iter().filter_map(|s| Some((s.name().to_owned(), s.default_value()?))).collect();
    let mut sources = kiosk.env(&[]);
    sources.env.extend(pairs);
    let loaded = load(&sources);
    assert_eq!(loaded.config, kiosk.expected_default());
    assert!(by_name("PLAYER_ARGS").is_some_and(|s| s.default_value().as_deref() == Some("")));
}

#[test]
fn every_example_in_a_message_is_a_value_its_setting_accepts() {
    let kiosk = Kiosk::new();
    let mut checked = 0;
    for setting in settings() {
        for example in config_layers::testing::message_examples(&setting.expected()) {
            // An image example names a file that need not exist here: only its form counts.
            let example = match setting.name() {
                "HOLDING_IMAGE" | "ERROR_IMAGE" => kiosk.holding.display().to_string(),
                _ => example,
            };
            let loaded = KioskConfig::load(&kiosk.env(&[(setting.name(), &example)]));
            let problems = loaded.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(problems.is_empty(), "{}={example}: {problems}", setting.name());
            checked += 1;
        }
    }
    assert!(checked > 5, "only {checked} examples found");
}
