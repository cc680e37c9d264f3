//! `cargo xtask pi-test`: the release binaries on an emulated Raspberry Pi 4. qemu's `virt`
//! board with four Cortex-A72 cores and 1 GiB boots Debian's arm64 kernel with an initramfs
//! holding the dist binaries, the test program `pi-guest`, Debian's arm64 mpv and ffprobe with
//! every library they need, busybox, and the `/pi` data; `pi-guest` runs the exporter and the
//! kiosk there and reports in the PI-TEST protocol, which decides pass or fail.
//!
//! Unlike qemu-user (dist's smoke test), full-system emulation runs threads, so this is where
//! the multi-threaded binaries are seen working on aarch64. Memory figures are real under
//! emulation; CPU times are not, hence `--native`: the same program and data on this machine,
//! for the ratio.
//!
//! Everything slow is cached under `target/pi-test/`: the `.deb`s, their unpacked tree, the
//! stream, and the initramfs part made of Debian files. `PI_TEST_GUEST=/path/to/program`
//! replaces `pi-guest` (in the guest and with `--native`): for debugging this harness with a
//! small script.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::setup_cross::{self, Missing};
use crate::target::Target;
use crate::{cmd, dist, workspace_root};

mod console;
mod data;
mod debs;
mod init;
mod initramfs;
mod libs;
mod native;
mod qemu;
mod report;

use initramfs::Archive;
use report::{Ending, Report};

/// The guest's memory when not told otherwise: the smallest Raspberry Pi 4.
const DEFAULT_MEMORY_MIB: u32 = 1024;

/// The bound on boot and run together.
const DEFAULT_TIMEOUT_SECS: u64 = 15 * 60;

/// The variable that replaces `pi-guest` with another program (for debugging the harness).
pub(crate) const GUEST_OVERRIDE: &str = "PI_TEST_GUEST";

/// The test program's package and binary name.
const GUEST: &str = "pi-guest";

/// The release binaries under test.
const BINARIES: [&str; 2] = ["health-server", "vimeo-monitor"];

/// Where `/pi` is in the guest.
const GUEST_DATA: &str = "/pi";

/// `cargo xtask pi-test` options.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Run pi-guest on this machine instead of the emulated Pi (host release build, host mpv):
    /// the baseline for the CPU-time ratios.
    #[arg(long)]
    pub(crate) native: bool,
    /// The guest's memory in MiB.
    #[arg(long, default_value_t = DEFAULT_MEMORY_MIB, value_name = "MIB")]
    pub(crate) memory: u32,
    /// Give up (and kill qemu or pi-guest) after this many seconds.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS, value_name = "SECS")]
    pub(crate) timeout: u64,
    /// Keep the per-run files (the assembled initrd, the native data copy).
    #[arg(long)]
    pub(crate) keep: bool,
}

/// Where `cargo xtask dist --target aarch64-unknown-linux-gnu` leaves the stripped binaries.
fn dist_release_dir(root: &Path) -> PathBuf {
    dist::cross_release_dir(root, &Target::AARCH64)
}

/// Run `pi-test`.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    if options.native { native::run(options) } else { emulated(options) }
}

/// The cache directory, `target/pi-test`.
fn cache_dir(root: &Path) -> PathBuf {
    root.join("target/pi-test")
}

/// The replacement guest program, when [`GUEST_OVERRIDE`] (its value is `value`) names one.
fn guest_override(value: Option<std::ffi::OsString>) -> anyhow::Result<Option<PathBuf>> {
    let Some(path) = value else { return Ok(None) };
    let path = PathBuf::from(path);
    if !path.is_file() {
        bail!("{GUEST_OVERRIDE}={} is not a file", path.display());
    }
    eprintln!("pi-test: {GUEST_OVERRIDE} replaces pi-guest with {}", path.display());
    Ok(Some(path))
}

