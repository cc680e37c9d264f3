//! The status board as a table: every configured collector, its last run, and its error.
//!
//! The same records `/status` serves, for a person: how long ago, how long it took, and the
//! error in full sentences. Error messages come from collectors that quote what they read
//! (a child's stderr, an HTTP error), so each is passed through [`health_core::redact`] to drop
//! URL secrets, shortened, and escaped like every other text on the page.

use health_core::{CollectorStatus, RunResult};

use super::View;
use super::format::{self, Cell, Tone};
use super::html::Html;

/// At most this many characters of an error message are shown.
const MAX_ERROR_CHARS: usize = 300;

/// The table of collectors, or a note when none is configured.
pub(super) fn collectors(html: &mut Html, view: &View<'_>) {
    html.raw("<section class=\"wide\"><h2>Collectors</h2>");
    if view.board.is_empty() {
        html.raw("<p class=\"note\">not monitored: no collector is enabled</p></section>\n");
        return;
    }
    html.raw(
        "<table class=\"grid\"><tr><th>Collector</th><th>Last run</th><th>Result</th>\
         <th>Took</th><th>Every</th><th>Error</th></tr>",
    );
    for (name, status) in view.board {
        html.raw("<tr><th>").text(name).raw("</th>");
        for cell in cells(status, view.now) {
            html.raw("<td class=\"")
                .raw(cell.tone.class())
                .raw("\">")
                .text(&cell.text)
                .raw("</td>");
        }
        html.raw("</tr>");
    }
    html.raw("</table></section>\n");
}

/// Last run, result, duration, interval and error of one collector.
fn cells(status: &CollectorStatus, now: f64) -> [Cell; 5] {
    let last_run = status
        .last_run_timestamp_seconds
        .map_or_else(|| Cell::plain("not run yet"), |at| Cell::plain(format::ago(now, at)));
    let result = match status.last_result {
        None => Cell::missing(),
        Some(RunResult::Success) => Cell::new("ok", Tone::Good),
        Some(other) => Cell::new(other.as_str(), Tone::Bad),
    };
    let took = Cell::of(status.last_duration_seconds, format::duration);
    let every = Cell::plain(format::duration(status.interval_seconds));
    let error = status
        .last_error
        .as_deref()
        .map_or_else(Cell::missing, |e| Cell::new(shown_error(e), Tone::Bad));
    [last_run, result, took, every, error]
}

/// `error` without URL secrets, cut to [`MAX_ERROR_CHARS`] characters.
fn shown_error(error: &str) -> String {
    let redacted = health_core::redact::urls_in(error);
    match redacted.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &redacted[..cut]),
        None => redacted,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn errors_lose_url_secrets_and_are_cut_on_a_character_boundary() {
        let shown = shown_error("GET https://u:pw@cdn.example/live.m3u8?token=s3cret failed: 403");
        assert_eq!(shown, "GET https://cdn.example/live.m3u8 failed: 403");
        let long = "é".repeat(MAX_ERROR_CHARS + 5);
        let shown = shown_error(&long);
        assert_eq!(shown.chars().count(), MAX_ERROR_CHARS + 1);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn a_collector_that_never_ran_reads_as_not_run_yet() {
        let status: CollectorStatus = never_run();
        let [last_run, result, took, every, error] = cells(&status, 1e9);
        assert_eq!(last_run.text, "not run yet");
        assert_eq!((result, took, error), (Cell::missing(), Cell::missing(), Cell::missing()));
        assert_eq!(every.text, "5.0 s");
    }

    fn never_run() -> CollectorStatus {
        CollectorStatus {
            interval_seconds: 5.0,
            timeout_seconds: 4.0,
            last_run_timestamp_seconds: None,
            last_duration_seconds: None,
            last_result: None,
            last_error: None,
            last_success_timestamp_seconds: None,
            last_sample_count: None,
            last_notes: Vec::new(),
            runs: BTreeMap::new(),
        }
    }
}
