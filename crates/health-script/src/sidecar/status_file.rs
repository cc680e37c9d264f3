//! The status file: a small JSON document any kiosk script can write (`HEALTH_SCRIPT_STATUS_FILE`),
//! read and mapped onto the metrics the in-process handle publishes.
//!
//! The format is documented in `docs/script-status-file.md`. In short: version 1, every field
//! optional, unknown fields ignored (a newer script may say more), but a known field with a value
//! outside its enumeration or range rejects the whole document, so that a typo shows up as a
//! problem rather than as a silently missing series. A document's age is taken from its `updated`
//! field, else from the file's modification time.
//!
//! The counters in it are the script's own and start again at zero when it restarts; they are
//! summed into totals that never go back (a change of `started`, or a count that fell, is a new
//! script).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use health_core::{MetricDesc, Unit};
use serde::{Deserialize, Deserializer};

use crate::monotonic::Monotonic;
use crate::report::{PlayerReport, Report, label_value};
use crate::states::{ApiResult, Display, Labelled, PlayerState, RestartReason, StreamState};

pub(crate) const AGE: MetricDesc = MetricDesc::gauge(
    "script_status_file_age_seconds",
    Unit::Seconds,
    "Seconds since the kiosk script last wrote its status file (its `updated` field, else the \
     file's modification time).",
);

/// The version of the format this reader understands.
pub(crate) const VERSION: u64 = 1;

/// A status file is a few hundred bytes; a larger one is not a status file.
const MAX_BYTES: u64 = 64 * 1024;

/// What reading the file gave.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// The file does not exist.
    Missing,
    /// It exists but cannot be read.
    Failed(String),
    /// Its bytes and its modification time.
    Loaded(Vec<u8>, Option<SystemTime>),
}

/// Reads the file (blocking).
pub(crate) fn read(path: &Path) -> Fetched {
    let open = std::fs::File::open(path);
    let mut file = match open {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Fetched::Missing,
        Err(e) => return Fetched::Failed(format!("cannot read: {e}")),
    };
    let modified = file.metadata().and_then(|m| m.modified()).ok();
    let mut bytes = Vec::new();
    if let Err(e) = file.by_ref().take(MAX_BYTES + 1).read_to_end(&mut bytes) {
        return Fetched::Failed(format!("cannot read: {e}"));
    }
    if bytes.len() as u64 > MAX_BYTES {
        return Fetched::Failed(format!("larger than {} KiB: not a status file", MAX_BYTES / 1024));
    }
    Fetched::Loaded(bytes, modified)
}

/// The document as written; validated into [`Status`].
#[derive(Deserialize)]
struct Document {
    version: Option<u64>,
    updated: Option<f64>,
    check_interval: Option<f64>,
    started: Option<f64>,
    stream_state: Option<String>,
    stream_live_since: Option<f64>,
    display: Option<String>,
    player_state: Option<String>,
    api: Option<Api>,
    player: Option<Player>,
}

#[derive(Deserialize, Default)]
struct Api {
    requests: Option<BTreeMap<String, u64>>,
    consecutive_errors: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    last_success: Option<Option<f64>>,
    rate_limit_remaining: Option<u64>,
}

#[derive(Deserialize, Default)]
struct Player {
    restarts: Option<BTreeMap<String, u64>>,
    stalls: Option<u64>,
    dropped_frames: Option<u64>,
    cache_seconds: Option<f64>,
    name: Option<String>,
    hwdec: Option<String>,
}

/// Tells `"field": null` (`Some(None)`) from a missing field (`None`, by `default`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(deserializer).map(Some)
}

/// A valid status document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Status {
    /// Unix seconds it was written.
    pub(crate) updated: f64,
    pub(crate) check_interval: Option<Duration>,
    started: Option<f64>,
    pub(crate) stream_state: Option<StreamState>,
    stream_live_since: Option<f64>,
    pub(crate) display: Option<Display>,
    player_state: Option<PlayerState>,
    api_requests: Option<[u64; 7]>,
    consecutive_errors: Option<u64>,
    last_success: Option<Option<f64>>,
    rate_limit_remaining: Option<u64>,
    restarts: Option<[u64; 4]>,
    stalls: Option<u64>,
    dropped_frames: Option<u64>,
    cache_seconds: Option<f64>,
    info: Option<(String, String)>,
}

