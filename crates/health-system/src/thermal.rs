//! Temperatures from the kernel's thermal zones and hwmon sensors, in degrees Celsius.
//!
//! Reads `<sysfs>/class/thermal/thermal_zone*/{type,temp}` and
//! `<sysfs>/class/hwmon/hwmon*/{name,temp*_input,temp*_label}`; both report millidegrees.
//! Every sensor becomes one `temperature_celsius{sensor}` series; the SoC sensor is also
//! `cpu_temperature_celsius`. It does not read fan speeds, voltages or trip points, and it does
//! not follow the pre-3.x layout where hwmon attributes lived under `hwmonN/device/`.

use std::io;
use std::path::{Path, PathBuf};

use health_core::files::list_dir;
use health_core::{MetricDesc, Snapshot, Unit};

use crate::Roots;

const CPU_TEMPERATURE: MetricDesc = MetricDesc::gauge(
    "cpu_temperature_celsius",
    Unit::Celsius,
    "Temperature of the SoC/CPU: the cpu-thermal zone on a Raspberry Pi, else the first thermal zone.",
);
const TEMPERATURE: MetricDesc = MetricDesc::gauge(
    "temperature_celsius",
    Unit::Celsius,
    "Temperature of every thermal zone (by type) and hwmon sensor (`<chip>_<label or tempN>`).",
)
.labels(&["sensor"]);

/// What this part emits.
pub(crate) const DESCRIPTIONS: &[MetricDesc] = &[CPU_TEMPERATURE, TEMPERATURE];

/// Thermal zone types of the Raspberry Pi SoC sensor (the name changed between kernels).
const CPU_ZONE_TYPES: &[&str] = &["cpu-thermal", "cpu_thermal"];

/// Readings outside this range are a broken or unset sensor (ACPI zones report -273.2 or 255).
const PLAUSIBLE_CELSIUS: std::ops::RangeInclusive<f64> = -40.0..=150.0;

/// One sensor found on disk, named before its value is read so names stay stable when a reading
/// is dropped.
#[derive(Debug)]
struct Sensor {
    name: String,
    input: PathBuf,
    /// A thermal zone whose type marks it as the SoC sensor.
    soc: bool,
    /// A thermal zone (as opposed to hwmon).
    zone: bool,
}

/// Reads every thermal zone and hwmon temperature under `roots` into `snapshot`.
///
/// Synchronous: a few tiny sysfs reads. Call it from `spawn_blocking`.
pub(crate) fn sample(roots: &Roots, snapshot: &mut Snapshot) {
    let mut sensors = thermal_zones(roots, snapshot);
    sensors.extend(hwmon_sensors(roots, snapshot));
    deduplicate(&mut sensors);

    // The SoC zone if there is one, else the lowest-numbered zone (zones come sorted).
    let cpu = sensors.iter().position(|s| s.soc).or_else(|| sensors.iter().position(|s| s.zone));

    for (index, sensor) in sensors.into_iter().enumerate() {
        let Some(celsius) = read_celsius(&sensor.input, snapshot) else { continue };
        if cpu == Some(index) {
            snapshot.gauge(CPU_TEMPERATURE.name, celsius);
        }
        snapshot.gauge_with(TEMPERATURE.name, vec![("sensor", sensor.name)], celsius);
    }
}

/// `thermal_zoneN` directories, sorted by N, named by their `type`.
fn thermal_zones(roots: &Roots, snapshot: &mut Snapshot) -> Vec<Sensor> {
    numbered_dirs(&roots.sys("class/thermal"), "thermal_zone", snapshot)
        .into_iter()
        .map(|(n, dir)| {
            let kind = read_text(&dir.join("type"), snapshot)
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| format!("thermal_zone{n}"));
            Sensor {
                soc: CPU_ZONE_TYPES.contains(&kind.as_str()),
                zone: true,
                name: kind,
                input: dir.join("temp"),
            }
        })
        .collect()
}

