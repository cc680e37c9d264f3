//! The media player: mpv driven over its JSON IPC socket, and its supervision.

pub mod mpv;
pub mod picture;
pub mod picture_judge;
pub mod quality;
pub mod supervisor;
