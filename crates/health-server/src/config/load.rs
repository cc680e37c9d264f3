//! [`HealthConfig::load`]: merge the layers, parse every setting, check the rules between
//! settings, and say where each value came from.
//!
//! Nothing stops at the first problem: every setting is parsed and every rule checked, so one
//! run of `--check-config` lists everything to fix. Unknown names only warn, because a typo
//! should not take monitoring down, but it should be visible.

use std::collections::BTreeMap;
use std::time::Duration;

use config_layers::{ConfigErrors, ConfigProblem, Findings, Found, Layers, Origin};
use figment::value::Value;

use super::keys::{Field, Setting, settings};
use super::parse;
use super::{ConfigSources, HealthConfig, SignedUrl};

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
        let key = setting.key_in(&self.origin);
        ConfigProblem::value(key, self.text.clone(), self.origin.clone(), expected)
    }
}

impl HealthConfig {
    /// Loads defaults < TOML file < `.env` < environment from `sources`, and validates.
    pub fn load(sources: &ConfigSources) -> Result<Loaded, ConfigErrors> {
        let (file, dotenv) = (sources.file.as_deref(), sources.dotenv.as_deref());
        let (layers, Findings { mut problems, warnings }) =
            Layers::read::<Self>(file, dotenv, &sources.env);

        let mut config = HealthConfig::default();
        let mut given: BTreeMap<String, Given> = BTreeMap::new();
        let mut origins = Vec::with_capacity(settings().len());
        for setting in settings() {
            let Some(found) = layers.find(&setting.toml_key()) else {
                origins.push(Origin::Default);
                continue;
            };
            let text = given_text(setting, &found);
            let mut entry = Given { origin: found.origin.clone(), text, ok: true };
            if let Err(expected) = apply(setting, &found.value, &mut config) {
                problems.push(entry.problem(setting, expected));
                entry.ok = false;
            }
            origins.push(found.origin);
            given.insert(setting.toml_key(), entry);
        }
        problems.extend(check_rules(&config, &given));

        if problems.is_empty() {
            Ok(Loaded { config, warnings, origins })
        } else {
            Err(ConfigErrors { problems, warnings, notes: Vec::new() })
        }
    }
}

