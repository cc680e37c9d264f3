//! The kiosk's configuration through its public API, the way `main` uses it: every layer at
//! once, `--check-config`'s output, and the token never shown.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tempfile::TempDir;
use vimeo_monitor::config::{KioskConfig, KioskSources, Origin, PlayerKind, settings};

const TOKEN: &str = "integration-canary-TOKEN-31337";

/// A complete 1x1 PNG.
const PNG_1X1: [u8; 67] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write a fixture");
    path
}

#[test]
fn a_deployment_with_every_layer_loads_and_describes_itself() {
    let dir = TempDir::new().expect("tempdir");
    let holding = write(&dir, "holding.png", &PNG_1X1);
    let error = write(&dir, "error.png", &PNG_1X1);
    let toml = format!(
        "[metrics]\nport = 9100\n\n[kiosk]\nvimeo_live_event_id = \"https://vimeo.com/event/4242\"\n\
         holding_image = \"{}\"\ncheck_interval = 20\nplayer = \"mpv\"\n",
        holding.display()
    );
    let file = write(&dir, "kiosk.toml", toml.as_bytes());
    let dotenv_text = format!(
        "# shared with the health exporter\nHEALTH_METRICS_PORT=9100\nVIMEO_TOKEN={TOKEN}\n\
         ERROR_IMAGE_PATH={}\nCHECK_INTERVAL=15\nVIMEO_SECRET=old-app-secret\n",
        error.display()
    );
    let dotenv = write(&dir, ".env", dotenv_text.as_bytes());
    let env: BTreeMap<String, String> =
        [("CHECK_INTERVAL", "12"), ("PLAYER_ARGS", "--fs '--title=Main hall'"), ("HOME", "/root")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    let sources = KioskSources { file: Some(file.clone()), dotenv: Some(dotenv.clone()), env };

    let loaded = match KioskConfig::load(&sources) {
        Ok(loaded) => loaded,
        Err(e) => panic!("expected a valid configuration, got:\n{e}"),
    };
    let config = &loaded.config;
    assert_eq!(config.vimeo.event_id, "4242");
    assert_eq!(config.vimeo.token.expose(), TOKEN);
    assert_eq!(config.vimeo.check_interval, Duration::from_secs(12));
    assert_eq!(config.images.holding, holding);
    assert_eq!(config.images.error, error);
    assert_eq!(config.player.kind, PlayerKind::Mpv);
    assert_eq!(config.player.args, ["--fs", "--title=Main hall"]);
    assert_eq!(loaded.origin("PLAYER"), Some(&Origin::File(file.clone())));
    assert_eq!(loaded.origin("ERROR_IMAGE"), Some(&Origin::DotEnv(dotenv.clone())));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.notes.len(), 2, "{:?}", loaded.notes);

    let described = loaded.describe_effective();
    assert_eq!(described.lines().count(), settings().len(), "{described}");
    for line in [
        format!("VIMEO_TOKEN=<redacted>  # .env ({})", dotenv.display()),
        format!("VIMEO_LIVE_EVENT_ID=4242  # file ({})", file.display()),
        "CHECK_INTERVAL=12  # environment".to_owned(),
        format!(
            "ERROR_IMAGE={}  # .env ({}) as ERROR_IMAGE_PATH",
            error.display(),
            dotenv.display()
        ),
        "PLAYER_ARGS=--fs '--title=Main hall'  # environment".to_owned(),
        "# LOG_FILE is not set  # default".to_owned(),
    ] {
        assert!(described.lines().any(|l| l == line), "lacks {line:?}:\n{described}");
    }
    let everything = format!("{loaded:?}\n{described}\n{:?}", loaded.notes);
    assert!(!everything.contains(TOKEN), "the token leaked:\n{everything}");
    assert!(!everything.contains("old-app-secret"), "VIMEO_SECRET leaked:\n{everything}");
}

