//! The player's own figures, kept up to date from mpv's property changes.
//!
//! The supervisor observes [`OBSERVED`] once per mpv (`observe_property`) and hands every
//! [`MpvEvent::PropertyChange`](super::mpv::MpvEvent::PropertyChange) to [`Quality::apply`]; mpv
//! sends a property only when it changes, so a kiosk playing smoothly costs a few messages a
//! second, and nothing is polled. mpv 0.35 and 0.38 name and shape these properties the same.

use health_script::{PlayerFigures, StreamFacts};
use serde_json::Value;

/// The properties observed, with the id each is observed under (its index + 1).
pub const OBSERVED: &[&str] = &[
    "frame-drop-count",
    "decoder-frame-drop-count",
    "paused-for-cache",
    "demuxer-cache-duration",
    "demuxer-cache-state",
    "estimated-vf-fps",
    "container-fps",
    "hwdec-current",
    "video-params",
    "video-format",
    "video-bitrate",
    "audio-codec-name",
    "audio-params",
    "audio-bitrate",
];

/// The figures as the last property changes left them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quality {
    figures: PlayerFigures,
    video_bits: Option<f64>,
    audio_bits: Option<f64>,
}

impl Quality {
    /// Takes one property change; returns whether a figure changed. Unknown names and values of
    /// an unexpected shape leave the figure unknown.
    pub fn apply(&mut self, name: &str, data: &Value) -> bool {
        let before = self.clone();
        let f = &mut self.figures;
        match name {
            "frame-drop-count" => f.frames_dropped_output = data.as_u64(),
            "decoder-frame-drop-count" => f.frames_dropped_decoder = data.as_u64(),
            "paused-for-cache" => f.buffering = data.as_bool(),
            "demuxer-cache-duration" => f.buffer_seconds = data.as_f64(),
            "demuxer-cache-state" => {
                f.input_bytes_per_second = data.get("raw-input-rate").and_then(Value::as_f64);
            }
            "estimated-vf-fps" => f.fps = data.as_f64(),
            "container-fps" => f.stream.frames_per_second = data.as_f64().filter(|fps| *fps > 0.0),
            "hwdec-current" => f.hwdec = data.as_str().map(str::to_owned),
            "video-params" => {
                let size =
                    |key| data.get(key).and_then(Value::as_u64).and_then(|v| v.try_into().ok());
                f.video_width = size("w");
                f.video_height = size("h");
            }
            "video-format" => f.stream.video_codec = codec(data),
            "audio-codec-name" => f.stream.audio_codec = codec(data),
            "audio-params" => {
                let channels = data.get("channel-count").and_then(Value::as_u64);
                f.stream.audio_channels = channels.and_then(|c| c.try_into().ok());
                f.stream.audio_sample_rate_hertz = data.get("samplerate").and_then(Value::as_f64);
            }
            "video-bitrate" => self.video_bits = data.as_f64(),
            "audio-bitrate" => self.audio_bits = data.as_f64(),
            _ => {}
        }
        self.figures.stream.bitrate_bytes_per_second = match (self.video_bits, self.audio_bits) {
            (None, None) => None,
            (video, audio) => Some((video.unwrap_or(0.0) + audio.unwrap_or(0.0)) / 8.0),
        };
        *self != before
    }

    /// The figures now.
    pub fn figures(&self) -> &PlayerFigures {
        &self.figures
    }

    /// What is played, as the `stream` collector publishes it.
    pub fn stream(&self) -> &StreamFacts {
        &self.figures.stream
    }
}

/// A codec name as a short label value: FFmpeg's names are short (`h264`, `aac`); anything
/// long or empty is not a name.
fn codec(data: &Value) -> Option<String> {
    data.as_str().filter(|c| !c.is_empty() && c.len() <= 32).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn property_changes_as_mpv_sends_them_fill_the_figures() {
        let mut quality = Quality::default();
        // Captured from mpv 0.35.1 playing an H.264/AAC HLS stream.
        let changes = [
            ("frame-drop-count", json!(3)),
            ("decoder-frame-drop-count", json!(1)),
            ("paused-for-cache", json!(false)),
            ("demuxer-cache-duration", json!(4.5)),
            (
                "demuxer-cache-state",
                json!({"cache-end": 12.0, "raw-input-rate": 250000, "eof": false}),
            ),
            ("estimated-vf-fps", json!(24.98)),
            ("container-fps", json!(25.0)),
            ("hwdec-current", json!("no")),
            ("video-params", json!({"pixelformat": "yuv420p", "w": 1280, "h": 720, "dw": 1280})),
            ("video-format", json!("h264")),
            ("video-bitrate", json!(1_600_000.0)),
            ("audio-codec-name", json!("aac")),
            ("audio-params", json!({"format": "floatp", "samplerate": 48000, "channel-count": 2})),
            ("audio-bitrate", json!(128_000.0)),
        ];
        for (name, data) in &changes {
            assert!(quality.apply(name, data), "{name} changed a figure");
        }
        let expected = PlayerFigures {
            frames_dropped_output: Some(3),
            frames_dropped_decoder: Some(1),
            buffering: Some(false),
            buffer_seconds: Some(4.5),
            fps: Some(24.98),
            hwdec: Some("no".to_owned()),
            video_width: Some(1280),
            video_height: Some(720),
            input_bytes_per_second: Some(250_000.0),
            stream: StreamFacts {
                frames_per_second: Some(25.0),
                bitrate_bytes_per_second: Some(216_000.0),
                video_codec: Some("h264".to_owned()),
                audio_codec: Some("aac".to_owned()),
                audio_channels: Some(2),
                audio_sample_rate_hertz: Some(48_000.0),
            },
        };
        assert_eq!(quality.figures(), &expected);
        assert!(!quality.apply("container-fps", &json!(25.0)), "no change");
        assert!(!quality.apply("volume", &json!(100)), "not ours");
    }

    #[test]
    fn unavailable_or_odd_values_make_a_figure_unknown() {
        let mut quality = Quality::default();
        quality.apply("video-params", &json!({"w": 1920, "h": 1080}));
        quality.apply("estimated-vf-fps", &json!(25.0));
        quality.apply("video-bitrate", &json!(8000.0));
        // A new file: mpv sends null while the properties are unavailable.
        for name in ["video-params", "estimated-vf-fps", "video-bitrate"] {
            quality.apply(name, &Value::Null);
        }
        quality.apply("frame-drop-count", &json!(-1));
        quality.apply("video-format", &json!("x".repeat(100)));
        assert_eq!(quality.figures(), &PlayerFigures::default());
    }
}
