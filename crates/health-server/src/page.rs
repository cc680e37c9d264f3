//! `GET /`: a small status page for the person standing next to the kiosk, or checking on it
//! from a laptop.
//!
//! At the top, one headline in green, amber or red: is the screen showing what the event calls
//! for ([`headline`])? Below, a section per concern ([`sections`]): the screen (what Vimeo says,
//! what the player does, whether the two agree, and what the audience sees ([`picture`]): the
//! kiosk's latest screenshot, black or frozen pictures, the display and the TV, hardware
//! decoding, dropped frames, the buffer), the Raspberry Pi (SoC temperature, throttling,
//! CPU, memory), the network (each ping host, Wi-Fi, the last speed test), the stream (readable,
//! playlist advancing, bitrate, segment download ratio), and every collector's last run and
//! error ([`collectors`]). A figure nobody collects reads "—", a section whose collector is off
//! reads "not monitored", and the page always renders.
//!
//! What it reads: the status board `/status` copies, with the samples each collector's last run
//! published beside its record (the figures `/metrics` shows at the same moment, as typed
//! samples: no text is rendered or parsed back, and the namespace does not matter), looked up
//! by the metric names listed in [`names`] ([`samples`]); and the exporter's last hour of SoC
//! temperature, CPU, player buffer, round trip and dropped frames ([`crate::history`], under
//! 10 KB), drawn as inline SVG sparklines ([`sparkline`]). A page load never starts or waits for
//! a collection: it copies the records, shares the samples and indexes them by name.
//!
//! How it is written: plain server-side HTML with inline CSS (`page/style.css`, compiled in),
//! no JavaScript, no external fonts, styles or scripts, and a
//! `<meta http-equiv="refresh">` every [`REFRESH_SECONDS`] seconds. The response forbids
//! everything else through its `Content-Security-Policy`, but for one image from the page's own
//! origin: the screenshot, `screen.jpg`, a relative address that works behind a proxy's sub-path. The markup is built with a tiny
//! writer ([`html`]) rather than a template crate such as `maud` or `askama`: the page is a few
//! dozen elements, the writer's whole escaping is five characters in one function, and the
//! writer only accepts markup as `&'static str`, so text from the metrics (label values, error
//! messages) can only enter escaped — the same guarantee `maud` gives, without a proc-macro
//! dependency in a binary meant for a Raspberry Pi. No URL with a query string and no token is
//! shown: the page shows no configuration, ping hosts and error messages go through
//! [`health_core::redact`].
//!
//! Protection: the route sits behind the same bearer token as `/metrics` and `/status`. A
//! browser cannot send an `Authorization` header from its address bar, so with
//! `HEALTH_METRICS_BEARER_TOKEN` set the page is for `curl -H "Authorization: Bearer …"` or a
//! reverse proxy that adds the header; on a trusted venue network, leave the token unset.
//!
//! What it deliberately does not do: history beyond the last hour, or graphs with axes (that is
//! Prometheus and Grafana), or any action on the kiosk.

mod collectors;
mod format;
mod headline;
mod html;
pub(crate) mod names;
mod picture;
mod samples;
mod sections;
mod sparkline;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderName, header};
use health_core::{CollectorStatus, StatusBoard};

use self::headline::Kiosk;
use self::html::Html;
use self::samples::Samples;
use crate::history::{Figure, History, Point};
use crate::screen::Picture;

/// The page's content type.
pub(crate) const CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// How often the page reloads itself, in seconds: about as often as the kiosk's own figures
/// change (`HEALTH_SCRIPT_INTERVAL` defaults to 5 s).
pub(crate) const REFRESH_SECONDS: &str = "5";

/// The response headers besides the content type: no caching, no sniffing, no referrer, and a
/// policy that allows the inline style and images from the page's own origin (the screenshot)
/// and nothing else (no script, font, frame, or image from elsewhere).
pub(crate) const HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_TYPE, CONTENT_TYPE),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'",
    ),
];

