//! The vimeo-monitor kiosk. Its player supervision and Vimeo polling arrive with issue 6; until
//! then the binary says so and exits non-zero rather than pretending to run a kiosk.

use std::process::ExitCode;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    if matches!(arg.as_deref(), Some("--version" | "-V")) {
        println!("vimeo-monitor {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "vimeo-monitor {}: the kiosk is not implemented in this version yet; \
         run `health-server` for the health exporter",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
