//! Which stream is watched: a cheap, cloneable handle the kiosk writes its current playback URL
//! into (or `HEALTH_STREAM_URL` fills once), and the collectors read at the start of each run.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// The playback URL the stream collectors watch; `None` while the event is offline.
///
/// Clones share one value: the kiosk keeps a clone and calls [`set`](Self::set) when the Vimeo API
/// hands it a URL and [`clear`](Self::clear) when the event goes offline. Reading never waits on a
/// probe. `Debug` shows the URL without its query string.
#[derive(Clone, Default)]
pub struct StreamSource {
    current: Arc<RwLock<Option<PlaybackUrl>>>,
}

impl StreamSource {
    /// A source with no URL yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A source holding `url` from the start (`HEALTH_STREAM_URL`), or nothing.
    pub fn fixed(url: Option<String>) -> Self {
        let source = Self::new();
        if let Some(url) = url {
            source.set(url);
        }
        source
    }

    /// Watch this URL from the next run on.
    pub fn set(&self, url: impl Into<String>) {
        let url = PlaybackUrl(Arc::from(url.into()));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(url);
    }

    /// Watch nothing: the event is offline.
    pub fn clear(&self) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The URL to watch now, if any.
    pub fn current(&self) -> Option<PlaybackUrl> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl fmt::Debug for StreamSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StreamSource").field(&self.current()).finish()
    }
}

/// A playback URL. It is signed, so `Debug` and `Display` show it without its query string,
/// fragment and userinfo; [`expose`](Self::expose) is for the HTTP client alone.
#[derive(Clone, PartialEq, Eq)]
pub struct PlaybackUrl(Arc<str>);

impl PlaybackUrl {
    /// The full URL, secrets included: only for making the request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL as it may be shown.
    pub fn redacted(&self) -> String {
        health_core::redact::url(&self.0)
    }
}

impl fmt::Debug for PlaybackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlaybackUrl({})", self.redacted())
    }
}

impl fmt::Display for PlaybackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_url_and_never_print_its_signature() {
        let kiosk = StreamSource::new();
        let collector = kiosk.clone();
        assert_eq!(collector.current(), None);
        kiosk.set("https://cdn.example/live.m3u8?hmac=s3cret");
        let url = collector.current().expect("set through the other clone");
        assert_eq!(url.expose(), "https://cdn.example/live.m3u8?hmac=s3cret");
        for shown in [format!("{url}"), format!("{url:?}"), format!("{collector:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("https://cdn.example/live.m3u8"), "{shown}");
        }
        kiosk.clear();
        assert_eq!(collector.current(), None);
        assert_eq!(
            StreamSource::fixed(Some("http://a/b".into())).current().unwrap().expose(),
            "http://a/b"
        );
        assert_eq!(StreamSource::fixed(None).current(), None);
    }
}
