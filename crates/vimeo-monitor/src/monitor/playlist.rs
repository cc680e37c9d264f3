//! A look at a live stream's playlist before a retry hands its URL to mpv.
//!
//! mpv replaces what it shows the moment it is told to load something, so every retry of a
//! stream that cannot be opened would blank the screen for as long as mpv takes to give up (a
//! round trip for a 404, a minute for a server that never answers). While loads keep failing,
//! the monitor first asks for the playlist itself: one GET, bounded in time and in bytes, that
//! must answer 2xx with a body starting `#EXTM3U` (RFC 8216: every playlist does). Only a URL
//! that passes goes to mpv; one that does not is a failed load that never left the image on
//! screen. A playlist that answers but whose segments fail is still left to mpv to find out.
//!
//! The URL is signed: errors name it through [`health_core::redact`], never with its query
//! string, and reqwest's own messages are stripped of URLs the same way.

use std::time::Duration;

use reqwest::Client;

use crate::vimeo::PlaybackUrl;

/// How long a look may take, at most (and never more than the check interval).
pub const PLAYLIST_TIMEOUT: Duration = Duration::from_secs(5);
/// The most bytes read from the playlist: its first few say enough, and the rest of a long
/// playlist is not downloaded.
pub const PEEK_BYTES: usize = 1024;
/// What every HLS playlist begins with.
const PLAYLIST_TAG: &[u8] = b"#EXTM3U";
/// A UTF-8 byte-order mark, which may come first.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a playlist did not pass. No message holds the URL's query string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaylistError {
    /// The server answered with an error status (404: gone, 403: an expired signature, ...).
    #[error("HTTP {0}")]
    Status(u16),
    /// 2xx, but the body does not begin with `#EXTM3U`.
    #[error("the answer is not an HLS playlist (it does not begin with #EXTM3U)")]
    NotAPlaylist,
    /// No answer within the timeout.
    #[error("no answer within {:.1} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// Connecting, TLS, redirects or reading failed.
    #[error("{0}")]
    Network(String),
}

/// The HTTP client for these looks, built once.
#[derive(Debug, Clone)]
pub struct PlaylistCheck {
    http: Option<Client>,
    timeout: Duration,
}

