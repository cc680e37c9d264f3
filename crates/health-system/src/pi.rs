//! Raspberry Pi only: the board model and the firmware's throttling flags.
//!
//! The throttling flags come from the first source that exists:
//! 1. `<sysfs>/devices/platform/soc/soc:firmware/get_throttled` (the full mask);
//! 2. `vcgencmd get_throttled` ([`vcgencmd`]; skipped for good after a permission failure);
//! 3. the `rpi_volt` hwmon's `in0_lcrit_alarm`: under-voltage now only, with "since boot" latched
//!    here, in memory, per `boot_id`. The other three conditions are then unknown, not 0.
//!
//! Elsewhere none of these exists and nothing is emitted. It does not read clocks, voltages or
//! the firmware's temperature (the thermal zone has that, see [`crate::thermal`]).

mod throttle;
mod vcgencmd;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use health_core::{MetricDesc, Snapshot, Unit};

use crate::Vcgencmd;
use crate::roots::{Roots, read_optional};
use throttle::{Condition, Flag, Scope};
use vcgencmd::VcgencmdError;

const THROTTLED: MetricDesc = MetricDesc::gauge(
    "pi_throttled",
    Unit::None,
    "Raspberry Pi firmware throttling flag (1 = set): under-voltage, ARM frequency capped, \
     throttled or soft temperature limit, now or since boot.",
)
.labels(&["condition", "scope"]);
const INFO: MetricDesc =
    MetricDesc::gauge("pi_info", Unit::Info, "Raspberry Pi model, from the device tree.")
        .labels(&["model"]);

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[THROTTLED, INFO];

/// Where `vcgencmd` is looked for with [`Vcgencmd::Auto`], in order.
const VCGENCMD_CANDIDATES: &[&str] = &["/usr/bin/vcgencmd", "/opt/vc/bin/vcgencmd"];
/// How long `vcgencmd get_throttled` may take.
const VCGENCMD_TIMEOUT: Duration = Duration::from_secs(2);

const GET_THROTTLED: &str = "devices/platform/soc/soc:firmware/get_throttled";
const MODEL_PROC: &str = "device-tree/model";
const MODEL_SYS: &str = "firmware/devicetree/base/model";
const BOOT_ID: &str = "sys/kernel/random/boot_id";

/// The Pi part of the hardware collector, with what it remembers between runs.
#[derive(Debug)]
pub(crate) struct Pi {
    vcgencmd: Vcgencmd,
    candidates: Vec<PathBuf>,
    timeout: Duration,
    /// Set once vcgencmd failed for lack of permission: never run again in this process.
    vcgencmd_disabled: AtomicBool,
    /// Under-voltage seen since boot, for the `rpi_volt` source.
    latch: Mutex<Option<Latch>>,
}

/// Whether under-voltage was seen during the boot `boot_id`.
#[derive(Debug)]
struct Latch {
    boot_id: String,
    under_voltage: bool,
}

impl Pi {
    /// Looks for `vcgencmd` where Raspberry Pi OS puts it, with a 2 s timeout.
    pub(crate) fn new(vcgencmd: Vcgencmd) -> Self {
        let candidates = VCGENCMD_CANDIDATES.iter().map(PathBuf::from).collect();
        Self::with_vcgencmd(vcgencmd, candidates, VCGENCMD_TIMEOUT)
    }

    /// Like [`new`](Self::new), with other `Auto` candidates and timeout (tests).
    pub(crate) fn with_vcgencmd(
        vcgencmd: Vcgencmd,
        candidates: Vec<PathBuf>,
        timeout: Duration,
    ) -> Self {
        Self {
            vcgencmd,
            candidates,
            timeout,
            vcgencmd_disabled: AtomicBool::new(false),
            latch: Mutex::new(None),
        }
    }

    /// Adds `pi_info` and `pi_throttled` to `snapshot` when this is a Pi.
    pub(crate) async fn sample(&self, roots: &Roots, snapshot: &mut Snapshot) {
        sample_model(roots, snapshot);
        self.sample_throttled(roots, snapshot).await;
    }

