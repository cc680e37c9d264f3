//! One `POST` of one request body to one receiver, and what came of it. Credentials go into
//! the `Authorization` header only; every message names the URL through
//! [`health_core::redact`].

use std::time::{Duration, SystemTime};

use health_core::redact;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};

use super::retry::{Verdict, retry_after, verdict};
use super::wire;
use super::{Auth, Endpoint};

/// How much of a refusal's body is read, and how much of it is logged.
const BODY_READ_LIMIT: usize = 4096;
const MESSAGE_CHARS: usize = 200;

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// 2xx.
    Delivered,
    /// 5xx, 429, a network error or a timeout: worth sending again, after `after` if the
    /// receiver said so.
    Retry { reason: String, after: Option<Duration> },
    /// Any other status: the samples are dropped.
    Rejected { status: u16, message: String },
}

/// Posts to one endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Poster {
    client: reqwest::Client,
    endpoint: Endpoint,
}

/// The HTTP client every endpoint shares: `timeout` for connecting and for the whole answer,
/// our `User-Agent`, and no redirects (a redirected `POST` becomes a `GET` without its body).
pub(crate) fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(wire::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

impl Poster {
    pub(crate) fn new(client: reqwest::Client, endpoint: Endpoint) -> Self {
        Self { client, endpoint }
    }

    /// Sends `body` (a compressed `WriteRequest`) once.
    pub(crate) async fn post(&self, body: Vec<u8>) -> Attempt {
        let mut request = self
            .client
            .post(self.endpoint.url.clone())
            .header(CONTENT_ENCODING, wire::CONTENT_ENCODING)
            .header(CONTENT_TYPE, wire::CONTENT_TYPE)
            .header(wire::VERSION_HEADER, wire::VERSION)
            .body(body);
        request = match &self.endpoint.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token.expose()),
            Auth::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose()))
            }
        };
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Attempt::Retry { reason: failure(&error), after: None },
        };
        let status = response.status().as_u16();
        match verdict(status) {
            Verdict::Delivered => Attempt::Delivered,
            Verdict::Retry => {
                let after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| retry_after(value, SystemTime::now()));
                let message = message(&mut response).await;
                Attempt::Retry { reason: format!("HTTP {status}: {message}"), after }
            }
            Verdict::Reject => Attempt::Rejected { status, message: message(&mut response).await },
        }
    }
}

/// A network error in words, without credentials or query strings: "timed out" rather than
/// reqwest's "error sending request" alone.
fn failure(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer within the time limit".to_owned();
    }
    redact::error_chain(error)
}

/// The start of the receiver's explanation (Prometheus says which sample it refused and why),
/// on one line, cut to 200 characters.
async fn message(response: &mut reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < BODY_READ_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    one_line(&String::from_utf8_lossy(&body))
}

/// `text` on one line, URLs redacted, at most [`MESSAGE_CHARS`] characters.
fn one_line(text: &str) -> String {
    let text = redact::urls_in(text.trim());
    let mut line: String =
        text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MESSAGE_CHARS).collect();
    if line.is_empty() {
        line.push_str("(no message)");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn messages_are_one_short_line_without_secrets() {
        assert_eq!(one_line("  out of order sample\n"), "out of order sample");
        assert_eq!(one_line(""), "(no message)");
        assert_eq!(
            one_line("see https://u:p@mimir.example/api?key=s3cret\nfor details"),
            "see https://mimir.example/api for details"
        );
        let long = "é".repeat(500);
        assert_eq!(one_line(&long).chars().count(), 200);
    }
}
