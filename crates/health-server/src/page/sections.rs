//! The page's sections about the kiosk and its surroundings: screen, board, network, stream.
//!
//! Each section belongs to one or two collectors. When none of them is configured the section
//! says "not monitored" and which setting turns it on; when they have not finished a run yet it
//! says so; otherwise it shows a table in which every figure the last run did not give reads as
//! "—". A section never fails: the worst a missing or odd figure can do is show a dash.

use super::format::{self, Cell, Tone};
use super::html::Html;
use super::{View, names, picture, sparkline};
use crate::collectors::{self, CollectorEntry};
use crate::history::{Figure, WINDOW};

/// How far a section's collectors have got.
enum Coverage {
    /// None of them is configured.
    Off,
    /// Configured, but none has finished a run.
    Waiting,
    /// At least one has finished a run.
    Ran,
}

fn coverage(view: &View<'_>, entry: &CollectorEntry) -> Coverage {
    let statuses: Vec<_> = entry.runs().iter().filter_map(|run| view.board.get(run.name)).collect();
    if statuses.is_empty() {
        Coverage::Off
    } else if statuses.iter().all(|s| s.last_result.is_none()) {
        Coverage::Waiting
    } else {
        Coverage::Ran
    }
}

/// Opens the section on what the collector `name` (its row in [`COLLECTORS`](crate::collectors))
/// gathers; returns whether to write its table (`false`: it was closed with a note).
fn open(html: &mut Html, view: &View<'_>, title: &'static str, name: &str) -> bool {
    let entry = collectors::entry(name);
    html.raw("<section><h2>").raw(title).raw("</h2>");
    match coverage(view, entry) {
        Coverage::Off => {
            html.raw("<p class=\"note\">not monitored: ")
                .text(entry.turn_on())
                .raw("</p></section>\n");
            false
        }
        Coverage::Waiting => {
            html.raw("<p class=\"note\">waiting for the first run</p></section>\n");
            false
        }
        Coverage::Ran => {
            html.raw("<table>");
            true
        }
    }
}

fn close(html: &mut Html) {
    html.raw("</table></section>\n");
}

/// One `label: value` row.
pub(super) fn row(html: &mut Html, label: &'static str, cell: &Cell) {
    html.raw("<tr><th>").raw(label).raw("</th>");
    value(html, cell);
    html.raw("</tr>");
}

/// One `<td>` in the cell's tone.
fn value(html: &mut Html, cell: &Cell) {
    html.raw("<td class=\"").raw(cell.tone.class()).raw("\">").text(&cell.text).raw("</td>");
}

/// A `label` row for the last hour: `figure`'s sparkline and its range in `unit`, drawn to a
/// vertical scale of at least `min_span`; no row while the history holds no point of it.
pub(super) fn spark(
    html: &mut Html,
    view: &View<'_>,
    label: &'static str,
    figure: Figure,
    unit: fn(f64) -> String,
    min_span: f64,
) {
    let points = view.points(figure);
    let Some((low, high)) = sparkline::range(points) else { return };
    let range = if low == high { unit(low) } else { format!("{} to {}", unit(low), unit(high)) };
    let d = sparkline::path(points, view.now - WINDOW, view.now, min_span);
    html.raw("<tr class=\"spark\"><th>")
        .raw(label)
        .raw("</th><td><svg class=\"spark\" width=\"")
        .text(sparkline::WIDTH)
        .raw("\" height=\"")
        .text(sparkline::HEIGHT)
        .raw("\" viewBox=\"0 0 ")
        .text(sparkline::WIDTH)
        .raw(" ")
        .text(sparkline::HEIGHT)
        .raw("\" role=\"img\" aria-label=\"")
        .text(&range)
        .raw(
            "\"><rect width=\"100%\" height=\"100%\" fill=\"currentColor\" \
             fill-opacity=\"0.07\"/><path d=\"",
        )
        .text(d)
        .raw(
            "\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" \
             stroke-linecap=\"round\" stroke-linejoin=\"round\"/></svg> <span>",
        )
        .text(range)
        .raw("</span></td></tr>");
}

