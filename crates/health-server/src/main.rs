//! `health-server` binary (being written).
fn main() {}
