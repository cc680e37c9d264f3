//! HLS playlists (RFC 8216) as the collectors need them, parsed with m3u8-rs: which variant of a
//! master playlist to watch, and what a media playlist says about the live edge.

use m3u8_rs::{MasterPlaylist, MediaPlaylist, Playlist, VariantStream};
use reqwest::Url;

/// Which variant of a master playlist to watch (`HEALTH_STREAM_VARIANT`), the way mpv's
/// `--hls-bitrate` chooses: the player on the kiosk is the one whose experience matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VariantChoice {
    /// The highest `BANDWIDTH` (mpv's default, `max`).
    #[default]
    Highest,
    /// The lowest `BANDWIDTH` (`min`).
    Lowest,
    /// The highest `BANDWIDTH` at or below this many bits per second, else the lowest.
    AtMost(u64),
}

/// A playlist the collectors can use.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// Variants to choose from (at least one, I-frame-only ones left out).
    Master(Vec<VariantStream>),
    /// The live edge.
    Media(MediaView),
}

/// What a media playlist says, with every URI resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MediaView {
    /// `EXT-X-MEDIA-SEQUENCE`: the sequence number of the first segment listed.
    pub(crate) media_sequence: u64,
    /// `EXT-X-TARGETDURATION`, in seconds (at least 1).
    pub(crate) target_duration: f64,
    /// `EXT-X-ENDLIST`: no segment will be added.
    pub(crate) ended: bool,
    /// The playlist as parsed, URIs made absolute: what ffprobe is given.
    pub(crate) playlist: MediaPlaylist,
}

/// A segment of a media playlist.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    /// Its media sequence number.
    pub(crate) sequence: u64,
    /// Its `EXTINF` duration, in seconds.
    pub(crate) duration: f64,
    /// Where it is.
    pub(crate) url: Url,
}

impl MediaView {
    /// The newest segment, the one a live player fetches next.
    pub(crate) fn newest(&self) -> Option<Segment> {
        let index = self.playlist.segments.len().checked_sub(1)?;
        let segment = &self.playlist.segments[index];
        Some(Segment {
            sequence: self.media_sequence.saturating_add(index as u64),
            duration: f64::from(segment.duration),
            url: Url::parse(&segment.uri).ok()?,
        })
    }

    /// The media sequence number of the newest segment: it grows when the playlist advances.
    pub(crate) fn newest_sequence(&self) -> Option<u64> {
        let count = self.playlist.segments.len() as u64;
        count.checked_sub(1).map(|last| self.media_sequence.saturating_add(last))
    }

    /// The last `segments` segments as a finished playlist (`EXT-X-ENDLIST`), for ffprobe to
    /// read from a private file: the signed URLs travel in the file, never in its argv.
    pub(crate) fn tail_as_vod(&self, segments: usize) -> Vec<u8> {
        let mut playlist = self.playlist.clone();
        let skip = playlist.segments.len().saturating_sub(segments);
        playlist.segments.drain(..skip);
        playlist.media_sequence = self.media_sequence.saturating_add(skip as u64);
        playlist.end_list = true;
        let mut text = Vec::new();
        playlist.write_to(&mut text).expect("writing to a Vec cannot fail");
        text
    }
}

/// Parses a playlist fetched from `base`, resolving its URIs against it.
pub(crate) fn parse(body: &[u8], base: &Url) -> Result<Parsed, String> {
    if !body.trim_ascii_start().starts_with(b"#EXTM3U") {
        return Err("not an HLS playlist (no #EXTM3U)".to_owned());
    }
    if ends_in_a_dangling_tag(body) {
        return Err("truncated HLS playlist (its last tag has no URI)".to_owned());
    }
    match m3u8_rs::parse_playlist_res(body) {
        Ok(Playlist::MasterPlaylist(master)) => master_variants(master, base).map(Parsed::Master),
        Ok(Playlist::MediaPlaylist(media)) => media_view(media, base).map(Parsed::Media),
        // nom's error holds the remaining input (signed URIs): say only whether it was cut short.
        Err(e) if e.is_incomplete() => Err("truncated HLS playlist".to_owned()),
        Err(_) => Err("not a valid HLS playlist".to_owned()),
    }
}

