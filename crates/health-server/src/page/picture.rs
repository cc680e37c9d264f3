//! The Screen card's rows about what the audience sees: the kiosk's latest screenshot, whether
//! the picture is black or frozen, the display and the TV, and how smoothly the player plays
//! (hardware decoding, dropped frames, its buffer).
//!
//! The screenshot is an `<img src="screen.jpg">`: relative, so the page works behind a reverse
//! proxy's sub-path, and allowed by the page's `img-src 'self'`. Every other figure comes from
//! the metrics as the rest of the page does; one nobody collects reads "—".

use super::View;
use super::format::{self, Cell, Tone};
use super::headline::FROZEN_SECONDS;
use super::html::Html;
use super::names;
use super::sections::row;
use super::sparkline;
use crate::history::Figure;
use crate::screen::Picture;

/// How far back "rising" looks for dropped frames, in seconds.
const RISING_OVER: f64 = 120.0;
/// Less buffer than this is amber: the next slow segment stalls the picture.
const BUFFER_LOW_SECONDS: f64 = 2.0;

/// The screenshot, across the card, with how old it is.
pub(super) fn thumbnail(html: &mut Html, view: &View<'_>) {
    match view.picture {
        Picture::Taken(at) => {
            html.raw(
                "<tr><td colspan=\"2\" class=\"picture\"><img src=\"screen.jpg\" width=\"160\" \
                 alt=\"the kiosk's latest screenshot\">screenshot ",
            )
            .text(format::ago(view.now, at))
            .raw("</td></tr>");
        }
        Picture::Off => {
            row(html, "Screenshot", &Cell::plain("not shown (HEALTH_SCREEN_THUMBNAIL=false)"));
        }
        Picture::None => row(html, "Screenshot", &Cell::missing()),
    }
}

/// Black and frozen pictures, the display and the TV.
pub(super) fn picture(html: &mut Html, view: &View<'_>) {
    let s = view.samples;
    let luma = s.value(names::SCREEN_LUMA_RATIO);
    let brightness = |luma: Option<f64>| {
        luma.map(|l| format!(" (brightness {})", format::percent(l))).unwrap_or_default()
    };
    let black = match s.flag(names::SCREEN_BLACK) {
        Some(true) => Cell::new(format!("black{}", brightness(luma)), Tone::Bad),
        Some(false) => Cell::new(format!("no{}", brightness(luma)), Tone::Good),
        None => Cell::of(luma, |l| format!("— (brightness {})", format::percent(l))),
    };
    row(html, "Black", &black);
    let frozen = match s.value(names::SCREEN_FROZEN_SECONDS) {
        Some(seconds) if seconds > 0.0 => Cell::new(
            format!("frozen for {}", format::duration(seconds)),
            if seconds >= FROZEN_SECONDS { Tone::Bad } else { Tone::Warn },
        ),
        Some(_) => Cell::new("no, the picture moves", Tone::Good),
        None => Cell::missing(),
    };
    row(html, "Frozen", &frozen);
    row(html, "Display", &display(view));
    let tv = match s.flag(names::DISPLAY_POWER_ON) {
        Some(true) => Cell::new("on", Tone::Good),
        Some(false) => Cell::new("standby", Tone::Bad),
        None => Cell::missing(),
    };
    row(html, "TV power", &tv);
}

/// The connected displays, their mode and whether they are lit; red when none is connected.
fn display(view: &View<'_>) -> Cell {
    let s = view.samples;
    let connectors = s.series(names::DISPLAY_CONNECTED);
    if connectors.is_empty() {
        return Cell::missing();
    }
    let mut connected: Vec<&str> =
        connectors.iter().filter(|c| c.value == 1.0).filter_map(|c| c.label("connector")).collect();
    connected.sort_unstable();
    if connected.is_empty() {
        return Cell::new("nothing connected", Tone::Bad);
    }
    let mut tone = Tone::Good;
    let parts: Vec<String> = connected
        .into_iter()
        .map(|connector| {
            let mut text = connector.to_owned();
            let mode = s
                .series(names::DISPLAY_MODE_INFO)
                .iter()
                .find(|m| m.label("connector") == Some(connector))
                .and_then(|m| m.label("mode"));
            if let Some(mode) = mode {
                text.push_str(&format!(" {mode}"));
            }
            if s.value_with(names::DISPLAY_ENABLED, "connector", connector) == Some(0.0) {
                text.push_str(", disabled");
                tone = Tone::Bad;
            } else if s.value_with(names::DISPLAY_DPMS_ON, "connector", connector) == Some(0.0) {
                text.push_str(", asleep (DPMS off)");
                tone = Tone::Bad;
            }
            text
        })
        .collect();
    Cell::new(parts.join("; "), tone)
}

