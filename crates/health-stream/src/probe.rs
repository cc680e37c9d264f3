//! Running `ffprobe` on a media playlist: one short-lived child with a hard timeout, always reaped.
//!
//! The command is `ffprobe -v error -rw_timeout <µs> -protocol_whitelist
//! file,http,https,tcp,tls,crypto -read_intervals %+3 -show_entries
//! packet=size,pts_time,duration_time -show_format -show_streams -of json <file>`. The packet
//! entries (at most about three seconds of the stream) measure the bitrate of HLS playlists,
//! whose format `bit_rate` is the size of the playlist text over the duration, not the media's.
//!
//! Playback URLs are signed, and a process's argv is readable by every user of the machine, so
//! ffprobe is never given a URL: it reads a playlist from a private file (mode 0600), whose
//! segment URIs are absolute. Every URL in its stderr is redacted before it becomes an error.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use health_core::child_output::{self, Unfinished, quote, wait_bounded};
use health_core::redact;
use serde::Deserialize;
use tokio::process::Command;

/// How much of ffprobe's stderr an error quotes.
const QUOTED_CHARS: usize = 500;

/// The Debian package that ships `ffprobe`.
const PACKAGE_HINT: &str = "install the Debian package `ffmpeg` (sudo apt-get install ffmpeg) \
                            or set the path to ffprobe";

/// How far into the stream ffprobe reads packets to measure the bitrate.
const READ_INTERVALS: &str = "%+3";

/// What a local playlist may make ffprobe open: its own file, and its segments over HTTP(S).
const PROTOCOLS: &str = "file,http,https,tcp,tls,crypto";

/// How to run ffprobe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    /// The ffprobe binary; a bare name is looked up on `PATH`. Default `ffprobe`.
    pub ffprobe: PathBuf,
    /// Hard limit on one run: the child is killed and reaped when it is reached. Also passed to
    /// ffprobe as `-rw_timeout`, so a stalled read fails on its own. Default 15 s.
    pub timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self { ffprobe: PathBuf::from("ffprobe"), timeout: Duration::from_secs(15) }
    }
}

/// What ffprobe says about a stream; `None` where it did not say or said nonsense.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamFacts {
    /// Bytes per second: the container's `bit_rate` (not for HLS), else measured over the packets
    /// read, else the video stream's `bit_rate`; bits are divided by 8.
    pub bitrate_bytes_per_second: Option<f64>,
    /// Width of the first video stream, in pixels.
    pub width: Option<u32>,
    /// Height of the first video stream, in pixels.
    pub height: Option<u32>,
    /// Frame rate of the first video stream, from `avg_frame_rate`, else `r_frame_rate`.
    pub frames_per_second: Option<f64>,
    /// Channels of the first audio stream.
    pub audio_channels: Option<u32>,
    /// Sample rate of the first audio stream.
    pub audio_sample_rate_hertz: Option<f64>,
    /// Codec of the first video stream, as ffprobe names it (`h264`).
    pub video_codec: Option<String>,
    /// Codec of the first audio stream, as ffprobe names it (`aac`).
    pub audio_codec: Option<String>,
}

/// Why a probe gave no facts. No message contains the URL's query string or fragment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The ffprobe binary does not exist.
    #[error("{ffprobe}: not found; {PACKAGE_HINT}", ffprobe = ffprobe.display())]
    NotFound {
        /// The binary that was asked for.
        ffprobe: PathBuf,
    },
    /// ffprobe did not finish in time; it was killed and reaped.
    #[error("ffprobe {url}: no answer within {timeout:?}; killed")]
    Timeout {
        /// The redacted URL.
        url: String,
        /// The hard timeout.
        timeout: Duration,
    },
    /// ffprobe failed.
    #[error("ffprobe {url}: {status}: {stderr}")]
    Failed {
        /// The redacted URL.
        url: String,
        /// How it exited.
        status: ExitStatus,
        /// Its stderr, trimmed, cut, with the URL redacted.
        stderr: String,
    },
    /// ffprobe succeeded but its output is not the expected JSON.
    #[error("ffprobe {url}: cannot parse its JSON output: {source}")]
    Parse {
        /// The redacted URL.
        url: String,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// ffprobe could not be started, waited for, or read.
    #[error("ffprobe {url}: {source}")]
    Io {
        /// The redacted URL.
        url: String,
        /// The error.
        source: io::Error,
    },
}

