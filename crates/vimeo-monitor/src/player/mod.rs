//! The media player: mpv driven over its JSON IPC socket, and its supervision.

pub mod mpv;
pub mod supervisor;
