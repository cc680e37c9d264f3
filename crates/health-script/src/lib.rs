//! The `script` collector of vimeo-monitor: is the kiosk itself doing its job?
//!
//! A kiosk can fail in ways no hardware, network or stream figure shows: its main loop hangs,
//! the API keeps refusing it, the player keeps dying, or the screen shows the holding image
//! while the event is live. `vimeo_monitor_script_healthy` answers the one question a fleet
//! dashboard asks: has the main loop run recently, and does the screen show what the API state
//! calls for?
//!
//! Two ways in, one set of metrics (the collector is `script` either way):
//!
//! - Inside the kiosk: a [`ScriptHealth`] handle, cheap to clone, that the kiosk records into as
//!   it works ([`tick`](ScriptHealth::tick), [`api_request`](ScriptHealth::api_request),
//!   [`set_stream_state`](ScriptHealth::set_stream_state), ...), and the [`ScriptCollector`] that
//!   publishes it every `HEALTH_SCRIPT_INTERVAL`.
//! - Beside another kiosk script (the Python original): a [`SidecarCollector`] that watches its
//!   process (`HEALTH_SCRIPT_PIDFILE` or `HEALTH_SCRIPT_PROCESS_NAME`) and reads the small JSON
//!   status file it writes (`HEALTH_SCRIPT_STATUS_FILE`, documented in
//!   `docs/script-status-file.md`).
//!
//! Every label value comes from a fixed enumeration ([`ApiResult`], [`StreamState`],
//! [`PlayerState`], [`RestartReason`]; the player's name and decoder are sanitised and bounded),
//! so nothing from outside can grow the number of series. Counters are published for every value
//! from the start (at 0), and the state gauges for every state (exactly one at 1).
//!
//! This crate has no cargo features. What it deliberately does not do: supervise the player or
//! the script (that is the kiosk's job, and a sidecar only reads), or judge the stream itself
//! (that is `health-stream`).

mod collector;
mod handle;
mod monotonic;
mod player;
mod report;
mod screen;
mod sidecar;
mod states;

pub use collector::{NAME, ScriptCollector};
pub use handle::ScriptHealth;
pub use player::{PlayerFigures, StreamFacts};
pub use screen::{ScreenFigures, Thumbnail};
pub use sidecar::{SidecarCollector, SidecarOptions};
pub use states::{ApiResult, Display, PlayerState, RestartReason, StreamState};

/// Every metric the `script` collector may emit, inside the kiosk or beside a script: the
/// handle's metrics plus the sidecar's process and status-file ones.
pub fn descriptions() -> Vec<health_core::MetricDesc> {
    let mut all = report::DESCRIPTIONS.to_vec();
    for desc in sidecar::descriptions() {
        if !all.iter().any(|d| d.name == desc.name) {
            all.push(desc);
        }
    }
    all
}
