//! The status board as a table: every collector, its last run and its error, or why it is off.
//!
//! The same records `/status` serves, for a person: how long ago, how long it took, and the
//! error in full sentences. Error messages come from collectors that quote what they read
//! (a child's stderr, an HTTP error), so each is passed through [`health_core::redact`] to drop
//! URL secrets, shortened, and escaped like every other text on the page. Every collector this
//! crate knows ([`COLLECTORS`]) has a row, so one that is off says what it would watch and how to
//! turn it on; collectors of the embedding program's own follow.

use std::collections::BTreeMap;

use health_core::{CollectorStatus, RunResult};

use super::View;
use super::format::{self, Cell, Tone};
use super::html::Html;
use crate::collectors::{COLLECTORS, CollectorEntry};

/// At most this many characters of an error message are shown.
const MAX_ERROR_CHARS: usize = 300;

/// The table of collectors, after a note when none is configured.
pub(super) fn collectors(html: &mut Html, view: &View<'_>) {
    html.raw("<section class=\"wide\"><h2>Collectors</h2>");
    if view.board.is_empty() {
        html.raw("<p class=\"note\">not monitored: no collector is enabled</p>");
    }
    html.raw("<table class=\"grid\">");
    if !view.board.is_empty() {
        html.raw(
            "<tr><th>Collector</th><th>Last run</th><th>Result</th>\
             <th>Took</th><th>Every</th><th>Error</th></tr>",
        );
    }
    for row in rows(view.board) {
        match row {
            Row::Ran(name, status) => {
                html.raw("<tr><th>").text(name).raw("</th>");
                for cell in cells(status, view.now) {
                    html.raw("<td class=\"")
                        .raw(cell.tone.class())
                        .raw("\">")
                        .text(&cell.text)
                        .raw("</td>");
                }
            }
            Row::Off(name, why) => {
                html.raw("<tr><th>")
                    .text(name)
                    .raw("</th><td class=\"plain\" colspan=\"5\">")
                    .text(why)
                    .raw("</td>");
            }
        }
        html.raw("</tr>");
    }
    html.raw("</table></section>\n");
}

/// One row of the table.
#[derive(Debug, PartialEq)]
enum Row<'a> {
    /// A configured collector, by its `collector` label, and its record.
    Ran(&'a str, &'a CollectorStatus),
    /// A collector of this crate that is not running, and why.
    Off(&'static str, String),
}

/// The rows, in [`COLLECTORS`]' order, then the board's other collectors by name.
fn rows(board: &BTreeMap<String, CollectorStatus>) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    for entry in COLLECTORS {
        let running: Vec<Row<'_>> = entry
            .runs()
            .iter()
            .filter_map(|run| board.get_key_value(run.name))
            .map(|(name, status)| Row::Ran(name, status))
            .collect();
        if running.is_empty() {
            rows.push(Row::Off(entry.name, why_off(entry)));
        }
        rows.extend(running);
    }
    let known = |name: &str| COLLECTORS.iter().any(|e| e.runs().iter().any(|r| r.name == name));
    rows.extend(
        board.iter().filter(|(name, _)| !known(name)).map(|(name, status)| Row::Ran(name, status)),
    );
    rows
}

/// What the collector would watch, and what would turn it on.
fn why_off(entry: &CollectorEntry) -> String {
    let state = if entry.compiled.is_none() { "not in this build" } else { "off" };
    format!("{state} ({}): {}", entry.description, entry.turn_on())
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

    #[test]
    fn with_nothing_running_each_collector_says_how_to_turn_it_on() {
        let board = BTreeMap::new();
        let rows = rows(&board);
        let names: Vec<&str> = rows
            .iter()
            .map(|row| match row {
                Row::Off(name, _) => *name,
                Row::Ran(name, _) => panic!("{name} did not run"),
            })
            .collect();
        assert_eq!(names, ["hardware", "network", "stream", "script", "push", "remote_write"]);
        let why = |name: &str| {
            rows.iter().find_map(|row| match row {
                Row::Off(off, why) if *off == name => Some(why.clone()),
                _ => None,
            })
        };
        let network = if cfg!(feature = "network") {
            "off (reachability and round trip of the ping hosts, interfaces, Wi-Fi, the speed \
             test): set HEALTH_NETWORK_ENABLED=true"
        } else {
            "not in this build (reachability and round trip of the ping hosts, interfaces, Wi-Fi, \
             the speed test): build health-server with `--features network`"
        };
        assert_eq!(why("network").as_deref(), Some(network));
        let push = "off (pushes these metrics to a Pushgateway, for kiosks Prometheus cannot \
                    reach): set HEALTH_PUSHGATEWAY_URL";
        assert_eq!(why("push").as_deref(), Some(push));
        let remote_write = "off (sends these metrics with Prometheus remote-write, for fleets \
                            beyond one Prometheus): set HEALTH_REMOTE_WRITE_URL";
        assert_eq!(why("remote_write").as_deref(), Some(remote_write));
        if cfg!(feature = "script") {
            let script = why("script").unwrap();
            assert!(script.ends_with("or set HEALTH_SCRIPT_PIDFILE, HEALTH_SCRIPT_PROCESS_NAME or HEALTH_SCRIPT_STATUS_FILE"), "{script}");
        }
    }

    #[cfg(all(feature = "system", feature = "stream"))]
    #[test]
    fn running_collectors_keep_the_table_order_and_others_follow_by_name() {
        let status = never_run();
        let board: BTreeMap<String, CollectorStatus> =
            ["acme_doors", "stream_playlist", "hardware", "stream", "aardvark"]
                .map(|name| (name.to_owned(), status.clone()))
                .into_iter()
                .collect();
        let shown: Vec<(&str, bool)> = rows(&board)
            .iter()
            .map(|row| match row {
                Row::Ran(name, _) => (*name, true),
                Row::Off(name, _) => (*name, false),
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("hardware", true),
                ("network", false),
                ("stream", true),
                ("stream_playlist", true),
                ("script", false),
                ("push", false),
                ("remote_write", false),
                ("aardvark", true),
                ("acme_doors", true),
            ]
        );
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