/// Whether the last line that is not blank is `#EXTINF` or `#EXT-X-STREAM-INF`, whose URI must
/// follow: a playlist cut short (m3u8-rs would drop the segment and say nothing).
fn ends_in_a_dangling_tag(body: &[u8]) -> bool {
    let last = body
        .split(|b| *b == b'\n')
        .map(<[u8]>::trim_ascii)
        .rfind(|line| !line.is_empty())
        .unwrap_or_default();
    last.starts_with(b"#EXTINF:") || last.starts_with(b"#EXT-X-STREAM-INF:")
}

fn master_variants(master: MasterPlaylist, base: &Url) -> Result<Vec<VariantStream>, String> {
    let mut variants = Vec::new();
    for mut variant in master.variants.into_iter().filter(|v| !v.is_i_frame) {
        variant.uri = resolve(base, &variant.uri)?;
        variants.push(variant);
    }
    if variants.is_empty() {
        return Err("master playlist lists no variant".to_owned());
    }
    Ok(variants)
}

fn media_view(mut playlist: MediaPlaylist, base: &Url) -> Result<MediaView, String> {
    if playlist.target_duration == 0 {
        return Err("media playlist has no EXT-X-TARGETDURATION".to_owned());
    }
    for segment in &mut playlist.segments {
        segment.uri = resolve(base, &segment.uri)?;
        if !(segment.duration.is_finite() && segment.duration >= 0.0) {
            return Err(format!("segment duration {} is not a duration", segment.duration));
        }
        if let Some(key) = &mut segment.key
            && let Some(uri) = &mut key.uri
        {
            *uri = resolve(base, uri)?;
        }
        if let Some(map) = &mut segment.map {
            map.uri = resolve(base, &map.uri)?;
        }
    }
    Ok(MediaView {
        media_sequence: playlist.media_sequence,
        target_duration: playlist.target_duration as f64,
        ended: playlist.end_list,
        playlist,
    })
}