/// The stylesheet, inlined in every page.
const STYLE: &str = include_str!("page/style.css");

/// What every part of the page reads.
#[derive(Debug)]
struct View<'a> {
    /// The current figures.
    samples: &'a Samples<'a>,
    /// The collectors' records, by name.
    board: &'a BTreeMap<String, CollectorStatus>,
    /// Unix time now, for "12 s ago".
    now: f64,
    /// Whether there is a screenshot to show.
    picture: Picture,
    /// The last hour of each figure, in [`Figure::ALL`]'s order.
    history: [Vec<Point>; Figure::ALL.len()],
    /// The version the embedding program gave the exporter, for the footer.
    version: &'a str,
}

impl View<'_> {
    /// The last hour of `figure`, oldest first.
    fn points(&self, figure: Figure) -> &[Point] {
        &self.history[figure.index()]
    }
}

/// The page for the records on `board` and the samples their last runs published, the last
/// hour in `history` and the screenshot `picture`, as of `now`, signed with `version`.
pub(crate) fn render(
    board: &StatusBoard,
    history: &History,
    picture: Picture,
    now: SystemTime,
    version: &str,
) -> String {
    let (board, published) = board.snapshot_with_samples();
    let samples = Samples::new(published.values().flat_map(|samples| samples.iter()));
    let now = now.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let history = Figure::ALL.map(|figure| history.points(figure, now));
    document(&View { samples: &samples, board: &board, now, picture, history, version })
}

fn document(view: &View<'_>) -> String {
    let headline = Kiosk::read(view.samples, view.board.contains_key("script")).headline();
    let mut html = Html::new();
    html.raw(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <meta http-equiv=\"refresh\" content=\"",
    )
    .raw(REFRESH_SECONDS)
    .raw("\"><title>")
    .text(headline.title)
    .raw(" · vimeo-monitor</title><style>")
    .raw(STYLE)
    .raw("</style></head>\n<body><main>\n<header class=\"headline ")
    .raw(headline.tone.class())
    .raw("\" id=\"headline\"><h1>")
    .text(headline.title)
    .raw("</h1><p>")
    .text(&headline.detail)
    .raw("</p></header>\n");
    sections::screen(&mut html, view);
    sections::board(&mut html, view);
    sections::network(&mut html, view);
    sections::stream(&mut html, view);
    collectors::collectors(&mut html, view);
    html.raw("<footer>vimeo-monitor health-server ")
        .text(view.version)
        .raw(" · as of ")
        .text(clock(view.now))
        .raw(" · refreshes every ")
        .raw(REFRESH_SECONDS)
        .raw(" s · <a href=\"metrics\">/metrics</a> · <a href=\"status\">/status</a></footer>\n")
        .raw("</main></body></html>\n");
    html.finish()
}

/// `HH:MM:SS UTC` of Unix time `now`.
fn clock(now: f64) -> String {
    let seconds = now.max(0.0) as u64 % 86_400;
    format!("{:02}:{:02}:{:02} UTC", seconds / 3_600, seconds / 60 % 60, seconds % 60)
}

/// Most tests fill the board with the kiosk's, the network's and the stream's collectors. A
/// section finds its collectors through their rows in the table, which name them only when they
/// are compiled in, so those tests need all three features; a system-only build runs the rest.
#[cfg(test)]
#[cfg_attr(
    not(all(feature = "script", feature = "network", feature = "stream")),
    allow(dead_code, reason = "the fixtures of the tests that need all three")
)]
mod tests {
    use health_core::RunResult;

    use super::samples::fixture::{Row, snapshot};
    use super::*;

    const NOW: f64 = 1_750_000_000.0;

