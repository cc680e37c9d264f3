//! The data `pi-guest` works on, its `/pi` directory: the Raspberry Pi fixture trees of
//! health-system, a 90 s HLS test stream and the kiosk's two images, made by the host's ffmpeg
//! (it is only data, so an x86 encoder is fine) once and cached under `target/pi-test/data`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::initramfs::Archive;
use crate::cmd;

/// The fixture trees of `crates/health-system/fixtures` the guest gets, as `/pi/fixtures/<name>`.
pub(crate) const FIXTURES: &[&str] = &["pi4", "pi5", "pi-rpi-volt"];

/// The kiosk's images: file name and ffmpeg colour.
pub(crate) const IMAGES: &[(&str, &str)] = &[("holding.png", "navy"), ("error.png", "darkred")];

/// Where each part of `/pi` is on the host.
#[derive(Debug)]
pub(crate) struct Data {
    /// `(name, host directory)` of each fixture tree.
    pub(crate) fixtures: Vec<(String, PathBuf)>,
    pub(crate) hls: PathBuf,
    pub(crate) images: PathBuf,
}

/// The ffmpeg run that writes the stream into `dir`: 90 s of a test picture and a tone,
/// H.264 baseline with a key frame each second and 1 s segments, as a VOD playlist that
/// `pi-guest` serves as a live sliding window.
pub(crate) fn hls_command(dir: &Path) -> Command {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-nostdin", "-y", "-v", "error"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", "90", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "baseline"])
        .args(["-g", "25", "-keyint_min", "25", "-sc_threshold", "0"])
        .args(["-c:a", "aac", "-b:a", "64k"])
        .args(["-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "vod"])
        .arg("-hls_segment_filename")
        .arg(dir.join("seg%03d.ts"))
        .arg(dir.join("vod.m3u8"));
    command
}

/// The ffmpeg run that writes one single-colour 320x180 PNG.
pub(crate) fn image_command(colour: &str, path: &Path) -> Command {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-nostdin", "-y", "-v", "error", "-f", "lavfi"])
        .arg("-i")
        .arg(format!("color=c={colour}:s=320x180"))
        .args(["-frames:v", "1"])
        .arg(path);
    command
}

/// Make (or reuse) the stream and images under `cache`; returns where everything is.
pub(crate) fn prepare(root: &Path, cache: &Path) -> anyhow::Result<Data> {
    let fixtures = FIXTURES
        .iter()
        .map(|name| ((*name).to_owned(), root.join("crates/health-system/fixtures").join(name)))
        .collect();
    let hls = cache.join("hls");
    made_once(&hls, hls_command, "the HLS test stream (90 s, ffmpeg)")?;
    let images = cache.join("images");
    made_once(
        &images,
        |dir| {
            // Both images from one shell command, so one stamp covers them.
            let script: Vec<String> = IMAGES
                .iter()
                .map(|(name, colour)| cmd::display(&image_command(colour, &dir.join(name))))
                .collect();
            let mut command = Command::new("sh");
            command.args(["-ec", &script.join("\n")]);
            command
        },
        "the holding and error images (ffmpeg)",
    )?;
    Ok(Data { fixtures, hls, images })
}

/// Run `make(dir)` into a fresh `dir` unless `dir` was made by the same command before
/// (its command line is kept in `dir/.made-by`).
fn made_once(dir: &Path, make: impl Fn(&Path) -> Command, what: &str) -> anyhow::Result<()> {
    let stamp = dir.join(".made-by");
    let mut command = make(dir);
    let line = cmd::display(&command);
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == line) {
        eprintln!("pi-test: reusing {what} in {}", dir.display());
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    let started = std::time::Instant::now();
    cmd::output(&mut command).with_context(|| format!("making {what}"))?;
    std::fs::write(&stamp, line)?;
    eprintln!("pi-test: made {what} in {:.1?}", started.elapsed());
    Ok(())
}

/// Add `/pi` to the guest's root.
pub(crate) fn add_to(archive: &mut Archive, data: &Data, guest_dir: &str) -> anyhow::Result<()> {
    for (name, dir) in &data.fixtures {
        archive.tree(&format!("{guest_dir}/fixtures/{name}"), dir)?;
    }
    archive.tree(&format!("{guest_dir}/hls"), &data.hls)?;
    archive.tree(&format!("{guest_dir}/images"), &data.images)?;
    // The stamps are the cache's, not data.
    archive.entries.retain(|e| !e.path.ends_with("/.made-by"));
    Ok(())
}

/// Copy `/pi` to `dest` on the host (for `--native`), replacing what was there.
pub(crate) fn copy_to(data: &Data, dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    for (name, dir) in &data.fixtures {
        copy_tree(dir, &dest.join("fixtures").join(name))?;
    }
    copy_tree(&data.hls, &dest.join("hls"))?;
    copy_tree(&data.images, &dest.join("images"))?;
    Ok(())
}

/// `cp -r`, keeping symlinks, leaving out `.made-by` stamps.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if entry.file_name() == ".made-by" {
            continue;
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_the_interface_s_stream() {
        let shown = cmd::display(&hls_command(Path::new("/c/hls")));
        for part in [
            "-f lavfi -i testsrc2=size=320x180:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000",
            "-t 90 -c:v libx264 -preset veryfast -profile:v baseline -g 25 -keyint_min 25 -sc_threshold 0",
            "-c:a aac -b:a 64k -f hls -hls_time 1 -hls_list_size 0 -hls_playlist_type vod",
            "-hls_segment_filename '/c/hls/seg%03d.ts' /c/hls/vod.m3u8",
        ] {
            assert!(shown.contains(part), "{part} not in {shown}");
        }
        let image = cmd::display(&image_command("navy", Path::new("/c/holding.png")));
        assert!(
            image.ends_with("-f lavfi -i color=c=navy:s=320x180 -frames:v 1 /c/holding.png"),
            "{image}"
        );
    }

    /// A directory is made once; the same command again reuses it, another one remakes it.
    #[test]
    fn a_made_directory_is_reused_for_the_same_command() {
        let cache = tempfile::tempdir().unwrap();
        let dir = cache.path().join("out");
        let make = |word: &'static str| {
            move |dir: &Path| {
                let mut c = Command::new("sh");
                c.arg("-c").arg(format!("echo {word} >> {}/made", dir.display()));
                c
            }
        };
        made_once(&dir, make("one"), "test").unwrap();
        made_once(&dir, make("one"), "test").unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("made")).unwrap(), "one\n");
        made_once(&dir, make("two"), "test").unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("made")).unwrap(), "two\n");
    }

    #[test]
    fn the_guest_gets_every_fixture_tree_and_no_stamp() {
        let cache = tempfile::tempdir().unwrap();
        for dir in ["hls", "images"] {
            std::fs::create_dir(cache.path().join(dir)).unwrap();
            std::fs::write(cache.path().join(dir).join(".made-by"), "x").unwrap();
        }
        std::fs::write(cache.path().join("hls/vod.m3u8"), "#EXTM3U\n").unwrap();
        let data = Data {
            fixtures: FIXTURES
                .iter()
                .map(|n| {
                    (
                        (*n).to_owned(),
                        crate::workspace_root().join("crates/health-system/fixtures").join(n),
                    )
                })
                .collect(),
            hls: cache.path().join("hls"),
            images: cache.path().join("images"),
        };
        let mut archive = Archive::default();
        add_to(&mut archive, &data, "pi").unwrap();
        let has = |p: &str| archive.entries.iter().any(|e| e.path == p);
        for tree in FIXTURES {
            assert!(has(&format!("pi/fixtures/{tree}/sys")), "{tree}");
        }
        assert!(has("pi/hls/vod.m3u8") && has("pi/images"));
        assert!(!archive.entries.iter().any(|e| e.path.ends_with(".made-by")));

        let dest = cache.path().join("native/pi");
        copy_to(&data, &dest).unwrap();
        assert!(dest.join("fixtures/pi5/sys").is_dir() && dest.join("hls/vod.m3u8").is_file());
        assert!(!dest.join("hls/.made-by").exists());
    }
}