    async fn sample_throttled(&self, roots: &Roots, snapshot: &mut Snapshot) {
        // 1. The firmware driver's sysfs file.
        let path = roots.sys(GET_THROTTLED);
        match read_optional(&path) {
            Ok(Some(content)) => {
                match throttle::parse_sysfs(&content) {
                    Ok(mask) => emit(snapshot, &throttle::decode(mask)),
                    Err(why) => problem(snapshot, &path, &content, &why),
                }
                return;
            }
            Ok(None) => {}
            Err(e) => {
                snapshot.problem(format!("{}: cannot read: {e}", path.display()));
                return;
            }
        }

        // 2. vcgencmd.
        if let Some(program) = self.vcgencmd_path() {
            match vcgencmd::get_throttled(&program, self.timeout).await {
                Ok(mask) => return emit(snapshot, &throttle::decode(mask)),
                Err(e @ VcgencmdError::PermissionDenied { .. }) => {
                    // Reported once; the next source stands in from now on.
                    self.vcgencmd_disabled.store(true, Ordering::Relaxed);
                    snapshot.problem(format!("{e}; not running it again"));
                }
                Err(e) => {
                    snapshot.problem(e.to_string());
                    return;
                }
            }
        }

        // 3. The rpi_volt hwmon: under-voltage only.
        self.sample_rpi_volt(roots, snapshot);
    }

    /// The vcgencmd to run this time, if any.
    fn vcgencmd_path(&self) -> Option<PathBuf> {
        if self.vcgencmd_disabled.load(Ordering::Relaxed) {
            return None;
        }
        match &self.vcgencmd {
            Vcgencmd::Off => None,
            Vcgencmd::Path(path) => Some(path.clone()),
            Vcgencmd::Auto => self.candidates.iter().find(|path| path.is_file()).cloned(),
        }
    }

    fn sample_rpi_volt(&self, roots: &Roots, snapshot: &mut Snapshot) {
        let Some(dir) = rpi_volt_dir(roots) else { return };
        let path = dir.join("in0_lcrit_alarm");
        let now = match read_optional(&path) {
            Ok(Some(content)) => match content.as_str() {
                "0" => false,
                "1" => true,
                _ => return problem(snapshot, &path, &content, &"expected 0 or 1"),
            },
            Ok(None) => return,
            Err(e) => {
                snapshot.problem(format!("{}: cannot read: {e}", path.display()));
                return;
            }
        };
        let boot_id = match read_optional(&roots.proc(BOOT_ID)) {
            Ok(id) => id.unwrap_or_default(),
            Err(e) => {
                snapshot.problem(format!("{}: cannot read: {e}", roots.proc(BOOT_ID).display()));
                String::new()
            }
        };
        let since_boot = self.latch_under_voltage(boot_id, now);
        let condition = Condition::UnderVoltage;
        emit(
            snapshot,
            &[
                Flag { condition, scope: Scope::Now, set: now },
                Flag { condition, scope: Scope::SinceBoot, set: since_boot },
            ],
        );
    }

    /// Whether under-voltage was seen during this boot, counting `now`.
    fn latch_under_voltage(&self, boot_id: String, now: bool) -> bool {
        let mut latch = self.latch.lock().unwrap_or_else(PoisonError::into_inner);
        match latch.as_mut() {
            Some(latch) if latch.boot_id == boot_id => {
                latch.under_voltage |= now;
                latch.under_voltage
            }
            _ => {
                *latch = Some(Latch { boot_id, under_voltage: now });
                now
            }
        }
    }
}

/// The first `hwmonN` directory whose `name` is `rpi_volt`.
fn rpi_volt_dir(roots: &Roots) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(roots.sys("class/hwmon"))
        .ok()?
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    dirs.sort();
    dirs.into_iter().find(
        |dir| matches!(read_optional(&dir.join("name")), Ok(Some(name)) if name == "rpi_volt"),
    )
}

/// `pi_info{model}` when the device tree names a Raspberry Pi.
fn sample_model(roots: &Roots, snapshot: &mut Snapshot) {
    for path in [roots.proc(MODEL_PROC), roots.sys(MODEL_SYS)] {
        match std::fs::read(&path) {
            Ok(bytes) => {
                let model = String::from_utf8_lossy(&bytes);
                let model = model.trim_matches(|c: char| c == '\0' || c.is_whitespace());
                if model.starts_with("Raspberry Pi") {
                    snapshot.gauge_with(INFO.name, vec![("model", model.to_owned())], 1.0);
                }
                return;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                snapshot.problem(format!("{}: cannot read: {e}", path.display()));
                return;
            }
        }
    }
}

fn emit(snapshot: &mut Snapshot, flags: &[Flag]) {
    for flag in flags {
        snapshot.gauge_with(
            THROTTLED.name,
            vec![
                ("condition", flag.condition.label().to_owned()),
                ("scope", flag.scope.label().to_owned()),
            ],
            if flag.set { 1.0 } else { 0.0 },
        );
    }
}

fn problem(snapshot: &mut Snapshot, path: &Path, content: &str, why: &dyn std::fmt::Display) {
    snapshot.problem(format!("{}: cannot parse {content:?}: {why}", path.display()));
}

#[cfg(test)]
mod tests;