    fn status(result: Option<RunResult>, error: Option<&str>) -> CollectorStatus {
        CollectorStatus {
            interval_seconds: 5.0,
            timeout_seconds: 4.0,
            last_run_timestamp_seconds: result.map(|_| NOW - 3.0),
            last_duration_seconds: result.map(|_| 0.012),
            last_result: result,
            last_error: error.map(str::to_owned),
            last_success_timestamp_seconds: None,
            last_sample_count: None,
            last_notes: Vec::new(),
            runs: BTreeMap::new(),
        }
    }

    fn page(rows: &[Row], board: &[(&str, CollectorStatus)]) -> String {
        page_with(rows, board, &History::new(), Picture::None)
    }

    /// [`page`], with a history and a screenshot.
    fn page_with(
        rows: &[Row],
        board: &[(&str, CollectorStatus)],
        history: &History,
        picture: Picture,
    ) -> String {
        let snapshot = snapshot(rows);
        let samples = Samples::new(snapshot.samples());
        let board = board.iter().map(|(n, s)| ((*n).to_owned(), s.clone())).collect();
        let history = Figure::ALL.map(|figure| history.points(figure, NOW));
        document(&View {
            samples: &samples,
            board: &board,
            now: NOW,
            picture,
            history,
            version: "9.9.9",
        })
    }

    /// Asserts that `page` contains every one of `expected`, naming the first one missing.
    fn assert_shows(page: &str, expected: &[&str]) {
        for text in expected {
            assert!(page.contains(text), "missing {text:?} in\n{page}");
        }
    }

    const LIVE: &[Row] = &[
        ("stream_state", &[("state", "live")], 1.0),
        ("stream_state", &[("state", "offline")], 0.0),
        ("player_state", &[("state", "playing")], 1.0),
        ("player_state", &[("state", "stopped")], 0.0),
        ("script_healthy", &[], 1.0),
        ("stream_uptime_seconds", &[], 754.0),
        ("api_consecutive_errors", &[], 0.0),
        ("api_last_success_timestamp_seconds", &[], 1749999990.0),
        ("player_restarts_total", &[("reason", "exited")], 1.0),
        ("uptime_seconds", &[], 90000.0),
        ("cpu_temperature_celsius", &[], 51.45),
        ("pi_info", &[("model", "Raspberry Pi 5 Model B Rev 1.0")], 1.0),
        ("pi_throttled", &[("condition", "under_voltage"), ("scope", "now")], 1.0),
        ("pi_throttled", &[("condition", "throttled"), ("scope", "now")], 0.0),
        ("pi_throttled", &[("condition", "under_voltage"), ("scope", "since_boot")], 1.0),
        ("network_up", &[("host", "1.1.1.1")], 1.0),
        ("network_rtt_seconds", &[("host", "1.1.1.1")], 0.0123),
        ("network_up", &[("host", "<b>evil</b>")], 0.0),
        ("network_speedtest_runs_total", &[("result", "success")], 1.0),
        ("network_download_bytes_per_second", &[], 6250000.0),
        ("network_speedtest_last_success_timestamp_seconds", &[], 1749999400.0),
        ("stream_available", &[], 1.0),
        ("stream_stalled", &[], 0.0),
        ("stream_ended", &[], 0.0),
        ("stream_bitrate_bytes_per_second", &[], 562500.0),
        ("stream_segment_download_ratio", &[], 0.25),
        ("stream_width_pixels", &[], 1920.0),
        ("stream_height_pixels", &[], 1080.0),
        ("stream_frames_per_second", &[], 30.0),
    ];