/// Parses and validates a document; `modified` stands in for a missing `updated`.
pub(crate) fn parse(bytes: &[u8], modified: Option<SystemTime>) -> Result<Status, String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err("not valid: expected a JSON object `{...}`".to_owned());
    }
    let doc: Document = serde_json::from_slice(bytes).map_err(|e| format!("not valid: {e}"))?;
    let version = doc.version.unwrap_or(VERSION);
    if version != VERSION {
        return Err(format!("version {version} is not supported (this reader knows {VERSION})"));
    }
    let unix = |at: SystemTime| at.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs_f64());
    let updated = match doc.updated {
        Some(at) => Some(timestamp("updated", at)?),
        None => modified.and_then(unix),
    }
    .ok_or("no `updated` field and no modification time")?;
    let check_interval = match doc.check_interval {
        Some(secs) if secs.is_finite() && secs > 0.0 => Some(Duration::from_secs_f64(secs)),
        Some(secs) => return Err(format!("`check_interval`: {secs} is not a number of seconds")),
        None => None,
    };
    let api = doc.api.unwrap_or_default();
    let player = doc.player.unwrap_or_default();
    let non_negative = |field: &str, value: Option<f64>| match value {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        Some(v) => Err(format!("`{field}`: {v} is not a number of seconds")),
        None => Ok(None),
    };
    Ok(Status {
        updated,
        check_interval,
        started: doc.started.map(|at| timestamp("started", at)).transpose()?,
        stream_state: label::<StreamState>("stream_state", doc.stream_state.as_deref())?,
        stream_live_since: doc
            .stream_live_since
            .map(|at| timestamp("stream_live_since", at))
            .transpose()?,
        display: label::<Display>("display", doc.display.as_deref())?,
        player_state: label::<PlayerState>("player_state", doc.player_state.as_deref())?,
        api_requests: totals::<ApiResult, 7>("api.requests", api.requests)?,
        consecutive_errors: api.consecutive_errors,
        last_success: match api.last_success {
            Some(Some(at)) => Some(Some(timestamp("api.last_success", at)?)),
            other => other,
        },
        rate_limit_remaining: api.rate_limit_remaining,
        restarts: totals::<RestartReason, 4>("player.restarts", player.restarts)?,
        stalls: player.stalls,
        dropped_frames: player.dropped_frames,
        cache_seconds: non_negative("player.cache_seconds", player.cache_seconds)?,
        info: player.name.map(|name| {
            (label_value(&name), label_value(player.hwdec.as_deref().unwrap_or_default()))
        }),
    })
}

/// Unix seconds: finite and not before 1970.
fn timestamp(field: &str, at: f64) -> Result<f64, String> {
    if at.is_finite() && at >= 0.0 {
        Ok(at)
    } else {
        Err(format!("`{field}`: {at} is not a Unix time in seconds"))
    }
}

/// One of an enumeration's labels, or unset.
fn label<T: Labelled>(field: &str, given: Option<&str>) -> Result<Option<T>, String> {
    let Some(given) = given else { return Ok(None) };
    match T::from_label(given) {
        Some(value) => Ok(Some(value)),
        None => Err(format!("`{field}`: `{}` is not one of {}", shown(given), T::allowed())),
    }
}

/// Counts by label into an array in the enumeration's order; missing labels count 0.
fn totals<T: Labelled, const N: usize>(
    field: &str,
    given: Option<BTreeMap<String, u64>>,
) -> Result<Option<[u64; N]>, String> {
    let Some(given) = given else { return Ok(None) };
    let mut counts = [0; N];
    for (key, count) in given {
        let Some(value) = T::from_label(&key) else {
            return Err(format!("`{field}`: `{}` is not one of {}", shown(&key), T::allowed()));
        };
        counts[value.index()] = count;
    }
    Ok(Some(counts))
}

/// A bounded, printable excerpt of text from the file, for messages.
fn shown(text: &str) -> String {
    text.chars().take(40).map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// The script's counters summed over its restarts.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    started: Option<f64>,
    api_requests: [Monotonic; 7],
    restarts: [Monotonic; 4],
    stalls: Monotonic,
    dropped_frames: Monotonic,
}

impl Counters {
    fn each(&mut self) -> impl Iterator<Item = &mut Monotonic> {
        self.api_requests
            .iter_mut()
            .chain(self.restarts.iter_mut())
            .chain([&mut self.stalls, &mut self.dropped_frames])
    }
}

impl Status {
    /// Seconds since it was written, as of `now` (Unix seconds); a clock that went back since
    /// counts as 0.
    pub(crate) fn age(&self, now: f64) -> f64 {
        (now - self.updated).max(0.0)
    }

    /// Whether the screen shows what the stream state calls for; `false` when either is unsaid.
    pub(crate) fn shows_what_it_should(&self) -> bool {
        matches!((self.stream_state, self.display), (Some(s), Some(d)) if s.expected_display() == d)
    }