/// `temp*_input` files of every `hwmonN` directory, sorted by N then by sensor number, named
/// `<name>_<label or tempN>` in lowercase with every other character replaced by `_`.
fn hwmon_sensors(roots: &Roots, snapshot: &mut Snapshot) -> Vec<Sensor> {
    let mut sensors = Vec::new();
    for (n, dir) in numbered_dirs(&roots.sys("class/hwmon"), "hwmon", snapshot) {
        let chip = read_text(&dir.join("name"), snapshot)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| format!("hwmon{n}"));
        let mut inputs: Vec<u32> = list_dir(&dir, snapshot)
            .iter()
            .filter_map(|file| file.strip_prefix("temp")?.strip_suffix("_input")?.parse().ok())
            .collect();
        inputs.sort_unstable();
        for index in inputs {
            let label = read_text(&dir.join(format!("temp{index}_label")), snapshot)
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| format!("temp{index}"));
            sensors.push(Sensor {
                name: sanitize(&format!("{chip}_{label}")),
                input: dir.join(format!("temp{index}_input")),
                soc: false,
                zone: false,
            });
        }
    }
    sensors
}

/// Lowercase ASCII letters and digits; everything else becomes `_`.
fn sanitize(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect()
}

/// Gives the second and later sensors of the same name a `_2`, `_3`, … suffix.
fn deduplicate(sensors: &mut [Sensor]) {
    let mut taken: Vec<String> = Vec::with_capacity(sensors.len());
    for sensor in sensors.iter_mut() {
        if taken.contains(&sensor.name) {
            let unique = (2..)
                .map(|k| format!("{}_{k}", sensor.name))
                .find(|candidate| !taken.contains(candidate))
                .unwrap_or_default();
            sensor.name = unique;
        }
        taken.push(sensor.name.clone());
    }
}

/// The directories `<prefix>N` in `dir`, sorted by N. A missing `dir` is no data.
fn numbered_dirs(dir: &Path, prefix: &str, snapshot: &mut Snapshot) -> Vec<(u32, PathBuf)> {
    let mut found: Vec<(u32, PathBuf)> = list_dir(dir, snapshot)
        .into_iter()
        .filter_map(|name| {
            let n = name.strip_prefix(prefix)?.parse().ok()?;
            Some((n, dir.join(name)))
        })
        .collect();
    found.sort_unstable_by_key(|(n, _)| *n);
    found
}

/// The trimmed content of a small text file; `None` when it is missing or has no reading now.
fn read_text(path: &Path, snapshot: &mut Snapshot) -> Option<String> {
    match crate::roots::read_optional(path) {
        Ok(text) => text,
        Err(e) if no_reading(&e) => {
            tracing::debug!(
                target: "health.system",
                path = %path.display(),
                error = %e,
                "sensor has no reading",
            );
            None
        }
        Err(e) => {
            snapshot.problem(format!("{}: cannot read: {e}", path.display()));
            None
        }
    }
}

/// Drivers answer `ENODATA` or `EAGAIN` while a sensor has nothing to report (iwlwifi with the
/// radio off, a zone still probing): that is no data, not a failure.
fn no_reading(e: &io::Error) -> bool {
    const ENODATA: i32 = 61;
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(ENODATA)
}

/// The temperature in `path` (millidegrees) in degrees Celsius, if present and plausible.
fn read_celsius(path: &Path, snapshot: &mut Snapshot) -> Option<f64> {
    let content = read_text(path, snapshot)?;
    let celsius = match parse_millidegrees(&content) {
        Ok(celsius) => celsius,
        Err(why) => {
            snapshot.problem(format!("{}: cannot parse {content:?}: {why}", path.display()));
            return None;
        }
    };
    if !PLAUSIBLE_CELSIUS.contains(&celsius) {
        tracing::debug!(
            target: "health.system",
            path = %path.display(),
            celsius,
            "dropping an implausible temperature",
        );
        return None;
    }
    Some(celsius)
}

