//! [`KioskConfig::load`]: merge the layers, resolve old names, parse every setting, check the
//! rules between settings, and say where each value came from.
//!
//! Nothing stops at the first problem: every setting is parsed and every rule checked, so one
//! run of `--check-config` lists everything to fix. Names that look meant for the kiosk but are
//! not known only warn; old names and ignored ones get a note. `HEALTH_*` names and TOML tables
//! other than `[kiosk]` are the health exporter's and are not looked at.

use std::path::PathBuf;
use std::time::Duration;

use config_layers::{Findings, Layers, Origin, toml_text};
use figment::value::Value;

use super::keys::{self, Field, IGNORED, Setting, settings};
use super::{KioskConfig, KioskConfigErrors, KioskProblem, KioskSources, Subject, image, parse};
use crate::vimeo::Token;

/// A valid configuration, with what `--check-config` shows about it.
#[derive(Debug, Clone)]
pub struct LoadedKiosk {
    /// The settings.
    pub config: KioskConfig,
    /// Things that look wrong but do not stop the kiosk: unknown names that look like kiosk
    /// ones, TOML keys outside `[kiosk]`, an `http://` API URL.
    pub warnings: Vec<String>,
    /// Things worth knowing: an old name in use, an ignored name.
    pub notes: Vec<String>,
    /// Where each setting's value came from, in [`settings()`] order.
    used: Vec<Used>,
}

/// Where a setting's value came from, and under which old name if any.
#[derive(Debug, Clone)]
struct Used {
    origin: Origin,
    alias: Option<&'static str>,
}

impl LoadedKiosk {
    /// Where the setting with this name got its value.
    pub fn origin(&self, name: &str) -> Option<&Origin> {
        let index = settings().iter().position(|s| s.name() == name)?;
        self.used.get(index).map(|u| &u.origin)
    }

    /// The effective configuration for `vimeo-monitor --check-config`: one line per setting in
    /// environment syntax with where it came from, the token redacted, e.g.
    /// `CHECK_INTERVAL=5  # environment` or `HOLDING_IMAGE=/x.png  # .env (/k/.env) as
    /// STATIC_IMAGE_PATH`.
    pub fn describe_effective(&self) -> String {
        let mut out = String::new();
        for (setting, used) in settings().iter().zip(&self.used) {
            let name = setting.name();
            let origin = match used.alias {
                Some(alias) => format!("{} as {}", used.origin, keys::key_in(&used.origin, alias)),
                None => used.origin.to_string(),
            };
            match setting.value_in(&self.config) {
                Some(value) => out.push_str(&format!("{name}={value}  # {origin}\n")),
                None => out.push_str(&format!("# {name} is not set  # {origin}\n")),
            }
        }
        out
    }
}

/// A value found for one name in the merged layers.
struct Found {
    /// The name it was found under (environment spelling): the setting's, or its old name.
    name: &'static str,
    origin: Origin,
    value: Value,
}

impl Found {
    /// The highest layer's value for `name`, if any sets it.
    fn lookup(layers: &Layers, name: &'static str) -> Option<Self> {
        let config_layers::Found { origin, value } = layers.find(&keys::toml_key_of(name))?;
        Some(Self { name, origin, value })
    }

    /// The name as the user wrote it in its layer.
    fn key(&self) -> String {
        keys::key_in(&self.origin, self.name)
    }

    /// The value as the user wrote it in its layer, for messages; the token never shows, and a
    /// URL shows without its user name, password, query string and fragment.
    fn text(&self, setting: &Setting) -> String {
        let text = config_layers::written(&self.value, &self.origin, setting.is_secret());
        if !setting.is_url() {
            return text;
        }
        // TOML shows it quoted.
        match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) => format!("\"{}\"", health_core::redact::url(inner)),
            None => health_core::redact::url(&text),
        }
    }

    fn is_empty(&self) -> bool {
        self.value.as_str().is_some_and(|s| s.trim().is_empty())
    }

    fn problem(&self, setting: &Setting, message: String) -> KioskProblem {
        KioskProblem::value(self.key(), self.text(setting), self.origin.clone(), message)
    }
}

