//! [`HealthConfig::load`]: merge the layers, parse every setting, check the rules between
//! settings, and say where each value came from.
//!
//! Nothing stops at the first problem: every setting is parsed and every rule checked, so one
//! run of `--check-config` lists everything to fix. Unknown names only warn, because a typo
//! should not take monitoring down, but it should be visible.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::value::{Dict, Num, Value};

use super::keys::{self, CONFIG_FILE_VAR, Field, Minimum, PREFIX, Setting, settings};
use super::parse;
use super::problem::{ConfigErrors, ConfigProblem};
use super::sources::{ConfigSources, Layer, Origin, read_dotenv, read_toml};
use super::{HealthConfig, Secret, SignedUrl};

/// A valid configuration, with what `--check-config` shows about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The settings.
    pub config: HealthConfig,
    /// Things worth a look that do not stop the exporter: unknown variables and TOML keys.
    pub warnings: Vec<String>,
    /// Where each setting's value came from, in [`settings()`] order.
    origins: Vec<Origin>,
}

impl Loaded {
    /// Where the setting with this environment name got its value.
    pub fn origin(&self, env_name: &str) -> Option<&Origin> {
        let index = settings().iter().position(|s| s.env_name() == env_name)?;
        self.origins.get(index)
    }

    /// The effective configuration for `health-server --check-config`: one line per setting in
    /// environment syntax with where it came from, secrets redacted, e.g.
    /// `HEALTH_METRICS_PORT=9100  # environment`.
    pub fn describe_effective(&self) -> String {
        let mut out = String::new();
        for (setting, origin) in settings().iter().zip(&self.origins) {
            let name = setting.env_name();
            match setting.value_in(&self.config) {
                Some(value) => out.push_str(&format!("{name}={value}  # {origin}\n")),
                None => out.push_str(&format!("# {name} is not set  # {origin}\n")),
            }
        }
        out
    }
}

/// What a layer gave for one setting.
struct Given {
    origin: Origin,
    /// The value as its layer writes it; `<redacted>` for a secret.
    text: String,
    /// Whether it parsed (rules between settings skip values that did not).
    ok: bool,
}

impl Given {
    fn problem(&self, setting: &Setting, expected: String) -> ConfigProblem {
        ConfigProblem {
            key: self.origin.key_of(setting),
            value: Some(self.text.clone()),
            origin: self.origin.clone(),
            expected,
        }
    }
}

impl HealthConfig {
    /// Loads defaults < TOML file < `.env` < environment from `sources`, and validates.
    pub fn load(sources: &ConfigSources) -> Result<Loaded, ConfigErrors> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();

        let mut figment = Figment::from(Layer::defaults());
        if let Some(path) = &sources.file {
            match read_toml(path) {
                Ok(dict) => {
                    let dict = check_toml(path, dict, &mut problems, &mut warnings);
                    figment = figment.merge(Layer::toml(path, dict));
                }
                Err(problem) => problems.push(problem),
            }
        }
        if let Some(path) = &sources.dotenv {
            let pairs = read_dotenv(path, &mut problems);
            let origin = Origin::DotEnv(path.clone());
            let names = pairs.iter().map(|(name, _)| name.as_str());
            warnings.extend(unknown_variables(names, &format!("in {}", path.display())));
            if pairs.iter().any(|(name, _)| name == CONFIG_FILE_VAR) {
                warnings.push(format!(
                    "{CONFIG_FILE_VAR} in {} is ignored: it must be set in the environment \
                     (or use --config), as the file is chosen before .env is read",
                    path.display()
                ));
            }
            figment = figment.merge(Layer::from_env_pairs(origin, pairs));
        }
        let names = sources.env.keys().map(String::as_str);
        warnings.extend(unknown_variables(names, "in the environment"));
        let env = sources.env.iter().map(|(k, v)| (k.clone(), v.clone()));
        figment = figment.merge(Layer::from_env_pairs(Origin::Environment, env));

        let mut config = HealthConfig::default();
        let mut given: BTreeMap<String, Given> = BTreeMap::new();
        let mut origins = Vec::with_capacity(settings().len());
        for setting in settings() {
            let Ok(value) = figment.find_value(&setting.toml_key()) else {
                origins.push(Origin::Default);
                continue;
            };
            let origin = Origin::of(figment.get_metadata(value.tag()));
            let text = given_text(setting, &value, &origin);
            let mut entry = Given { origin: origin.clone(), text, ok: true };
            if let Err(expected) = apply(setting, &value, &mut config) {
                problems.push(entry.problem(setting, expected));
                entry.ok = false;
            }
            origins.push(origin);
            given.insert(setting.toml_key(), entry);
        }
        problems.extend(check_rules(&config, &given));

        if problems.is_empty() {
            Ok(Loaded { config, warnings, origins })
        } else {
            Err(ConfigErrors { problems, warnings })
        }
    }
}

