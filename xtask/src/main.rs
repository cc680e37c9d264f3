//! Project automation, run as `cargo xtask <command>`.
//!
//! - `docs [--check]`: regenerate `docs/metrics.md` from the collectors' descriptions; with
//!   `--check`, fail instead when the committed copy differs (CI runs this).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["docs"] => docs(false),
        ["docs", "--check"] => docs(true),
        _ => {
            eprintln!("usage: cargo xtask docs [--check]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

fn docs(check: bool) -> anyhow::Result<()> {
    let path = workspace_root().join("docs/metrics.md");
    let generated = health_server::metrics_reference();
    if check {
        let committed = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if committed != generated {
            bail!(
                "{} is out of date: run `cargo xtask docs` and commit the result",
                path.display()
            );
        }
        eprintln!("{} is up to date", path.display());
    } else {
        std::fs::write(&path, generated).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
