//! Is the live playlist still moving? RFC 8216 §6.2.1: a server must add a segment within 1.5×
//! the target duration; a playlist that has not gained one for `stall_factor` × the target
//! duration is stalled, and the screen will freeze when the player's buffer runs out.

use std::time::Instant;

use crate::playlist::MediaView;

/// The newest segment seen and when it first appeared, for one stream (one URL without its
/// signature: a freshly signed URL for the same stream keeps the history).
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    stream: Option<String>,
    newest: Option<u64>,
    advanced_at: Option<Instant>,
    target_duration: f64,
    ended: bool,
}

/// How the stream is moving.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Progress {
    /// Since the playlist last gained a segment, or since it was first seen.
    pub(crate) seconds_since_advanced: f64,
    /// Longer than the stall factor × the target duration, and not ended.
    pub(crate) stalled: bool,
}

impl Tracker {
    /// Records a fetched playlist of `stream` at `now`.
    pub(crate) fn observe(&mut self, stream: &str, view: &MediaView, now: Instant) {
        if self.stream.as_deref() != Some(stream) {
            *self = Self { stream: Some(stream.to_owned()), ..Self::default() };
        }
        let newest = view.newest_sequence();
        // Any change counts: a greater sequence is progress, a smaller one a restarted encoder.
        if self.advanced_at.is_none() || newest != self.newest {
            self.advanced_at = Some(now);
        }
        self.newest = newest;
        self.target_duration = view.target_duration;
        self.ended = view.ended;
    }

    /// Progress of `stream` at `now`; `None` before its playlist was first fetched.
    pub(crate) fn progress(
        &self,
        stream: &str,
        now: Instant,
        stall_factor: f64,
    ) -> Option<Progress> {
        if self.stream.as_deref() != Some(stream) {
            return None;
        }
        let seconds = now.saturating_duration_since(self.advanced_at?).as_secs_f64();
        Some(Progress {
            seconds_since_advanced: seconds,
            stalled: !self.ended && seconds > stall_factor * self.target_duration,
        })
    }

    /// Forgets everything: no stream is watched.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::playlist::{Parsed, parse};

    fn view(sequence: u64, segments: usize, ended: bool) -> MediaView {
        let mut text =
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{sequence}\n");
        for i in 0..segments {
            text.push_str(&format!("#EXTINF:2.0,\nseg{}.ts\n", sequence + i as u64));
        }
        if ended {
            text.push_str("#EXT-X-ENDLIST\n");
        }
        let base = reqwest::Url::parse("http://127.0.0.1/live.m3u8").unwrap();
        match parse(text.as_bytes(), &base).unwrap() {
            Parsed::Media(view) => view,
            Parsed::Master(_) => unreachable!("a media playlist"),
        }
    }

    #[test]
    fn a_playlist_that_stops_gaining_segments_stalls_after_factor_times_target() {
        let start = Instant::now();
        let at = |s: f64| start + Duration::from_secs_f64(s);
        let mut tracker = Tracker::default();
        tracker.observe("a", &view(10, 3, false), at(0.0));
        assert_eq!(tracker.progress("a", at(0.0), 3.0).unwrap().seconds_since_advanced, 0.0);
        tracker.observe("a", &view(11, 3, false), at(2.0));
        let moving = tracker.progress("a", at(3.0), 3.0).unwrap();
        assert_eq!((moving.seconds_since_advanced, moving.stalled), (1.0, false));
        // The same playlist again and again: 6 s (3 × 2 s) is the limit.
        tracker.observe("a", &view(11, 3, false), at(7.0));
        assert!(!tracker.progress("a", at(8.0), 3.0).unwrap().stalled);
        let stalled = tracker.progress("a", at(8.5), 3.0).unwrap();
        assert!(stalled.stalled && stalled.seconds_since_advanced == 6.5);
        // A segment appended without sliding the window is progress too.
        tracker.observe("a", &view(11, 4, false), at(9.0));
        assert!(!tracker.progress("a", at(9.0), 3.0).unwrap().stalled);
    }

    #[test]
    fn an_ended_stream_is_not_stalled_and_another_stream_starts_afresh() {
        let start = Instant::now();
        let mut tracker = Tracker::default();
        tracker.observe("a", &view(0, 3, true), start);
        assert!(!tracker.progress("a", start + Duration::from_secs(60), 3.0).unwrap().stalled);
        assert_eq!(tracker.progress("b", start, 3.0), None);
        tracker.observe("b", &view(500, 3, false), start + Duration::from_secs(61));
        let fresh = tracker.progress("b", start + Duration::from_secs(61), 3.0).unwrap();
        assert_eq!(fresh.seconds_since_advanced, 0.0);
        tracker.reset();
        assert_eq!(tracker.progress("b", start, 3.0), None);
    }
}
