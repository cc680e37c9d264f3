//! mpv over its JSON IPC socket (being written).
