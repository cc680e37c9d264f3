//! The display: what the kernel's DRM connectors say, and whether the TV itself is on.
//!
//! A black room is most often not the player's fault: the HDMI cable came out, the output was
//! switched off, or the TV went to standby. Two sources, both optional:
//! - the DRM connectors in `<sysfs>/class/drm/card<N>-<connector>/{status,enabled,dpms,modes}`
//!   (every KMS driver: vc4 on a Raspberry Pi, i915/amdgpu on a PC): plugged in, driven, awake,
//!   and the mode the display prefers. The connector label is the part after `card<N>-`
//!   (`HDMI-A-1`); writeback connectors (a Pi's `Writeback-1`) are not displays and are left out;
//! - the TV's own power state over HDMI-CEC ([`cec`]): a TV in standby still shows as connected
//!   and driven, so only CEC can tell. It costs one CEC message to the TV (and its answer) per
//!   run of the hardware collector, never more often.
//!
//! Not read: EDID (make and model), the current CRTC mode (sysfs has none; the first `modes` line
//! is the display's preferred mode, which KMS uses unless told otherwise), backlight levels.

mod cec;

use std::path::PathBuf;
use std::time::Duration;

use health_core::files::list_dir;
use health_core::{MetricDesc, Snapshot, Unit};

use crate::Cec;
use crate::roots::{Roots, read_optional};

const CONNECTED: MetricDesc = MetricDesc::gauge(
    "display_connected",
    Unit::None,
    "1 when a display is plugged into this connector (DRM status `connected`), else 0.",
)
.labels(&["connector"]);
const ENABLED: MetricDesc = MetricDesc::gauge(
    "display_enabled",
    Unit::None,
    "1 when the kernel drives this connector (DRM `enabled`): it sends the display a picture.",
)
.labels(&["connector"]);
const DPMS_ON: MetricDesc = MetricDesc::gauge(
    "display_dpms_on",
    Unit::None,
    "1 when the connector's DPMS power state is On; 0 when the display was told to sleep \
     (Standby, Suspend, Off).",
)
.labels(&["connector"]);
const MODE: MetricDesc = MetricDesc::gauge(
    "display_mode_info",
    Unit::Info,
    "The mode a connected display prefers (the first of DRM `modes`, e.g. 1920x1080).",
)
.labels(&["connector", "mode"]);
const POWER_ON: MetricDesc = MetricDesc::gauge(
    "display_power_on",
    Unit::None,
    "1 when the TV answers over HDMI-CEC that it is on (or turning on), 0 in standby (or going \
     there); absent without cec-ctl, a CEC device or an answer.",
);

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[CONNECTED, ENABLED, DPMS_ON, MODE, POWER_ON];

/// Where the DRM connectors are, under the sysfs root.
const DRM: &str = "class/drm";
/// Connectors that are not displays: a writeback connector captures the composed picture.
const SKIPPED_PREFIXES: &[&str] = &["Writeback-"];
/// A mode label longer than this is not a mode (`7680x4320i` is 10).
const MODE_MAX_CHARS: usize = 32;

/// Reads every DRM connector under `roots` into `snapshot`.
///
/// Synchronous: a few tiny sysfs reads per connector. Call it from `spawn_blocking`.
pub(crate) fn sample(roots: &Roots, snapshot: &mut Snapshot) {
    let dir = roots.sys(DRM);
    let mut taken: Vec<String> = Vec::new();
    for (entry, connector) in connectors(list_dir(&dir, snapshot)) {
        // Two cards with a connector of the same name (a PC with two GPUs) keep the card.
        let label = if taken.contains(&connector) { entry.clone() } else { connector };
        taken.push(label.clone());
        sample_connector(&dir.join(&entry), &label, snapshot);
    }
}

/// `(entry, connector label)` for every connector entry, sorted by entry name: `card1-HDMI-A-1`
/// → `HDMI-A-1`. Cards (`card0`), render nodes, `version` and writeback connectors are left out.
fn connectors(entries: Vec<String>) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = entries
        .into_iter()
        .filter_map(|entry| {
            let connector = connector_name(&entry)?.to_owned();
            Some((entry, connector))
        })
        .collect();
    found.sort();
    found
}

/// The connector part of a `card<N>-<connector>` entry name, unless it is not a display.
fn connector_name(entry: &str) -> Option<&str> {
    let rest = entry.strip_prefix("card")?;
    let (card, connector) = rest.split_once('-')?;
    if card.is_empty() || !card.bytes().all(|b| b.is_ascii_digit()) || connector.is_empty() {
        return None;
    }
    if SKIPPED_PREFIXES.iter().any(|prefix| connector.starts_with(prefix)) {
        return None;
    }
    Some(connector)
}

fn sample_connector(dir: &std::path::Path, label: &str, snapshot: &mut Snapshot) {
    let labels = || vec![("connector", label.to_owned())];
    let connected = read_state(dir, "status", parse_status, snapshot);
    if let Some(connected) = connected {
        snapshot.gauge_with(CONNECTED.name, labels(), flag(connected));
    }
    if let Some(enabled) = read_state(dir, "enabled", parse_enabled, snapshot) {
        snapshot.gauge_with(ENABLED.name, labels(), flag(enabled));
    }
    if let Some(on) = read_state(dir, "dpms", parse_dpms, snapshot) {
        snapshot.gauge_with(DPMS_ON.name, labels(), flag(on));
    }
    if connected == Some(true) {
        let path = dir.join("modes");
        match read_optional(&path) {
            Ok(Some(modes)) => match preferred_mode(&modes) {
                Ok(Some(mode)) => {
                    let labels = vec![("connector", label.to_owned()), ("mode", mode.to_owned())];
                    snapshot.gauge_with(MODE.name, labels, 1.0);
                }
                // A display that announced no mode (a broken EDID): no series.
                Ok(None) => {}
                Err(why) => problem(snapshot, &path, &modes, why),
            },
            Ok(None) => {}
            Err(e) => {
                snapshot.problem(format!("{}: cannot read: {e}", path.display()));
            }
        }
    }
}

