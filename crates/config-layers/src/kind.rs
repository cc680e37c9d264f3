//! [`Kind`]: the kinds of TOML value a setting takes, so that a value of another kind is
//! refused with the kind expected (`expected a string, not a number`), before the setting's own
//! parser says what it would have accepted.
//!
//! Values from `.env` and the environment are always text, which every setting takes: only the
//! TOML file can give a wrong kind.

use figment::value::Value;

use crate::toml_datetime;

/// A kind of TOML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `"text"`.
    String,
    /// `10`, `2.5`.
    Number,
    /// `true`, `false`.
    Boolean,
    /// `["a", "b"]`.
    Array,
}

impl Kind {
    /// The kind in a message: `a string`.
    pub fn words(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Number => "a number",
            Self::Boolean => "a boolean",
            Self::Array => "an array of strings",
        }
    }

    /// The kind of `value`, if it is one a setting can take.
    fn of(value: &Value) -> Option<Self> {
        match value {
            Value::String(..) | Value::Char(..) => Some(Self::String),
            Value::Num(..) => Some(Self::Number),
            Value::Bool(..) => Some(Self::Boolean),
            Value::Array(..) => Some(Self::Array),
            Value::Dict(..) | Value::Empty(..) => None,
        }
    }
}

/// What `value` is, in a message: `a number`, `a date`, `a table`.
pub fn kind_words(value: &Value) -> &'static str {
    if toml_datetime(value).is_some() {
        return "a date";
    }
    match (Kind::of(value), value) {
        (Some(kind), _) => kind.words(),
        (None, Value::Dict(..)) => "a table",
        (None, _) => "nothing",
    }
}

/// `expected a string, not a number` when `value` is of none of the kinds `accepted` (the
/// first of which is the one to name); `None` when it is of one of them.
pub fn wrong_kind(value: &Value, accepted: &[Kind]) -> Option<String> {
    let kind = Kind::of(value);
    if kind.is_some_and(|k| accepted.contains(&k)) {
        return None;
    }
    let expected = accepted.first().map_or("another kind", |k| k.words());
    Some(format!("expected {expected}, not {}", kind_words(value)))
}

#[cfg(test)]
mod tests {
    use figment::providers::{Format, Toml};
    use figment::value::Dict;

    use super::*;

    /// The value of `key` in a one-line TOML document.
    fn toml(value: &str) -> Value {
        let dict: Dict = Toml::from_str(&format!("key = {value}")).expect("TOML");
        dict.get("key").cloned().expect("key")
    }

    #[test]
    fn a_value_of_another_kind_names_the_kind_expected() {
        use Kind::{Array, Boolean, Number, String};
        let cases: [(&str, &[Kind], Option<&str>); 9] = [
            ("\"x\"", &[String], None),
            ("42", &[String], Some("expected a string, not a number")),
            ("true", &[String], Some("expected a string, not a boolean")),
            ("1979-05-27", &[String], Some("expected a string, not a date")),
            ("{ a = 1 }", &[String], Some("expected a string, not a table")),
            ("[\"a\"]", &[Number, String], Some("expected a number, not an array of strings")),
            ("\"9100\"", &[Number, String], None),
            ("1", &[Boolean, Number, String], None),
            ("\"a\"", &[Array, String], None),
        ];
        for (value, accepted, expected) in cases {
            assert_eq!(wrong_kind(&toml(value), accepted).as_deref(), expected, "{value}");
        }
        assert_eq!(
            wrong_kind(&toml("2.5"), &[Boolean]).as_deref(),
            Some("expected a boolean, not a number")
        );
    }
}