/// How loading one setting went, for the rules between settings.
enum State {
    Default,
    Given(Found),
    Failed,
}

impl KioskConfig {
    /// Loads defaults < TOML file < `.env` < environment from `sources`, and validates,
    /// including that both images exist and are images.
    pub fn load(sources: &KioskSources) -> Result<LoadedKiosk, KioskConfigErrors> {
        let (file, dotenv) = (sources.file.as_deref(), sources.dotenv.as_deref());
        let (layers, Findings { mut problems, mut warnings }) =
            Layers::read::<Self>(file, dotenv, &sources.env);
        let mut notes = Vec::new();

        for (name, why) in IGNORED {
            if let Some(found) = Found::lookup(&layers, name) {
                let (key, place) = (found.key(), found.origin.place());
                notes.push(format!("{key} {place} is not needed: {why}; it is ignored"));
            }
        }

        let mut config =
            KioskConfig::new("", Token::new(String::new()), PathBuf::new(), PathBuf::new());
        let mut used = Vec::with_capacity(settings().len());
        let mut states = Vec::with_capacity(settings().len());
        for setting in settings() {
            let state = load_one(&layers, setting, &mut config, &mut problems, &mut notes);
            used.push(match &state {
                State::Given(found) => Used {
                    origin: found.origin.clone(),
                    alias: (found.name != setting.name()).then_some(found.name),
                },
                State::Default | State::Failed => Used { origin: Origin::Default, alias: None },
            });
            states.push(state);
        }
        problems.extend(apply_rules(&mut config, &states));
        warnings.extend(insecure_api_url(&config, &states));

        if problems.is_empty() {
            Ok(LoadedKiosk { config, warnings, notes, used })
        } else {
            Err(KioskConfigErrors { problems, warnings, notes })
        }
    }
}

/// Finds `setting` under its name or its old name, and parses it into `config`.
fn load_one(
    layers: &Layers,
    setting: &'static Setting,
    config: &mut KioskConfig,
    problems: &mut Vec<KioskProblem>,
    notes: &mut Vec<String>,
) -> State {
    let current = Found::lookup(layers, setting.name());
    let old = setting.alias().and_then(|alias| Found::lookup(layers, alias));
    let found = match (current, old) {
        (None, None) => {
            let Some(hint) = setting.required_hint() else { return State::Default };
            let subject = Subject::Missing { key: setting.name().to_owned(), empty_in: None };
            problems.push(KioskProblem { subject, message: hint.to_owned() });
            return State::Failed;
        }
        (Some(current), None) => current,
        (None, Some(old)) => {
            let (key, place, new) =
                (old.key(), old.origin.place(), keys::key_in(&old.origin, setting.name()));
            notes.push(format!("{key} {place} is the old name of {new}: rename it to {new}"));
            old
        }
        (Some(current), Some(old)) => {
            let (key, place, new) = (old.key(), old.origin.place(), current.key());
            if !same_value(&current.value, &old.value) {
                let other = current.origin.sourced_assignment(&new, &current.text(setting));
                let message = format!(
                    "conflicts with {other}; {key} is the old name of {new}: keep only {new}"
                );
                problems.push(old.problem(setting, message));
                return State::Failed;
            }
            notes.push(format!(
                "{key} {place} repeats {new}, of which it is the old name: remove it"
            ));
            current
        }
    };
    if found.is_empty() {
        if let Some(hint) = setting.required_hint() {
            let subject = Subject::Missing { key: found.key(), empty_in: Some(found.origin) };
            problems.push(KioskProblem { subject, message: hint.to_owned() });
            return State::Failed;
        }
        if setting.empty_is_unset() {
            return State::Given(found);
        }
    }
    match apply(setting, &found.value, config) {
        Ok(()) => State::Given(found),
        Err(message) => {
            problems.push(found.problem(setting, message));
            State::Failed
        }
    }
}

/// Whether an old name and the current one say the same.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => a.trim() == b.trim(),
        _ => toml_text(a) == toml_text(b),
    }
}

