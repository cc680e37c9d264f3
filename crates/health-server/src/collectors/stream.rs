//! The stream collectors, probe and playlist (`health-stream`, cargo feature `stream`).

use super::{CollectorEntry, Compiled, Enable};

pub(super) const ENTRY: CollectorEntry = CollectorEntry {
    name: "stream",
    feature: Some("stream"),
    description: "the stream being played: ffprobe's view of it, and its live playlist advancing",
    enable: Enable::Switch { key: "HEALTH_STREAM_ENABLED", on: |config| config.stream.enabled },
    compiled: COMPILED,
};

#[cfg(feature = "stream")]
const COMPILED: Option<Compiled> = Some(compiled::COMPILED);
#[cfg(not(feature = "stream"))]
const COMPILED: Option<Compiled> = None;

#[cfg(feature = "stream")]
mod compiled {
    use health_stream::probe::ProbeOptions;
    use health_stream::{StreamOptions, StreamSource, VariantChoice};

    use super::super::{Compiled, Run};
    use crate::compose::{Composition, Inputs};
    use crate::config::{HealthConfig, VariantSetting};

    pub(super) const COMPILED: Compiled = Compiled {
        runs: &[
            Run {
                name: health_stream::PROBE_COLLECTOR,
                interval: "HEALTH_STREAM_INTERVAL",
                metrics: health_stream::probe_descriptions,
            },
            Run {
                name: health_stream::PLAYLIST_COLLECTOR,
                interval: "HEALTH_STREAM_PLAYLIST_INTERVAL",
                metrics: health_stream::playlist_descriptions,
            },
        ],
        compose: Some(build),
    };

    fn build(config: &HealthConfig, inputs: &Inputs, composition: &mut Composition) {
        let stream = &config.stream;
        let source = inputs.stream_source.clone().unwrap_or_else(|| {
            StreamSource::fixed(stream.url.as_ref().map(|url| url.expose().to_owned()))
        });
        let options = StreamOptions {
            source,
            probe_interval: stream.interval,
            probe: ProbeOptions {
                ffprobe: stream.ffprobe_path.clone(),
                timeout: stream.ffprobe_timeout,
            },
            playlist_interval: stream.playlist_interval,
            stall_factor: stream.stall_factor,
            variant: stream.variant.into(),
            segment_download: stream.segment_download_enabled,
            player: player_view(inputs),
        };
        match health_stream::collectors(options) {
            Ok((probe, playlist)) => {
                composition.collectors.push(Box::new(probe));
                composition.collectors.push(Box::new(playlist));
            }
            Err(e) => {
                // TLS set-up failing is not something configuration can fix; run without them.
                tracing::error!(target: "health.server", "{e}; the stream collectors are off");
            }
        }
    }

    /// Inside the kiosk, what its player says about the stream it plays, while it plays it.
    #[cfg(feature = "script")]
    fn player_view(inputs: &Inputs) -> Option<health_stream::PlayerView> {
        let script = inputs.script.clone()?;
        Some(health_stream::PlayerView::new(move || {
            if script.display() != health_script::Display::Stream {
                return None;
            }
            let figures = script.player_figures()?;
            let stream = figures.stream;
            Some(health_stream::StreamFacts {
                bitrate_bytes_per_second: stream.bitrate_bytes_per_second,
                width: figures.video_width,
                height: figures.video_height,
                frames_per_second: stream.frames_per_second,
                audio_channels: stream.audio_channels,
                audio_sample_rate_hertz: stream.audio_sample_rate_hertz,
                video_codec: stream.video_codec,
                audio_codec: stream.audio_codec,
            })
        }))
    }

    /// Without the kiosk's record there is no player to ask.
    #[cfg(not(feature = "script"))]
    fn player_view(_: &Inputs) -> Option<health_stream::PlayerView> {
        None
    }

    /// The configuration keeps its own choice so that it parses without this crate.
    impl From<VariantSetting> for VariantChoice {
        fn from(setting: VariantSetting) -> Self {
            match setting {
                VariantSetting::Highest => Self::Highest,
                VariantSetting::Lowest => Self::Lowest,
                VariantSetting::AtMost(bits) => Self::AtMost(bits),
            }
        }
    }
}
