//! [`Secret`]: a string that never prints; [`SignedUrl`]: a URL that prints without its query;
//! [`SecretFile`]: a secret read from a file, which prints as its path.

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret string (the bearer token): `Debug` and `Display` print `<redacted>`, so it cannot
/// leak through logs, errors or `--check-config`; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// What every rendering of a secret shows instead of its value.
    pub const REDACTED: &'static str = config_layers::REDACTED;

    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it (comparing a request's token).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

/// A URL whose query string, fragment and userinfo are secret (a signed playback URL):
/// `Debug` and `Display` show it without them; [`SignedUrl::expose`] gives the whole URL.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedUrl(String);

impl SignedUrl {
    /// Wraps `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The whole URL, for the one place that fetches it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&health_core::redact::url(&self.0))
    }
}

impl fmt::Display for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&health_core::redact::url(&self.0))
    }
}

/// A secret kept in a file (`..._FILE` settings, as Docker and systemd credentials hand them
/// out): the path and what it held when the configuration was loaded. It prints as the path;
/// comparing two compares the contents too, so a reload notices a rotated token.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretFile {
    path: PathBuf,
    contents: Secret,
}

impl SecretFile {
    /// The file at `path`, holding `contents`.
    pub fn new(path: impl Into<PathBuf>, contents: Secret) -> Self {
        Self { path: path.into(), contents }
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What it held.
    pub fn contents(&self) -> &Secret {
        &self.contents
    }
}

impl fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretFile({})", self.path.display())
    }
}

impl fmt::Display for SecretFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::{Secret, SecretFile, SignedUrl};

    #[test]
    fn a_secret_file_prints_as_its_path() {
        let file = SecretFile::new("/run/credentials/token", Secret::new("hunter2"));
        assert_eq!(
            format!("{file} {file:?}"),
            "/run/credentials/token SecretFile(/run/credentials/token)"
        );
        assert_eq!(file.contents().expose(), "hunter2");
    }

    #[test]
    fn a_signed_url_prints_without_its_query() {
        let url = SignedUrl::new("https://cdn.example/live.m3u8?hmac=abc");
        assert_eq!(
            format!("{url} {url:?}"),
            "https://cdn.example/live.m3u8 https://cdn.example/live.m3u8"
        );
        assert_eq!(url.expose(), "https://cdn.example/live.m3u8?hmac=abc");
    }

    #[test]
    fn prints_redacted_and_exposes_on_request() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(secret.to_string(), "<redacted>");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(<redacted>)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