/// What the screen should show, what the player does, and whether they agree.
pub(super) fn screen(html: &mut Html, view: &View<'_>) {
    if !open(html, view, "Screen", "script") {
        return;
    }
    picture::thumbnail(html, view);
    let s = view.samples;
    let stream_state = s.current(names::STREAM_STATE, "state");
    let should = match stream_state {
        Some("live") => Cell::plain("the live stream (the event is live)"),
        Some("offline") => Cell::plain("the holding image (the event is offline)"),
        Some("error") => Cell::new("the error image (the Vimeo API fails)", Tone::Bad),
        Some(other) => Cell::plain(other),
        None => Cell::missing(),
    };
    row(html, "Should show", &should);
    let player = match s.current(names::PLAYER_STATE, "state") {
        Some(state @ "playing") => Cell::new(state, Tone::Good),
        Some(state @ ("starting" | "buffering")) => Cell::new(state, Tone::Warn),
        Some(state @ ("stopped" | "restarting")) => Cell::new(state, Tone::Bad),
        Some(state) => Cell::plain(state),
        None => Cell::missing(),
    };
    row(html, "Player", &player);
    let matches = match s.flag(names::SCRIPT_HEALTHY) {
        Some(true) => Cell::new("yes", Tone::Good),
        Some(false) => Cell::new("no (or the kiosk's main loop is late)", Tone::Bad),
        None => Cell::missing(),
    };
    row(html, "Screen shows it", &matches);
    if let Some(up) = s.flag(names::SCRIPT_PROCESS_UP) {
        let cell =
            if up { Cell::new("running", Tone::Good) } else { Cell::new("not running", Tone::Bad) };
        row(html, "Kiosk process", &cell);
    }
    if stream_state == Some("live") {
        row(html, "Live for", &Cell::of(s.value(names::STREAM_UPTIME_SECONDS), format::duration));
    }
    picture::picture(html, view);
    picture::playback(html, view);
    let errors = s.value(names::API_CONSECUTIVE_ERRORS);
    let last_answer = s.value(names::API_LAST_SUCCESS_TIMESTAMP_SECONDS).filter(|at| *at > 0.0);
    let api = match (errors, last_answer) {
        (None, _) => Cell::missing(),
        (Some(errors), last) if errors >= 1.0 => Cell::new(
            format!(
                "{} failed requests in a row; last answer {}",
                format::count(errors),
                last.map_or_else(|| "never".to_owned(), |at| format::ago(view.now, at))
            ),
            Tone::Bad,
        ),
        (Some(_), Some(at)) => {
            Cell::new(format!("answering; last answer {}", format::ago(view.now, at)), Tone::Good)
        }
        (Some(_), None) => Cell::plain("no answer yet"),
    };
    row(html, "Vimeo API", &api);
    let restarts = s.sum(names::PLAYER_RESTARTS_TOTAL);
    let tone = if restarts.unwrap_or(0.0) > 0.0 { Tone::Warn } else { Tone::Plain };
    row(html, "Player restarts", &Cell::of(restarts, format::count).tone(tone));
    row(html, "Kiosk up for", &Cell::of(s.value(names::UPTIME_SECONDS), format::duration));
    close(html);
}

/// The board: SoC temperature, throttling, CPU and memory.
pub(super) fn board(html: &mut Html, view: &View<'_>) {
    if !open(html, view, "Raspberry Pi", "hardware") {
        return;
    }
    let s = view.samples;
    let model = s
        .current(names::PI_INFO, "model")
        .map_or_else(|| Cell::plain("— (not a Raspberry Pi?)"), Cell::plain);
    row(html, "Board", &model);
    let temperature = s.value(names::CPU_TEMPERATURE_CELSIUS);
    let tone = match temperature {
        Some(t) if t >= 80.0 => Tone::Bad,
        Some(t) if t >= 70.0 => Tone::Warn,
        Some(_) => Tone::Good,
        None => Tone::Plain,
    };
    row(html, "SoC temperature", &Cell::of(temperature, format::celsius).tone(tone));
    spark(html, view, "last hour", Figure::Temperature, format::celsius, 2.0);
    row(html, "Throttling now", &throttling(view, "now", Tone::Bad));
    row(html, "Since boot", &throttling(view, "since_boot", Tone::Warn));
    let cpu = Cell::of(s.value(names::CPU_USAGE_RATIO), format::percent);
    let cpu = match s.value(names::LOAD1) {
        Some(load) if cpu.text != format::MISSING => {
            Cell::plain(format!("{}, load {load:.2}", cpu.text))
        }
        _ => cpu,
    };
    row(html, "CPU", &cpu);
    spark(html, view, "last hour", Figure::Cpu, format::percent, 0.1);
    let memory = match (s.value(names::MEMORY_AVAILABLE_BYTES), s.value(names::MEMORY_TOTAL_BYTES))
    {
        (Some(available), Some(total)) => {
            let tone =
                if total > 0.0 && available / total < 0.1 { Tone::Warn } else { Tone::Plain };
            Cell::new(
                format!("{} free of {}", format::bytes(available), format::bytes(total)),
                tone,
            )
        }
        (available, _) => Cell::of(available, |v| format!("{} free", format::bytes(v))),
    };
    row(html, "Memory", &memory);
    close(html);
}

