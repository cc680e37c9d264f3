//! The guest's `/init`: a busybox shell script that sets up the few file systems and settings
//! `pi-guest` relies on, runs it with its output on the console, reports the exit code and
//! powers the machine off (so qemu exits by itself).
//!
//! Besides `pi-guest`'s own lines it prints three figures about the guest itself: the seconds
//! from kernel start to `/init`, the memory the kernel reports after unpacking the initramfs,
//! and the lowest `MemAvailable` seen (sampled each second) during the run: the headroom a
//! 1 GiB Pi would have left with this root in RAM.

/// The line `/init` prints first; the host takes the time it appears as the end of boot.
pub(crate) const STARTED: &str = "pi-test: init started";

/// The script.
pub(crate) fn script(guest_program: &str, data_dir: &str) -> String {
    format!(
        r#"#!/bin/busybox sh
# Written by `cargo xtask pi-test` (xtask/src/pi_test/init.rs).
/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox mount -t tmpfs tmpfs /run
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin HOME=/tmp LC_ALL=C
ip link set lo up
hostname pi-test
echo "{STARTED} after $(cut -d ' ' -f 1 /proc/uptime) s: $(nproc) CPUs, $(grep MemTotal /proc/meminfo | tr -s ' ')"
echo "PI-TEST figure guest.boot_seconds $(cut -d ' ' -f 1 /proc/uptime) seconds"
echo "PI-TEST figure guest.mem_total_bytes $(awk '/^MemTotal:/ {{ print $2 * 1024 }}' /proc/meminfo) bytes"
echo "PI-TEST figure guest.mem_available_at_start_bytes $(awk '/^MemAvailable:/ {{ print $2 * 1024 }}' /proc/meminfo) bytes"
(while :; do grep '^MemAvailable:' /proc/meminfo; sleep 1; done) > /run/mem-available &
sampler=$!
{guest_program} {data_dir}
code=$?
kill $sampler
echo "PI-TEST figure guest.mem_available_min_bytes $(awk 'NR == 1 || $2 < min {{ min = $2 }} END {{ print min * 1024 }}' /run/mem-available) bytes"
echo "PI-TEST exit $code"
poweroff -f
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_sets_up_runs_reports_and_powers_off_in_that_order() {
        let script = script("/bin/pi-guest", "/pi");
        let position = |needle: &str| {
            script.find(needle).unwrap_or_else(|| panic!("{needle:?} not in:\n{script}"))
        };
        let order = [
            "#!/bin/busybox sh\n",
            "mount -t proc proc /proc",
            "mount -t sysfs sysfs /sys",
            "mount -t devtmpfs devtmpfs /dev",
            "mount -t tmpfs tmpfs /tmp",
            "mount -t tmpfs tmpfs /run",
            "busybox --install -s /bin",
            "export PATH=/bin:/usr/bin HOME=/tmp LC_ALL=C",
            "ip link set lo up",
            "hostname pi-test",
            STARTED,
            "\n/bin/pi-guest /pi\ncode=$?\n",
            "echo \"PI-TEST exit $code\"",
            "poweroff -f\n",
        ];
        let positions: Vec<usize> = order.iter().map(|n| position(n)).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{order:?} out of order:\n{script}");
        assert!(script.ends_with("poweroff -f\n"));
        // awk's braces survive format!.
        assert!(script.contains("{ print $2 * 1024 }"), "{script}");
    }

    /// The script is valid shell: `sh -n` parses it.
    #[test]
    fn the_script_parses_as_shell() {
        let status = std::process::Command::new("sh")
            .args(["-n", "-c", &script("/bin/pi-guest", "/pi")])
            .status()
            .unwrap();
        assert!(status.success());
    }
}
