//! `probe` against real ffmpeg/ffprobe and a tiny HTTP server on 127.0.0.1: ffprobe reads a local
//! playlist whose segment URLs are signed-looking HTTP URLs, the way the `stream` collector runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use health_stream::probe::{ProbeError, ProbeOptions, probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn options(timeout: Duration) -> ProbeOptions {
    ProbeOptions { ffprobe: PathBuf::from("/usr/bin/ffprobe"), timeout }
}

/// A 4-second HLS VOD made by real ffmpeg.
fn make_hls(dir: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-ac", "2"])
        .args(["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"])
        .arg(dir.join("live.m3u8"))
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg failed: {status}");
}

/// Serves `dir` over HTTP/1.0-style GET (one request per connection); returns the port.
async fn serve(dir: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let dir = dir.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&request);
                let target = request.split_whitespace().nth(1).unwrap_or("/");
                let path = target.split(['?', '#']).next().unwrap_or("/");
                let name = path.trim_start_matches('/');
                let file = (!name.contains("..") && !name.is_empty())
                    .then(|| std::fs::read(dir.join(name)).ok())
                    .flatten();
                let response = match file {
                    Some(body) => {
                        let mut head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        head.extend_from_slice(&body);
                        head
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = socket.write_all(&response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    port
}

/// Accepts connections and never answers; returns the port.
async fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// Command lines of running ffprobe processes that mention `needle`.
fn ffprobes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> =
            raw.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let is_ffprobe = args.first().is_some_and(|a| a.ends_with("ffprobe"));
        if is_ffprobe && args.iter().any(|a| a.contains(needle)) {
            found.push(args.join(" "));
        }
    }
    found
}

/// Writes `dir/probe/stream.m3u8`: the VOD playlist in `dir` with each segment as an absolute
/// URL under `base` carrying `?token=secret`.
fn signed_playlist(dir: &Path, base: &str) -> PathBuf {
    let text = std::fs::read_to_string(dir.join("live.m3u8")).expect("ffmpeg wrote live.m3u8");
    let signed: String = text
        .lines()
        .map(|line| {
            if line.starts_with('#') || line.is_empty() {
                format!("{line}\n")
            } else {
                format!("{base}/{line}?token=secret\n")
            }
        })
        .collect();
    let probe_dir = dir.join("probe");
    std::fs::create_dir_all(&probe_dir).unwrap();
    let path = probe_dir.join("stream.m3u8");
    std::fs::write(&path, signed).unwrap();
    path
}

#[tokio::test]
async fn probes_a_real_hls_vod_through_a_local_playlist() {
    let dir = tempfile::tempdir().unwrap();
    make_hls(dir.path());
    let port = serve(dir.path().to_owned()).await;
    let playlist = signed_playlist(dir.path(), &format!("http://127.0.0.1:{port}"));
    let facts = probe(&playlist, "vod", &options(Duration::from_secs(20))).await.unwrap();
    assert_eq!(facts.width, Some(640));
    assert_eq!(facts.height, Some(360));
    assert_eq!(facts.frames_per_second, Some(25.0));
    assert_eq!(facts.audio_channels, Some(2));
    assert_eq!(facts.audio_sample_rate_hertz, Some(48_000.0));
    assert_eq!(facts.video_codec.as_deref(), Some("h264"));
    assert_eq!(facts.audio_codec.as_deref(), Some("aac"));
    let bitrate = facts.bitrate_bytes_per_second.expect("a bitrate");
    assert!((10_000.0..2_000_000.0).contains(&bitrate), "bitrate {bitrate} B/s");
}

#[tokio::test]
async fn a_silent_server_times_out_and_no_ffprobe_or_url_is_in_the_process_table() {
    let dir = tempfile::tempdir().unwrap();
    make_hls(dir.path());
    let port = silent_server().await;
    let playlist = signed_playlist(dir.path(), &format!("http://127.0.0.1:{port}"));
    let marker = playlist.display().to_string();
    let options = options(Duration::from_secs(2));
    let running = tokio::spawn(async move { probe(&playlist, "silent", &options).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    // While it runs: ffprobe is there, and its argv names the file, never the signed URL.
    let during = ffprobes_mentioning(&marker);
    assert_eq!(during.len(), 1, "{during:?}");
    assert!(!during[0].contains("token") && !during[0].contains("127.0.0.1"), "{during:?}");
    let started = Instant::now();
    let error = running.await.unwrap().unwrap_err();
    assert!(matches!(error, ProbeError::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(1_700), "took {:?}", started.elapsed());
    assert!(!error.to_string().contains("secret"), "{error}");
    let left = ffprobes_mentioning(&marker);
    assert!(left.is_empty(), "ffprobe left running: {left:?}");
}

#[tokio::test]
async fn missing_binary_names_the_debian_package() {
    let options = ProbeOptions {
        ffprobe: PathBuf::from("/nonexistent/ffprobe"),
        timeout: Duration::from_secs(1),
    };
    let error = probe(Path::new("/nonexistent/stream.m3u8"), "x", &options).await.unwrap_err();
    assert!(matches!(error, ProbeError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("`ffmpeg`"), "{error}");
}

#[tokio::test]
async fn errors_quote_ffprobe_without_query_strings() {
    let dir = tempfile::tempdir().unwrap();
    make_hls(dir.path());
    let empty = tempfile::tempdir().unwrap();
    let port = serve(empty.path().to_owned()).await;
    let playlist = signed_playlist(dir.path(), &format!("http://127.0.0.1:{port}/gone"));
    let error = probe(&playlist, "http://127.0.0.1/live.m3u8", &options(Duration::from_secs(10)))
        .await
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("http://127.0.0.1/live.m3u8"), "{text}");
}
