//! The kiosk's latest screenshot, as `/screen.jpg` and the status page serve it.
//!
//! The kiosk (the player) takes the screenshots and keeps the latest in its `ScriptHealth`
//! handle; the exporter only reads it. `HEALTH_SCREEN_THUMBNAIL=false` hides the picture, at
//! once and on every reload, while the screen figures stay in `/metrics`. A standalone
//! `health-server` has no player, hence never a picture.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use crate::compose::Inputs;

/// One screenshot as served: JPEG bytes and when it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shot {
    /// The JPEG file.
    pub(crate) jpeg: Vec<u8>,
    /// When the kiosk took it.
    pub(crate) taken: SystemTime,
}

/// What there is to show of the screen right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Picture {
    /// `HEALTH_SCREEN_THUMBNAIL=false`.
    Off,
    /// No screenshot (yet, or no player in this process).
    None,
    /// A screenshot taken at this Unix time.
    #[cfg_attr(
        not(feature = "script"),
        expect(dead_code, reason = "only the kiosk's own handle carries screenshots")
    )]
    Taken(f64),
}

/// Where the exporter finds the kiosk's latest screenshot, and whether it may show it.
/// Cheap to clone; every clone is the same switch.
#[derive(Debug, Clone, Default)]
pub struct ScreenImage {
    #[cfg(feature = "script")]
    script: Option<health_script::ScriptHealth>,
    shown: Arc<AtomicBool>,
}

impl ScreenImage {
    /// The screenshots of the kiosk in `inputs` (none without one), shown if `shown`
    /// (`HEALTH_SCREEN_THUMBNAIL`).
    pub fn new(inputs: &Inputs, shown: bool) -> Self {
        #[cfg(not(feature = "script"))]
        let _ = inputs;
        Self {
            #[cfg(feature = "script")]
            script: inputs.script.clone(),
            shown: Arc::new(AtomicBool::new(shown)),
        }
    }

    /// Shows or hides the picture (a configuration reload).
    pub fn set_shown(&self, shown: bool) {
        self.shown.store(shown, Ordering::Relaxed);
    }

    /// The latest screenshot, if there is one and it may be shown.
    pub(crate) fn latest(&self) -> Option<Shot> {
        if !self.shown.load(Ordering::Relaxed) {
            return None;
        }
        #[cfg(feature = "script")]
        if let Some(thumbnail) = self.script.as_ref().and_then(|s| s.thumbnail()) {
            return Some(Shot { jpeg: thumbnail.jpeg().to_vec(), taken: thumbnail.taken() });
        }
        None
    }

    /// What the status page can show, without copying the picture.
    pub(crate) fn picture(&self) -> Picture {
        if !self.shown.load(Ordering::Relaxed) {
            return Picture::Off;
        }
        #[cfg(feature = "script")]
        if let Some(thumbnail) = self.script.as_ref().and_then(|s| s.thumbnail()) {
            return Picture::Taken(crate::history::unix(thumbnail.taken()));
        }
        Picture::None
    }

    /// Why there is no picture, for a 404.
    pub(crate) fn why_none(&self) -> &'static str {
        if self.shown.load(Ordering::Relaxed) {
            "no screenshot: the kiosk has not taken one (only a kiosk playing something does)\n"
        } else {
            "no screenshot: HEALTH_SCREEN_THUMBNAIL=false\n"
        }
    }
}

#[cfg(all(test, feature = "script"))]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use health_script::{ScriptHealth, Thumbnail};

    use super::*;

    #[test]
    fn the_switch_hides_the_picture_and_a_missing_one_is_none() {
        let script = ScriptHealth::new(Duration::from_secs(60));
        let screen =
            ScreenImage::new(&Inputs { script: Some(script.clone()), ..Inputs::default() }, true);
        assert_eq!(screen.picture(), Picture::None);
        assert_eq!(screen.latest(), None);
        let taken = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
        script.set_thumbnail(Some(Thumbnail::new(vec![0xff, 0xd8, 0xff], taken)));
        assert_eq!(screen.picture(), Picture::Taken(1_750_000_000.0));
        assert_eq!(screen.latest(), Some(Shot { jpeg: vec![0xff, 0xd8, 0xff], taken }));
        // A clone is the same switch (the exporter keeps one, the router another).
        let kept = screen.clone();
        kept.set_shown(false);
        assert_eq!(screen.picture(), Picture::Off);
        assert_eq!(screen.latest(), None);
        assert!(screen.why_none().contains("HEALTH_SCREEN_THUMBNAIL=false"));
        assert_eq!(ScreenImage::default().picture(), Picture::Off);
        assert_eq!(ScreenImage::new(&Inputs::default(), true).picture(), Picture::None);
    }
}
