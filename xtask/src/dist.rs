//! `cargo xtask dist`: build the release binaries for a target, strip and check them, run them
//! once, and package them as a tarball and a `.deb`; then print what was made.
//!
//! For aarch64 the compiler is Debian's `rustc-web` (`/usr/bin/rustc`, which carries the arm64
//! standard library) with `aarch64-linux-gnu-gcc` as linker and C compiler. For the host it is
//! the default toolchain. Each builds in its own target directory (`target/dist-build`,
//! `target/dist-build-host`): no fight with other builds over `target/`'s lock, and no mixing
//! of two compilers' artifacts.
//!
//! Feature flags are cargo's, applied to both binaries as `cargo build -p vimeo-monitor -p
//! health-server` applies them. The collectors are `health-server` features; the kiosk's one
//! feature, `health` (default), embeds the exporter with every collector. So
//! `--no-default-features --features system,network` builds the kiosk without in-process health
//! and a `health-server` with exactly those two collectors, to run beside it or alone; cargo
//! does not unify the full set back in, because the kiosk no longer depends on the exporter.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::elf::{self, Check};
use crate::setup_cross::{self, DEBIAN_RUSTC};
use crate::smoke::{self, Outcome};
use crate::target::{self, Target};
use crate::{cmd, deb, package, workspace_root};

/// The binaries a release ships, each built from the package of the same name.
const BINARIES: [&str; 2] = ["vimeo-monitor", "health-server"];

/// The most each stripped release binary may weigh, in bytes ("6 MB", decimal): a Pi's SD
/// card and a venue's uplink carry every update (issue 15; docs/benchmarks.md, "Binary size").
/// Enforced for the default feature set, the one that ships; smaller sets are only reported.
const SIZE_BUDGET: u64 = 6_000_000;

/// The systemd units in `deploy/` and where the `.deb` installs each.
const UNITS: [(&str, &str); 2] = [
    ("deploy/vimeo-monitor.service", "usr/lib/systemd/user"),
    ("deploy/health-server.service", "usr/lib/systemd/system"),
];

/// `cargo xtask dist` options.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// The target triple (aarch64-unknown-linux-gnu for Raspberry Pi OS 64-bit), or `host`.
    #[arg(long, default_value = "host")]
    pub(crate) target: String,
    /// Cargo features, comma-separated: the collectors `system`, `network`, `stream`,
    /// `script` (health-server) and `health` (the kiosk's in-process monitoring).
    #[arg(long, value_delimiter = ',')]
    pub(crate) features: Vec<String>,
    /// Build without the default features (then only the collectors named in --features, plus
    /// health-server's `cli`, which its binary needs).
    #[arg(long)]
    pub(crate) no_default_features: bool,
    /// Skip the `.deb` (made only for the default feature set).
    #[arg(long)]
    pub(crate) no_deb: bool,
}

impl Options {
    /// The part of artifact names that tells a non-default feature set apart:
    /// `-system-network` for `--no-default-features --features system,network`.
    fn feature_suffix(&self) -> String {
        if !self.no_default_features {
            return String::new();
        }
        if self.features.is_empty() {
            "-minimal".to_owned()
        } else {
            format!("-{}", self.features.join("-"))
        }
    }

    /// The flags as typed, for messages.
    fn invocation(&self) -> String {
        let mut text = format!("cargo xtask dist --target {}", self.target);
        if self.no_default_features {
            text.push_str(" --no-default-features");
        }
        if !self.features.is_empty() {
            text.push_str(&format!(" --features {}", self.features.join(",")));
        }
        text
    }
}

/// One line of the summary table.
struct Row {
    artifact: String,
    size: u64,
    checks: String,
}