#[test]
fn an_invalid_configuration_lists_every_problem_without_the_token() {
    let dir = TempDir::new().expect("tempdir");
    let env: BTreeMap<String, String> = [
        ("VIMEO_TOKEN", TOKEN),
        ("VIMEO_LIVE_EVENT_ID", "1"),
        ("CHECK_INTERVAL", "abc"),
        ("HOLDING_IMAGE", "/x.png"),
        ("ERROR_IMAGE", "/etc/passwd"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let sources = KioskSources { dotenv: Some(dir.path().join(".env")), env, file: None };
    let errors = match KioskConfig::load(&sources) {
        Ok(loaded) => panic!("expected problems, got {:?}", loaded.config),
        Err(e) => e,
    };
    let text = errors.to_string();
    let mut expected = vec![
        "CHECK_INTERVAL=abc: expected a number of seconds, at least 1 (e.g. 10 or 2.5)",
        "HOLDING_IMAGE=/x.png: no such file",
    ];
    if std::path::Path::new("/etc/passwd").is_file() {
        expected
            .push("ERROR_IMAGE=/etc/passwd: not an image (PNG, JPEG, GIF, WebP or BMP expected)");
    }
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    assert!(!format!("{text}\n{errors:?}").contains(TOKEN));
}

#[test]
fn the_runtime_dir_setting_is_used_as_given() {
    let mut config = KioskConfig::new(
        "1",
        vimeo_monitor::vimeo::Token::new(TOKEN.to_owned()),
        PathBuf::from("/h.png"),
        PathBuf::from("/e.png"),
    );
    assert!(config.runtime_dir().is_absolute());
    config.runtime_dir = Some(PathBuf::from("/run/kiosk"));
    assert_eq!(config.runtime_dir(), PathBuf::from("/run/kiosk"));
}

/// Every environment variable the code reads is documented in `docs/configuration.md` and
/// `.env.sample`, and every variable those two document is one the code reads. "Reads" is the
/// two settings tables (with old and ignored names), `HEALTH_CONFIG`, and any `var("NAME")` /
/// `var_os("NAME")` in the sources (the variables systemd and the session set). It needs the
/// exporter's table too: with the `health` feature only.
#[cfg(feature = "health")]
#[test]
fn every_variable_the_code_reads_is_documented_and_nothing_else_is() {
    use std::collections::BTreeSet;
    use std::path::Path;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let docs = std::fs::read_to_string(root.join("docs/configuration.md")).unwrap();
    let sample = std::fs::read_to_string(root.join(".env.sample")).unwrap();

    let mut read: BTreeSet<String> =
        vimeo_monitor::config::known_names().map(String::from).collect();
    read.extend(health_server::config::settings().iter().map(|s| s.env_name()));
    read.insert(health_server::config::CONFIG_FILE_VAR.to_owned());
    let mut from_sources = BTreeSet::new();
    let mut dirs = vec![root.join("crates")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.components().any(|c| c.as_os_str() == "src")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                for call in ["var(\"", "var_os(\""] {
                    for piece in text.split(call).skip(1) {
                        let name: String = piece.chars().take_while(|c| *c != '"').collect();
                        if !name.is_empty()
                            && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                        {
                            from_sources.insert(name);
                        }
                    }
                }
            }
        }
    }
    assert!(from_sources.contains("NOTIFY_SOCKET"), "the scan finds nothing: {from_sources:?}");
    read.extend(from_sources);

    let mentioned = |text: &str, name: &str| {
        text.match_indices(name).any(|(at, _)| {
            let before = text[..at].chars().last();
            let after = text[at + name.len()..].chars().next();
            let part = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            !part(before) && !part(after)
        })
    };
    for name in &read {
        assert!(mentioned(&docs, name), "docs/configuration.md does not mention {name}");
        assert!(mentioned(&sample, name), ".env.sample does not mention {name}");
    }

    // The reverse: each table row of the docs and each `# NAME=` of the sample is read.
    let rows = docs.lines().filter_map(|l| l.strip_prefix("| `")?.split('`').next());
    let lines =
        sample.lines().filter_map(|l| l.strip_prefix("# ")?.split_once('=').map(|(n, _)| n));
    for name in rows.chain(lines) {
        if name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
            assert!(read.contains(name), "{name} is documented but nothing reads it");
        }
    }
}
