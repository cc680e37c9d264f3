//! The Vimeo Live API client (being written).