/// Run `dist`.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let root = workspace_root();
    let host = target::host_triple()?;
    let target = Target::resolve(&options.target, &host)?;
    let cross = target.triple != host;
    let want_deb = !options.no_deb && !options.no_default_features;
    let missing = setup_cross::missing(&target, cross, want_deb);
    if !missing.is_empty() {
        bail!("{}", setup_cross::explain(&missing, &options.invocation()));
    }
    let version = env!("CARGO_PKG_VERSION");
    let target_dir = root.join(if cross { "target/dist-build" } else { "target/dist-build-host" });
    let bin_dir = if cross {
        cross_release_dir(&root, &target)
    } else {
        target_dir.join(target.triple).join("release")
    };
    let mut timings: Vec<(&str, Duration)> = Vec::new();
    let mut rows = Vec::new();

    // 1. Build.
    let step = Instant::now();
    cmd::run(&mut build_command(&root, &target, cross, &target_dir, options))?;
    timings.push(("build", step.elapsed()));
    let features =
        effective_features(&root, &target, options).unwrap_or_else(|e| format!("unknown ({e:#})"));

    // 2. Strip and check.
    let step = Instant::now();
    let strip = target.strip_program(cross);
    let mut binaries = Vec::new();
    let mut sizes = Vec::new();
    for name in BINARIES {
        let path = bin_dir.join(name);
        let built = size(&path)?;
        cmd::run(Command::new(&strip).arg("--strip-all").arg(&path))?;
        let checks = elf::require(&path, &target)?;
        let stripped = size(&path)?;
        rows.push(Row {
            artifact: relative(&root, &path),
            size: stripped,
            checks: format!(
                "{}; {built} -> {stripped} bytes by strip; {}",
                summarize(&checks),
                against_budget(stripped)
            ),
        });
        binaries.push(path);
        sizes.push((name, stripped));
    }
    timings.push(("strip + ELF checks", step.elapsed()));
    if let Some(error) = over_budget(&sizes, !options.no_default_features) {
        print_table(&rows);
        bail!("{error}");
    }

    // 3. Smoke test.
    let step = Instant::now();
    let smoke = smoke::run(&target, cross, &bin_dir, &BINARIES, version)?;
    timings.push(("smoke test", step.elapsed()));

    // 4. Tarball.
    let step = Instant::now();
    let name = format!("vimeo-monitor-{version}-{}{}", target.triple, options.feature_suffix());
    let archive = root.join("dist").join(format!("{name}.tar.gz"));
    let files = package::write(&archive, &name, &package::entries(&root, &binaries)?)?;
    rows.push(Row {
        artifact: relative(&root, &archive),
        size: size(&archive)?,
        checks: format!("{files} files: bin/, deploy/, docs/, .env.sample, README.md, LICENSE-*"),
    });
    timings.push(("tarball", step.elapsed()));

    // 5. The .deb.
    if want_deb {
        let step = Instant::now();
        let units: Vec<(PathBuf, &str)> = UNITS
            .iter()
            .map(|(file, dir)| (root.join(file), *dir))
            .filter(|(file, _)| file.exists())
            .collect();
        let deb = deb::build(&root, &target, &target_dir, &root.join("dist"))?;
        let report = deb::verify(&deb, &target, &bin_dir, &BINARIES, &units)?;
        let field = |name: &str| report.fields.get(name).cloned().unwrap_or_default();
        rows.push(Row {
            artifact: relative(&root, &deb),
            size: size(&deb)?,
            checks: format!(
                "Architecture: {}; Depends: {}; {} files incl. {} unit(s); binaries = checked ones",
                field("Architecture"),
                field("Depends"),
                report.files,
                units.len()
            ),
        });
        timings.push(("deb (cargo-deb + dpkg-deb checks)", step.elapsed()));
    }

    // 6. Summary.
    println!();
    println!(
        "dist {} ({}), version {version}, features: {features}",
        target.triple,
        if cross { "cross, rustc-web" } else { "host toolchain" }
    );
    print_table(&rows);
    match &smoke {
        Outcome::Passed(lines) => {
            let how = if cross {
                format!("under {} -L /usr/{}", target.qemu, target.gnu_prefix)
            } else {
                "natively".to_owned()
            };
            println!("smoke test {how}: passed ({})", lines.join("; "));
        }
        Outcome::Skipped(reason) => println!("smoke test: skipped: {reason}"),
    }
    if !want_deb {
        println!(
            ".deb: {}",
            if options.no_deb {
                "skipped (--no-deb)"
            } else {
                "not made for a non-default feature set (the tarball is the artifact)"
            }
        );
    }
    let steps: Vec<String> =
        timings.iter().map(|(step, t)| format!("{step} {:.1}s", t.as_secs_f64())).collect();
    println!("time: {:.1}s ({})", started.elapsed().as_secs_f64(), steps.join(", "));
    Ok(())
}

/// The `cargo build` for `target`.
fn build_command(
    root: &Path,
    target: &Target,
    cross: bool,
    target_dir: &Path,
    options: &Options,
) -> Command {
    let mut command = release_build(root, target, cross, target_dir);
    select_packages(&mut command, options);
    command
}