/// Parses `value` for `setting` into its field of `config`, or says what is allowed.
fn apply(setting: &Setting, value: &Value, config: &mut HealthConfig) -> Result<(), String> {
    let expected = || setting.expected();
    match &setting.field {
        Field::Bool(a) => *(a.get_mut)(config) = parse::boolean(value).ok_or_else(expected)?,
        Field::Port(a) => *(a.get_mut)(config) = parse::port(value).ok_or_else(expected)?,
        Field::Ip(a) => *(a.get_mut)(config) = parse::ip(value).ok_or_else(expected)?,
        Field::Seconds(a, minimum) => {
            let meets = |d: &Duration| match minimum {
                Minimum::AtLeast(secs) => *d >= Duration::from_secs(*secs),
                Minimum::AboveZero => !d.is_zero(),
            };
            *(a.get_mut)(config) = parse::seconds(value).filter(meets).ok_or_else(expected)?;
        }
        Field::Hosts(a) => {
            let hosts = parse::list(value).ok_or_else(expected)?;
            let bad: Vec<&str> =
                hosts.iter().map(String::as_str).filter(|h| !parse::is_host(h)).collect();
            if !bad.is_empty() {
                return Err(format!("{} (not valid: {})", expected(), bad.join(", ")));
            }
            *(a.get_mut)(config) = hosts;
        }
        Field::Secret(a) => *(a.get_mut)(config) = Some(parse::token(value).ok_or_else(expected)?),
        Field::Path(a) => {
            *(a.get_mut)(config) = parse::absolute_path(value).ok_or_else(expected)?;
        }
        Field::Paths(a) => {
            let items = parse::list(value).ok_or_else(expected)?;
            let paths: Option<Vec<_>> = items.iter().map(|p| parse::absolute_path_str(p)).collect();
            *(a.get_mut)(config) = paths.ok_or_else(expected)?;
        }
        Field::Vcgencmd(a) => *(a.get_mut)(config) = parse::vcgencmd(value).ok_or_else(expected)?,
        Field::Count(a, min, max) => {
            let n =
                parse::whole(value).filter(|n| (*min..=*max).contains(n)).ok_or_else(expected)?;
            *(a.get_mut)(config) = n;
        }
        Field::Bytes(a, min) => {
            *(a.get_mut)(config) = parse::bytes(value).filter(|n| n >= min).ok_or_else(expected)?;
        }
        Field::Url(a) => *(a.get_mut)(config) = parse::url(value).ok_or_else(expected)?,
        Field::OptionalUrl(a) => {
            *(a.get_mut)(config) = Some(parse::url(value).ok_or_else(expected)?);
        }
        Field::OptionalPath(a) => {
            *(a.get_mut)(config) = Some(parse::absolute_path(value).ok_or_else(expected)?);
        }
        Field::PingMethod(a) => {
            *(a.get_mut)(config) = parse::ping_method(value).ok_or_else(expected)?;
        }
        Field::SignedUrl(a) => {
            *(a.get_mut)(config) = Some(SignedUrl::new(parse::url(value).ok_or_else(expected)?));
        }
        Field::Factor(a, min) => {
            *(a.get_mut)(config) =
                parse::number(value).filter(|n| n >= min).ok_or_else(expected)?;
        }
        Field::Variant(a) => *(a.get_mut)(config) = parse::variant(value).ok_or_else(expected)?,
        Field::Program(a) => *(a.get_mut)(config) = parse::program(value).ok_or_else(expected)?,
        Field::ProcessName(a) => {
            *(a.get_mut)(config) = Some(parse::process_name(value).ok_or_else(expected)?);
        }
    }
    Ok(())
}

/// The rules between settings, checked only where every value involved parsed.
fn check_rules(config: &HealthConfig, given: &BTreeMap<String, Given>) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let setting = |key: &str| settings().iter().find(|s| s.toml_key() == key);
    let parsed = |key: &str| given.get(key).filter(|g| g.ok);

    // Work that must finish within its interval. Blame whichever of the two the user set.
    let within = [
        (
            "stream.ffprobe_timeout",
            config.stream.ffprobe_timeout,
            "stream.interval",
            config.stream.interval,
            "each probe must finish within one interval",
        ),
        (
            "network.speedtest_timeout",
            config.network.speedtest_timeout,
            "network.speedtest_interval",
            config.network.speedtest_interval,
            "a speed test must finish before the next may start",
        ),
        (
            "network.ping_timeout",
            config.network.ping_timeout * config.network.ping_count,
            "network.interval",
            config.network.interval,
            "a host's echo requests (count × timeout) must finish within one interval",
        ),
    ];
    for (short_key, short, long_key, long, why) in within {
        let keys = (setting(short_key), setting(long_key), parsed(short_key), parsed(long_key));
        let (Some(short_setting), Some(long_setting), Some(short_set), Some(long_set)) = keys
        else {
            continue;
        };
        if short < long {
            continue;
        }
        let secs = |d: Duration| d.as_secs_f64();
        if short_set.origin == Origin::Default && long_set.origin != Origin::Default {
            let other = long_set.origin.key_of(short_setting);
            let expected = format!("expected more than {other} ({} s): {why}", secs(short));
            problems.push(long_set.problem(long_setting, expected));
        } else {
            let other = short_set.origin.key_of(long_setting);
            let expected = format!("expected less than {other} ({} s): {why}", secs(long));
            problems.push(short_set.problem(short_setting, expected));
        }
    }

    // A network collector with nothing to ping measures nothing.
    let network = (
        setting("network.ping_hosts"),
        parsed("network.ping_hosts"),
        setting("network.enabled"),
        parsed("network.enabled"),
    );
    if let (Some(hosts), Some(hosts_set), Some(enabled), Some(_)) = network
        && config.network.enabled
        && config.network.ping_hosts.is_empty()
    {
        let toggle = hosts_set.origin.assignment(enabled, "false");
        let expected = format!(
            "expected at least one host while the network collector is enabled \
             (or turn it off with {toggle})"
        );
        problems.push(hosts_set.problem(hosts, expected));
    }
    problems
}

