//! The vimeo-monitor health exporter, as a library.

pub mod config;