/// What the emulated run needs on this machine and does not find.
fn missing_for_emulation(build_guest: bool) -> Vec<Missing> {
    let mut missing = Vec::new();
    let mut need = |ok: bool, what: &str, fix: &str| {
        if !ok {
            missing.push(Missing { what: what.to_owned(), fix: fix.to_owned() });
        }
    };
    need(
        cmd::which(qemu::PROGRAM).is_some(),
        "the full-system emulator `qemu-system-aarch64`",
        "apt-get install -y qemu-system-arm",
    );
    for (program, package) in [("apt-get", "apt"), ("apt-cache", "apt"), ("dpkg-deb", "dpkg")] {
        need(
            cmd::which(program).is_some(),
            &format!("`{program}` (fetches and unpacks the arm64 packages)"),
            &format!("apt-get install -y {package}"),
        );
    }
    need(
        arm64_is_foreign(),
        "arm64 as a dpkg architecture (for mpv:arm64 and the kernel)",
        "dpkg --add-architecture arm64 && apt-get update",
    );
    need(cmd::which("gzip").is_some(), "`gzip`", "apt-get install -y gzip");
    need(
        cmd::which("ffmpeg").is_some(),
        "the host's `ffmpeg` (makes the test stream)",
        "apt-get install -y ffmpeg",
    );
    if build_guest {
        missing.extend(setup_cross::missing(&Target::AARCH64, true, false));
    }
    missing
}

/// Whether `dpkg --print-foreign-architectures` lists arm64.
fn arm64_is_foreign() -> bool {
    cmd::output(Command::new("dpkg").arg("--print-foreign-architectures"))
        .is_ok_and(|out| out.lines().any(|l| l.trim() == "arm64"))
}

/// The cross `cargo build` of `pi-guest`, exactly as dist builds the release binaries (Debian's
/// rustc with the cross gcc, dist's target directory: the dependencies are already built).
fn guest_build_command(root: &Path) -> Command {
    let mut command =
        dist::release_build(root, &Target::AARCH64, true, &root.join("target/dist-build"));
    command.args(["--package", GUEST]);
    command
}

/// The aarch64 `pi-guest` (built and stripped into the cache), or the override.
fn guest_program(root: &Path, cache: &Path, chosen: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = chosen {
        return Ok(path);
    }
    cmd::run(&mut guest_build_command(root))?;
    let built = dist_release_dir(root).join(GUEST);
    let stripped = cache.join(GUEST);
    cmd::run(
        Command::new(Target::AARCH64.strip_program(true))
            .arg("--strip-all")
            .arg("-o")
            .arg(&stripped)
            .arg(&built),
    )?;
    Ok(stripped)
}

