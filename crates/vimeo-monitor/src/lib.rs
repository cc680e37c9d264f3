//! The vimeo-monitor kiosk: polls the Vimeo Live API for the event's HLS playback URL, plays it
//! full-screen in a supervised mpv, shows a holding image while the event is offline and an error
//! image when the API fails, and heals itself.

pub mod app;
pub mod config;
pub mod logging;
pub mod monitor;
pub mod player;
pub mod vimeo;
