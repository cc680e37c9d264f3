//! Project automation, run as `cargo xtask <command>` (placeholder).
fn main() {}