    /// Its figures as of `now` (Unix seconds), its counters summed into `counters`. `healthy`
    /// and the sidecar's own figures are the caller's.
    pub(crate) fn report(&self, counters: &mut Counters, now: f64) -> Report {
        if self.started.is_some() && self.started != counters.started {
            if counters.started.is_some() {
                counters.each().for_each(Monotonic::restart);
            }
            counters.started = self.started;
        }
        let since = |at: f64| (now - at).max(0.0);
        Report {
            healthy: None,
            uptime_seconds: self.started.map(since),
            api_requests: sum(self.api_requests, &mut counters.api_requests),
            api_durations: None,
            api_consecutive_errors: self.consecutive_errors,
            api_last_success: self.last_success.map(|at| at.unwrap_or(0.0)),
            api_rate_limit_remaining: self.rate_limit_remaining,
            stream_state: self.stream_state,
            stream_uptime_seconds: match self.stream_state {
                Some(StreamState::Live) => self.stream_live_since.map(since),
                Some(_) => Some(0.0),
                None => None,
            },
            player_state: self.player_state,
            player_restarts: sum(self.restarts, &mut counters.restarts),
            player_stalls: self.stalls.map(|c| counters.stalls.observe(c)),
            player: self.player_report(counters),
            player_info: self.info.clone(),
            screen: None,
        }
    }
}

impl Status {
    /// The player's figures a status file can carry; `None` when it carries none of them.
    fn player_report(&self, counters: &mut Counters) -> Option<PlayerReport> {
        let report = PlayerReport {
            // A status file has one count: what mpv's frame-drop-count says.
            frames_dropped: [self.dropped_frames.map(|c| counters.dropped_frames.observe(c)), None],
            buffer_seconds: self.cache_seconds,
            hwdec: self.info.as_ref().map(|(_, hwdec)| hwdec.clone()),
            ..PlayerReport::default()
        };
        (report != PlayerReport::default()).then_some(report)
    }
}

