//! Test media made with ffmpeg in a temporary directory: still images (the holding and error
//! images) and short videos in MPEG-TS, a streamable format that plays from a plain HTTP body.
// Each test binary that includes this uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary directory of generated media, removed on drop.
pub(crate) struct Media {
    dir: tempfile::TempDir,
}

impl Media {
    /// An empty media directory.
    pub(crate) fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("a temporary directory") }
    }

    /// The directory itself, for other test files.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A 320x240 PNG of one colour (an ffmpeg colour name: `blue`, `red`).
    pub(crate) fn image(&self, name: &str, color: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let source = format!("color=c={color}:s=320x240");
        ffmpeg(&["-f", "lavfi", "-i", &source, "-frames:v", "1"], &path);
        path
    }

    /// A 320x240, 25 fps test picture with a 440 Hz tone, `seconds` long, as MPEG-TS (H.264 with
    /// a key frame every second, AAC).
    pub(crate) fn video(&self, name: &str, seconds: u32) -> PathBuf {
        let path = self.dir.path().join(name);
        let seconds = seconds.to_string();
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=25",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                &seconds,
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-g",
                "25",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-f",
                "mpegts",
            ],
            &path,
        );
        path
    }
}

/// Runs `ffmpeg -v error -y ARGS OUTPUT`, panicking with its stderr when it fails.
fn ffmpeg(args: &[&str], output: &Path) {
    let result = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(output)
        .output()
        .expect("ffmpeg runs (install it with ./scripts/setup: Debian package `ffmpeg`)");
    assert!(
        result.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
}
