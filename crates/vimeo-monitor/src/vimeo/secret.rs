//! The two secrets the client handles, the API token and the signed playback URL, wrapped so that
//! `{:?}` and `{}` never show them. Reading one takes an explicit `expose()`, which is easy to
//! find in review.

use std::fmt;

/// The Vimeo API access token (`VIMEO_TOKEN`). Shown as `<redacted>` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token itself, for the `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The event's signed HLS playlist URL (`m3u8_playback_url`). Its query string carries the
/// signature, so `Debug` and `Display` show it through [`health_core::redact::url`]: scheme, host
/// and path only.
#[derive(Clone, PartialEq, Eq)]
pub struct PlaybackUrl(String);

impl PlaybackUrl {
    /// Wraps a URL.
    pub fn new(url: String) -> Self {
        Self(url)
    }

    /// The whole URL, signature included, for the player and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlaybackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlaybackUrl({:?})", health_core::redact::url(&self.0))
    }
}

impl fmt::Display for PlaybackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&health_core::redact::url(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_secret() {
        let token = Token::new("CANARY-TOKEN-1".to_owned());
        assert_eq!(format!("{token:?} {token} {token:#?}"), "<redacted> <redacted> <redacted>");
        assert_eq!(token.expose(), "CANARY-TOKEN-1");

        let url = PlaybackUrl::new("https://u:p@cdn.example/e/1.m3u8?sig=CANARY-SIG#t".to_owned());
        assert_eq!(url.to_string(), "https://cdn.example/e/1.m3u8");
        assert_eq!(format!("{url:?}"), "PlaybackUrl(\"https://cdn.example/e/1.m3u8\")");
        assert!(url.expose().ends_with("?sig=CANARY-SIG#t"));
    }
}
