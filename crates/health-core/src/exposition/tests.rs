//! The exposition's order: byte-identical scrapes of the same state, sorted across sections.

use super::*;
use crate::Unit;
use crate::testing::order_problems;

const UP: MetricDesc =
    MetricDesc::gauge("probe_up", Unit::None, "Whether a host answered.").labels(&["host"]);
const SENT: MetricDesc =
    MetricDesc::counter("probe_sent_total", Unit::None, "Echo requests sent.").labels(&["host"]);
const RTT: MetricDesc = MetricDesc::histogram(
    "probe_rtt_seconds",
    Unit::Seconds,
    "Round-trip times.",
    &[0.001, 0.01, 0.1, 1.0, 10.0],
)
.labels(&["host", "family"]);
const ALPHA: MetricDesc = MetricDesc::gauge("alpha_bytes", Unit::Bytes, "Sorts first.");
const ZETA: MetricDesc =
    MetricDesc::gauge("zeta_ratio", Unit::Ratio, "Sorts last.").labels(&["part"]);

/// Hosts in an order unlike their sorted one, with values that sort differently as text.
const HOSTS: [&str; 6] = ["b.example", "a b", "a", "10.0.0.2", "9.9.9.9", "a\"quoted\\"];

fn probes() -> Snapshot {
    let mut s = Snapshot::new();
    for (i, host) in HOSTS.iter().enumerate() {
        let host = || vec![("host", (*host).to_owned())];
        s.gauge_with(UP.name, host(), 1.0).counter_with(SENT.name, host(), i as u64);
        for family in ["ipv6", "ipv4"] {
            let labels = vec![("host", HOSTS[i].to_owned()), ("family", family.to_owned())];
            s.observe_with(RTT.name, labels, vec![0.0005, 0.02, 0.5, 20.0]);
        }
    }
    s
}

fn others() -> Snapshot {
    let mut s = Snapshot::new();
    s.gauge(ALPHA.name, 3.0);
    for part in ["z", "m", "a"] {
        s.gauge_with(ZETA.name, vec![("part", part.to_owned())], 0.5);
    }
    s
}

/// An exposition holding [`probes`] and [`others`], its sections registered in `order`.
fn exposition(order: [&str; 2]) -> Exposition {
    let exposition = Exposition::default();
    for name in order {
        match name {
            "probes" => {
                exposition.register(name, &[UP, SENT, RTT]).unwrap();
                exposition.publish(name, probes());
            }
            _ => {
                exposition.register(name, &[ZETA, ALPHA]).unwrap();
                exposition.publish(name, others());
            }
        }
    }
    exposition
}

fn families(text: &str) -> Vec<&str> {
    text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()).collect()
}

#[test]
fn two_scrapes_of_the_same_state_are_byte_identical() {
    // Two expositions: each recorder hashes with its own seed, so hash order would differ.
    let one = exposition(["probes", "others"]);
    let two = exposition(["others", "probes"]);
    let text = one.render();
    assert_eq!(text, one.render(), "the same exposition scraped twice");
    assert_eq!(text, two.render(), "the same state, sections registered the other way round");
    // Published again (gauges only: histograms accumulate): a new formatting, the same text.
    one.publish("others", others());
    assert_eq!(text, one.render(), "the same snapshot published again");
}

#[test]
fn the_exposition_is_sorted_across_sections() {
    let text = exposition(["probes", "others"]).render();
    assert_eq!(order_problems(&text), Vec::<String>::new(), "{text}");
    assert_eq!(
        families(&text),
        [
            "vimeo_monitor_alpha_bytes",
            "vimeo_monitor_probe_rtt_seconds",
            "vimeo_monitor_probe_sent_total",
            "vimeo_monitor_probe_up",
            "vimeo_monitor_zeta_ratio",
        ]
    );
    let up: Vec<&str> = text.lines().filter(|l| l.starts_with("vimeo_monitor_probe_up{")).collect();
    assert_eq!(
        up,
        [
            "vimeo_monitor_probe_up{host=\"10.0.0.2\"} 1",
            "vimeo_monitor_probe_up{host=\"9.9.9.9\"} 1",
            "vimeo_monitor_probe_up{host=\"a\"} 1",
            "vimeo_monitor_probe_up{host=\"a b\"} 1",
            "vimeo_monitor_probe_up{host=\"a\\\"quoted\\\\\"} 1",
            "vimeo_monitor_probe_up{host=\"b.example\"} 1",
        ]
    );
    let first_histogram: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("vimeo_monitor_probe_rtt_seconds"))
        .take(8)
        .map(|l| l.split_once('}').map_or(l, |(series, _)| series))
        .collect();
    let h = "vimeo_monitor_probe_rtt_seconds";
    let labels = "host=\"10.0.0.2\",family=\"ipv4\"";
    assert_eq!(
        first_histogram,
        [
            format!("{h}_bucket{{{labels},le=\"0.001\""),
            format!("{h}_bucket{{{labels},le=\"0.01\""),
            format!("{h}_bucket{{{labels},le=\"0.1\""),
            format!("{h}_bucket{{{labels},le=\"1\""),
            format!("{h}_bucket{{{labels},le=\"10\""),
            format!("{h}_bucket{{{labels},le=\"+Inf\""),
            format!("{h}_sum{{{labels}"),
            format!("{h}_count{{{labels}"),
        ]
    );
}

#[test]
fn scrapes_share_one_text_until_a_section_changes() {
    let exposition = exposition(["probes", "others"]);
    let first = exposition.text();
    assert!(Arc::ptr_eq(&first, &exposition.text()), "nothing published: the same text");

    let mut changed = others();
    changed.gauge(ALPHA.name, 4.0);
    exposition.publish("others", changed);
    let published = exposition.text();
    assert!(published.contains("vimeo_monitor_alpha_bytes 4\n"), "{published}");
    assert!(!Arc::ptr_eq(&first, &published), "a publish makes a new text");

    exposition.unregister("others");
    let unregistered = exposition.text();
    assert!(!unregistered.contains("alpha_bytes"), "{unregistered}");
    exposition.register("others", &[ZETA, ALPHA]).unwrap();
    exposition.publish("others", others());
    assert!(exposition.text().contains("vimeo_monitor_alpha_bytes 3\n"));
    assert_eq!(exposition.render(), &*exposition.text());
}