/// Whether `path` starts like an ELF file (a script override is not one).
fn is_elf(path: &Path) -> bool {
    use std::io::Read as _;
    let mut magic = [0_u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok()
        && &magic == b"\x7fELF"
}

/// The emulated run.
fn emulated(options: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let root = workspace_root();
    let cache = cache_dir(&root);
    std::fs::create_dir_all(&cache)?;
    let chosen = guest_override(std::env::var_os(GUEST_OVERRIDE))?;
    let missing = missing_for_emulation(chosen.is_none());
    if !missing.is_empty() {
        bail!("{}", setup_cross::explain(&missing, "cargo xtask pi-test"));
    }
    let release = dist_release_dir(&root);
    for binary in BINARIES {
        if !release.join(binary).is_file() {
            bail!(
                "{} is missing: run `cargo xtask dist --target {}` first",
                release.join(binary).display(),
                Target::AARCH64.triple
            );
        }
    }
    let mut timings: Vec<(&str, Duration)> = Vec::new();

    // 1. The test program.
    let step = Instant::now();
    let guest = guest_program(&root, &cache, chosen)?;
    timings.push(("pi-guest build", step.elapsed()));

    // 2. The Debian packages.
    let step = Instant::now();
    let tree = unpacked_packages(&cache)?;
    timings.push(("packages", step.elapsed()));

    // 3. The data.
    let step = Instant::now();
    let data = data::prepare(&root, &cache)?;
    timings.push(("data", step.elapsed()));

    // 4. The initramfs: the Debian part (cached) and this run's part.
    let step = Instant::now();
    let ours: Vec<PathBuf> = BINARIES.iter().map(|b| release.join(b)).collect();
    let (initrd, initrd_size) = assemble_initrd(&cache, &tree, &guest, &ours, &data)?;
    timings.push(("initramfs", step.elapsed()));

    // 5. Boot and run.
    let kernel = qemu::kernel(&tree)?;
    let log_path = cache.join("guest.log");
    eprintln!(
        "pi-test: booting {} with {} of initramfs, {} MiB, {} CPUs (at most {} s)",
        kernel.file_name().unwrap_or_default().to_string_lossy(),
        mib(initrd_size),
        options.memory,
        qemu::CPUS,
        options.timeout
    );
    let command = qemu::command(&kernel, &initrd, options.memory);
    let run = console::run(
        command,
        Duration::from_secs(options.timeout),
        &log_path,
        "guest| ",
        init::STARTED,
    )?;
    timings.push(("qemu (boot + run)", run.elapsed));
    if !options.keep {
        let _ = std::fs::remove_file(&initrd);
    }
    let report = report::parse(&run.log);
    let extra_reason =
        run.status.filter(|s| !s.success()).map(|s| format!("{} exited with {s}", qemu::PROGRAM));
    let boot = run
        .marker_at
        .map_or_else(|| "no init line".to_owned(), |t| format!("{:.1}s", t.as_secs_f64()));
    conclude(&Conclusion {
        report: &report,
        ending: run.ending,
        log: &run.log,
        log_path: &log_path,
        figures_path: &cache.join("figures.txt"),
        other_figures: (&cache.join("figures-native.txt"), true),
        summary: format!(
            "pi-test: emulated Cortex-A72 x{} with {} MiB: boot {boot}, boot + run {:.1}s, \
             total {:.1}s ({})",
            qemu::CPUS,
            options.memory,
            run.elapsed.as_secs_f64(),
            started.elapsed().as_secs_f64(),
            timings
                .iter()
                .map(|(s, t)| format!("{s} {:.1}s", t.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        extra_reason,
    })
}

/// The initrd: the Debian part (busybox, mpv, ffprobe and every library; cached while its
/// files are unchanged) followed by this run's part. Returns its path and size.
fn assemble_initrd(
    cache: &Path,
    tree: &Path,
    guest: &Path,
    ours: &[PathBuf],
    data: &data::Data,
) -> anyhow::Result<(PathBuf, u64)> {
    let mpv = tree.join("usr/bin/mpv");
    let ffprobe = tree.join("usr/bin/ffprobe");
    let busybox = tree.join("bin/busybox");
    let mut programs = vec![mpv.clone(), ffprobe.clone()];
    programs.extend(ours.iter().cloned());
    if is_elf(guest) {
        programs.push(guest.to_owned());
    }
    let libraries = libs::closure(&programs, &libs::index(tree)?)?;
    let lib_bytes: u64 =
        libraries.iter().map(|l| std::fs::metadata(&l.path).map_or(0, |m| m.len())).sum();
    eprintln!(
        "pi-test: the programs need {} shared libraries, {} (all in the guest's /lib)",
        libraries.len(),
        mib(lib_bytes)
    );
    let mut debian = Archive::default();
    debian.char_device("dev/console", 5, 1, 0o600);
    debian.file("bin/busybox", &busybox, 0o755);
    debian.file("usr/bin/mpv", &mpv, 0o755);
    debian.file("usr/bin/ffprobe", &ffprobe, 0o755);
    for library in &libraries {
        debian.file(&format!("lib/{}", library.name), &library.path, 0o755);
    }
    let parts = cache.join("initramfs");
    std::fs::create_dir_all(&parts)?;
    let debian_part = parts.join("debian.cpio");
    let fingerprint = parts.join("debian.list");
    let listed = debian.fingerprint();
    if debian_part.is_file() && std::fs::read_to_string(&fingerprint).is_ok_and(|s| s == listed) {
        eprintln!(
            "pi-test: reusing {} ({})",
            debian_part.display(),
            mib(std::fs::metadata(&debian_part)?.len())
        );
    } else {
        let size = initramfs::write_plain(&debian, 1, &debian_part)?;
        std::fs::write(&fingerprint, listed)?;
        eprintln!("pi-test: wrote {} ({}, uncompressed)", debian_part.display(), mib(size));
    }
    let this_run = run_part(guest, ours, data)?;
    let run_part_path = parts.join("run.cpio.gz");
    let (raw, gz) = initramfs::write_gz(&this_run, 1_000_000, &run_part_path)?;
    eprintln!("pi-test: wrote {} ({} from {})", run_part_path.display(), mib(gz), mib(raw));
    let initrd = cache.join("initrd");
    let initrd_size = initramfs::concatenate(&[debian_part, run_part_path], &initrd)?;
    Ok((initrd, initrd_size))
}

/// The arm64 packages' closure, downloaded and unpacked (or reused); returns the tree.
fn unpacked_packages(cache: &Path) -> anyhow::Result<PathBuf> {
    let names = debs::closure(debs::ROOTS)?;
    let wanted = debs::candidates(&names)?;
    let (deb_paths, fetched) = debs::fetch(&cache.join("debs"), &wanted)?;
    let total: u64 = wanted.iter().map(|d| d.size).sum();
    let bytes = |debs: &[debs::Deb]| mib(debs.iter().map(|d| d.size).sum());
    eprintln!(
        "pi-test: {} arm64 packages ({}): downloaded {} ({}), reused {} ({}), removed {} \
         superseded in {}",
        wanted.len(),
        mib(total),
        fetched.downloaded.len(),
        bytes(&fetched.downloaded),
        fetched.reused.len(),
        bytes(&fetched.reused),
        fetched.removed,
        cache.join("debs").display()
    );
    let tree = cache.join("arm64");
    let unpacked = debs::extract(&deb_paths, &tree)?;
    eprintln!(
        "pi-test: {} {}",
        if unpacked { "unpacked them into" } else { "reusing the unpacked tree" },
        tree.display()
    );
    Ok(tree)
}

/// The part of the initramfs that changes with each build: `/init`, our binaries, the test
/// program, `/etc` and `/pi`.
fn run_part(guest: &Path, ours: &[PathBuf], data: &data::Data) -> anyhow::Result<Archive> {
    let mut archive = Archive::default();
    archive.bytes("init", init::script(&format!("/bin/{GUEST}"), GUEST_DATA), 0o755);
    archive.file(&format!("bin/{GUEST}"), guest, 0o755);
    for binary in ours {
        let name = binary.file_name().unwrap_or_default().to_string_lossy();
        archive.file(&format!("bin/{name}"), binary, 0o755);
    }
    // What glibc and mpv look up about users and hosts; 127.0.0.1 is all the guest has.
    archive.bytes("etc/passwd", "root:x:0:0:root:/tmp:/bin/sh\n", 0o644);
    archive.bytes("etc/group", "root:x:0:\n", 0o644);
    archive.bytes("etc/hosts", "127.0.0.1 localhost pi-test\n::1 localhost\n", 0o644);
    archive.bytes("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n", 0o644);
    for dir in ["proc", "sys", "dev", "tmp", "run"] {
        archive.dir(dir);
    }
    data::add_to(&mut archive, data, GUEST_DATA.trim_start_matches('/'))?;
    Ok(archive)
}

/// What [`conclude`] judges and where it writes.
struct Conclusion<'a> {
    report: &'a Report,
    ending: Ending,
    log: &'a str,
    log_path: &'a Path,
    figures_path: &'a Path,
    /// The other mode's figures file (its last pass), and whether this run is the emulated one.
    other_figures: (&'a Path, bool),
    summary: String,
    /// A failure the log cannot show (qemu's own exit status).
    extra_reason: Option<String>,
}

/// Pass: print the checks, figures and times, write the figures. Fail: print the whole log
/// and every reason.
fn conclude(c: &Conclusion<'_>) -> anyhow::Result<()> {
    let mut verdict = report::verdict(c.report, c.ending, c.log);
    if let Some(reason) = &c.extra_reason {
        let mut reasons = verdict.err().unwrap_or_default();
        reasons.push(reason.clone());
        verdict = Err(reasons);
    }
    match verdict {
        Ok(()) => {
            std::fs::write(c.figures_path, report::figures_file(&c.report.figures))
                .with_context(|| format!("writing {}", c.figures_path.display()))?;
            println!();
            print!("{}", report::table(c.report));
            let (other_path, emulated) = c.other_figures;
            if let Ok(text) = std::fs::read_to_string(other_path) {
                println!("compared with {} (the other mode's last pass):", other_path.display());
                let other = report::read_figures(&text);
                let (guest, native) = if emulated {
                    (&c.report.figures, &other)
                } else {
                    (&other, &c.report.figures)
                };
                print!("{}", report::comparison(guest, native));
            }
            println!("{}", c.summary);
            println!(
                "pi-test: passed, {} checks; figures in {}, log in {}",
                c.report.checks.len(),
                c.figures_path.display(),
                c.log_path.display()
            );
            Ok(())
        }
        Err(reasons) => {
            eprintln!("----- {} -----", c.log_path.display());
            eprint!("{}", c.log);
            eprintln!("----- end of {} -----", c.log_path.display());
            eprintln!("{}", c.summary);
            bail!(
                "pi-test failed:\n  - {}\n(log: {})",
                reasons.join("\n  - "),
                c.log_path.display()
            )
        }
    }
}

/// `12.3 MiB`.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pi_guest_is_built_like_the_dist_binaries() {
        let shown = cmd::display(&guest_build_command(Path::new("/w")));
        for part in [
            "RUSTC=/usr/bin/rustc",
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc",
            "CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc",
            "AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar",
            "build --release --locked --target aarch64-unknown-linux-gnu --target-dir /w/target/dist-build --package pi-guest",
        ] {
            assert!(shown.contains(part), "{part} not in {shown}");
        }
        assert_eq!(
            dist_release_dir(Path::new("/w")),
            Path::new("/w/target/dist-build/aarch64-unknown-linux-gnu/release")
        );
    }

    #[test]
    fn the_run_part_has_init_the_binaries_and_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, name).unwrap();
            path
        };
        let guest = file("stub");
        let ours = [file("health-server"), file("vimeo-monitor")];
        for sub in ["hls", "images"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let data = data::Data {
            fixtures: vec![(
                "pi4".into(),
                crate::workspace_root().join("crates/health-system/fixtures/pi4"),
            )],
            hls: dir.path().join("hls"),
            images: dir.path().join("images"),
        };
        let archive = run_part(&guest, &ours, &data).unwrap();
        let entry = |path: &str| {
            archive.entries.iter().find(|e| e.path == path).unwrap_or_else(|| panic!("no {path}"))
        };
        assert_eq!(entry("bin/pi-guest").source, initramfs::Source::File(guest));
        assert_eq!(entry("bin/pi-guest").mode, 0o755);
        assert_eq!(entry("bin/health-server").source, initramfs::Source::File(ours[0].clone()));
        let initramfs::Source::Bytes(init) = &entry("init").source else { panic!("init") };
        assert!(String::from_utf8_lossy(init).contains("\n/bin/pi-guest /pi\n"));
        assert!(archive.entries.iter().any(|e| e.path == "pi/fixtures/pi4/sys"));
        assert_eq!(entry("tmp").source, initramfs::Source::Dir);
    }

    #[test]
    fn an_override_that_is_not_a_file_is_refused_and_a_script_is_not_elf() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("stub");
        std::fs::write(&script, "#!/bin/sh\necho 'PI-TEST done pass'\n").unwrap();
        assert!(!is_elf(&script));
        assert_eq!(guest_override(Some(script.clone().into())).unwrap(), Some(script));
        assert_eq!(guest_override(None).unwrap(), None);
        let err = guest_override(Some(dir.path().join("absent").into())).unwrap_err().to_string();
        assert!(err.contains("PI_TEST_GUEST=") && err.contains("is not a file"), "{err}");
        assert!(is_elf(&std::env::current_exe().unwrap()));
        assert!(!is_elf(&dir.path().join("absent")));
    }

    #[test]
    fn the_defaults_are_a_1_gib_pi_and_15_minutes() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            options: Options,
        }
        let options = Wrap::parse_from(["pi-test"]).options;
        assert_eq!(
            (options.memory, options.timeout, options.native, options.keep),
            (1024, 900, false, false)
        );
        let options =
            Wrap::parse_from(["pi-test", "--native", "--memory", "2048", "--timeout", "60"])
                .options;
        assert_eq!((options.memory, options.timeout, options.native), (2048, 60, true));
    }
}
