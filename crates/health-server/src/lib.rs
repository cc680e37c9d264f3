//! The vimeo-monitor health exporter, as a library and as the `health-server` binary.
//!
//! - [`config`]: the `HEALTH_*` configuration (defaults < TOML file < `.env` < environment).
//! - [`compose()`]: the enabled collectors from the configuration and the compiled-in features.
//! - [`router`]: the axum router (`/metrics`, `/healthz`, `/status`, the status page `/`,
//!   `/screen.jpg`) to mount in your own app, with [`ScreenImage`] and [`History`] for the page.
//! - [`Exporter`] and [`run`]: bind, collect, serve, reload and stop, as one;
//!   [`Exporter::builder`] adds collectors of your own (kept across reloads) and sets the
//!   namespace, realm and version. `docs/library.md` and `examples/` show how.
//! - [`catalogue`] and [`metrics_reference`]: every metric this build can emit, for the docs.
//! - [`push`] and [`remote_write`]: sending the figures out, to a Pushgateway or with Prometheus
//!   Remote-Write 1.0 to any number of receivers (`HEALTH_PUSHGATEWAY_URL`,
//!   `HEALTH_REMOTE_WRITE_URL`), for kiosks Prometheus cannot scrape.
//!
//! | Feature | What it adds | Default | Needs |
//! |---|---|---|---|
//! | `system` | the hardware collector (`HEALTH_HARDWARE_*`) | yes | — |
//! | `network` | the network collector (`HEALTH_NETWORK_*`) | yes | — |
//! | `stream` | the stream collectors (`HEALTH_STREAM_*`) | yes | `ffprobe` at run time |
//! | `script` | the kiosk's own health | yes | the kiosk |
//! | `cli` | the binary's own crates (clap, anyhow, tracing-subscriber) | yes | — |

mod collectors;
mod compose;
pub mod config;
mod exporter;
mod history;
mod http;
mod page;
pub mod push;
mod reference;
pub mod remote_write;
mod screen;
mod serve;

pub use compose::{ComposeError, Composition, Inputs, NotCompiledIn, compose, compose_with};
pub use exporter::{Exporter, ExporterBuilder, ExporterError, listen_addr, run};
pub use history::History;
pub use http::{AppState, BearerAuth, InvalidRealm, METRICS_CONTENT_TYPE, Realm, router};
pub use reference::{CatalogueEntry, EXAMPLE_QUERIES, catalogue, metrics_reference};
pub use screen::ScreenImage;
pub use serve::serve;
