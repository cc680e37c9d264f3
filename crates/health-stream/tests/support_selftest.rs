//! Proves the shared test support works: a real ffmpeg live stream, the switchable HLS server,
//! the silent server and the `/proc` view of ffprobe children.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{
    EncoderOptions, HlsServer, LiveEncoder, ffprobe_children, media_sequence_of, segments_of,
    silent_server,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous: ffmpeg needs a second or two per segment on a loaded 2-core machine.
const SEGMENT_TIMEOUT: Duration = Duration::from_secs(20);

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("build reqwest client")
}

async fn get_text(url: &str) -> (u16, String) {
    let response = client().get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// A plain HTTP/1.1 GET with a raw request target (reqwest would normalise `..` away).
async fn raw_get(addr: std::net::SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read response");
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn live_stream_advances_and_is_served_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let encoder = LiveEncoder::start(dir.path(), EncoderOptions::default());
    assert_eq!(encoder.playlist_name(), "live.m3u8");
    encoder.wait_for_segments(1, SEGMENT_TIMEOUT).await;
    eprintln!("first segment listed after {:?}", started.elapsed());
    encoder.wait_for_segments(6, SEGMENT_TIMEOUT).await;
    eprintln!("six segments listed after {:?}", started.elapsed());
    let server = HlsServer::start(dir.path().to_owned()).await;

    let response = client().get(server.url("live.m3u8?token=secret")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/vnd.apple.mpegurl");
    let before = response.text().await.unwrap();
    assert!(before.contains("#EXT-X-TARGETDURATION:1"), "{before}");
    assert!(!before.contains("#EXT-X-ENDLIST"), "{before}");
    let sequence_before = media_sequence_of(&before).expect("a media sequence");
    let segments_before = segments_of(&before);
    assert_eq!(segments_before.len(), 6, "{before}");

    let first = &segments_before[0];
    let response = client().get(server.url(&format!("{first}?token=secret"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "video/mp2t");
    let length: usize = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), length);
    assert!(body.len() >= 188 && body[0] == 0x47, "an MPEG-TS segment starts with 0x47");

    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (status, after) = get_text(&server.url("live.m3u8?token=secret")).await;
    assert_eq!(status, 200);
    let sequence_after = media_sequence_of(&after).expect("a media sequence");
    let segments_after = segments_of(&after);
    assert!(sequence_after >= sequence_before + 2, "{before}\n---\n{after}");
    assert_eq!(segments_after.len(), 6, "the window stays at hls_list_size:\n{after}");
    assert!(!segments_after.contains(first), "{first} left the window:\n{after}");
    let (status, _) = get_text(&server.url(first)).await;
    assert_eq!(status, 404, "delete_segments removed {first} from the disk");
    assert_eq!(server.requests("live.m3u8"), 2);
    assert_eq!(server.requests(".ts"), 2);
}

#[tokio::test]
async fn kill_stops_the_stream_dead_without_endlist() {
    let dir = tempfile::tempdir().unwrap();
    let mut encoder = LiveEncoder::start(dir.path(), EncoderOptions::default());
    encoder.wait_for_segments(2, SEGMENT_TIMEOUT).await;
    let pid = encoder.pid();
    encoder.kill();
    assert!(!process_exists(pid), "ffmpeg {pid} is gone from the process table");
    let playlist = dir.path().join("live.m3u8");
    let killed = std::fs::read_to_string(&playlist).unwrap();
    assert!(!killed.contains("#EXT-X-ENDLIST"), "{killed}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(std::fs::read_to_string(&playlist).unwrap(), killed, "nothing writes any more");
    encoder.kill(); // A second kill is harmless.
}

#[tokio::test]
async fn dropping_the_encoder_kills_and_reaps_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = LiveEncoder::start(dir.path(), EncoderOptions::default());
    let pid = encoder.pid();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(process_exists(pid));
    drop(encoder);
    assert!(!process_exists(pid), "ffmpeg {pid} outlived its LiveEncoder");
}

#[tokio::test]
async fn a_bounded_encoder_finishes_in_real_time_with_endlist() {
    let dir = tempfile::tempdir().unwrap();
    let options = EncoderOptions { seconds: Some(3), ..EncoderOptions::default() };
    let started = Instant::now();
    let mut encoder = LiveEncoder::start(dir.path(), options);
    encoder.wait_finished(SEGMENT_TIMEOUT).await;
    assert!(started.elapsed() >= Duration::from_millis(2500), "-re: 3 s take 3 s");
    let text = std::fs::read_to_string(dir.path().join("live.m3u8")).unwrap();
    assert!(text.trim_end().ends_with("#EXT-X-ENDLIST"), "{text}");
    assert!((3..=4).contains(&segments_of(&text).len()), "{text}");
    assert_eq!(media_sequence_of(&text), Some(0));
}

#[tokio::test]
async fn variants_make_a_master_with_two_resolutions() {
    let dir = tempfile::tempdir().unwrap();
    let options = EncoderOptions { variants: true, ..EncoderOptions::default() };
    let encoder = LiveEncoder::start(dir.path(), options);
    assert_eq!(encoder.playlist_name(), "master.m3u8");
    assert_eq!(encoder.media_playlists(), ["live_0.m3u8", "live_1.m3u8"]);
    encoder.wait_for_segments(2, SEGMENT_TIMEOUT).await;
    let server = HlsServer::start(dir.path().to_owned()).await;

    let (status, master) = get_text(&server.url("master.m3u8?token=x")).await;
    assert_eq!(status, 200);
    let resolutions: BTreeSet<&str> = master
        .lines()
        .filter(|line| line.starts_with("#EXT-X-STREAM-INF:"))
        .filter_map(|line| line.split(',').find_map(|field| field.strip_prefix("RESOLUTION=")))
        .collect();
    assert_eq!(resolutions, BTreeSet::from(["320x240", "640x360"]), "{master}");
    assert_eq!(segments_of(&master), encoder.media_playlists(), "{master}");
    for name in encoder.media_playlists() {
        let (status, media) = get_text(&server.url(name)).await;
        assert_eq!(status, 200);
        assert!(segments_of(&media).len() >= 2, "{media}");
    }
}

/// A directory with a playlist, a 100 KB segment and a file outside the served folder.
fn fixture(root: &Path) -> std::path::PathBuf {
    let served = root.join("served");
    std::fs::create_dir(&served).unwrap();
    std::fs::write(root.join("secret.txt"), "top secret").unwrap();
    std::fs::write(served.join("a.m3u8"), "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\nseg.ts\n").unwrap();
    std::fs::write(served.join("seg.ts"), vec![0x47; 100_000]).unwrap();
    std::fs::write(served.join("other.bin"), b"x").unwrap();
    served
}

#[tokio::test]
async fn serves_files_with_their_types_and_nothing_outside() {
    let root = tempfile::tempdir().unwrap();
    let server = HlsServer::start(fixture(root.path())).await;
    for (path, content_type) in [
        ("a.m3u8?token=x", "application/vnd.apple.mpegurl"),
        ("seg.ts", "video/mp2t"),
        ("other.bin", "application/octet-stream"),
    ] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
    }
    let (status, _) = get_text(&server.url("missing.ts")).await;
    assert_eq!(status, 404);
    for target in ["/../secret.txt", "/./../secret.txt", "/%2e%2e/secret.txt", "/"] {
        let response = raw_get(server.addr(), target).await;
        assert!(response.starts_with("HTTP/1.1 404 "), "{target}: {response}");
        assert!(!response.contains("top secret"), "{target}: {response}");
    }
    assert_eq!(server.requests("missing.ts"), 1);
    assert_eq!(server.requests(".m3u8"), 1);
}

#[tokio::test]
async fn answer_status_applies_until_cleared() {
    let root = tempfile::tempdir().unwrap();
    let server = HlsServer::start(fixture(root.path())).await;
    server.answer_status(".m3u8", 403);
    assert_eq!(get_text(&server.url("a.m3u8?token=secret")).await.0, 403);
    assert_eq!(get_text(&server.url("seg.ts")).await.0, 200, "other paths are unaffected");
    server.answer_status("a.m3u8", 404);
    assert_eq!(get_text(&server.url("a.m3u8")).await.0, 404, "the newest rule wins");
    server.clear_rules();
    let (status, text) = get_text(&server.url("a.m3u8?token=secret")).await;
    assert_eq!(status, 200);
    assert_eq!(media_sequence_of(&text), Some(7));
    assert_eq!(server.requests("a.m3u8"), 3);
}

#[tokio::test]
async fn throttle_paces_the_body_and_keeps_content_length() {
    let root = tempfile::tempdir().unwrap();
    let server = HlsServer::start(fixture(root.path())).await;
    server.throttle(".ts", 50_000);
    let started = Instant::now();
    let response = client().get(server.url("seg.ts")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-length"], "100000");
    let body = response.bytes().await.unwrap();
    let took = started.elapsed();
    assert_eq!(body.len(), 100_000);
    assert!(body.iter().all(|&byte| byte == 0x47));
    assert!(took >= Duration::from_millis(1500), "100 KB at 50 KB/s took only {took:?}");
    assert!(took < Duration::from_secs(4), "100 KB at 50 KB/s took {took:?}");

    let started = Instant::now();
    assert_eq!(get_text(&server.url("a.m3u8")).await.0, 200);
    assert!(started.elapsed() < Duration::from_millis(500), "other paths are not throttled");
}

#[tokio::test]
async fn hang_leaves_one_path_unanswered() {
    let root = tempfile::tempdir().unwrap();
    let server = HlsServer::start(fixture(root.path())).await;
    server.hang(".m3u8");
    let hung = tokio::spawn(client().get(server.url("a.m3u8?token=x")).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert_eq!(get_text(&server.url("seg.ts")).await.0, 200);
    assert!(started.elapsed() < Duration::from_millis(500));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!hung.is_finished(), "the hung request got an answer");
    assert_eq!(server.requests("a.m3u8"), 1, "the hung request was received");
    hung.abort();
}

#[tokio::test]
async fn silent_server_accepts_and_never_answers() {
    let addr = silent_server().await;
    let mut stream = TcpStream::connect(addr).await.expect("the connection is accepted");
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buffer)).await;
    assert!(read.is_err(), "the silent server answered or closed: {read:?}");
}

