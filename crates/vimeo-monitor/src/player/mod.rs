//! The media player: mpv driven over its JSON IPC socket, and its supervision.
//!
//! The player imports nothing of the monitor: the monitor decides what to show and tells the
//! player in the player's own words ([`Screen`]).

mod health;
pub mod mpv;
pub mod picture;
pub mod picture_judge;
pub mod playback_judge;
pub mod quality;
pub mod restart_backoff;
pub mod supervisor;
mod vocabulary;

pub use vocabulary::{PlayerState, RestartReason, Screen, Showing};
