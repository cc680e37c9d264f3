//! How a figure reads on the page: short human units, and a tone saying whether it is fine.
//!
//! Every function takes the raw value as the metrics carry it (SI base units: seconds, bytes,
//! ratios) and returns plain text; a missing or non-finite value reads as [`MISSING`]. No
//! locale: a kiosk's page reads the same everywhere.

/// What a missing figure reads as.
pub(super) const MISSING: &str = "—";

/// Whether a figure is good news. Also the CSS class that colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    /// Fine.
    Good,
    /// Worth a look.
    Warn,
    /// Something is wrong.
    Bad,
    /// No judgement (or nothing to judge).
    Plain,
}

impl Tone {
    /// The CSS class.
    pub(super) const fn class(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Warn => "warn",
            Self::Bad => "bad",
            Self::Plain => "plain",
        }
    }
}

/// A figure as shown: its text and its tone.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cell {
    pub(super) text: String,
    pub(super) tone: Tone,
}

impl Cell {
    /// `text` in `tone`.
    pub(super) fn new(text: impl Into<String>, tone: Tone) -> Self {
        Self { text: text.into(), tone }
    }

    /// `text` without judgement.
    pub(super) fn plain(text: impl Into<String>) -> Self {
        Self::new(text, Tone::Plain)
    }

    /// "—".
    pub(super) fn missing() -> Self {
        Self::plain(MISSING)
    }

    /// The figure formatted by `format`, or "—" when missing.
    pub(super) fn of(value: Option<f64>, format: impl Fn(f64) -> String) -> Self {
        value.filter(|v| v.is_finite()).map_or_else(Self::missing, |v| Self::plain(format(v)))
    }

    /// This cell in another tone.
    pub(super) fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }
}

/// `51.5 °C`.
pub(super) fn celsius(value: f64) -> String {
    format!("{value:.1} °C")
}

/// `35 %` from a ratio.
pub(super) fn percent(ratio: f64) -> String {
    format!("{:.0} %", ratio * 100.0)
}

/// A duration: `850 µs`, `12.3 ms`, `4.2 s`, `5 min 3 s`, `2 h 5 min`, `3 d 4 h`.
pub(super) fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return MISSING.to_owned();
    }
    if seconds < 0.001 {
        return format!("{:.0} µs", seconds * 1e6);
    }
    if seconds < 1.0 {
        return format!("{:.1} ms", seconds * 1e3);
    }
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    // Whole seconds from here on; a float this size fits a u64 (clamped by the cast).
    let whole = seconds.round() as u64;
    let (days, hours, minutes, secs) =
        (whole / 86_400, whole / 3_600 % 24, whole / 60 % 60, whole % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes} min {secs} s"),
        (0, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

/// Seconds with one decimal, however short or long: `0.0 s`, `12.3 s` (a buffer's depth).
pub(super) fn seconds(value: f64) -> String {
    format!("{value:.1} s")
}

/// How long ago Unix time `at` was, seen at `now`: `12 s ago`, `5 min 3 s ago`; `never` for 0
/// (the metrics' "not yet"); `just now` under a second, or when the clock went back in between.
pub(super) fn ago(now: f64, at: f64) -> String {
    if at <= 0.0 {
        return "never".to_owned();
    }
    match now - at {
        age if age < 1.0 => "just now".to_owned(),
        age if age < 60.0 => format!("{age:.0} s ago"),
        age => format!("{} ago", duration(age)),
    }
}

/// `4.2 Mbit/s` from bytes per second.
pub(super) fn bits_per_second(bytes_per_second: f64) -> String {
    let bits = bytes_per_second * 8.0;
    if bits >= 1e9 {
        format!("{:.2} Gbit/s", bits / 1e9)
    } else if bits >= 1e6 {
        format!("{:.1} Mbit/s", bits / 1e6)
    } else {
        format!("{:.0} kbit/s", bits / 1e3)
    }
}

/// `1.5 GiB`.
pub(super) fn bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = value;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// A count: `0`, `12`.
pub(super) fn count(value: f64) -> String {
    format!("{value:.0}")
}

/// A plain ratio with two decimals: `0.42`.
pub(super) fn ratio(value: f64) -> String {
    format!("{value:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_as_people_say_them() {
        assert_eq!(celsius(51.45), "51.5 °C");
        assert_eq!(percent(0.354), "35 %");
        assert_eq!(duration(0.000_25), "250 µs");
        assert_eq!(duration(0.0123), "12.3 ms");
        assert_eq!(duration(4.21), "4.2 s");
        assert_eq!(duration(303.0), "5 min 3 s");
        assert_eq!(duration(7_500.0), "2 h 5 min");
        assert_eq!(duration(273_600.0), "3 d 4 h");
        assert_eq!(duration(f64::NAN), MISSING);
        assert_eq!(duration(-1.0), MISSING);
        assert_eq!(seconds(0.0), "0.0 s");
        assert_eq!(seconds(12.34), "12.3 s");
        assert_eq!(ago(100.0, 88.0), "12 s ago");
        assert_eq!(ago(100.0, 99.5), "just now");
        assert_eq!(ago(400.0, 97.0), "5 min 3 s ago");
        assert_eq!(ago(100.0, 0.0), "never");
        assert_eq!(ago(100.0, 130.0), "just now");
        assert_eq!(bits_per_second(625_000.0), "5.0 Mbit/s");
        assert_eq!(bits_per_second(2e8), "1.60 Gbit/s");
        assert_eq!(bits_per_second(1_000.0), "8 kbit/s");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.5 GiB");
        assert_eq!(count(3.0), "3");
        assert_eq!(ratio(0.4234), "0.42");
    }

    #[test]
    fn cells_show_missing_figures_as_a_dash() {
        assert_eq!(Cell::of(None, celsius), Cell::missing());
        assert_eq!(Cell::of(Some(f64::INFINITY), celsius).text, MISSING);
        assert_eq!(
            Cell::of(Some(40.0), celsius).tone(Tone::Good),
            Cell::new("40.0 °C", Tone::Good)
        );
    }
}
