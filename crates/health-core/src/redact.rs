//! Keeping signed URLs out of logs, errors and `/status`.
//!
//! A Vimeo playback URL carries its signature in the query string; a URL with userinfo carries a
//! password. Everything a collector shows about a URL goes through [`url`]; free text that may
//! quote URLs (a child's stderr) goes through [`urls_in`].

/// The URL without its query string, fragment and userinfo (`user:password@`).
///
/// ```
/// use health_core::redact;
/// assert_eq!(redact::url("https://u:p@cdn.example/live.m3u8?sig=abc#t"), "https://cdn.example/live.m3u8");
/// ```
pub fn url(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    if let Some(scheme_end) = url.find("://") {
        let authority_start = scheme_end + 3;
        let rest = &url[authority_start..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{}{}", &url[..authority_start], &rest[at + 1..]);
        }
    }
    url.to_owned()
}

/// `text` with every `http://` and `https://` URL in it passed through [`url`]. A URL ends at
/// whitespace, a quote or an angle bracket.
pub fn urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = next_url(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end =
            tail.find(|c: char| c.is_whitespace() || "'\"<>`".contains(c)).unwrap_or(tail.len());
        out.push_str(&url(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// An error and its causes, one after the other (`a: b: c`), with [`urls_in`] applied: an HTTP
/// client's top-level message alone ("error sending request") does not say what failed, and a
/// cause may quote the signed URL.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    urls_in(&text)
}

/// Where the next `http://` or `https://` starts (case-insensitive), if anywhere.
fn next_url(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("http://"), lower.find("https://")].into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_drops_query_fragment_and_userinfo() {
        let table = [
            ("https://a.example/live.m3u8?token=secret&exp=1", "https://a.example/live.m3u8"),
            ("https://a.example/live.m3u8#t=10", "https://a.example/live.m3u8"),
            ("https://a.example/p/live.m3u8?x=1#frag", "https://a.example/p/live.m3u8"),
            ("https://a.example/live.m3u8", "https://a.example/live.m3u8"),
            ("https://user:pw@a.example/live.m3u8?s=1", "https://a.example/live.m3u8"),
            ("https://user@a.example?s=1", "https://a.example"),
            ("http://127.0.0.1:8080/?token=secret", "http://127.0.0.1:8080/"),
            ("/local/file.m3u8", "/local/file.m3u8"),
            ("", ""),
        ];
        for (input, expected) in table {
            assert_eq!(url(input), expected, "url({input:?})");
        }
    }

    #[test]
    fn urls_in_text_lose_their_secrets_and_the_rest_stays() {
        let text = "Failed to open 'https://cdn.example/s/1.ts?hmac=abc' (HTTPS://u:pw@x.example/a?b=c)\n\
                    [http @ 0x1] HTTP error 403 Forbidden at http://127.0.0.1:9/live.m3u8?token=t";
        let redacted = urls_in(text);
        for secret in ["hmac", "abc", "pw@", "b=c", "token"] {
            assert!(!redacted.contains(secret), "{secret} in {redacted}");
        }
        assert!(
            redacted.starts_with("Failed to open 'https://cdn.example/s/1.ts' ("),
            "{redacted}"
        );
        assert!(redacted.contains("HTTP error 403 Forbidden at http://127.0.0.1:9/live.m3u8"));
        assert_eq!(urls_in("no urls here"), "no urls here");
        assert_eq!(urls_in("ends with http://"), "ends with http://");
    }
}
