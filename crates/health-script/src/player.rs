//! What the player says about its own playback, as the kiosk hands it over: dropped frames,
//! buffering, decoding, what it plays. The kiosk reads these from mpv's property changes; this
//! module only carries them and keeps the counters that must outlive a player.

use tokio::time::Instant;

use crate::monotonic::Monotonic;

/// The player's figures now. `None` is "the player does not know" (nothing loaded, an image,
/// no audio track): the series is left out until known again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayerFigures {
    /// Frames the video output dropped since the file was loaded (`frame-drop-count`).
    pub frames_dropped_output: Option<u64>,
    /// Frames the decoder dropped since the file was loaded (`decoder-frame-drop-count`).
    pub frames_dropped_decoder: Option<u64>,
    /// Playback waits for the network (`paused-for-cache`).
    pub buffering: Option<bool>,
    /// Seconds of media buffered ahead (`demuxer-cache-duration`).
    pub buffer_seconds: Option<f64>,
    /// Frames per second the video filters put out, as measured (`estimated-vf-fps`).
    pub fps: Option<f64>,
    /// The hardware decoder in use (`hwdec-current`), `no` for software decoding.
    pub hwdec: Option<String>,
    /// The decoded picture's width (`video-params/w`).
    pub video_width: Option<u32>,
    /// The decoded picture's height (`video-params/h`).
    pub video_height: Option<u32>,
    /// Bytes per second arriving from the network (`demuxer-cache-state/raw-input-rate`).
    pub input_bytes_per_second: Option<f64>,
    /// What the stream itself is, for the `stream` collector inside the kiosk: the same facts
    /// ffprobe would give, from the player at no network cost.
    pub stream: StreamFacts,
}

/// The played stream as the player sees it: the `stream` collector's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamFacts {
    /// The container's frame rate (`container-fps`).
    pub frames_per_second: Option<f64>,
    /// Video plus audio bitrate, bytes per second (`video-bitrate` + `audio-bitrate`, bits / 8).
    pub bitrate_bytes_per_second: Option<f64>,
    /// The video codec, as FFmpeg names it (`video-format`: `h264`).
    pub video_codec: Option<String>,
    /// The audio codec, as FFmpeg names it (`audio-codec-name`: `aac`).
    pub audio_codec: Option<String>,
    /// Audio channels (`audio-params/channel-count`).
    pub audio_channels: Option<u32>,
    /// Audio sample rate (`audio-params/samplerate`).
    pub audio_sample_rate_hertz: Option<f64>,
}

/// The player's figures and the counters built from them.
#[derive(Debug, Default)]
pub(crate) struct PlayerRecord {
    pub(crate) figures: Option<PlayerFigures>,
    pub(crate) dropped_output: Monotonic,
    pub(crate) dropped_decoder: Monotonic,
    pub(crate) rebuffers: u64,
    /// Seconds spent buffering in finished episodes.
    rebuffer_seconds: f64,
    /// When the current episode began, while buffering.
    buffering_since: Option<Instant>,
}

impl PlayerRecord {
    /// Takes the player's figures at `now`: a change from playing to buffering starts an
    /// episode (counted once), the change back ends it.
    pub(crate) fn update(&mut self, figures: PlayerFigures, now: Instant) {
        if let Some(count) = figures.frames_dropped_output {
            self.dropped_output.observe(count);
        }
        if let Some(count) = figures.frames_dropped_decoder {
            self.dropped_decoder.observe(count);
        }
        self.set_buffering(figures.buffering == Some(true), now);
        self.figures = Some(figures);
    }

    /// The player is gone: its counts start again, and a buffering episode ends.
    pub(crate) fn restart(&mut self, now: Instant) {
        self.dropped_output.restart();
        self.dropped_decoder.restart();
        self.set_buffering(false, now);
        self.figures = None;
    }

    fn set_buffering(&mut self, buffering: bool, now: Instant) {
        match (buffering, self.buffering_since) {
            (true, None) => {
                self.rebuffers += 1;
                self.buffering_since = Some(now);
            }
            (false, Some(since)) => {
                self.rebuffer_seconds += now.saturating_duration_since(since).as_secs_f64();
                self.buffering_since = None;
            }
            _ => {}
        }
    }

    /// Seconds spent buffering so far, the current episode included.
    pub(crate) fn rebuffer_seconds(&self, now: Instant) -> f64 {
        let ongoing = self
            .buffering_since
            .map_or(0.0, |since| now.saturating_duration_since(since).as_secs_f64());
        self.rebuffer_seconds + ongoing
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn buffering(on: bool) -> PlayerFigures {
        PlayerFigures { buffering: Some(on), ..PlayerFigures::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn rebuffers_count_episodes_and_their_seconds_include_the_current_one() {
        let mut record = PlayerRecord::default();
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        // (time, buffering) → (episodes, seconds as of that time)
        let steps = [
            (0, false, 0, 0.0),
            (1, true, 1, 0.0),
            (3, true, 1, 2.0),
            (4, false, 1, 3.0),
            (10, false, 1, 3.0),
            (11, true, 2, 3.0),
            (15, true, 2, 7.0),
        ];
        for (t, on, episodes, seconds) in steps {
            record.update(buffering(on), at(t));
            assert_eq!(record.rebuffers, episodes, "at {t}");
            assert_eq!(record.rebuffer_seconds(at(t)), seconds, "at {t}");
        }
        record.restart(at(16));
        assert_eq!((record.rebuffers, record.rebuffer_seconds(at(20))), (2, 8.0));
        assert_eq!(record.figures, None);
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_frames_keep_counting_over_new_files_and_players() {
        let mut record = PlayerRecord::default();
        let now = Instant::now();
        let drops = |output, decoder| PlayerFigures {
            frames_dropped_output: Some(output),
            frames_dropped_decoder: Some(decoder),
            ..PlayerFigures::default()
        };
        record.update(drops(5, 1), now);
        record.update(drops(0, 0), now); // a new file: mpv counts from 0
        record.update(drops(2, 3), now);
        record.restart(now); // a new mpv
        record.update(drops(4, 0), now);
        assert_eq!((record.dropped_output.total(), record.dropped_decoder.total()), (11, 4));
    }
}
