//! What watching the picture costs (issue 12): one screenshot as the kiosk takes it, on a real
//! mpv (headless, `--vo=null --ao=null`) playing a 1080p and a 720p H.264 stream.
//!
//! - mpv's share: `screenshot-to-file … video` (the picture converted and encoded as JPEG),
//!   measured as mpv's CPU time (`utime + stime` of `/proc/PID/stat`) over [`SHOTS`] screenshots
//!   in a row, less what mpv spends playing in the same time (its rate measured just before).
//! - The kiosk's share: decoding that JPEG, scaling it to 160 pixels, its mean luma, the
//!   difference to the previous shot and the thumbnail JPEG (`picture::measure` +
//!   `picture::difference`), timed on one thread [`SHOTS`] times.
//! - Their sum per shot, per hour and as a share of one core at the default interval (10 s).
//!
//! The media is made with ffmpeg first (not in real time) and played in a loop, so no encoder
//! competes for the CPU while measuring. Run with `cargo bench -p vimeo-monitor --bench screen`.
//! Figures are printed; nothing about them is asserted.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use health_core::testing::bench::{self, Durations, ms};
use serde_json::json;
use vimeo_monitor::player::mpv::{Mpv, MpvOptions};
use vimeo_monitor::player::picture;

/// Screenshots per measurement.
const SHOTS: u32 = 40;
/// The kiosk's default `HEALTH_SCREEN_INTERVAL`.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

fn main() {
    bench::run("cargo bench -p vimeo-monitor --bench screen", bench);
}

async fn bench() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("player: mpv --no-config --vo=null --ao=null, playing a looped H.264 file");
    for (name, size) in [("1080p", "1920x1080"), ("720p", "1280x720")] {
        let video = dir.path().join(format!("{name}.mp4"));
        encode(&video, size);
        measure(name, &video, dir.path()).await;
    }
}

async fn measure(name: &str, video: &Path, dir: &Path) {
    let runtime = tempfile::Builder::new().prefix("scr").tempdir_in("/tmp").expect("runtime dir");
    let options = MpvOptions {
        extra_args: ["--no-config", "--vo=null", "--ao=null", "--loop-file=inf"]
            .map(String::from)
            .to_vec(),
        fullscreen: false,
        ..MpvOptions::new(runtime.path())
    };
    let mpv = Mpv::spawn(&options).await.expect("mpv starts (./scripts/setup installs it)");
    let pid = mpv.pid().expect("mpv runs");
    mpv.load(&video.to_string_lossy()).await.expect("mpv loads the file");
    tokio::time::sleep(Duration::from_secs(2)).await;

    // What playing costs mpv without screenshots.
    let (cpu0, wall0) = (cpu_seconds(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let playing_rate = (cpu_seconds(pid) - cpu0) / wall0.elapsed().as_secs_f64();

    // Screenshots in a row, then what they added.
    let shot = dir.join("screen.jpg");
    let (cpu1, wall1) = (cpu_seconds(pid), Instant::now());
    let mut walls = Vec::new();
    for _ in 0..SHOTS {
        let started = Instant::now();
        mpv.command(&[json!("screenshot-to-file"), json!(shot.to_string_lossy()), json!("video")])
            .await
            .expect("a screenshot");
        walls.push(started.elapsed());
    }
    let elapsed = wall1.elapsed().as_secs_f64();
    let mpv_share =
        ((cpu_seconds(pid) - cpu1) - playing_rate * elapsed).max(0.0) / f64::from(SHOTS);
    let jpeg = std::fs::read(&shot).expect("the screenshot");
    mpv.stop(Duration::from_secs(3)).await;

    // The kiosk's share, on this thread.
    let previous = picture::measure(&jpeg).expect("a readable JPEG");
    let mut ours = Vec::new();
    for _ in 0..SHOTS {
        let started = Instant::now();
        let picture = picture::measure(&jpeg).expect("a readable JPEG");
        let _ = picture::difference(&previous.grey, &picture.grey);
        ours.push(started.elapsed());
    }
    let ours = Durations::of(ours);
    let walls = Durations::of(walls);
    let per_shot = Duration::from_secs_f64(mpv_share) + ours.median();
    let per_hour = per_shot * (3600 / DEFAULT_INTERVAL.as_secs() as u32);
    let share = per_shot.as_secs_f64() / DEFAULT_INTERVAL.as_secs_f64() * 100.0;
    println!(
        "{name}: screenshot JPEG {} KB, thumbnail {} KB",
        jpeg.len() / 1024,
        previous.thumbnail_jpeg.len() / 1024
    );
    println!("{name}: mpv playing             {:.1} % of one core", playing_rate * 100.0);
    println!(
        "{name}: mpv per screenshot      {} CPU ({} wall, median; p90 {})",
        ms(Duration::from_secs_f64(mpv_share)),
        ms(walls.median()),
        ms(walls.at(0.9)),
    );
    println!(
        "{name}: kiosk per screenshot    {} (median of {}; p90 {}): decode, scale, luma, difference, thumbnail",
        ms(ours.median()),
        ours.len(),
        ms(ours.at(0.9)),
    );
    println!(
        "{name}: per shot {} · per hour at 10 s {:.2} s CPU · {:.3} % of one core",
        ms(per_shot),
        per_hour.as_secs_f64(),
        share,
    );
}

/// A 10-second H.264 file of a moving test picture at `size`, 25 fps.
fn encode(path: &Path, size: &str) {
    let source = format!("testsrc2=size={size}:rate=25");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", &source, "-t", "10"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])
        .arg(path)
        .status()
        .expect("ffmpeg runs (./scripts/setup installs it)");
    assert!(status.success(), "ffmpeg could not make {}", path.display());
}

/// CPU seconds process `pid` has used (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process runs");
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}