/// `uri` made absolute against `base`; only http and https are followed.
fn resolve(base: &Url, uri: &str) -> Result<String, String> {
    if uri.trim().is_empty() {
        return Err("a tag without its URI".to_owned());
    }
    let url = base.join(uri.trim()).map_err(|e| format!("URI that cannot be resolved: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url.into()),
        other => Err(format!("URI with scheme `{other}`; only http and https are followed")),
    }
}

/// The variant `choice` picks.
pub(crate) fn choose(variants: &[VariantStream], choice: VariantChoice) -> Option<&VariantStream> {
    let highest = variants.iter().max_by_key(|v| v.bandwidth);
    let lowest = variants.iter().min_by_key(|v| v.bandwidth);
    match choice {
        VariantChoice::Highest => highest,
        VariantChoice::Lowest => lowest,
        VariantChoice::AtMost(limit) => {
            variants.iter().filter(|v| v.bandwidth <= limit).max_by_key(|v| v.bandwidth).or(lowest)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn base() -> Url {
        Url::parse("https://cdn.example/live/master.m3u8?sig=abc").unwrap()
    }

    const MASTER: &str = "#EXTM3U\n\
        #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nhigh/index.m3u8?sig=abc\n\
        #EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=320x240\nlow/index.m3u8\n\
        #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"iframes.m3u8\"\n";

    const MEDIA: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n\
        #EXT-X-MEDIA-SEQUENCE:41\n\
        #EXTINF:2.000,\nseg41.ts\n#EXTINF:2.000,\nseg42.ts\n#EXTINF:1.500,\nhttps://other.example/seg43.ts?t=1\n";

    fn master(text: &str) -> Vec<VariantStream> {
        match parse(text.as_bytes(), &base()).unwrap() {
            Parsed::Master(variants) => variants,
            Parsed::Media(view) => panic!("expected a master playlist, got {view:?}"),
        }
    }

    fn media(text: &str) -> MediaView {
        match parse(text.as_bytes(), &base()).unwrap() {
            Parsed::Media(view) => view,
            Parsed::Master(variants) => panic!("expected a media playlist, got {variants:?}"),
        }
    }

    #[test]
    fn a_master_playlist_lists_its_variants_resolved_without_i_frame_ones() {
        let variants = master(MASTER);
        let uris: Vec<&str> = variants.iter().map(|v| v.uri.as_str()).collect();
        assert_eq!(
            uris,
            [
                "https://cdn.example/live/high/index.m3u8?sig=abc",
                "https://cdn.example/live/low/index.m3u8"
            ]
        );
    }

    #[test]
    fn variants_are_chosen_the_way_mpv_chooses() {
        let variants = master(MASTER);
        let pick = |choice| choose(&variants, choice).map(|v| v.bandwidth);
        assert_eq!(pick(VariantChoice::Highest), Some(800_000));
        assert_eq!(pick(VariantChoice::Lowest), Some(300_000));
        assert_eq!(pick(VariantChoice::AtMost(500_000)), Some(300_000));
        assert_eq!(pick(VariantChoice::AtMost(800_000)), Some(800_000));
        // Nothing fits: the lowest, as a player would still play something.
        assert_eq!(pick(VariantChoice::AtMost(1)), Some(300_000));
    }

    #[test]
    fn a_media_playlist_gives_its_live_edge() {
        let view = media(MEDIA);
        assert_eq!((view.media_sequence, view.target_duration, view.ended), (41, 2.0, false));
        assert_eq!(view.newest_sequence(), Some(43));
        let newest = view.newest().unwrap();
        assert_eq!((newest.sequence, newest.duration), (43, 1.5));
        assert_eq!(newest.url.as_str(), "https://other.example/seg43.ts?t=1");
        assert_eq!(view.playlist.segments[0].uri, "https://cdn.example/live/seg41.ts");
    }

    #[test]
    fn the_probe_copy_is_the_tail_with_an_end_and_absolute_uris() {
        let view = media(MEDIA);
        let text = String::from_utf8(view.tail_as_vod(2)).unwrap();
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:42"), "{text}");
        assert!(text.contains("#EXT-X-ENDLIST"), "{text}");
        assert!(!text.contains("seg41"), "{text}");
        assert!(text.contains("https://cdn.example/live/seg42.ts\n"), "{text}");
        // It reads back as the same two segments.
        let again = media(&text);
        assert_eq!(again.newest_sequence(), Some(43));
        assert!(again.ended);
    }

    #[test]
    fn bad_playlists_are_errors_that_quote_nothing() {
        let cases = [
            ("", "no #EXTM3U"),
            ("<html>403 Forbidden</html>", "no #EXTM3U"),
            ("#EXTM3U\n#EXTINF:2,\nseg.ts?sig=SECRET\n", "no EXT-X-TARGETDURATION"),
            ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", "truncated"),
            ("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg.ts\n#EXTINF:2,\n", "truncated"),
            ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n\n#EXT-X-ENDLIST\n", "without its URI"),
            ("#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"i.m3u8\"\n", "no variant"),
            ("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nftp://x/seg.ts\n", "scheme `ftp`"),
        ];
        for (text, expected) in cases {
            let error = parse(text.as_bytes(), &base()).expect_err(text);
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(!error.contains("SECRET"), "{error}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Arbitrary bytes after the header: an error or a playlist, never a panic.
        #[test]
        fn garbage_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut body = b"#EXTM3U\n".to_vec();
            body.extend_from_slice(&tail);
            let _ = parse(&body, &base());
        }

        /// Real playlists cut anywhere: an error or a shorter playlist, never a panic.
        #[test]
        fn truncated_playlists_never_panic(cut in 0usize..400, which in 0usize..2) {
            let text = [MASTER, MEDIA][which].as_bytes();
            let _ = parse(&text[..cut.min(text.len())], &base());
        }

        /// Playlist-shaped lines in any order and with any values: never a panic.
        #[test]
        fn shuffled_tags_never_panic(lines in proptest::collection::vec(
            prop_oneof![
                Just("#EXT-X-TARGETDURATION:".to_owned()),
                "#EXT-X-TARGETDURATION:-?[0-9]{0,25}",
                "#EXT-X-MEDIA-SEQUENCE:-?[0-9]{0,25}",
                "#EXTINF:-?[0-9.eE+]{0,12},.{0,5}",
                "#EXT-X-STREAM-INF:BANDWIDTH=[0-9]{0,22}(,RESOLUTION=[0-9x]{0,9})?",
                "#EXT-X-KEY:METHOD=AES-128,URI=\"[a-z:/?.]{0,12}\"",
                "#EXT-X-MAP:URI=\"[a-z:/.]{0,12}\"",
                "#EXT-X-BYTERANGE:[0-9@]{0,12}",
                Just("#EXT-X-ENDLIST".to_owned()),
                "[a-z0-9:/?=.%]{0,20}",
            ],
            0..30,
        )) {
            let body = format!("#EXTM3U\n{}\n", lines.join("\n"));
            if let Ok(Parsed::Media(view)) = parse(body.as_bytes(), &base()) {
                let _ = view.newest();
                let _ = view.tail_as_vod(3);
            }
        }
    }
}
