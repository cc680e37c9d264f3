//! The `stream` collector of vimeo-monitor is not implemented in this version.
//!
//! This crate reserves its place in the workspace so that deployments can already name the
//! `stream` feature of `health-server`; it exports nothing yet. `health-server` says so at start-up
//! when `HEALTH_STREAM_ENABLED` asks for it, instead of pretending to collect.