impl PlaylistCheck {
    /// A client whose every look takes at most `timeout`. Should the client not build (no TLS
    /// backend), every look passes and retries go to mpv as they did before: logged once here.
    pub fn new(timeout: Duration) -> Self {
        let http = Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("vimeo-monitor/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build();
        let http = match http {
            Ok(http) => Some(http),
            Err(e) => {
                let error = health_core::redact::error_chain(&e.without_url());
                tracing::error!(
                    target: "monitor",
                    %error,
                    "cannot build the HTTP client that looks at playlists; retries go to mpv unchecked"
                );
                None
            }
        };
        Self { http, timeout }
    }

    /// Asks for `url`'s playlist: `Ok` when it answers 2xx with a body beginning `#EXTM3U`.
    pub async fn check(&self, url: &PlaybackUrl) -> Result<(), PlaylistError> {
        let Some(http) = &self.http else { return Ok(()) };
        let look = async {
            let mut response = http.get(url.expose()).send().await?;
            let status = response.status();
            if !status.is_success() {
                return Ok(Err(PlaylistError::Status(status.as_u16())));
            }
            // Read only until the first bytes tell; the connection is dropped with the rest.
            let mut head = Vec::new();
            let playlist = loop {
                if let Some(playlist) = judge(&head) {
                    break playlist;
                }
                match response.chunk().await? {
                    Some(chunk) => head.extend_from_slice(&chunk),
                    None => break judge(&head).unwrap_or(false),
                }
            };
            Ok::<_, reqwest::Error>(if playlist {
                Ok(())
            } else {
                Err(PlaylistError::NotAPlaylist)
            })
        };
        match tokio::time::timeout(self.timeout, look).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) if e.is_timeout() => Err(self.timed_out()),
            Ok(Err(e)) => {
                Err(PlaylistError::Network(health_core::redact::error_chain(&e.without_url())))
            }
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> PlaylistError {
        PlaylistError::Timeout(self.timeout)
    }
}

/// Whether the body beginning with `head` is a playlist (`#EXTM3U` after an optional byte-order
/// mark and white space), or `None` while too few bytes have come to tell. At
/// [`PEEK_BYTES`] it always tells.
fn judge(head: &[u8]) -> Option<bool> {
    if head.len() >= PEEK_BYTES {
        let body = head.strip_prefix(BOM).unwrap_or(head).trim_ascii_start();
        return Some(body.starts_with(PLAYLIST_TAG));
    }
    if BOM.starts_with(head) {
        return None;
    }
    let body = head.strip_prefix(BOM).unwrap_or(head).trim_ascii_start();
    if body.len() >= PLAYLIST_TAG.len() || !PLAYLIST_TAG.starts_with(body) {
        return Some(body.starts_with(PLAYLIST_TAG));
    }
    None
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn a_playlist_begins_with_its_tag_and_a_few_bytes_tell() {
        let spaces = [b' '; PEEK_BYTES];
        let table: [(&[u8], Option<bool>); 12] = [
            (b"#EXTM3U\n#EXT-X-VERSION:3\n", Some(true)),
            (b"#EXTM3U", Some(true)),
            (b"\xEF\xBB\xBF#EXTM3U\r\n", Some(true)),
            (b"\n  #EXTM3U", Some(true)),
            (b"<html><body>Forbidden</body></html>", Some(false)),
            (b"<", Some(false)),
            (b"#EXTINF:1.0,\nseg0.ts\n", Some(false)),
            (b"\x47\x40\x00\x10", Some(false)),
            // Not enough yet: more bytes may make a playlist.
            (b"", None),
            (b"\xEF\xBB", None),
            (b"\n #EXT", None),
            (&spaces, Some(false)),
        ];
        for (head, expected) in table {
            assert_eq!(judge(head), expected, "{:?}", String::from_utf8_lossy(head));
        }
    }

    /// A server on 127.0.0.1 that answers every connection with `response` (raw HTTP) and
    /// closes it, or holds it open after `response` when `hold`.
    async fn server(response: &'static [u8], hold: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(response).await;
                if hold {
                    held.push(socket);
                } else {
                    let _ = socket.shutdown().await;
                }
            }
        });
        addr
    }

    fn url(addr: SocketAddr) -> PlaybackUrl {
        PlaybackUrl::new(format!("http://{addr}/live/playlist.m3u8?sig=CANARY-SIG&exp=1"))
    }

    #[tokio::test]
    async fn each_kind_of_answer_through_http() {
        let check = PlaylistCheck::new(Duration::from_millis(500));
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 27\r\n\r\n#EXTM3U\n#EXT-X-VERSION:3\n\n";
        let gone = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let expired = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        let html = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<html></html>";
        let table: [(&'static [u8], bool, Result<(), PlaylistError>); 5] = [
            (ok, false, Ok(())),
            (gone, false, Err(PlaylistError::Status(404))),
            (expired, false, Err(PlaylistError::Status(403))),
            (html, false, Err(PlaylistError::NotAPlaylist)),
            (b"", true, Err(PlaylistError::Timeout(Duration::from_millis(500)))),
        ];
        for (response, hold, expected) in table {
            let addr = server(response, hold).await;
            let started = tokio::time::Instant::now();
            assert_eq!(check.check(&url(addr)).await, expected);
            assert!(started.elapsed() < Duration::from_secs(2), "{expected:?} took too long");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_told_without_the_signature() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        drop(listener);
        let error = PlaylistCheck::new(Duration::from_secs(2)).check(&url(addr)).await.unwrap_err();
        let PlaylistError::Network(message) = &error else { panic!("{error:?}") };
        assert!(!message.contains("CANARY") && !message.contains("sig="), "{message}");
    }

    #[tokio::test]
    async fn the_look_ends_with_the_first_bytes_that_tell() {
        // 10 MB announced, the first line sent, then the connection held: a look that waited
        // for more would time out.
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n#EXTM3U\n";
        let not = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n<html>\n";
        let check = PlaylistCheck::new(Duration::from_secs(1));
        assert_eq!(check.check(&url(server(ok, true).await)).await, Ok(()));
        assert_eq!(
            check.check(&url(server(not, true).await)).await,
            Err(PlaylistError::NotAPlaylist)
        );
    }
}