/// Warnings for unknown `HEALTH_*` names, with the nearest known one when it is a likely typo.
fn unknown_variables<'a>(names: impl Iterator<Item = &'a str>, place: &str) -> Vec<String> {
    let known = || settings().iter().map(Setting::env_name).chain([CONFIG_FILE_VAR.to_owned()]);
    names
        .filter(|name| name.starts_with(PREFIX) && *name != CONFIG_FILE_VAR)
        .filter(|name| keys::by_env_name(name).is_none())
        .map(|name| {
            let hint = keys::suggest(name, known())
                .map(|k| format!("; did you mean {k}?"))
                .unwrap_or_default();
            format!("unknown variable {name} {place} is ignored{hint}")
        })
        .collect()
}

/// Warns about unknown keys in this crate's TOML sections and drops sections that are not
/// tables (they would hide the defaults); other sections belong to the kiosk and are left be.
fn check_toml(
    path: &Path,
    mut dict: Dict,
    problems: &mut Vec<ConfigProblem>,
    warnings: &mut Vec<String>,
) -> Dict {
    let sections: Vec<String> =
        dict.keys().filter(|s| keys::is_known_section(s)).cloned().collect();
    for section in sections {
        let Some(Value::Dict(_, table)) = dict.get(&section) else {
            if let Some(value) = dict.remove(&section) {
                problems.push(ConfigProblem {
                    key: section.clone(),
                    value: Some(toml_text(&value)),
                    origin: Origin::File(path.to_path_buf()),
                    expected: format!("expected a table [{section}]"),
                });
            }
            continue;
        };
        let known = || settings().iter().filter(|s| s.section() == section).map(Setting::toml_key);
        for name in table.keys().filter(|k| keys::by_toml_key(&section, k).is_none()) {
            let key = format!("{section}.{name}");
            let hint = keys::suggest(&key, known())
                .map(|k| format!("; did you mean {k}?"))
                .unwrap_or_default();
            warnings.push(format!("unknown key {key} in {} is ignored{hint}", path.display()));
        }
    }
    dict
}

/// The value as the user wrote it in its layer, for messages; a secret never shows.
fn given_text(setting: &Setting, value: &Value, origin: &Origin) -> String {
    let text = match (setting.is_secret(), origin, value) {
        (true, _, _) => Secret::REDACTED.to_owned(),
        (false, Origin::File(_), _) => toml_text(value),
        (false, _, Value::String(_, s)) => s.clone(),
        (false, _, _) => toml_text(value),
    };
    if !setting.is_signed_url() {
        return text;
    }
    // The whole value is one URL, whatever its scheme; TOML shows it quoted.
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => format!("\"{}\"", health_core::redact::url(inner)),
        None => health_core::redact::url(&text),
    }
}

/// A figment value in TOML syntax: `"80a"`, `0`, `["a", "b"]`.
fn toml_text(value: &Value) -> String {
    let join = |items: Vec<String>| items.join(", ");
    match value {
        Value::String(_, s) => format!("{s:?}"),
        Value::Char(_, c) => format!("{:?}", c.to_string()),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => num_text(*n),
        Value::Empty(..) => String::new(),
        Value::Array(_, items) => format!("[{}]", join(items.iter().map(toml_text).collect())),
        Value::Dict(_, dict) => {
            let pairs = dict.iter().map(|(k, v)| format!("{k} = {}", toml_text(v))).collect();
            format!("{{ {} }}", join(pairs))
        }
    }
}

fn num_text(n: Num) -> String {
    if let Some(i) = n.to_i128() {
        i.to_string()
    } else if let Some(u) = n.to_u128() {
        u.to_string()
    } else {
        n.to_f64().map(|f| f.to_string()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