/// Runs ffprobe on the media playlist in the file `playlist` and returns what it found; `name`
/// is how errors call the stream (a redacted URL).
///
/// Through [`health_core::child_output`]: stdin is null, stdout and stderr are read concurrently
/// with the wait. On timeout the child is killed and reaped before this returns; if the caller
/// drops this future, `kill_on_drop` kills it and tokio reaps it in the background.
pub async fn probe(
    playlist: &Path,
    name: &str,
    options: &ProbeOptions,
) -> Result<StreamFacts, ProbeError> {
    let redacted = name.to_owned();
    let rw_timeout = options.timeout.as_micros().max(1).to_string();
    let mut input = std::ffi::OsString::from("file:");
    input.push(playlist);
    let mut command = Command::new(&options.ffprobe);
    command
        // Children need none of the kiosk's secrets in their environment.
        .env_remove("VIMEO_TOKEN")
        .env_remove("VIMEO_SECRET")
        .env_remove("HEALTH_METRICS_BEARER_TOKEN")
        .args(["-v", "error", "-rw_timeout", &rw_timeout, "-protocol_whitelist", PROTOCOLS])
        .args(["-read_intervals", READ_INTERVALS])
        .args(["-show_entries", "packet=size,pts_time,duration_time"])
        .args(["-show_format", "-show_streams", "-of", "json", "-i"])
        .arg(input);
    let child = child_output::spawn(&mut command).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => ProbeError::NotFound { ffprobe: options.ffprobe.clone() },
        _ => ProbeError::Io { url: redacted.clone(), source },
    })?;
    let finished =
        wait_bounded(child, options.timeout).await.map_err(|unfinished| match unfinished {
            Unfinished::Timeout(timeout) => ProbeError::Timeout { url: redacted.clone(), timeout },
            Unfinished::Io(source) => ProbeError::Io { url: redacted.clone(), source },
        })?;
    if !finished.status.success() {
        let stderr = redact::urls_in(&String::from_utf8_lossy(&finished.stderr));
        return Err(ProbeError::Failed {
            url: redacted,
            status: finished.status,
            stderr: quote(&stderr, QUOTED_CHARS),
        });
    }
    parse(&finished.stdout).map_err(|source| ProbeError::Parse { url: redacted, source })
}

/// Facts from ffprobe's JSON output.
///
/// The typed [`ffprobe::FfProbe`] is tried first; it makes some fields mandatory (`disposition`
/// members, `codec_tag_string`, `format.filename`…) that other builds or inputs may leave out,
/// so when it fails a minimal lenient structure is used instead.
fn parse(stdout: &[u8]) -> Result<StreamFacts, serde_json::Error> {
    let packets = serde_json::from_slice::<Packets>(stdout)?.packets;
    let lenient = match serde_json::from_slice::<ffprobe::FfProbe>(stdout) {
        Ok(typed) => Lenient::from(typed),
        Err(e) => {
            tracing::debug!(
                target: "health.stream",
                error = %e,
                "ffprobe output does not fit ffprobe::FfProbe; lenient parse",
            );
            serde_json::from_slice::<Lenient>(stdout)?
        }
    };
    Ok(facts(&lenient, &packets))
}

/// The part of ffprobe's output the facts come from; every field optional.
#[derive(Debug, Default, Deserialize)]
struct Lenient {
    #[serde(default)]
    streams: Vec<LenientStream>,
    #[serde(default)]
    format: Option<LenientFormat>,
}