/// The firmware's throttling flags in `scope`: the conditions set, in `set_tone`; "none" in
/// green; "—" when the board does not say.
fn throttling(view: &View<'_>, scope: &str, set_tone: Tone) -> Cell {
    let flags: Vec<_> = view
        .samples
        .series(names::PI_THROTTLED)
        .iter()
        .filter(|f| f.label("scope") == Some(scope))
        .collect();
    if flags.is_empty() {
        return Cell::missing();
    }
    // In the firmware's bit order, whatever order the exposition listed them in.
    let mut set: Vec<(usize, &str)> = flags
        .iter()
        .filter(|f| f.value == 1.0)
        .filter_map(|f| f.label("condition"))
        .map(|condition| match condition {
            "under_voltage" => (0, "under-voltage"),
            "arm_frequency_capped" => (1, "ARM frequency capped"),
            "throttled" => (2, "throttled"),
            "soft_temperature_limit" => (3, "soft temperature limit"),
            other => (4, other),
        })
        .collect();
    set.sort_unstable();
    let set: Vec<&str> = set.into_iter().map(|(_, name)| name).collect();
    if set.is_empty() { Cell::new("none", Tone::Good) } else { Cell::new(set.join(", "), set_tone) }
}

/// Ping hosts, Wi-Fi and the last speed test.
pub(super) fn network(html: &mut Html, view: &View<'_>) {
    if !open(html, view, "Network", "network") {
        return;
    }
    let s = view.samples;
    let mut hosts: Vec<_> = s
        .series(names::NETWORK_UP)
        .iter()
        .filter_map(|h| Some((h.label("host")?, h.value)))
        .collect();
    hosts.sort_by(|a, b| a.0.cmp(b.0));
    if hosts.is_empty() {
        row(html, "Hosts", &Cell::plain("no ping host configured (HEALTH_NETWORK_PING_HOSTS)"));
    }
    for (host, up) in hosts {
        let rtt = s.value_with(names::NETWORK_RTT_SECONDS, "host", host);
        let loss = s.value_with(names::NETWORK_PACKET_LOSS_RATIO, "host", host);
        let mut text = if up == 1.0 { "up".to_owned() } else { "down".to_owned() };
        if let Some(rtt) = rtt.filter(|v| v.is_finite()) {
            text.push_str(&format!(", {} round trip", format::duration(rtt)));
        }
        if let Some(loss) = loss.filter(|v| v.is_finite() && *v > 0.0) {
            text.push_str(&format!(", {} lost", format::percent(loss)));
        }
        let tone = match (up == 1.0, loss.unwrap_or(0.0) > 0.0) {
            (false, _) => Tone::Bad,
            (true, true) => Tone::Warn,
            (true, false) => Tone::Good,
        };
        html.raw("<tr><th>").text(health_core::redact::url(host)).raw("</th>");
        value(html, &Cell::new(text, tone));
        html.raw("</tr>");
    }
    spark(html, view, "Round trip, last hour", Figure::Rtt, format::duration, 0.005);
    for wifi in s.series(names::NETWORK_WIFI_SIGNAL_DBM) {
        let tone = if wifi.value < -75.0 { Tone::Warn } else { Tone::Plain };
        let interface = wifi.label("interface").unwrap_or(format::MISSING);
        row(html, "Wi-Fi signal", &Cell::new(format!("{:.0} dBm ({interface})", wifi.value), tone));
    }
    let speedtest = if s.series(names::NETWORK_SPEEDTEST_RUNS_TOTAL).is_empty() {
        Cell::plain("off (HEALTH_NETWORK_SPEEDTEST_ENABLED)")
    } else {
        match s.value(names::NETWORK_DOWNLOAD_BYTES_PER_SECOND) {
            Some(down) => {
                let mut text = format!("{} down", format::bits_per_second(down));
                if let Some(up) = s.value(names::NETWORK_UPLOAD_BYTES_PER_SECOND) {
                    text.push_str(&format!(", {} up", format::bits_per_second(up)));
                }
                if let Some(at) = s.value(names::NETWORK_SPEEDTEST_LAST_SUCCESS_TIMESTAMP_SECONDS) {
                    text.push_str(&format!("; {}", format::ago(view.now, at)));
                }
                Cell::plain(text)
            }
            None => Cell::plain("no successful test yet"),
        }
    };
    let speedtest = if s.value(names::NETWORK_SPEEDTEST_POSTPONED) == Some(1.0) {
        Cell::plain(format!("{}; skipped while the stream plays", speedtest.text))
    } else {
        speedtest
    };
    row(html, "Speed test", &speedtest);
    close(html);
}