    #[test]
    #[cfg(all(feature = "script", feature = "network", feature = "stream"))]
    fn a_live_kiosk_reads_green_with_every_figure() {
        let ok = || status(Some(RunResult::Success), None);
        let board = [
            ("hardware", ok()),
            ("network", ok()),
            ("script", ok()),
            (
                "stream",
                status(
                    Some(RunResult::Error),
                    Some("ffprobe <failed> at https://x.example/a.m3u8?sig=s3cret"),
                ),
            ),
            ("stream_playlist", ok()),
        ];
        let page = page(LIVE, &board);
        assert_shows(
            &page,
            &[
                "<meta http-equiv=\"refresh\" content=\"5\">",
                "<header class=\"headline good\" id=\"headline\"><h1>Showing the live event</h1>",
                "the live stream (the event is live)",
                "<td class=\"good\">playing</td>",
                "12 min 34 s",
                "answering; last answer 10 s ago",
                "<td class=\"good\">51.5 °C</td>",
                "<td class=\"bad\">under-voltage</td>",
                "Raspberry Pi 5 Model B Rev 1.0",
                "<th>1.1.1.1</th><td class=\"good\">up, 12.3 ms round trip</td>",
                "<th>&lt;b&gt;evil&lt;/b&gt;</th><td class=\"bad\">down</td>",
                "50.0 Mbit/s down; 10 min 0 s ago",
                "<td class=\"good\">advancing</td>",
                "4.5 Mbit/s",
                "0.25 (keeps up)",
                "1920×1080 at 30 fps",
                "ffprobe &lt;failed&gt; at https://x.example/a.m3u8",
                "3 s ago",
                "12.0 ms",
                "as of 15:06:40 UTC",
            ],
        );
        for absent in ["s3cret", "<b>evil", "<script", "not monitored", "http://", "src="] {
            assert!(!page.contains(absent), "{absent:?} in\n{page}");
        }
    }