/// `cargo build --release --locked` for `target` into `target_dir`, with Debian's rustc and the
/// cross gcc when `cross`; the caller adds the packages. `pi-test` builds its guest program with
/// it, so the guest is compiled exactly as the binaries it tests.
pub(crate) fn release_build(
    root: &Path,
    target: &Target,
    cross: bool,
    target_dir: &Path,
) -> Command {
    let mut command = Command::new(cmd::cargo());
    command
        .current_dir(root)
        .args(["build", "--release", "--locked", "--target", target.triple])
        .arg("--target-dir")
        .arg(target_dir);
    if cross {
        let gcc = format!("{}-gcc", target.gnu_prefix);
        let cc_key = target.triple.replace('-', "_");
        command
            .env("RUSTC", DEBIAN_RUSTC)
            .env(format!("CARGO_TARGET_{}_LINKER", target.env_key()), &gcc)
            .env(format!("CC_{cc_key}"), &gcc)
            .env(format!("AR_{cc_key}"), format!("{}-ar", target.gnu_prefix));
    }
    command
}

/// Where a cross build leaves its binaries: `target/dist-build/<triple>/release`.
pub(crate) fn cross_release_dir(root: &Path, target: &Target) -> PathBuf {
    root.join("target/dist-build").join(target.triple).join("release")
}

/// `--package` for each binary, and the feature flags asked for.
fn select_packages(command: &mut Command, options: &Options) {
    for package in BINARIES {
        command.args(["--package", package]);
    }
    let mut features = options.features.clone();
    if options.no_default_features {
        command.arg("--no-default-features");
        // The health-server binary needs its `cli` feature, one of the defaults.
        features.push("cli".to_owned());
    }
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
}

/// The features each binary's package ends up with, as cargo resolves them (`cargo tree`), e.g.
/// `vimeo-monitor [] health-server [network,system]`.
fn effective_features(root: &Path, target: &Target, options: &Options) -> anyhow::Result<String> {
    let mut command = Command::new(cmd::cargo());
    command.current_dir(root).args([
        "tree",
        "--locked",
        "--target",
        target.triple,
        "-e",
        "normal",
        "--depth",
        "0",
    ]);
    select_packages(&mut command, options);
    command.args(["--format", "{p} [{f}]"]);
    let text = cmd::output(&mut command)?;
    let packages: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let name = line.split_whitespace().next()?;
            let features = line.rsplit_once('[')?.1.trim_end_matches(']');
            Some(format!("{name} [{features}]"))
        })
        .collect();
    Ok(packages.join(" "))
}

/// `5.81 MB (96.8%) of the 6 MB budget`, or `6.12 MB, OVER the 6 MB budget`.
fn against_budget(stripped: u64) -> String {
    let mb = stripped as f64 / 1e6;
    let budget = SIZE_BUDGET / 1_000_000;
    if stripped <= SIZE_BUDGET {
        let share = stripped as f64 / SIZE_BUDGET as f64 * 100.0;
        format!("{mb:.2} MB ({share:.1}%) of the {budget} MB budget")
    } else {
        format!("{mb:.2} MB, OVER the {budget} MB budget")
    }
}

/// The error when a stripped binary of the default feature set (`enforced`) is over
/// [`SIZE_BUDGET`], naming each such binary, its size and the budget; `None` when all fit.
fn over_budget(sizes: &[(&str, u64)], enforced: bool) -> Option<String> {
    let over: Vec<String> = sizes
        .iter()
        .filter(|(_, size)| *size > SIZE_BUDGET)
        .map(|(name, size)| {
            format!(
                "{name} is {size} bytes stripped, over the 6 MB budget ({SIZE_BUDGET} bytes) by {} bytes",
                size - SIZE_BUDGET
            )
        })
        .collect();
    (enforced && !over.is_empty()).then(|| {
        format!(
            "{}\n(each release binary must stay within 6 MB stripped: see docs/benchmarks.md, \
             \"Binary size\", for what makes up the size and what was trimmed)",
            over.join("\n")
        )
    })
}