/// This document's counts per label, summed into `totals`.
fn sum<const N: usize>(counts: Option<[u64; N]>, totals: &mut [Monotonic; N]) -> Option<[u64; N]> {
    let counts = counts?;
    Some(std::array::from_fn(|i| totals[i].observe(counts[i])))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{
        "version": 1,
        "updated": 1767225600.5,
        "check_interval": 30,
        "started": 1767220000,
        "stream_state": "live",
        "stream_live_since": 1767225000,
        "display": "stream",
        "player_state": "playing",
        "api": {
            "requests": {"live": 10, "network_error": 2},
            "consecutive_errors": 0,
            "last_success": 1767225590,
            "rate_limit_remaining": null
        },
        "player": {
            "restarts": {"exited": 1},
            "stalls": 0,
            "dropped_frames": 3,
            "cache_seconds": 4.2,
            "name": "mpv",
            "hwdec": "v4l2m2m-copy"
        },
        "a_field_from_a_newer_script": {"ignored": true}
    }"#;

    fn parsed(text: &str) -> Status {
        parse(text.as_bytes(), None).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn a_full_document_maps_onto_the_handle_metrics() {
        let status = parsed(FULL);
        assert_eq!(status.check_interval, Some(Duration::from_secs(30)));
        assert!(status.shows_what_it_should());
        let now = 1_767_225_610.5;
        assert_eq!(status.age(now), 10.0);
        let report = status.report(&mut Counters::default(), now);
        assert_eq!(report.uptime_seconds, Some(5610.5));
        assert_eq!(report.stream_uptime_seconds, Some(610.5));
        assert_eq!(report.api_requests, Some([10, 0, 0, 0, 0, 2, 0]));
        assert_eq!(report.api_last_success, Some(1_767_225_590.0));
        assert_eq!(report.api_rate_limit_remaining, None);
        assert_eq!(report.player_restarts, Some([1, 0, 0, 0]));
        let player = report.player.clone().unwrap();
        assert_eq!(player.frames_dropped, [Some(3), None]);
        assert_eq!(player.buffer_seconds, Some(4.2));
        assert_eq!(player.hwdec.as_deref(), Some("v4l2m2m-copy"));
        assert_eq!(report.player_info, Some(("mpv".into(), "v4l2m2m-copy".into())));
        assert_eq!(report.player_state, Some(PlayerState::Playing));
        assert_eq!(report.api_durations, None, "a file cannot carry single observations");
    }

    #[test]
    fn an_empty_document_is_valid_and_says_nothing_but_its_age() {
        let written = UNIX_EPOCH + Duration::from_secs(1000);
        let status = parse(b"{}", Some(written)).unwrap();
        assert_eq!(status.updated, 1000.0, "the modification time stands in for `updated`");
        assert!(!status.shows_what_it_should(), "no stream state, no display: cannot tell");
        let report = status.report(&mut Counters::default(), 1000.0);
        assert_eq!(report, Report::default());
        let never =
            parsed(r#"{"updated": 5, "api": {"last_success": null}, "stream_state": "error"}"#);
        let report = never.report(&mut Counters::default(), 5.0);
        assert_eq!(report.api_last_success, Some(0.0), "null: never; absent: not said");
        assert_eq!(report.stream_uptime_seconds, Some(0.0), "not live");
    }

    #[test]
    fn invalid_documents_are_rejected_with_the_field_and_what_is_allowed() {
        let cases = [
            ("", "not valid: EOF while parsing"),
            ("[1, 2]", "not valid: expected a JSON object"),
            ("\"live\"", "not valid: expected a JSON object"),
            (
                r#"{"updated": 1, "display": 3}"#,
                "not valid: invalid type: integer `3`, expected a string",
            ),
            (r#"{"updated": 1, "version": 2}"#, "version 2 is not supported"),
            (
                r#"{"updated": 1, "stream_state": "LIVE"}"#,
                "`stream_state`: `LIVE` is not one of live, offline, error",
            ),
            (
                r#"{"updated": 1, "display": "black"}"#,
                "`display`: `black` is not one of stream, holding, error, nothing",
            ),
            (
                r#"{"updated": 1, "player_state": "paused"}"#,
                "is not one of starting, playing, buffering, idle, restarting, stopped",
            ),
            (
                r#"{"updated": 1, "api": {"requests": {"timeout": 1}}}"#,
                "`api.requests`: `timeout` is not one of live, offline, rate_limited",
            ),
            (
                r#"{"updated": 1, "player": {"restarts": {"crashed": 1}}}"#,
                "`player.restarts`: `crashed` is not one of exited, hung, stalled, failed",
            ),
            (
                r#"{"updated": 1, "player": {"stalls": -1}}"#,
                "not valid: invalid value: integer `-1`",
            ),
            (
                r#"{"updated": 1, "player": {"cache_seconds": -0.5}}"#,
                "`player.cache_seconds`: -0.5 is not a number of seconds",
            ),
            (r#"{"updated": -3}"#, "`updated`: -3 is not a Unix time"),
            (
                r#"{"updated": 1, "check_interval": 0}"#,
                "`check_interval`: 0 is not a number of seconds",
            ),
            (r#"{"stream_state": "live"}"#, "no `updated` field and no modification time"),
        ];
        for (text, expected) in cases {
            let error = parse(text.as_bytes(), None).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
        let long = format!(r#"{{"updated": 1, "display": "{}"}}"#, "x".repeat(500));
        assert!(parse(long.as_bytes(), None).unwrap_err().len() < 200, "quotes are bounded");
    }

    #[test]
    fn counters_add_up_over_script_restarts() {
        let doc = |started: u64, live: u64, stalls: u64| {
            parsed(&format!(
                r#"{{"updated": 1, "started": {started}, "api": {{"requests": {{"live": {live}}}}},
                    "player": {{"stalls": {stalls}}}}}"#
            ))
        };
        let mut counters = Counters::default();
        let mut totals = |status: Status| {
            let report = status.report(&mut counters, 1.0);
            (report.api_requests.unwrap()[0], report.player_stalls.unwrap())
        };
        assert_eq!(totals(doc(100, 5, 1)), (5, 1));
        assert_eq!(totals(doc(100, 8, 1)), (8, 1));
        // Restarted (a new `started`), and already past the old counts.
        assert_eq!(totals(doc(200, 9, 2)), (17, 3));
        // A count that falls without a new `started` is a restart too.
        assert_eq!(totals(doc(200, 1, 2)), (18, 3));
    }

    #[test]
    fn reading_missing_large_and_present_files() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("status.json");
        assert!(matches!(read(&path), Fetched::Missing));
        std::fs::write(&path, vec![b' '; 70 * 1024]).unwrap();
        assert!(matches!(read(&path), Fetched::Failed(why) if why.contains("larger than 64 KiB")));
        std::fs::write(&path, FULL).unwrap();
        let Fetched::Loaded(bytes, modified) = read(&path) else { panic!("not loaded") };
        assert_eq!(bytes, FULL.as_bytes());
        assert!(modified.is_some());
        assert!(matches!(read(dir.path()), Fetched::Failed(_)), "a directory is not a file");
    }
}