#[derive(Debug, Default, Deserialize)]
struct LenientStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    channels: Option<i64>,
    sample_rate: Option<String>,
    bit_rate: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LenientFormat {
    format_name: Option<String>,
    bit_rate: Option<String>,
}

impl From<ffprobe::FfProbe> for Lenient {
    fn from(typed: ffprobe::FfProbe) -> Self {
        let streams = typed
            .streams
            .into_iter()
            .map(|s| LenientStream {
                codec_type: s.codec_type,
                codec_name: s.codec_name,
                width: s.width,
                height: s.height,
                avg_frame_rate: Some(s.avg_frame_rate),
                r_frame_rate: Some(s.r_frame_rate),
                channels: s.channels,
                sample_rate: s.sample_rate,
                bit_rate: s.bit_rate,
            })
            .collect();
        let format = LenientFormat {
            format_name: Some(typed.format.format_name),
            bit_rate: typed.format.bit_rate,
        };
        Self { streams, format: Some(format) }
    }
}

/// The `packets` section that `-show_entries packet=…` adds.
#[derive(Debug, Default, Deserialize)]
struct Packets {
    #[serde(default)]
    packets: Vec<Packet>,
}

#[derive(Debug, Default, Deserialize)]
struct Packet {
    size: Option<String>,
    pts_time: Option<String>,
    duration_time: Option<String>,
}

fn facts(probe: &Lenient, packets: &[Packet]) -> StreamFacts {
    let of_type = |kind: &str| probe.streams.iter().find(|s| s.codec_type.as_deref() == Some(kind));
    let video = of_type("video");
    let audio = of_type("audio");
    let format = probe.format.as_ref();
    let is_hls = format
        .and_then(|f| f.format_name.as_deref())
        .is_some_and(|name| name.split(',').any(|n| n == "hls" || n == "applehttp"));
    let format_bitrate = format.and_then(|f| positive(f.bit_rate.as_deref())).filter(|_| !is_hls);
    let bits_per_second = format_bitrate
        .map(|bits| bits / 8.0)
        .or_else(|| measured_bytes_per_second(packets))
        .or_else(|| video.and_then(|v| positive(v.bit_rate.as_deref())).map(|bits| bits / 8.0));
    StreamFacts {
        bitrate_bytes_per_second: bits_per_second,
        width: video.and_then(|v| v.width).and_then(|w| u32::try_from(w).ok()).filter(|w| *w > 0),
        height: video.and_then(|v| v.height).and_then(|h| u32::try_from(h).ok()).filter(|h| *h > 0),
        frames_per_second: video.and_then(|v| {
            ratio(v.avg_frame_rate.as_deref()).or_else(|| ratio(v.r_frame_rate.as_deref()))
        }),
        audio_channels: audio
            .and_then(|a| a.channels)
            .and_then(|c| u32::try_from(c).ok())
            .filter(|c| *c > 0),
        audio_sample_rate_hertz: audio.and_then(|a| positive(a.sample_rate.as_deref())),
        video_codec: video.and_then(|v| v.codec_name.clone()),
        audio_codec: audio.and_then(|a| a.codec_name.clone()),
    }
}

/// A positive finite number from ffprobe's decimal text.
fn positive(text: Option<&str>) -> Option<f64> {
    text?.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0)
}

/// A positive finite rate from `"25/1"` or `"25"`; `"0/0"` is none.
fn ratio(text: Option<&str>) -> Option<f64> {
    let text = text?.trim();
    let value = match text.split_once('/') {
        Some((numerator, denominator)) => {
            numerator.parse::<f64>().ok()? / denominator.parse::<f64>().ok()?
        }
        None => text.parse::<f64>().ok()?,
    };
    Some(value).filter(|v| v.is_finite() && *v > 0.0)
}

