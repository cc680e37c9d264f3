//! Stream analysis for vimeo-monitor.
//!
//! This version has the building block only: [`probe`] runs `ffprobe` on a stream URL (with a
//! hard timeout, no process left behind, signed URLs redacted from errors) and reports its
//! [`probe::StreamFacts`]. There is no `stream` collector yet: nothing here registers metrics,
//! and `health-server` still says so at start-up when `HEALTH_STREAM_ENABLED` asks for it.

pub mod probe;