#[tokio::test]
async fn ffprobe_children_sees_running_zombie_and_reaped_children() {
    assert_eq!(ffprobe_children(), [], "no ffprobe child at the start");
    let addr = silent_server().await;
    let url = format!("http://{addr}/live.m3u8");
    let mut child = Command::new("ffprobe")
        .args(["-v", "error", "-rw_timeout", "5000000", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ffprobe");
    let pid = i32::try_from(child.id()).unwrap();

    // Until its exec completes, the forked child has no command line yet: wait for it.
    let running = wait_for_ffprobe(|children| {
        children.iter().any(|p| p.pid == pid && p.cmdline.starts_with("ffprobe "))
    })
    .await;
    let running = running.into_iter().find(|p| p.pid == pid).unwrap();
    assert_ne!(running.state, 'Z');
    assert!(running.cmdline.starts_with("ffprobe "), "{running:?}");
    assert!(running.cmdline.contains(&url), "{running:?}");

    child.kill().unwrap(); // Not reaped yet: it must show as a zombie.
    let zombies = wait_for_ffprobe(|children| children.iter().any(|p| p.state == 'Z')).await;
    assert_eq!(zombies, [support::ChildProcess { pid, state: 'Z', cmdline: String::new() }]);

    child.wait().unwrap();
    assert_eq!(ffprobe_children(), [], "a reaped ffprobe is gone");
}

/// Polls [`ffprobe_children`] until `done` holds (at most 3 s) and returns what it saw.
async fn wait_for_ffprobe(
    done: impl Fn(&[support::ChildProcess]) -> bool,
) -> Vec<support::ChildProcess> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let children = ffprobe_children();
        if done(&children) || Instant::now() >= deadline {
            return children;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn playlist_helpers_read_sequence_and_uris() {
    let text = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:42\n\
                #EXTINF:1.000000,\nlive_42.ts\n\n#EXTINF:1.000000,\r\nlive_43.ts?x=1\r\n";
    assert_eq!(media_sequence_of(text), Some(42));
    assert_eq!(segments_of(text), ["live_42.ts", "live_43.ts?x=1"]);
    assert_eq!(media_sequence_of("#EXTM3U\nlive.ts\n"), None);
    assert_eq!(segments_of("#EXTM3U\n#EXT-X-ENDLIST\n"), Vec::<String>::new());
}
