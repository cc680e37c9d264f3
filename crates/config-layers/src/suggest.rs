//! [`suggest`]: the known name an unknown one most likely misspells.
//!
//! An unknown name only warns (a typo must not take a kiosk down), so the warning is worth most
//! when it names the setting that was meant. How far a guess may be is the caller's: a short
//! name allows fewer edits, or `PAGER` would be taken for `PLAYER`.

/// The known name closest to `given` (Damerau-Levenshtein, ignoring ASCII case), if it is at
/// most `max_edits(known)` edits away; the first of equally close ones.
pub fn suggest<K: AsRef<str>>(
    given: &str,
    known: impl IntoIterator<Item = K>,
    max_edits: impl Fn(&str) -> usize,
) -> Option<K> {
    let given = given.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(&given, &k.as_ref().to_ascii_lowercase()), k))
        .filter(|(distance, k)| *distance <= max_edits(k.as_ref()))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 3] = ["HEALTH_METRICS_PORT", "HEALTH_METRICS_HOST", "PLAYER"];

    #[test]
    fn near_misses_in_any_case_find_their_name() {
        assert_eq!(suggest("HEALTH_METRICS_PROT", KNOWN, |_| 3), Some("HEALTH_METRICS_PORT"));
        assert_eq!(suggest("health_metrics_host", KNOWN, |_| 0), Some("HEALTH_METRICS_HOST"));
        assert_eq!(suggest("PLAYERS", KNOWN, |_| 1), Some("PLAYER"));
    }

    #[test]
    fn the_caller_decides_how_far_is_too_far() {
        assert_eq!(suggest("PAGER", KNOWN, |_| 2), Some("PLAYER"));
        assert_eq!(suggest("PAGER", KNOWN, |k| (k.len() / 4).min(2)), None);
        assert_eq!(suggest("HEALTH_KIOSK_PLAYER", KNOWN, |_| 3), None);
    }

    #[test]
    fn the_first_of_equally_close_names_wins() {
        let owned = ["ab".to_owned(), "ac".to_owned()];
        assert_eq!(suggest("aa", owned, |_| 1).as_deref(), Some("ab"));
    }
}
