//! The whole hardware collector on each fixture tree: what a Raspberry Pi's figures look like
//! end to end, on any machine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use health_core::SampleValue;
use health_core::testing::collect_checked;
use health_system::{Cec, HardwareCollector, HardwareOptions, Roots, Vcgencmd};

fn on_fixture(tree: &str) -> HardwareCollector {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(tree);
    let mut options = HardwareOptions::new(Duration::from_secs(10));
    options.roots = Roots::under(&base);
    options.vcgencmd = Vcgencmd::Off;
    options.cec = Cec::Off;
    HardwareCollector::new(options)
}

fn gauge(snapshot: &health_core::Snapshot, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    match snapshot.get(name, labels) {
        Some(SampleValue::Gauge(v)) => Some(*v),
        None => None,
        other => panic!("{name} is not a gauge: {other:?}"),
    }
}

#[tokio::test]
async fn a_pi5_with_under_voltage_reports_its_throttling_model_and_temperature() {
    let snapshot = collect_checked(&on_fixture("pi5")).await;
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    let throttled = |condition, scope| {
        gauge(&snapshot, "pi_throttled", &[("condition", condition), ("scope", scope)])
    };
    // get_throttled = 0x50005: under-voltage and throttled, now and since boot.
    assert_eq!(throttled("under_voltage", "now"), Some(1.0));
    assert_eq!(throttled("throttled", "now"), Some(1.0));
    assert_eq!(throttled("arm_frequency_capped", "now"), Some(0.0));
    assert_eq!(throttled("soft_temperature_limit", "since_boot"), Some(0.0));
    assert_eq!(throttled("under_voltage", "since_boot"), Some(1.0));
    assert_eq!(
        gauge(&snapshot, "pi_info", &[("model", "Raspberry Pi 5 Model B Rev 1.0")]),
        Some(1.0)
    );
    assert_eq!(gauge(&snapshot, "cpu_temperature_celsius", &[]), Some(51.45));
    let hdmi1 = [("connector", "HDMI-A-1")];
    assert_eq!(gauge(&snapshot, "display_connected", &hdmi1), Some(1.0));
    assert_eq!(gauge(&snapshot, "display_dpms_on", &hdmi1), Some(1.0));
    assert_eq!(
        gauge(&snapshot, "display_mode_info", &[("connector", "HDMI-A-1"), ("mode", "3840x2160")]),
        Some(1.0)
    );
    assert_eq!(gauge(&snapshot, "display_connected", &[("connector", "HDMI-A-2")]), Some(0.0));
    assert_eq!(gauge(&snapshot, "display_connected", &[("connector", "Writeback-1")]), None);
    assert_eq!(gauge(&snapshot, "display_power_on", &[]), None, "CEC is off");
    // The sysinfo figures come from this machine, alongside.
    assert!(gauge(&snapshot, "memory_total_bytes", &[]).unwrap() > 0.0);
    let usage = gauge(&snapshot, "cpu_usage_ratio", &[]).unwrap();
    assert!((0.0..=1.0).contains(&usage), "{usage}");
}

#[tokio::test]
async fn a_pc_reports_no_pi_series_at_all() {
    let snapshot = collect_checked(&on_fixture("x86")).await;
    assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
    assert!(snapshot.samples().iter().all(|s| !s.name.starts_with("pi_")), "Pi series on a PC");
    assert_eq!(gauge(&snapshot, "cpu_temperature_celsius", &[]), Some(27.8));
    // A monitor that is plugged in and driven but asleep.
    let hdmi = [("connector", "HDMI-A-1")];
    assert_eq!(gauge(&snapshot, "display_connected", &hdmi), Some(1.0));
    assert_eq!(gauge(&snapshot, "display_enabled", &hdmi), Some(1.0));
    assert_eq!(gauge(&snapshot, "display_dpms_on", &hdmi), Some(0.0));
}

#[tokio::test]
async fn an_unparsable_sensor_is_a_problem_and_the_rest_still_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("sys/class/thermal/thermal_zone0");
    std::fs::create_dir_all(&zone).unwrap();
    std::fs::write(zone.join("type"), "cpu-thermal\n").unwrap();
    std::fs::write(zone.join("temp"), "abc\n").unwrap();
    let mut options = HardwareOptions::new(Duration::from_secs(10));
    options.roots = Roots { sysfs: dir.path().join("sys"), procfs: PathBuf::from("/nonexistent") };
    options.vcgencmd = Vcgencmd::Off;
    options.cec = Cec::Off;
    let collector = HardwareCollector::new(options);
    let snapshot = health_core::Collector::collect(&collector).await.unwrap();
    assert_eq!(snapshot.problems().len(), 1, "{:?}", snapshot.problems());
    assert!(
        snapshot.problems()[0].contains("thermal_zone0/temp")
            && snapshot.problems()[0].contains("abc")
    );
    assert!(gauge(&snapshot, "memory_total_bytes", &[]).is_some());
    assert!(gauge(&snapshot, "cpu_temperature_celsius", &[]).is_none());
}