fn size(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// `1.2 MiB`, `345.6 KiB`.
fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

/// The checks of one binary in one line: `aarch64, /lib/ld-linux-aarch64.so.1, GLIBC <= 2.34, …`.
fn summarize(checks: &[Check]) -> String {
    let detail =
        |name: &str| checks.iter().find(|c| c.name == name).map_or("", |c| c.detail.as_str());
    let machine = detail("machine").split(' ').next().unwrap_or_default();
    let glibc = detail("glibc").split(' ').nth(1).unwrap_or_default();
    format!(
        "ok: {machine}, {}, {glibc} <= 2.36, libs {}, stripped",
        detail("interpreter"),
        detail("libraries").split(" (").next().unwrap_or_default()
    )
}

fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|r| r.artifact.len()).max().unwrap_or(0).max("artifact".len());
    println!("{:<width$}  {:>10}  checks", "artifact", "size");
    for row in rows {
        println!("{:<width$}  {:>10}  {}", row.artifact, human(row.size), row.checks);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(args: &[&str]) -> Options {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            options: Options,
        }
        Wrap::parse_from(std::iter::once("dist").chain(args.iter().copied())).options
    }

    #[test]
    fn non_default_feature_sets_get_their_own_artifact_names() {
        assert_eq!(options(&[]).feature_suffix(), "");
        assert_eq!(options(&["--features", "system"]).feature_suffix(), "");
        let minimal = options(&["--no-default-features", "--features", "system,network"]);
        assert_eq!(minimal.feature_suffix(), "-system-network");
        assert_eq!(options(&["--no-default-features"]).feature_suffix(), "-minimal");
        assert_eq!(
            minimal.invocation(),
            "cargo xtask dist --target host --no-default-features --features system,network"
        );
    }

    #[test]
    fn the_cross_build_uses_debian_rustc_and_the_cross_gcc_in_its_own_target_dir() {
        let minimal = options(&["--no-default-features", "--features", "system,network"]);
        let command = build_command(
            Path::new("/w"),
            &Target::AARCH64,
            true,
            Path::new("/w/target/dist-build"),
            &minimal,
        );
        let shown = cmd::display(&command);
        for part in [
            "RUSTC=/usr/bin/rustc",
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc",
            "CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc",
            "build --release --locked --target aarch64-unknown-linux-gnu --target-dir /w/target/dist-build",
            "--package vimeo-monitor --package health-server --no-default-features --features system,network,cli",
        ] {
            assert!(shown.contains(part), "{part} not in {shown}");
        }
        let host = build_command(
            Path::new("/w"),
            &Target::X86_64,
            false,
            Path::new("/w/t"),
            &options(&[]),
        );
        assert!(!cmd::display(&host).contains("RUSTC="), "{}", cmd::display(&host));
    }

    #[test]
    fn the_minimal_deployment_builds_health_server_with_only_its_collectors() {
        let minimal = options(&["--no-default-features", "--features", "system,network"]);
        let features = effective_features(&workspace_root(), &Target::AARCH64, &minimal).unwrap();
        assert_eq!(features, "health-server [cli,network,system] vimeo-monitor []");
        let full = effective_features(&workspace_root(), &Target::AARCH64, &options(&[])).unwrap();
        assert!(
            full.contains("health-server [cli,default,network,script,stream,system]"),
            "{full}"
        );
        assert!(full.contains("vimeo-monitor [default,health]"), "{full}");
    }

    #[test]
    fn a_binary_over_six_megabytes_fails_the_default_build_and_names_itself() {
        let fits = [("vimeo-monitor", 5_999_999), ("health-server", 6_000_000)];
        assert_eq!(over_budget(&fits, true), None);
        let over = [("vimeo-monitor", 5_000_000), ("health-server", 6_000_001)];
        let error = over_budget(&over, true).unwrap();
        assert!(
            error.starts_with(
                "health-server is 6000001 bytes stripped, over the 6 MB budget (6000000 bytes) by 1 bytes\n"
            ),
            "{error}"
        );
        assert!(!error.contains("vimeo-monitor is"), "{error}");
        let both = [("vimeo-monitor", 7_000_000), ("health-server", 7_900_000)];
        assert_eq!(over_budget(&both, true).unwrap().matches("over the 6 MB budget").count(), 2);
        // A non-default feature set is reported, not held to the budget.
        assert_eq!(over_budget(&both, false), None);
    }

    #[test]
    fn the_summary_shows_each_binary_against_the_budget() {
        assert_eq!(against_budget(5_400_000), "5.40 MB (90.0%) of the 6 MB budget");
        assert_eq!(against_budget(6_000_000), "6.00 MB (100.0%) of the 6 MB budget");
        assert_eq!(against_budget(7_912_345), "7.91 MB, OVER the 6 MB budget");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(512 * 1024), "512.0 KiB");
        assert_eq!(human(9 * 1024 * 1024 + 512 * 1024), "9.5 MiB");
    }
}
