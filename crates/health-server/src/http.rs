//! The HTTP face of the exporter: `/metrics`, `/healthz`, `/status`, `/`, `/screen.jpg`, nothing
//! else.
//!
//! Handlers only read: `/metrics` renders the last published snapshots, `/status` copies the
//! status board, `/` turns both (and the last hour's history) into a page for people and
//! `/screen.jpg` copies the kiosk's latest screenshot, so a request never starts or waits for a
//! collection or a screenshot.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use health_core::{Exposition, StatusBoard};
use serde::Serialize;
use subtle::ConstantTimeEq;
use tower_http::timeout::TimeoutLayer;

use crate::config::Secret;
use crate::history::History;
use crate::screen::ScreenImage;

/// The content type of the Prometheus text format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How long one request may take before it is answered 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The bearer token that guards `/metrics`, `/status`, `/` and `/screen.jpg`, replaceable on
/// reload.
#[derive(Debug, Clone, Default)]
pub struct BearerAuth {
    token: Arc<RwLock<Option<Secret>>>,
}

impl BearerAuth {
    /// Guards with `token`, or leaves the endpoints open with `None`.
    pub fn new(token: Option<Secret>) -> Self {
        Self { token: Arc::new(RwLock::new(token)) }
    }

    /// Replaces the token (a configuration reload).
    pub fn set(&self, token: Option<Secret>) {
        *self.token.write().unwrap_or_else(PoisonError::into_inner) = token;
    }

    fn allows(&self, headers: &HeaderMap) -> bool {
        let expected = self.token.read().unwrap_or_else(PoisonError::into_inner);
        let Some(expected) = expected.as_ref() else { return true };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_credentials)
            .unwrap_or("");
        // Constant time in the token's content; only its length can be learnt from timing.
        bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes()))
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is case-insensitive and
/// followed by one or more spaces (RFC 7235), so `BEARER` and `BeArEr` work too.
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim_start_matches(' '))
}

/// The realm of the `WWW-Authenticate: Bearer realm="…"` challenge a refused request gets,
/// checked once to fit in a header.
#[derive(Debug, Clone)]
pub struct Realm {
    challenge: HeaderValue,
    realm: Arc<str>,
}

/// A realm that cannot be sent in a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "realm `{0}` cannot be sent in a WWW-Authenticate header: use 1 to 100 printable ASCII \
     characters other than `\"` and `\\` (such as `vimeo-monitor`)"
)]
pub struct InvalidRealm(pub String);

impl Realm {
    /// The default realm, `vimeo-monitor`.
    pub const DEFAULT: &str = "vimeo-monitor";

    /// A realm of 1 to 100 printable ASCII characters other than `"` and `\`, which a quoted
    /// string carries as they are.
    pub fn new(realm: &str) -> Result<Self, InvalidRealm> {
        let fits = (1..=100).contains(&realm.len())
            && realm.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
        let challenge = fits
            .then(|| HeaderValue::from_str(&format!("Bearer realm=\"{realm}\"")).ok())
            .flatten()
            .ok_or_else(|| InvalidRealm(realm.to_owned()))?;
        Ok(Self { challenge, realm: realm.into() })
    }

    /// The realm, without quotes.
    pub fn as_str(&self) -> &str {
        &self.realm
    }
}

impl Default for Realm {
    fn default() -> Self {
        Self::new(Self::DEFAULT).expect("the default realm fits in a header")
    }
}

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The metrics to render.
    pub exposition: Exposition,
    /// The collectors' records.
    pub status: StatusBoard,
    /// The guard of `/metrics`, `/status`, `/` and `/screen.jpg`.
    pub auth: BearerAuth,
    /// The kiosk's latest screenshot, for `/screen.jpg` and the page.
    pub screen: ScreenImage,
    /// The last hour of a few figures, for the page's sparklines.
    pub history: History,
    /// The realm a refused request is told to authenticate in (default `vimeo-monitor`).
    pub realm: Realm,
    /// The `version` `/status` reports (default: health-server's own version).
    pub version: Arc<str>,
}