/// Bytes of the packets read over the time they span, when they span some.
fn measured_bytes_per_second(packets: &[Packet]) -> Option<f64> {
    let mut bytes = 0.0;
    let mut start = f64::INFINITY;
    let mut end = f64::NEG_INFINITY;
    for packet in packets {
        let Some(size) = positive(packet.size.as_deref()) else { continue };
        bytes += size;
        if let Some(pts) = packet.pts_time.as_deref().and_then(|t| t.trim().parse::<f64>().ok()) {
            let duration = positive(packet.duration_time.as_deref()).unwrap_or(0.0);
            start = start.min(pts);
            end = end.max(pts + duration);
        }
    }
    let span = end - start;
    (span.is_finite() && span > 0.0 && bytes > 0.0).then(|| bytes / span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_reads_fractions_and_rejects_zero() {
        assert_eq!(ratio(Some("25/1")), Some(25.0));
        assert_eq!(ratio(Some("30000/1001")).map(|v| (v * 100.0).round()), Some(2997.0));
        assert_eq!(ratio(Some("0/0")), None);
        assert_eq!(ratio(Some("50")), Some(50.0));
        assert_eq!(ratio(None), None);
    }

    #[test]
    fn lenient_parse_accepts_sparse_output() {
        let json = br#"{"streams":[{"codec_type":"video","codec_name":"h264","width":1280,
            "height":720,"r_frame_rate":"30/1"}],"format":{"format_name":"mpegts","bit_rate":"800000"}}"#;
        let facts = parse(json).unwrap();
        assert_eq!(facts.width, Some(1280));
        assert_eq!(facts.frames_per_second, Some(30.0));
        assert_eq!(facts.bitrate_bytes_per_second, Some(100_000.0));
        assert_eq!(facts.audio_codec, None);
    }

    #[test]
    fn hls_format_bitrate_is_ignored() {
        let json = br#"{"streams":[],"format":{"format_name":"hls","bit_rate":"442"},
            "packets":[{"size":"1000","pts_time":"1.0","duration_time":"0.5"},
                       {"size":"1000","pts_time":"1.5","duration_time":"0.5"}]}"#;
        assert_eq!(parse(json).unwrap().bitrate_bytes_per_second, Some(2000.0));
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::super::parse;

        /// A JSON value of any shape, a few levels deep.
        fn json() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                "[0-9./-]{0,12}".prop_map(serde_json::Value::from),
                ".{0,8}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(3, 24, 6, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..6)
                        .prop_map(serde_json::Value::from),
                    proptest::collection::btree_map(field(), inner, 0..8)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// Keys ffprobe writes, and others.
        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("streams".to_owned()),
                Just("format".to_owned()),
                Just("packets".to_owned()),
                Just("codec_type".to_owned()),
                Just("width".to_owned()),
                Just("avg_frame_rate".to_owned()),
                Just("sample_rate".to_owned()),
                Just("bit_rate".to_owned()),
                Just("size".to_owned()),
                Just("pts_time".to_owned()),
                "[a-z_]{1,10}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Whatever JSON an ffprobe build prints: facts or an error, never a panic.
            #[test]
            fn any_json_gives_facts_or_an_error(value in json()) {
                let _ = parse(value.to_string().as_bytes());
            }

            /// Output cut short (a killed ffprobe): an error, never a panic.
            #[test]
            fn truncated_output_is_an_error(cut in 0usize..300) {
                let full = br#"{"streams":[{"codec_type":"video","width":640,"avg_frame_rate":"25/1"}],"format":{"format_name":"hls"},"packets":[{"size":"10","pts_time":"0.1"}]}"#;
                let cut = cut.min(full.len() - 1);
                prop_assert!(parse(&full[..cut]).is_err());
            }
        }
    }

    #[test]
    fn quote_cuts_long_text() {
        assert_eq!(quote("  x \n", QUOTED_CHARS), "x");
        assert_eq!(quote(&"y".repeat(600), QUOTED_CHARS), format!("{}…", "y".repeat(500)));
    }
}
