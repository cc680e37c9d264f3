//! Values as the user wrote them, for messages: [`written`] and [`toml_text`].
//!
//! A problem quotes the value in the syntax of its layer (`PORT=80a` from the environment,
//! `port = "80a"` from the TOML file), so the user finds it where they wrote it. Secrets are
//! replaced by [`REDACTED`] here, before any message is built.

use figment::value::{Num, Value};

use crate::Origin;

/// What a secret shows as, everywhere.
pub const REDACTED: &str = "<redacted>";

/// `value`, from `origin`, as its layer writes it: TOML syntax from the file, the text itself
/// from `.env` and the environment, [`REDACTED`] for a secret.
pub fn written(value: &Value, origin: &Origin, secret: bool) -> String {
    match (origin, value) {
        _ if secret => REDACTED.to_owned(),
        (Origin::File(_), value) => toml_text(value),
        (_, Value::String(_, s)) => s.clone(),
        (_, value) => toml_text(value),
    }
}

/// The longest value a message quotes, in characters; a longer one is cut, ending in `…`.
pub const MAX_QUOTED: usize = 200;

/// `text` as a message quotes it: at most [`MAX_QUOTED`] characters, `…` where it was cut (a
/// pasted file or certificate would otherwise bury the message).
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The key under which figment (through `toml`) keeps a TOML date or time: a one-entry table
/// holding its text.
const TOML_DATETIME: &str = "$__toml_private_datetime";

/// The text of a TOML date or time (`1979-05-27`), which figment holds as a table.
pub fn toml_datetime(value: &Value) -> Option<&str> {
    match value {
        Value::Dict(_, dict) if dict.len() == 1 => dict.get(TOML_DATETIME)?.as_str(),
        _ => None,
    }
}

/// A figment value in TOML syntax: `"80a"`, `0`, `["a", "b"]`, `1979-05-27`.
pub fn toml_text(value: &Value) -> String {
    let join = |items: Vec<String>| items.join(", ");
    if let Some(datetime) = toml_datetime(value) {
        return datetime.to_owned();
    }
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
mod tests {
    use std::path::PathBuf;

    use figment::providers::{Format, Toml};

    use super::*;

    #[test]
    fn values_show_in_the_syntax_of_their_layer() {
        let file = Origin::File(PathBuf::from("/x/health.toml"));
        assert_eq!(written(&Value::from("80a"), &file, false), "\"80a\"");
        assert_eq!(written(&Value::from("80a"), &Origin::Environment, false), "80a");
        assert_eq!(written(&Value::from(0), &Origin::Environment, false), "0");
        assert_eq!(written(&Value::from("hunter2"), &Origin::Environment, true), "<redacted>");
        assert_eq!(written(&Value::from("hunter2"), &file, true), "<redacted>");
    }

    #[test]
    fn toml_text_of_every_kind() {
        assert_eq!(toml_text(&Value::from(vec!["a", "b"])), "[\"a\", \"b\"]");
        assert_eq!(toml_text(&Value::from(true)), "true");
        assert_eq!(toml_text(&Value::from(-3)), "-3");
        assert_eq!(toml_text(&Value::from(2.5)), "2.5");
        assert_eq!(toml_text(&Value::from('x')), "\"x\"");
    }

    #[test]
    fn toml_dates_show_as_written() {
        for date in
            ["1979-05-27", "1979-05-27T07:32:00Z", "07:32:00", "1979-05-27T00:32:00.5-07:00"]
        {
            let text = format!("[kiosk]\nwhen = {date}\n");
            let dict: figment::value::Dict = Toml::from_str(&text).expect("TOML");
            let kiosk = dict.get("kiosk").and_then(|k| k.as_dict()).expect("[kiosk]");
            let when = kiosk.get("when").expect("when");
            assert_eq!(toml_text(when), date, "{when:?}");
            assert_eq!(toml_datetime(when), Some(date));
        }
        assert_eq!(toml_datetime(&Value::from("1979-05-27")), None);
    }

    #[test]
    fn long_values_are_cut() {
        assert_eq!(cut("short"), "short");
        let exact = "x".repeat(MAX_QUOTED);
        assert_eq!(cut(&exact), exact);
        let long = "é".repeat(MAX_QUOTED + 1);
        assert_eq!(cut(&long), format!("{}…", "é".repeat(MAX_QUOTED)));
    }
}
