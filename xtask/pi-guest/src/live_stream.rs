//! A live HLS stream inside the guest without an encoder: the segments the host encoded once
//! (`hls/vod.m3u8`) are published as a live sliding window, one segment per segment duration,
//! starting again from the first (after an `EXT-X-DISCONTINUITY`) when they run out. The same
//! HTTP server the x86 stream tests use serves the directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::task::JoinHandle;

use crate::hls::HlsServer;

/// Segments in the live window, as a live encoder keeps them (`-hls_list_size 6`).
const WINDOW: u64 = 6;
/// Segments already there when the stream starts, so a player can begin at once.
const HEAD_START: u64 = 3;
/// The live playlist's file name.
pub(crate) const PLAYLIST: &str = "live.m3u8";

/// One encoded segment: its file name and duration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    pub(crate) uri: String,
    pub(crate) seconds: f64,
}

/// The stream and its server; dropping it stops both.
#[derive(Debug)]
pub(crate) struct LiveStream {
    server: HlsServer,
    writer: JoinHandle<()>,
}

impl LiveStream {
    /// Starts publishing the segments of `dir/vod.m3u8` as `dir/live.m3u8`, and serves `dir` on
    /// 127.0.0.1.
    pub(crate) async fn start(dir: &Path) -> anyhow::Result<LiveStream> {
        let vod = dir.join("vod.m3u8");
        let text = std::fs::read_to_string(&vod)
            .with_context(|| format!("reading {} (made by cargo xtask pi-test)", vod.display()))?;
        let segments = segments(&text)?;
        let live = dir.join(PLAYLIST);
        write(&live, &playlist(&segments, HEAD_START))?;
        let writer = tokio::spawn(publish(live, segments));
        let server = HlsServer::start(dir.to_owned()).await;
        Ok(LiveStream { server, writer })
    }

    /// `http://127.0.0.1:PORT/live.m3u8`.
    pub(crate) fn url(&self) -> String {
        self.server.url(PLAYLIST)
    }

    /// How many times the live playlist was asked for.
    pub(crate) fn playlist_requests(&self) -> usize {
        self.server.requests(PLAYLIST)
    }
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

/// Adds a segment every segment duration, forever.
async fn publish(live: PathBuf, segments: Vec<Segment>) {
    let mut newest = HEAD_START;
    loop {
        let due = segments[(newest % segments.len() as u64) as usize].seconds;
        tokio::time::sleep(Duration::from_secs_f64(due)).await;
        newest += 1;
        if let Err(e) = write(&live, &playlist(&segments, newest)) {
            println!("live stream: {e:#}");
        }
    }
}

/// Replaces the playlist at once (write, then rename), so no reader sees half of one.
fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    let temporary = path.with_extension("m3u8.tmp");
    std::fs::write(&temporary, text).with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("renaming to {}", path.display()))
}

/// The segments of a VOD playlist, in order.
pub(crate) fn segments(vod: &str) -> anyhow::Result<Vec<Segment>> {
    let mut found = Vec::new();
    let mut duration = None;
    for line in vod.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let number = rest.split(',').next().unwrap_or_default();
            duration = Some(number.parse::<f64>().with_context(|| format!("bad EXTINF {line:?}"))?);
        } else if !line.is_empty() && !line.starts_with('#') {
            let seconds = duration.take().with_context(|| format!("{line:?} has no EXTINF"))?;
            found.push(Segment { uri: line.to_owned(), seconds });
        }
    }
    if found.len() < WINDOW as usize {
        bail!("the VOD playlist has {} segments; a live window needs {WINDOW}", found.len());
    }
    Ok(found)
}

/// The live playlist whose newest entry is number `newest` (counting every segment ever
/// published; the files repeat, the sequence numbers do not).
pub(crate) fn playlist(segments: &[Segment], newest: u64) -> String {
    let count = segments.len() as u64;
    let first = newest.saturating_sub(WINDOW - 1);
    let target = segments.iter().map(|s| s.seconds.ceil() as u64).max().unwrap_or(1);
    // Discontinuities (one before each restart from the first file) that have left the window.
    let gone = first.saturating_sub(1) / count;
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target}\n\
         #EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-DISCONTINUITY-SEQUENCE:{gone}\n"
    );
    for number in first..=newest {
        if number > 0 && number % count == 0 {
            text.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let segment = &segments[(number % count) as usize];
        text.push_str(&format!("#EXTINF:{:.6},\n{}\n", segment.seconds, segment.uri));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eight() -> Vec<Segment> {
        (0..8).map(|i| Segment { uri: format!("seg{i:03}.ts"), seconds: 1.0 }).collect()
    }

    #[test]
    fn reads_the_segments_of_a_vod_playlist() {
        let vod = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n\
                   #EXTINF:1.000000,\nseg000.ts\n#EXTINF:0.960000,\nseg001.ts\n"
            .to_owned()
            + &(2..6).map(|i| format!("#EXTINF:1.0,\nseg{i:03}.ts\n")).collect::<String>()
            + "#EXT-X-ENDLIST\n";
        let found = segments(&vod).unwrap();
        assert_eq!(found.len(), 6);
        assert_eq!(found[1], Segment { uri: "seg001.ts".into(), seconds: 0.96 });
        assert!(segments("#EXTM3U\n#EXTINF:1,\na.ts\n").is_err(), "too short for a window");
        assert!(segments("#EXTM3U\na.ts\n").is_err(), "a segment without EXTINF");
    }

    #[test]
    fn the_window_slides_and_never_ends() {
        let text = playlist(&eight(), 3);
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:0\n"), "{text}");
        assert_eq!(text.matches("#EXTINF").count(), 4);
        assert!(!text.contains("ENDLIST"));
        let text = playlist(&eight(), 7);
        assert!(
            text.contains("#EXT-X-MEDIA-SEQUENCE:2\n") && text.ends_with("seg007.ts\n"),
            "{text}"
        );
    }

    #[test]
    fn files_repeat_after_a_discontinuity_whose_count_follows_the_window() {
        let text = playlist(&eight(), 9);
        assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:0\n"));
        assert!(
            text.contains("seg007.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:1.000000,\nseg000.ts\n"),
            "{text}"
        );
        assert!(text.ends_with("seg001.ts\n"));
        // Sequence 8 (the restart) is still the window's first: its tag is still there.
        let text = playlist(&eight(), 13);
        assert!(
            text.contains(
                "#EXT-X-MEDIA-SEQUENCE:8\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n#EXT-X-DISCONTINUITY\n"
            ),
            "{text}"
        );
        // Once it has left, the count says so.
        let text = playlist(&eight(), 14);
        assert!(
            text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n")
                && !text.contains("#EXT-X-DISCONTINUITY\n"),
            "{text}"
        );
    }
}