/// How the player plays: decoding, dropped frames, buffer.
pub(super) fn playback(html: &mut Html, view: &View<'_>) {
    let s = view.samples;
    let hwdec = s.series(names::PLAYER_HWDEC_ACTIVE);
    let decoding = if hwdec.is_empty() {
        Cell::missing()
    } else {
        match hwdec.iter().find(|h| h.value == 1.0) {
            Some(active) => Cell::new(
                format!("in hardware ({})", active.label("hwdec").unwrap_or(format::MISSING)),
                Tone::Good,
            ),
            None => Cell::new("in software: expect dropped frames on a Pi", Tone::Warn),
        }
    };
    row(html, "Decoding", &decoding);
    row(html, "Dropped frames", &dropped_frames(view));
    row(html, "Buffer", &buffer(view));
    super::sections::spark(html, view, "last hour", Figure::Buffer, format::seconds, 1.0);
}

/// The total of dropped frames, by stage, and whether it is rising.
fn dropped_frames(view: &View<'_>) -> Cell {
    let s = view.samples;
    let Some(total) = s.sum(names::PLAYER_FRAMES_DROPPED_TOTAL) else { return Cell::missing() };
    let mut text = format::count(total);
    let stages: Vec<String> = ["output", "decoder"]
        .into_iter()
        .filter_map(|stage| {
            let n = s.value_with(names::PLAYER_FRAMES_DROPPED_TOTAL, "stage", stage)?;
            Some(format!("{stage} {}", format::count(n)))
        })
        .collect();
    if !stages.is_empty() {
        text.push_str(&format!(" ({})", stages.join(", ")));
    }
    let points = view.points(Figure::DroppedFrames);
    let tone = match sparkline::rise(points, RISING_OVER) {
        Some((increase, span)) if increase > 0.0 => {
            text.push_str(&format!(
                "; rising: +{} in {}",
                format::count(increase),
                format::duration(span)
            ));
            // More than one frame a second is visible stutter.
            if span > 0.0 && increase / span > 1.0 { Tone::Bad } else { Tone::Warn }
        }
        Some(_) => {
            text.push_str("; steady");
            Tone::Good
        }
        None => Tone::Plain,
    };
    Cell::new(text, tone)
}

/// Seconds buffered ahead, buffering now, and the rebuffers so far.
fn buffer(view: &View<'_>) -> Cell {
    let s = view.samples;
    let seconds = s.value(names::PLAYER_BUFFER_SECONDS);
    let buffering = s.flag(names::PLAYER_BUFFERING);
    if seconds.is_none() && buffering.is_none() {
        return Cell::missing();
    }
    let mut text = match seconds {
        Some(seconds) => format!("{} ahead", format::seconds(seconds)),
        None => format::MISSING.to_owned(),
    };
    let tone = match (buffering, seconds) {
        (Some(true), _) => {
            text.push_str("; buffering: the picture waits for the network");
            Tone::Bad
        }
        (_, Some(seconds)) if seconds < BUFFER_LOW_SECONDS => Tone::Warn,
        (_, Some(_)) => Tone::Good,
        (_, None) => Tone::Plain,
    };
    if let Some(rebuffers) = s.value(names::PLAYER_REBUFFER_TOTAL).filter(|n| *n > 0.0) {
        text.push_str(&format!("; rebuffered {} times", format::count(rebuffers)));
        if let Some(waited) = s.value(names::PLAYER_REBUFFER_SECONDS_TOTAL) {
            text.push_str(&format!(", {} in all", format::duration(waited)));
        }
    }
    Cell::new(text, tone)
}
