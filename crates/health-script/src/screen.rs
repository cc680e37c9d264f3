//! What the kiosk saw on its own screen: the figures of the latest screenshot and the
//! thumbnail itself, as the kiosk hands them over. Judging a picture (brightness, change) is
//! the kiosk's job; this module only carries the result.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// The figures of the latest screenshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScreenFigures {
    /// Mean luma of the picture, 0 (black) to 1 (white).
    pub luma_ratio: f64,
    /// The picture has been dark for the last few shots while the stream was shown.
    pub black: bool,
    /// How long the picture has not changed while the stream was shown; 0 when it changes.
    pub frozen_seconds: f64,
}

/// The latest screenshot, scaled down, as JPEG. Cheap to clone: the bytes are shared.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail {
    jpeg: Arc<[u8]>,
    taken: SystemTime,
}

impl Thumbnail {
    /// A thumbnail of these JPEG bytes, taken at `taken`.
    pub fn new(jpeg: impl Into<Arc<[u8]>>, taken: SystemTime) -> Self {
        Self { jpeg: jpeg.into(), taken }
    }

    /// The JPEG bytes.
    pub fn jpeg(&self) -> &[u8] {
        &self.jpeg
    }

    /// When the screenshot was taken (wall clock, for `Last-Modified` and the page).
    pub fn taken(&self) -> SystemTime {
        self.taken
    }
}

impl fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thumbnail")
            .field("bytes", &self.jpeg.len())
            .field("taken", &self.taken)
            .finish()
    }
}