/// The value of `dir/file` through `parse`; `None` when missing (a problem when unparsable).
fn read_state(
    dir: &std::path::Path,
    file: &str,
    parse: fn(&str) -> Result<bool, &'static str>,
    snapshot: &mut Snapshot,
) -> Option<bool> {
    let path = dir.join(file);
    match read_optional(&path) {
        Ok(Some(content)) => match parse(&content) {
            Ok(value) => Some(value),
            Err(why) => {
                problem(snapshot, &path, &content, why);
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            snapshot.problem(format!("{}: cannot read: {e}", path.display()));
            None
        }
    }
}

/// `status`: whether a display is plugged in. The kernel writes `unknown` for connectors that
/// cannot tell (composite, writeback): not a display we know of.
fn parse_status(content: &str) -> Result<bool, &'static str> {
    match content {
        "connected" => Ok(true),
        "disconnected" | "unknown" => Ok(false),
        _ => Err("expected connected, disconnected or unknown"),
    }
}

/// `enabled`: whether the connector is driven.
fn parse_enabled(content: &str) -> Result<bool, &'static str> {
    match content {
        "enabled" => Ok(true),
        "disabled" => Ok(false),
        _ => Err("expected enabled or disabled"),
    }
}

/// `dpms`: whether the display is awake.
fn parse_dpms(content: &str) -> Result<bool, &'static str> {
    match content {
        "On" => Ok(true),
        "Standby" | "Suspend" | "Off" => Ok(false),
        _ => Err("expected On, Standby, Suspend or Off"),
    }
}

/// The first line of `modes` (`1920x1080`, `1920x1080i`); `None` when it lists none.
fn preferred_mode(content: &str) -> Result<Option<&str>, &'static str> {
    let Some(first) = content.lines().map(str::trim).find(|line| !line.is_empty()) else {
        return Ok(None);
    };
    let valid = first.len() <= MODE_MAX_CHARS
        && first.split_once('x').is_some_and(|(width, height)| {
            let height = height.strip_suffix('i').unwrap_or(height);
            !width.is_empty()
                && !height.is_empty()
                && width.bytes().all(|b| b.is_ascii_digit())
                && height.bytes().all(|b| b.is_ascii_digit())
        });
    if valid { Ok(Some(first)) } else { Err("expected a mode like 1920x1080 on the first line") }
}

fn flag(set: bool) -> f64 {
    if set { 1.0 } else { 0.0 }
}

fn problem(snapshot: &mut Snapshot, path: &std::path::Path, content: &str, why: &str) {
    snapshot.problem(format!("{}: cannot parse {content:?}: {why}", path.display()));
}

/// Where `cec-ctl` is looked for with [`Cec::Auto`].
const CEC_CTL_CANDIDATES: &[&str] = &["/usr/bin/cec-ctl"];
/// The CEC adapter of the first HDMI port; [`Cec::Auto`] asks only when it exists.
const CEC_DEVICE: &str = "/dev/cec0";
/// How long one `cec-ctl` question may take: the kernel waits up to 1 s for the TV's answer,
/// after up to 5 transmit attempts.
const CEC_TIMEOUT: Duration = Duration::from_secs(3);

/// The TV's power state over HDMI-CEC: asks once per call, never in between.
#[derive(Debug)]
pub(crate) struct TvPower {
    setting: Cec,
    candidates: Vec<PathBuf>,
    device: PathBuf,
    timeout: Duration,
}

impl TvPower {
    /// Looks for `/usr/bin/cec-ctl` and `/dev/cec0`, with a 3 s timeout.
    pub(crate) fn new(setting: Cec) -> Self {
        let candidates = CEC_CTL_CANDIDATES.iter().map(PathBuf::from).collect();
        Self::with_paths(setting, candidates, PathBuf::from(CEC_DEVICE), CEC_TIMEOUT)
    }

    /// Like [`new`](Self::new), with other `Auto` candidates, device and timeout (tests).
    pub(crate) fn with_paths(
        setting: Cec,
        candidates: Vec<PathBuf>,
        device: PathBuf,
        timeout: Duration,
    ) -> Self {
        Self { setting, candidates, device, timeout }
    }

    /// Adds `display_power_on` when the TV answers. With `auto`, a missing tool or device, a
    /// failed run or no answer is no data; with an explicit path, a failed run is a problem.
    pub(crate) async fn sample(&self, snapshot: &mut Snapshot) {
        let (program, explicit) = match &self.setting {
            Cec::Off => return,
            Cec::Path(path) => (path.clone(), true),
            Cec::Auto => {
                let Some(program) = self.candidates.iter().find(|path| path.is_file()) else {
                    return;
                };
                if !self.device.exists() {
                    return;
                }
                (program.clone(), false)
            }
        };
        match cec::power_status(&program, &self.device, self.timeout).await {
            Ok(Some(on)) => {
                snapshot.gauge(POWER_ON.name, flag(on));
            }
            Ok(None) => {}
            Err(e) if explicit => {
                snapshot.problem(e.to_string());
            }
            // No adapter configured, no permission on /dev/cec0: as if there were no CEC.
            Err(e) => tracing::debug!(target: "health.system", error = %e, "no TV power state"),
        }
    }
}

#[cfg(test)]
mod tests;