/// `48312` → 48.312. The kernel prints an integer; anything else is rejected.
fn parse_millidegrees(content: &str) -> Result<f64, std::num::ParseIntError> {
    let millidegrees: i64 = content.parse()?;
    // Every plausible reading is far below 2^53: the conversion is exact.
    Ok(millidegrees as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use health_core::SampleValue;

    use super::*;
    use crate::test_support::{fixture, sys_tree};

    fn run(roots: &Roots) -> Snapshot {
        let mut snapshot = Snapshot::new();
        sample(roots, &mut snapshot);
        snapshot
    }

    /// Every `temperature_celsius` series as (sensor, value), in emission order.
    fn sensors(snapshot: &Snapshot) -> Vec<(String, f64)> {
        snapshot
            .samples()
            .iter()
            .filter(|s| s.name == TEMPERATURE.name)
            .map(|s| match (&s.labels[..], &s.value) {
                ([("sensor", sensor)], SampleValue::Gauge(v)) => (sensor.clone(), *v),
                other => panic!("unexpected sample {other:?}"),
            })
            .collect()
    }

    fn cpu(snapshot: &Snapshot) -> Option<&SampleValue> {
        snapshot.get(&CPU_TEMPERATURE.name, &[])
    }

    fn owned(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn pi4_reports_its_cpu_thermal_zone() {
        let snapshot = run(&fixture("pi4"));
        assert_eq!(snapshot.problems(), &[] as &[String]);
        assert_eq!(cpu(&snapshot), Some(&SampleValue::Gauge(48.312)));
        assert_eq!(sensors(&snapshot), owned(&[("cpu-thermal", 48.312)]));
        assert_eq!(snapshot.len(), 2);
    }

    #[test]
    fn pi5_reports_the_zone_and_the_rp1_adc() {
        let snapshot = run(&fixture("pi5"));
        assert_eq!(snapshot.problems(), &[] as &[String]);
        assert_eq!(cpu(&snapshot), Some(&SampleValue::Gauge(51.45)));
        assert_eq!(
            sensors(&snapshot),
            owned(&[("cpu-thermal", 51.45), ("cpu_thermal_temp1", 51.45), ("rp1_adc_temp1", 55.8)])
        );
        assert_eq!(snapshot.len(), 4);
    }

    #[test]
    fn rpi_volt_pi_has_a_cpu_thermal_zone_too() {
        let snapshot = run(&fixture("pi-rpi-volt"));
        assert_eq!(snapshot.problems(), &[] as &[String]);
        assert_eq!(cpu(&snapshot), Some(&SampleValue::Gauge(62.0)));
        assert_eq!(sensors(&snapshot), owned(&[("cpu_thermal", 62.0)]));
    }

    #[test]
    fn x86_takes_the_first_zone_and_names_hwmon_by_label() {
        let snapshot = run(&fixture("x86"));
        assert_eq!(snapshot.problems(), &[] as &[String]);
        // No cpu-thermal zone: the lowest-numbered zone, acpitz, even though hwmon knows better.
        assert_eq!(cpu(&snapshot), Some(&SampleValue::Gauge(27.8)));
        assert_eq!(
            sensors(&snapshot),
            owned(&[
                ("acpitz", 27.8),
                ("x86_pkg_temp", 45.0),
                ("coretemp_package_id_0", 45.0),
                ("coretemp_core_0", 43.0),
                ("coretemp_temp3", 44.0),
            ])
        );
        assert_eq!(snapshot.len(), 6);
    }

    #[test]
    fn no_sysfs_is_no_data_and_no_problem() {
        let roots = Roots::under("/nonexistent");
        let snapshot = run(&roots);
        assert!(snapshot.is_empty());
        assert_eq!(snapshot.problems(), &[] as &[String]);
    }

    #[test]
    fn unparsable_temp_is_a_problem_and_the_rest_is_still_sampled() {
        let (_dir, roots) = sys_tree(&[
            ("class/thermal/thermal_zone0/type", "cpu-thermal\n"),
            ("class/thermal/thermal_zone0/temp", "abc\n"),
            ("class/thermal/thermal_zone1/type", "gpu-thermal\n"),
            ("class/thermal/thermal_zone1/temp", "40000\n"),
        ]);
        let snapshot = run(&roots);
        let path = roots.sys("class/thermal/thermal_zone0/temp");
        assert_eq!(
            snapshot.problems(),
            &[format!("{}: cannot parse \"abc\": invalid digit found in string", path.display())]
        );
        assert_eq!(sensors(&snapshot), owned(&[("gpu-thermal", 40.0)]));
        // The SoC zone failed: no CPU temperature rather than another sensor's.
        assert_eq!(cpu(&snapshot), None);
    }

    #[test]
    fn implausible_readings_are_dropped_silently_and_names_stay_put() {
        let (_dir, roots) = sys_tree(&[
            ("class/thermal/thermal_zone0/type", "acpitz\n"),
            ("class/thermal/thermal_zone0/temp", "-273200\n"),
            ("class/thermal/thermal_zone1/type", "acpitz\n"),
            ("class/thermal/thermal_zone1/temp", "150001\n"),
            ("class/thermal/thermal_zone2/type", "acpitz\n"),
            ("class/thermal/thermal_zone2/temp", "-40000\n"),
            ("class/thermal/thermal_zone10/type", "acpitz\n"),
            ("class/thermal/thermal_zone10/temp", "150000\n"),
        ]);
        let snapshot = run(&roots);
        assert_eq!(snapshot.problems(), &[] as &[String]);
        // zone10 sorts after zone2 (numerically), and the dropped zones keep their names.
        assert_eq!(sensors(&snapshot), owned(&[("acpitz_3", -40.0), ("acpitz_4", 150.0)]));
        assert_eq!(cpu(&snapshot), None);
    }

    #[test]
    fn duplicate_names_get_numbered_suffixes() {
        let (_dir, roots) = sys_tree(&[
            ("class/hwmon/hwmon0/name", "nvme\n"),
            ("class/hwmon/hwmon0/temp1_input", "30000\n"),
            ("class/hwmon/hwmon0/temp1_label", "Composite\n"),
            ("class/hwmon/hwmon1/name", "nvme\n"),
            ("class/hwmon/hwmon1/temp1_input", "31000\n"),
            ("class/hwmon/hwmon1/temp1_label", "Composite\n"),
            ("class/hwmon/hwmon2/name", "nvme\n"),
            ("class/hwmon/hwmon2/temp1_input", "32000\n"),
            ("class/hwmon/hwmon2/temp1_label", "Composite 2\n"),
            ("class/hwmon/hwmon3/name", "nvme\n"),
            ("class/hwmon/hwmon3/temp1_input", "33000\n"),
            ("class/hwmon/hwmon3/temp1_label", "Composite\n"),
        ]);
        let snapshot = run(&roots);
        assert_eq!(snapshot.problems(), &[] as &[String]);
        assert_eq!(
            sensors(&snapshot),
            owned(&[
                ("nvme_composite", 30.0),
                ("nvme_composite_2", 31.0),
                // A literal name that a suffix already took gets a suffix of its own.
                ("nvme_composite_2_2", 32.0),
                ("nvme_composite_3", 33.0),
            ])
        );
        // Hwmon only, no thermal zone: no CPU temperature.
        assert_eq!(cpu(&snapshot), None);
    }

    #[test]
    fn parse_millidegrees_table() {
        assert_eq!(parse_millidegrees("48312"), Ok(48.312));
        assert_eq!(parse_millidegrees("-5000"), Ok(-5.0));
        assert_eq!(parse_millidegrees("0"), Ok(0.0));
        assert!(parse_millidegrees("48.3").is_err());
        assert!(parse_millidegrees("inf").is_err());
        assert!(parse_millidegrees("").is_err());
    }

    #[test]
    fn sanitize_table() {
        assert_eq!(sanitize("coretemp_Package id 0"), "coretemp_package_id_0");
        assert_eq!(sanitize("rp1_adc_temp1"), "rp1_adc_temp1");
        assert_eq!(sanitize("nct6775_CPUTIN°"), "nct6775_cputin_");
    }

    #[test]
    fn descriptions_follow_conventions() {
        for desc in DESCRIPTIONS {
            assert_eq!(desc.convention_problems(), Vec::<String>::new(), "{}", desc.name);
        }
    }
}
