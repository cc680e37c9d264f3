//! The watched stream, shared by both collectors: the source URL, the HTTP clients, and which
//! media playlist of a master playlist is watched (remembered, so a 2-second playlist run fetches
//! one playlist, not two).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::Url;

use crate::fetch::{FetchError, Http};
use crate::playlist::{self, MediaView, Parsed, VariantChoice};
use crate::source::{PlaybackUrl, StreamSource};

/// A playlist is text; anything larger is not one.
const PLAYLIST_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// The source, the clients, and the variant last chosen.
#[derive(Debug)]
pub(crate) struct StreamWatch {
    source: StreamSource,
    pub(crate) http: Http,
    choice: VariantChoice,
    chosen: Mutex<Option<Chosen>>,
}

/// The media playlist watched for a source URL.
#[derive(Debug, Clone)]
struct Chosen {
    source: PlaybackUrl,
    media: Url,
    variants: usize,
    bandwidth: Option<u64>,
}

/// The watched media playlist, fetched now.
#[derive(Debug)]
pub(crate) struct Current {
    /// Variants of the master playlist (1 when the URL is a media playlist).
    pub(crate) variants: usize,
    /// The watched variant's `BANDWIDTH`, bits per second (none without a master playlist).
    pub(crate) bandwidth: Option<u64>,
    /// The media playlist.
    pub(crate) view: MediaView,
    /// How long fetching the media playlist took.
    pub(crate) fetch_duration: Duration,
}

impl StreamWatch {
    pub(crate) fn new(source: StreamSource, http: Http, choice: VariantChoice) -> Self {
        Self { source, http, choice, chosen: Mutex::new(None) }
    }

    /// The URL to watch now, if any.
    pub(crate) fn url(&self) -> Option<PlaybackUrl> {
        self.source.current()
    }

    /// Fetches the media playlist watched for `source`: the remembered variant, or the source
    /// itself and, when it is a master playlist, the variant [`VariantChoice`] picks. Each GET
    /// gets `timeout`. A failure forgets the variant, so the next run starts from the source.
    pub(crate) async fn current(
        &self,
        source: &PlaybackUrl,
        timeout: Duration,
    ) -> Result<Current, FetchError> {
        let remembered = self.lock().clone().filter(|c| &c.source == source);
        let result = match remembered {
            Some(chosen) => self.fetch_media(&chosen, timeout).await,
            None => self.resolve(source, timeout).await,
        };
        if result.is_err() {
            *self.lock() = None;
        }
        result
    }

    async fn resolve(
        &self,
        source: &PlaybackUrl,
        timeout: Duration,
    ) -> Result<Current, FetchError> {
        let url = Url::parse(source.expose()).map_err(|e| FetchError::Parse {
            url: source.redacted(),
            reason: format!("not a URL: {e}"),
        })?;
        let fetched = self.http.get(&url, PLAYLIST_MAX_BYTES, timeout).await?;
        let redacted = source.redacted();
        let parse_error = |reason| FetchError::Parse { url: redacted.clone(), reason };
        let variants = match playlist::parse(&fetched.body, &fetched.url).map_err(parse_error)? {
            Parsed::Media(view) => {
                let chosen =
                    Chosen { source: source.clone(), media: url, variants: 1, bandwidth: None };
                *self.lock() = Some(chosen);
                return Ok(Current {
                    variants: 1,
                    bandwidth: None,
                    view,
                    fetch_duration: fetched.elapsed,
                });
            }
            Parsed::Master(variants) => variants,
        };
        let variant = playlist::choose(&variants, self.choice).expect("a master has a variant");
        let media =
            Url::parse(&variant.uri).map_err(|e| parse_error(format!("variant URI: {e}")))?;
        let chosen = Chosen {
            source: source.clone(),
            media,
            variants: variants.len(),
            bandwidth: Some(variant.bandwidth),
        };
        let current = self.fetch_media(&chosen, timeout).await?;
        *self.lock() = Some(chosen);
        Ok(current)
    }

    async fn fetch_media(&self, chosen: &Chosen, timeout: Duration) -> Result<Current, FetchError> {
        let fetched = self.http.get(&chosen.media, PLAYLIST_MAX_BYTES, timeout).await?;
        let parse_error = |reason| FetchError::Parse {
            url: health_core::redact::url(chosen.media.as_str()),
            reason,
        };
        match playlist::parse(&fetched.body, &fetched.url).map_err(parse_error)? {
            Parsed::Media(view) => Ok(Current {
                variants: chosen.variants,
                bandwidth: chosen.bandwidth,
                view,
                fetch_duration: fetched.elapsed,
            }),
            Parsed::Master(_) => {
                Err(parse_error("a variant is itself a master playlist".to_owned()))
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Chosen>> {
        self.chosen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
