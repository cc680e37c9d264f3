//! The `script` collector of vimeo-monitor is not implemented in this version.
//!
//! This crate reserves its place in the workspace so that deployments can already name the
//! `script` feature of `health-server`; it exports nothing yet. `health-server` says so at start-up
//! when `the kiosk asks for it, instead of pretending to collect.
