//! The player's vocabulary: what the monitor asks it to show ([`Screen`]), what is on screen
//! ([`Showing`]), what it does ([`PlayerState`]) and why it was restarted ([`RestartReason`]).
//!
//! These are the kiosk's own words. The monitor decides which [`Screen`] and tells the player;
//! the player never asks the monitor. health-script publishes them under its own names, mapped
//! in one place ([`super::health`]), so a change of the metrics' vocabulary is not a change of
//! the kiosk's logic.

use crate::vimeo::PlaybackUrl;

/// What the screen should show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// The live event.
    Stream(PlaybackUrl),
    /// The holding image: the event is not live (yet).
    Holding,
    /// The error image: the API cannot be used.
    Error,
}

impl Screen {
    /// A short name for logs and `/status`: never the URL.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Stream(_) => "stream",
            Self::Holding => "holding",
            Self::Error => "error",
        }
    }
}

/// What the screen shows now, as the player knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Showing {
    /// The live stream.
    Stream,
    /// The holding image.
    Holding,
    /// The error image.
    Error,
    /// Nothing: the player is down, starting, or could not show what it was given.
    Nothing,
}

/// What the player is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerState {
    /// Launched, not yet showing anything.
    Starting,
    /// Playing the stream: frames are moving.
    Playing,
    /// Waiting for data of the stream.
    Buffering,
    /// Running with no stream to play: showing an image.
    Idle,
    /// Being stopped so that it can start again.
    Restarting,
    /// Not running.
    Stopped,
}

/// Why the supervisor restarted the player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartReason {
    /// It exited on its own.
    Exited,
    /// It stopped answering within the IPC timeout.
    Hung,
    /// It could not be started at all.
    Failed,
}