    #[test]
    fn with_nothing_configured_every_section_says_not_monitored() {
        let page = page(&[], &[]);
        assert!(page.contains("<h1>Kiosk not monitored</h1>"), "{page}");
        assert_eq!(page.matches("not monitored: ").count(), 5, "{page}");
        assert!(page.contains("<footer>vimeo-monitor health-server 9.9.9 · "), "{page}");
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    #[cfg(all(feature = "script", feature = "network", feature = "stream"))]
    fn configured_collectors_that_have_not_run_say_waiting_and_figures_missing_read_as_dashes() {
        let page1 = page(&[], &[("hardware", status(None, None)), ("script", status(None, None))]);
        assert_eq!(page1.matches("waiting for the first run").count(), 2, "{page1}");
        assert!(page1.contains("<h1>Waiting for the kiosk</h1>"));
        let ran = status(Some(RunResult::Success), None);
        let page2 =
            page(&[], &[("hardware", ran.clone()), ("stream", ran.clone()), ("network", ran)]);
        assert!(page2.contains("<th>SoC temperature</th><td class=\"plain\">—</td>"), "{page2}");
        assert!(page2.contains("<th>Throttling now</th><td class=\"plain\">—</td>"));
        assert!(page2.contains("<th>Playlist</th><td class=\"plain\">—</td>"));
        assert!(page2.contains("no ping host configured"));
        assert!(page2.contains("off (HEALTH_NETWORK_SPEEDTEST_ENABLED)"));
    }

    #[test]
    #[cfg(all(feature = "script", feature = "network", feature = "stream"))]
    fn the_api_row_tells_no_answer_yet_from_failing() {
        let script = [("script", status(Some(RunResult::Success), None))];
        let quiet: &[Row] = &[
            ("api_consecutive_errors", &[], 0.0),
            ("api_last_success_timestamp_seconds", &[], 0.0),
        ];
        let page1 = page(quiet, &script);
        assert!(
            page1.contains("<th>Vimeo API</th><td class=\"plain\">no answer yet</td>"),
            "{page1}"
        );
        let failing: &[Row] = &[
            ("api_consecutive_errors", &[], 3.0),
            ("api_last_success_timestamp_seconds", &[], 0.0),
        ];
        let page2 = page(failing, &script);
        assert!(
            page2.contains("<td class=\"bad\">3 failed requests in a row; last answer never</td>"),
            "{page2}"
        );
    }

    #[test]
    #[cfg(all(feature = "script", feature = "network", feature = "stream"))]
    fn a_stalled_stream_on_a_slow_link_reads_red_and_says_why() {
        let ran = || status(Some(RunResult::Success), None);
        let stalled: &[Row] = &[
            ("stream_available", &[], 1.0),
            ("stream_stalled", &[], 1.0),
            ("stream_ended", &[], 0.0),
            ("stream_seconds_since_playlist_advanced", &[], 42.0),
            ("stream_variant_bandwidth_bytes_per_second", &[], 750000.0),
            ("stream_segment_download_ratio", &[], 1.3),
        ];
        let page1 = page(stalled, &[("stream", ran()), ("stream_playlist", ran())]);
        assert_shows(
            &page1,
            &[
                "<th>Readable</th><td class=\"good\">yes</td>",
                "<td class=\"bad\">stalled: no new segment for 42.0 s</td>",
                "<th>Bitrate</th><td class=\"plain\">declared 6.0 Mbit/s</td>",
                "<td class=\"bad\">1.30 (this link cannot keep up)</td>",
                "<th>Picture</th><td class=\"plain\">—</td>",
            ],
        );
        let ended: &[Row] = &[
            ("stream_available", &[], 0.0),
            ("stream_ended", &[], 1.0),
            ("stream_stalled", &[], 1.0),
            ("stream_bitrate_bytes_per_second", &[], 500000.0),
            ("stream_variant_bandwidth_bytes_per_second", &[], 750000.0),
            ("stream_segment_download_ratio", &[], 0.85),
        ];
        let page2 = page(ended, &[("stream", ran()), ("stream_playlist", ran())]);
        assert_shows(
            &page2,
            &[
                "<td class=\"warn\">no (or no stream is live)</td>",
                "<th>Playlist</th><td class=\"warn\">ended</td>",
                "4.0 Mbit/s (declared 6.0 Mbit/s)",
                "<td class=\"warn\">0.85 (keeps up)</td>",
            ],
        );
    }

    /// A kiosk whose player and display report everything, with a black picture on a TV in
    /// standby, software decoding and frames dropping fast.
    const DARK_ROOM: &[Row] = &[
        ("stream_state", &[("state", "live")], 1.0),
        ("player_state", &[("state", "playing")], 1.0),
        ("script_healthy", &[], 1.0),
        ("screen_luma_ratio", &[], 0.02),
        ("screen_black", &[], 1.0),
        ("screen_frozen_seconds", &[], 75.0),
        ("display_connected", &[("connector", "HDMI-A-1")], 1.0),
        ("display_connected", &[("connector", "HDMI-A-2")], 0.0),
        ("display_enabled", &[("connector", "HDMI-A-1")], 1.0),
        ("display_dpms_on", &[("connector", "HDMI-A-1")], 1.0),
        ("display_mode_info", &[("connector", "HDMI-A-1"), ("mode", "1920x1080")], 1.0),
        ("display_power_on", &[], 0.0),
        ("player_hwdec_active", &[("hwdec", "no")], 0.0),
        ("player_frames_dropped_total", &[("stage", "output")], 300.0),
        ("player_frames_dropped_total", &[("stage", "decoder")], 20.0),
        ("player_buffering", &[], 1.0),
        ("player_buffer_seconds", &[], 0.4),
        ("player_rebuffer_total", &[], 3.0),
        ("player_rebuffer_seconds_total", &[], 41.0),
    ];

    #[test]
    #[cfg(all(feature = "script", feature = "network", feature = "stream"))]
    fn the_screen_card_shows_the_screenshot_and_what_the_audience_sees() {
        let script = [("script", status(Some(RunResult::Success), None))];
        let history = History::new();
        // Dropped frames over the last two minutes: 200, then 320 (one a second or more: red).
        history.push(Figure::DroppedFrames, NOW - 90.0, 200.0);
        history.push(Figure::DroppedFrames, NOW, 320.0);
        let page = page_with(DARK_ROOM, &script, &history, Picture::Taken(NOW - 4.0));
        assert_shows(
            &page,
            &[
                "<tr><td colspan=\"2\" class=\"picture\"><img src=\"screen.jpg\" width=\"160\" \
                 alt=\"the kiosk's latest screenshot\">screenshot 4 s ago</td></tr>",
                "<th>Black</th><td class=\"bad\">black (brightness 2 %)</td>",
                "<th>Frozen</th><td class=\"bad\">frozen for 1 min 15 s</td>",
                "<th>Display</th><td class=\"good\">HDMI-A-1 1920x1080</td>",
                "<th>TV power</th><td class=\"bad\">standby</td>",
                "<th>Decoding</th><td class=\"warn\">in software: expect dropped frames on a Pi</td>",
                "<th>Dropped frames</th><td class=\"bad\">320 (output 300, decoder 20); rising: \
                 +120 in 1 min 30 s</td>",
                "<th>Buffer</th><td class=\"bad\">0.4 s ahead; buffering: the picture waits for \
                 the network; rebuffered 3 times, 41.0 s in all</td>",
            ],
        );
        assert_eq!(page.matches("<img ").count(), 1, "{page}");
        // The TV in standby comes first in the headline: nothing in the room shows anything.
        assert!(page.contains("<h1>TV in standby</h1>"), "{page}");
    }

    #[test]
    #[cfg(all(feature = "script", feature = "network", feature = "stream"))]
    fn a_healthy_picture_reads_green_and_figures_nobody_collects_read_as_dashes() {
        let script = [("script", status(Some(RunResult::Success), None))];
        let healthy: &[Row] = &[
            ("screen_luma_ratio", &[], 0.45),
            ("screen_black", &[], 0.0),
            ("screen_frozen_seconds", &[], 0.0),
            ("display_connected", &[("connector", "HDMI-A-1")], 1.0),
            ("display_dpms_on", &[("connector", "HDMI-A-1")], 0.0),
            ("player_hwdec_active", &[("hwdec", "drm")], 1.0),
            ("player_frames_dropped_total", &[("stage", "output")], 4.0),
            ("player_buffering", &[], 0.0),
            ("player_buffer_seconds", &[], 12.5),
        ];
        let history = History::new();
        history.push(Figure::DroppedFrames, NOW - 60.0, 4.0);
        history.push(Figure::DroppedFrames, NOW, 4.0);
        let page1 = page_with(healthy, &script, &history, Picture::None);
        assert_shows(
            &page1,
            &[
                "<th>Screenshot</th><td class=\"plain\">—</td>",
                "<th>Black</th><td class=\"good\">no (brightness 45 %)</td>",
                "<th>Frozen</th><td class=\"good\">no, the picture moves</td>",
                "<th>Display</th><td class=\"bad\">HDMI-A-1, asleep (DPMS off)</td>",
                "<th>TV power</th><td class=\"plain\">—</td>",
                "<th>Decoding</th><td class=\"good\">in hardware (drm)</td>",
                "<th>Dropped frames</th><td class=\"good\">4 (output 4); steady</td>",
                "<th>Buffer</th><td class=\"good\">12.5 s ahead</td>",
            ],
        );
        let page2 = page_with(&[], &script, &History::new(), Picture::Off);
        assert_shows(
            &page2,
            &[
                "<th>Screenshot</th><td class=\"plain\">not shown (HEALTH_SCREEN_THUMBNAIL=false)</td>",
                "<th>Black</th><td class=\"plain\">—</td>",
                "<th>Frozen</th><td class=\"plain\">—</td>",
                "<th>Display</th><td class=\"plain\">—</td>",
                "<th>Decoding</th><td class=\"plain\">—</td>",
                "<th>Dropped frames</th><td class=\"plain\">—</td>",
                "<th>Buffer</th><td class=\"plain\">—</td>",
            ],
        );
        for absent in ["<img", "src=", "<svg"] {
            assert!(!page2.contains(absent), "{absent:?} in\n{page2}");
        }
        let nothing: &[Row] = &[("display_connected", &[("connector", "HDMI-A-1")], 0.0)];
        let page3 = page_with(nothing, &script, &History::new(), Picture::None);
        assert!(page3.contains("<th>Display</th><td class=\"bad\">nothing connected</td>"));
    }

    #[test]
    #[cfg(all(feature = "script", feature = "network", feature = "stream"))]
    fn sparklines_appear_once_the_history_has_points() {
        let ran = || status(Some(RunResult::Success), None);
        let board = [("hardware", ran()), ("network", ran()), ("script", ran())];
        let quiet = page_with(LIVE, &board, &History::new(), Picture::None);
        assert!(!quiet.contains("<svg"), "{quiet}");
        // Three publishes a minute apart, as the collectors' snapshots would feed them.
        let history = History::new();
        for (minutes_ago, celsius, cpu, rtt, buffer) in [
            (2.0, 48.0, 0.20, 0.010, 10.0),
            (1.0, 50.0, 0.40, 0.020, 12.0),
            (0.0, 52.0, 0.30, 0.015, 11.0),
        ] {
            let at = UNIX_EPOCH + std::time::Duration::from_secs_f64(NOW - minutes_ago * 60.0);
            let mut hardware = health_core::Snapshot::new();
            hardware.gauge("cpu_temperature_celsius", celsius).gauge("cpu_usage_ratio", cpu);
            history.record(&hardware, at);
            let mut network = health_core::Snapshot::new();
            network.gauge_with("network_rtt_seconds", vec![("host", "1.1.1.1".into())], rtt);
            history.record(&network, at);
            let mut script = health_core::Snapshot::new();
            script.gauge("player_buffer_seconds", buffer);
            history.record(&script, at);
        }
        let page = page_with(LIVE, &board, &history, Picture::None);
        assert_eq!(page.matches("<svg class=\"spark\"").count(), 4, "{page}");
        assert_shows(
            &page,
            &[
                // 48 → bottom, 52 → top, over the last 2 of the window's 60 minutes.
                "<svg class=\"spark\" width=\"120\" height=\"24\" viewBox=\"0 0 120 24\" \
                 role=\"img\" aria-label=\"48.0 °C to 52.0 °C\"><rect width=\"100%\" height=\"100%\" \
                 fill=\"currentColor\" fill-opacity=\"0.07\"/><path d=\"M116.0 22.0L118.0 12.0L120.0 2.0\"",
                "<span>48.0 °C to 52.0 °C</span>",
                "<span>20 % to 40 %</span>",
                "<span>10.0 s to 12.0 s</span>",
                "<th>Round trip, last hour</th>",
                "<span>10.0 ms to 20.0 ms</span>",
            ],
        );
        for forbidden in ["style=", "<script", "href=\"http"] {
            assert!(!page.contains(forbidden), "{forbidden:?} in\n{page}");
        }
    }

    #[test]
    fn the_policy_allows_images_from_the_page_origin_and_no_script() {
        let csp =
            HEADERS.iter().find(|(name, _)| name == header::CONTENT_SECURITY_POLICY).unwrap().1;
        assert!(csp.contains("default-src 'none'") && csp.contains("img-src 'self';"), "{csp}");
        assert!(!csp.contains("script-src") && !csp.contains("data:"), "{csp}");
    }

    #[test]
    fn the_clock_is_utc_and_never_panics() {
        assert_eq!(clock(NOW), "15:06:40 UTC");
        assert_eq!(clock(-5.0), "00:00:00 UTC");
        assert_eq!(clock(f64::NAN), "00:00:00 UTC");
    }
}