/// Parses `value` for `setting` into its field of `config`, or says what is allowed.
fn apply(setting: &Setting, value: &Value, config: &mut HealthConfig) -> Result<(), String> {
    let expected = || setting.expected();
    if let Some(kind) = config_layers::wrong_kind(value, setting.kinds()) {
        let allowed = expected();
        return Err(format!("{kind}: {}", allowed.strip_prefix("expected ").unwrap_or(&allowed)));
    }
    match &setting.field {
        Field::Bool(a) => *(a.get_mut)(config) = parse::boolean(value).ok_or_else(expected)?,
        Field::Port(a) => *(a.get_mut)(config) = parse::port(value).ok_or_else(expected)?,
        Field::Ip(a) => *(a.get_mut)(config) = parse::ip(value).ok_or_else(expected)?,
        Field::Seconds(a, minimum) => {
            let meets = |d: &Duration| minimum.admits(*d);
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
        Field::Tool(a) => *(a.get_mut)(config) = parse::tool(value).ok_or_else(expected)?,
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
        Field::LabelValue(a) => {
            *(a.get_mut)(config) = Some(parse::label_value(value).ok_or_else(expected)?);
        }
        Field::Urls(a) => {
            let urls = parse::urls(value).map_err(|problem| match problem {
                parse::UrlsProblem::Credentials => "expected URLs without credentials: put them \
                     in the auth settings (HEALTH_REMOTE_WRITE_USERNAME and _PASSWORD, or \
                     _BEARER_TOKEN), which are never shown"
                    .to_owned(),
                parse::UrlsProblem::Invalid(bad) if !bad.is_empty() => {
                    format!("{} (not valid: {})", expected(), bad.join(", "))
                }
                parse::UrlsProblem::Invalid(_) => expected(),
            })?;
            *(a.get_mut)(config) = urls.into_iter().map(SignedUrl::new).collect();
        }
        Field::Labels(a) => *(a.get_mut)(config) = parse::labels(value).ok_or_else(expected)?,
        Field::Username(a) => {
            *(a.get_mut)(config) = Some(parse::username(value).ok_or_else(expected)?);
        }
        Field::Password(a) => {
            *(a.get_mut)(config) = Some(parse::password(value).ok_or_else(expected)?);
        }
        Field::SecretFile(a, token) => {
            *(a.get_mut)(config) = Some(parse::secret_file(value, *token)?);
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
            let other = short_setting.key_in(&long_set.origin);
            let expected = format!("expected more than {other} ({} s): {why}", secs(short));
            problems.push(long_set.problem(long_setting, expected));
        } else {
            let other = long_setting.key_in(&short_set.origin);
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
        let toggle = hosts_set.origin.assignment(&enabled.key_in(&hosts_set.origin), "false");
        let expected = format!(
            "expected at least one host while the network collector is enabled \
             (or turn it off with {toggle})"
        );
        problems.push(hosts_set.problem(hosts, expected));
    }
    problems.extend(remote_write_auth_rules(given));
    problems
}

/// Remote-write credentials: a value or its file, not both; a bearer token or basic
/// authentication, not both; a user and a password together.
fn remote_write_auth_rules(given: &BTreeMap<String, Given>) -> Vec<ConfigProblem> {
    const TOKEN: &str = "remote_write.bearer_token";
    const TOKEN_FILE: &str = "remote_write.bearer_token_file";
    const USER: &str = "remote_write.username";
    const PASSWORD: &str = "remote_write.password";
    const PASSWORD_FILE: &str = "remote_write.password_file";
    let mut problems = Vec::new();
    let set = |key: &str| given.get(key).filter(|g| g.ok);
    for (value, file) in [(TOKEN, TOKEN_FILE), (PASSWORD, PASSWORD_FILE)] {
        if set(value).is_some() && set(file).is_some() {
            problems.extend(blame_setting(given, file, |name| {
                format!("expected only one of {} and {}", name(value), name(file))
            }));
        }
    }
    let bearer = [TOKEN, TOKEN_FILE].into_iter().find(|k| set(k).is_some());
    let basic = [USER, PASSWORD, PASSWORD_FILE].into_iter().find(|k| set(k).is_some());
    if let (Some(bearer), Some(_)) = (bearer, basic) {
        problems.extend(blame_setting(given, bearer, |name| {
            format!(
                "expected either a bearer token or basic authentication ({} with {}), not both",
                name(USER),
                name(PASSWORD)
            )
        }));
    } else if set(USER).is_some()
        && basic.is_some()
        && set(PASSWORD).or(set(PASSWORD_FILE)).is_none()
    {
        problems.extend(blame_setting(given, USER, |name| {
            format!(
                "expected a password with it: set {} or {}",
                name(PASSWORD),
                name(PASSWORD_FILE)
            )
        }));
    } else if set(USER).is_none() && basic.is_some() {
        let key = basic.unwrap_or(PASSWORD);
        problems.extend(blame_setting(given, key, |name| {
            format!("expected {} with it: basic authentication needs a user", name(USER))
        }));
    }
    problems
}

/// The problem with the setting at `key` (when it was given and parsed): `why` words what is
/// expected, naming other settings as the user's layer writes them.
fn blame_setting(
    given: &BTreeMap<String, Given>,
    key: &str,
    why: impl Fn(&dyn Fn(&str) -> String) -> String,
) -> Option<ConfigProblem> {
    let setting = |key: &str| settings().iter().find(|s| s.toml_key() == key);
    let (entry, blamed) = (given.get(key).filter(|g| g.ok)?, setting(key)?);
    let name = |other: &str| setting(other).map(|o| o.key_in(&entry.origin)).unwrap_or_default();
    Some(entry.problem(blamed, why(&name)))
}

/// The value as the user wrote it in its layer, for messages; a secret never shows.
fn given_text(setting: &Setting, found: &Found) -> String {
    let text = config_layers::written(&found.value, &found.origin, setting.is_secret());
    if !setting.is_signed_url() {
        return text;
    }
    if matches!(setting.field, Field::Urls(_)) {
        // Several URLs: each without credentials or query string, whatever the layer.
        let parts: Vec<String> = text
            .split(',')
            .map(|part| {
                let trimmed = part.trim().trim_matches(|c| matches!(c, '"' | '[' | ']'));
                health_core::redact::url(trimmed)
            })
            .collect();
        return parts.join(",");
    }
    // The whole value is one URL, whatever its scheme; TOML shows it quoted.
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => format!("\"{}\"", health_core::redact::url(inner)),
        None => health_core::redact::url(&text),
    }
}

#[cfg(test)]
mod tests;
