//! The emulated machine: a Raspberry Pi 4's CPU (4 Cortex-A72 cores) on qemu's generic `virt`
//! board with Debian's arm64 kernel and the initramfs as its only disk.
//!
//! `-nic none`: the kernel's virtio network driver is a module, and qemu would look for an
//! `efi-virtio.rom` this machine does not have; everything runs over the guest's loopback.
//! `panic=-1` with `-no-reboot`: a kernel panic (no working init, out of memory while
//! unpacking) ends qemu at once instead of hanging until the deadline.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::bail;

/// The emulator.
pub(crate) const PROGRAM: &str = "qemu-system-aarch64";

/// The Pi 4's core count.
pub(crate) const CPUS: u32 = 4;

/// The kernel command line.
pub(crate) const APPEND: &str = "console=ttyAMA0 rdinit=/init quiet panic=-1";

/// The qemu command that boots `kernel` with `initrd` and `memory_mib` of RAM.
pub(crate) fn command(kernel: &Path, initrd: &Path, memory_mib: u32) -> Command {
    let mut command = Command::new(PROGRAM);
    command
        .args(["-M", "virt", "-cpu", "cortex-a72", "-smp", &CPUS.to_string()])
        .args(["-m", &memory_mib.to_string(), "-nic", "none"])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", APPEND, "-nographic", "-no-reboot"]);
    command
}

/// The kernel image in the unpacked `linux-image-*-arm64` package (`boot/vmlinuz-<version>`).
pub(crate) fn kernel(tree: &Path) -> anyhow::Result<PathBuf> {
    let boot = tree.join("boot");
    let mut kernels: Vec<PathBuf> = std::fs::read_dir(&boot)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
                })
                .collect()
        })
        .unwrap_or_default();
    kernels.sort();
    match kernels.pop() {
        Some(kernel) => Ok(kernel),
        None => {
            bail!("no boot/vmlinuz-* in {}: is linux-image-arm64:arm64 unpacked?", tree.display())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd;

    #[test]
    fn the_command_line_is_a_pi_4_on_the_virt_board() {
        let command =
            command(Path::new("/t/vmlinuz-6.1.0-57-arm64"), Path::new("/t/initrd.gz"), 1024);
        assert_eq!(
            cmd::display(&command),
            "qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 4 -m 1024 -nic none \
             -kernel /t/vmlinuz-6.1.0-57-arm64 -initrd /t/initrd.gz \
             -append 'console=ttyAMA0 rdinit=/init quiet panic=-1' -nographic -no-reboot"
        );
    }

    #[test]
    fn the_newest_kernel_of_the_tree_is_taken() {
        let tree = tempfile::tempdir().unwrap();
        assert!(kernel(tree.path()).unwrap_err().to_string().contains("linux-image-arm64"));
        std::fs::create_dir(tree.path().join("boot")).unwrap();
        for name in ["vmlinuz-6.1.0-56-arm64", "vmlinuz-6.1.0-57-arm64", "config-6.1.0-57-arm64"] {
            std::fs::write(tree.path().join("boot").join(name), "").unwrap();
        }
        assert_eq!(kernel(tree.path()).unwrap(), tree.path().join("boot/vmlinuz-6.1.0-57-arm64"));
    }
}
