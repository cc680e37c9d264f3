//! What one network run costs: three loopback hosts (IPv4, IPv6 and a name), three echo
//! requests each, interfaces and Wi-Fi from the real `/sys` and `/proc`, no speed test.
//!
//! Run with `cargo bench -p health-network --bench run`. Only loopback is probed. Figures are
//! printed; nothing is asserted.

use std::time::{Duration, Instant};

use health_core::Collector;
use health_core::testing::bench;
use health_network::{NetworkCollector, NetworkOptions, PingMethod, PingOptions, Roots};

const WARM_UP: usize = 5;
const RUNS: usize = 100;

fn main() {
    bench::run("cargo bench -p health-network --bench run", || async {
        let collector = NetworkCollector::new(NetworkOptions {
            interval: Duration::from_secs(30),
            ping: PingOptions {
                hosts: ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec(),
                count: 3,
                timeout: Duration::from_secs(1),
                method: PingMethod::Icmp,
                tcp_port: 443,
            },
            roots: Roots::default(),
            speedtest: None,
        });
        let mut samples = 0;
        for _ in 0..WARM_UP {
            collector.collect().await.expect("a network run");
        }
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let start = Instant::now();
            let snapshot = collector.collect().await.expect("a network run");
            times.push(start.elapsed());
            samples = snapshot.len();
            assert!(snapshot.problems().is_empty(), "{:?}", snapshot.problems());
        }
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!("network run: 3 loopback hosts x 3 echo requests, {samples} samples, {RUNS} runs");
        println!("  median {:?}  p90 {:?}  p99 {:?}", at(0.5), at(0.9), at(0.99));
    });
}