/// Parses `value` for `setting` into its field of `config`, or says what is wrong.
fn apply(setting: &Setting, value: &Value, config: &mut KioskConfig) -> Result<(), String> {
    let expected = || setting.expected();
    if let Some(kind) = config_layers::wrong_kind(value, setting.kinds()) {
        let allowed = expected();
        return Err(format!("{kind}: {}", allowed.strip_prefix("expected ").unwrap_or(&allowed)));
    }
    match &setting.field {
        Field::Token(a) => *(a.get_mut)(config) = parse::token(value).ok_or_else(expected)?,
        Field::EventId(a) => *(a.get_mut)(config) = parse::event_id(value).ok_or_else(expected)?,
        Field::Url(a) => *(a.get_mut)(config) = parse::url(value).ok_or_else(expected)?,
        Field::Seconds(a, minimum) => {
            let meets = |d: &Duration| minimum.admits(*d);
            *(a.get_mut)(config) = parse::seconds(value).filter(meets).ok_or_else(expected)?;
        }
        Field::Count(a, min, max) => {
            let in_range = |n: &u32| (*min..=*max).contains(n);
            *(a.get_mut)(config) = parse::whole(value).filter(in_range).ok_or_else(expected)?;
        }
        Field::Image(a) => {
            let path = parse::absolute_path(value).ok_or_else(expected)?;
            image::check(&path)?;
            *(a.get_mut)(config) = path;
        }
        Field::Player(a) => *(a.get_mut)(config) = parse::player(value).ok_or_else(expected)?,
        Field::Args(a) => {
            *(a.get_mut)(config) = parse::args(value).map_err(|error| match error {
                Some(error) => format!("cannot split it into options: {error}"),
                None => expected(),
            })?;
        }
        Field::LogLevel(a) => {
            *(a.get_mut)(config) = parse::log_level(value).ok_or_else(expected)?;
        }
        Field::LogFile(a) => {
            *(a.get_mut)(config) = Some(parse::file_path(value).ok_or_else(expected)?);
        }
        Field::LogFormat(a) => {
            *(a.get_mut)(config) = parse::log_format(value).ok_or_else(expected)?;
        }
        Field::Dir(a) => {
            *(a.get_mut)(config) = Some(parse::absolute_path(value).ok_or_else(expected)?);
        }
    }
    Ok(())
}

/// The state of the setting `name`.
fn state<'a>(states: &'a [State], name: &str) -> Option<(&'static Setting, &'a State)> {
    let index = settings().iter().position(|s| s.name() == name)?;
    Some((&settings()[index], states.get(index)?))
}

/// The rules between settings, checked only where every value involved parsed.
fn apply_rules(config: &mut KioskConfig, states: &[State]) -> Vec<KioskProblem> {
    let mut problems = Vec::new();
    // Checks run one after another: a request allowed to outlast the interval would stretch
    // it, and the screen would follow the event later than CHECK_INTERVAL promises. The default
    // timeout shrinks to a shorter interval; a timeout the user set is checked.
    let (timeout, interval) = (config.vimeo.api_timeout, config.vimeo.check_interval);
    let pair = (state(states, "API_TIMEOUT"), state(states, "CHECK_INTERVAL"));
    if let (Some((timeout_setting, State::Given(set))), Some((interval_setting, interval_state))) =
        pair
    {
        if timeout > interval && !matches!(interval_state, State::Failed) {
            let other = keys::key_in(&set.origin, interval_setting.name());
            let why = "one API request must not outlast the time between checks";
            let message = format!("expected at most {other} ({} s): {why}", interval.as_secs_f64());
            problems.push(set.problem(timeout_setting, message));
        }
    } else if matches!(pair.0, Some((_, State::Default))) {
        config.vimeo.api_timeout = timeout.min(interval);
    }
    problems
}

/// A warning when the token would be sent over plain HTTP.
fn insecure_api_url(config: &KioskConfig, states: &[State]) -> Option<String> {
    let (_, State::Given(found)) = state(states, "VIMEO_API_URL")? else { return None };
    let url = &config.vimeo.api_url;
    url.starts_with("http://").then(|| {
        format!(
            "{} {} is http://, so VIMEO_TOKEN travels unencrypted: use it only for a local test \
             server",
            found.key(),
            found.origin.place()
        )
    })
}

#[cfg(test)]
mod tests;