impl AppState {
    /// The state for these figures and records, with no screenshot and no history (add them
    /// by setting [`screen`](Self::screen) and [`history`](Self::history)), the default
    /// [`realm`](Self::realm) and health-server's version.
    pub fn new(exposition: Exposition, status: StatusBoard, auth: BearerAuth) -> Self {
        Self {
            exposition,
            status,
            auth,
            screen: ScreenImage::default(),
            history: History::new(),
            realm: Realm::default(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The exporter's router, to serve on its own or to mount in another axum app.
///
/// | Route | Answer | Guarded by the bearer token |
/// |---|---|---|
/// | `GET /metrics` | the Prometheus text exposition | yes |
/// | `GET /status` | every collector's last run, as JSON | yes |
/// | `GET /` | an HTML status page for people, refreshing itself every 5 s (see below) | yes |
/// | `GET /screen.jpg` | the kiosk's latest screenshot, a small JPEG (404 without one) | yes |
/// | `GET /healthz` | `ok`: the process serves | no |
///
/// The page shows what the screen should show and whether it does (with the screenshot, black
/// and frozen pictures, the display, dropped frames and the buffer), SoC temperature and
/// throttling, the network, the stream and every collector's last run, from the same figures as
/// `/metrics`, with sparklines of the last hour. A browser cannot send the bearer header from
/// its address bar: with a token set, read the page with `curl -H "Authorization: Bearer …"` or through a proxy that adds it.
pub fn router(state: AppState) -> Router {
    let guarded = Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/screen.jpg", get(screen))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_bearer));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(guarded)
        .fallback(not_found)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = Bytes::from_owner(SharedText(state.exposition.text()));
    ([(header::CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE))], body).into_response()
}

/// The exposition's shared text as a response body: every scrape between two publishes sends
/// the same bytes, never a copy.
struct SharedText(Arc<str>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[derive(Serialize)]
struct StatusBody {
    version: String,
    collectors: std::collections::BTreeMap<String, health_core::CollectorStatus>,
}

async fn status(State(state): State<AppState>) -> Json<StatusBody> {
    Json(StatusBody { version: state.version.to_string(), collectors: state.status.snapshot() })
}

async fn page(State(state): State<AppState>) -> Response {
    let body = crate::page::render(
        &state.status,
        &state.history,
        state.screen.picture(),
        SystemTime::now(),
        &state.version,
    );
    let headers = crate::page::HEADERS.map(|(name, value)| (name, HeaderValue::from_static(value)));
    (headers, body).into_response()
}

/// The latest screenshot, never cached (the next one replaces it within seconds).
async fn screen(State(state): State<AppState>) -> Response {
    let Some(shot) = state.screen.latest() else {
        return (StatusCode::NOT_FOUND, state.screen.why_none()).into_response();
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    let mut response = (headers, shot.jpeg).into_response();
    // An HTTP date is plain ASCII: it always makes a header value.
    if let Ok(modified) = HeaderValue::from_str(&httpdate::fmt_http_date(shot.taken)) {
        response.headers_mut().insert(header::LAST_MODIFIED, modified);
    }
    response
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found: try /, /metrics, /healthz, /status or /screen.jpg\n")
}

async fn require_bearer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.auth.allows(request.headers()) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, state.realm.challenge.clone())],
        "unauthorized: send Authorization: Bearer <HEALTH_METRICS_BEARER_TOKEN>\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let cases = [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER abc", Some("abc")),
            ("BeArEr abc", Some("abc")),
            ("Bearer   abc", Some("abc")),
            ("Bearer ", Some("")),
            ("Bearer", None),
            ("Bearerabc", None),
            ("Basic YWJj", None),
            ("Bearer\tabc", None),
            ("", None),
        ];
        for (value, expected) in cases {
            assert_eq!(bearer_credentials(value), expected, "{value:?}");
        }
    }

    #[test]
    fn a_realm_must_fit_in_a_quoted_header_value() {
        let cases = [
            ("vimeo-monitor", true),
            ("Acme kiosks (hall 2)", true),
            ("", false),
            ("say \"hi\"", false),
            ("back\\slash", false),
            ("line\nbreak", false),
            ("café", false),
        ];
        for (realm, fits) in cases {
            match Realm::new(realm) {
                Ok(r) => {
                    assert!(fits, "{realm:?} accepted");
                    assert_eq!(r.challenge, format!("Bearer realm=\"{realm}\"").as_str());
                    assert_eq!(r.as_str(), realm);
                }
                Err(e) => {
                    assert!(!fits, "{realm:?} refused: {e}");
                    assert!(e.to_string().contains(&format!("realm `{realm}`")), "{e}");
                }
            }
        }
        assert!(Realm::new(&"a".repeat(101)).is_err(), "too long");
        assert_eq!(Realm::default().as_str(), "vimeo-monitor");
    }

    #[test]
    fn only_the_configured_token_is_allowed_whatever_the_scheme_case() {
        let auth = BearerAuth::new(Some(Secret::new("s3cret")));
        let allows = |value: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            }
            auth.allows(&headers)
        };
        let cases = [
            (Some("Bearer s3cret"), true),
            (Some("BEARER s3cret"), true),
            (Some("BeArEr s3cret"), true),
            (Some("bearer s3cret"), true),
            (Some("Bearer S3CRET"), false),
            (Some("Bearer s3cret2"), false),
            (Some("Bearer s3cre"), false),
            (Some("Basic s3cret"), false),
            (Some("s3cret"), false),
            (None, false),
        ];
        for (value, expected) in cases {
            assert_eq!(allows(value), expected, "{value:?}");
        }
        assert!(BearerAuth::new(None).allows(&HeaderMap::new()), "no token leaves it open");
    }
}