/// The watched stream: readable, advancing, bitrate, and whether this link keeps up.
pub(super) fn stream(html: &mut Html, view: &View<'_>) {
    if !open(html, view, "Stream", "stream") {
        return;
    }
    let s = view.samples;
    let readable = match s.flag(names::STREAM_AVAILABLE) {
        Some(true) => Cell::new("yes", Tone::Good),
        Some(false) => Cell::new("no (or no stream is live)", Tone::Warn),
        None => Cell::missing(),
    };
    row(html, "Readable", &readable);
    let since = s.value(names::STREAM_SECONDS_SINCE_PLAYLIST_ADVANCED);
    let playlist = match (s.flag(names::STREAM_ENDED), s.flag(names::STREAM_STALLED)) {
        (Some(true), _) => Cell::new("ended", Tone::Warn),
        (_, Some(true)) => Cell::new(
            format!(
                "stalled: no new segment for {}",
                since.map_or_else(|| format::MISSING.to_owned(), format::duration)
            ),
            Tone::Bad,
        ),
        (_, Some(false)) => Cell::new("advancing", Tone::Good),
        _ => Cell::missing(),
    };
    row(html, "Playlist", &playlist);
    let bitrate = match (
        s.value(names::STREAM_BITRATE_BYTES_PER_SECOND),
        s.value(names::STREAM_VARIANT_BANDWIDTH_BYTES_PER_SECOND),
    ) {
        (Some(measured), Some(declared)) => Cell::plain(format!(
            "{} (declared {})",
            format::bits_per_second(measured),
            format::bits_per_second(declared)
        )),
        (Some(measured), None) => Cell::plain(format::bits_per_second(measured)),
        (None, declared) => {
            Cell::of(declared, |d| format!("declared {}", format::bits_per_second(d)))
        }
    };
    row(html, "Bitrate", &bitrate);
    let ratio = s.value(names::STREAM_SEGMENT_DOWNLOAD_RATIO);
    let tone = match ratio {
        Some(r) if r >= 1.0 => Tone::Bad,
        Some(r) if r >= 0.8 => Tone::Warn,
        Some(_) => Tone::Good,
        None => Tone::Plain,
    };
    let ratio_text = |r: f64| {
        let verdict = if r >= 1.0 { "this link cannot keep up" } else { "keeps up" };
        format!("{} ({verdict})", format::ratio(r))
    };
    row(html, "Segment download ratio", &Cell::of(ratio, ratio_text).tone(tone));
    let picture = match (s.value(names::STREAM_WIDTH_PIXELS), s.value(names::STREAM_HEIGHT_PIXELS))
    {
        (Some(w), Some(h)) => {
            let fps = s
                .value(names::STREAM_FRAMES_PER_SECOND)
                .map(|f| format!(" at {f:.0} fps"))
                .unwrap_or_default();
            Cell::plain(format!("{w:.0}×{h:.0}{fps}"))
        }
        _ => Cell::missing(),
    };
    row(html, "Picture", &picture);
    close(html);
}
