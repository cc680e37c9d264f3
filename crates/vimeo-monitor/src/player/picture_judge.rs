//! Is the picture black or frozen? A pure judgement over successive screenshots, with `now`
//! passed in, so every rule is a table test on a driven clock.
//!
//! - **Black**: [`BLACK_SHOTS`] screenshots in a row darker than [`BLACK_LUMA`] while the stream
//!   is shown. Video black is code 16 of 255, which a screenshot shows as 0; a dark stage lit
//!   by a spotlight averages well above 0.04.
//! - **Frozen**: the picture has not changed (mean absolute difference of the grey thumbnails
//!   below [`UNCHANGED`], i.e. about half a grey level per pixel, less than any camera's noise)
//!   since some time, while the stream is shown. A still image or a black picture looped by
//!   the encoder is frozen too: that is what the audience sees.
//! - **Heal**: a black picture, or one frozen for [`FROZEN_HEAL`] or three intervals (whichever
//!   is longer), while the stream is shown, is one episode: the supervisor asks the monitor for
//!   a fresh URL once, and logs it once. The episode ends when the picture is neither.
//!
//! Images (holding, error) are never black or frozen: they are meant to stand still.

use std::time::Duration;

use health_script::ScreenFigures;
use image::GrayImage;
use tokio::time::Instant;

use super::picture::{Picture, difference};

/// Darker than this mean luma (about 10 of 255) is a dark screenshot.
pub const BLACK_LUMA: f64 = 0.04;
/// Dark screenshots in a row that make a black screen.
pub const BLACK_SHOTS: u32 = 3;
/// A mean absolute difference below this is an unchanged picture.
pub const UNCHANGED: f64 = 0.002;
/// A picture frozen at least this long (and three screenshot intervals) is healed.
pub const FROZEN_HEAL: Duration = Duration::from_secs(30);

/// What went wrong with the picture, once per episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureTrouble {
    /// Dark for [`BLACK_SHOTS`] screenshots in a row.
    Black,
    /// Unchanged for [`FROZEN_HEAL`] or more.
    Frozen,
}

/// What one screenshot leads to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The figures to publish.
    pub figures: ScreenFigures,
    /// A new episode to heal (fresh URL, reload), at most once per episode.
    pub heal: Option<PictureTrouble>,
}

/// The judgement's memory between screenshots.
#[derive(Debug)]
pub struct PictureJudge {
    interval: Duration,
    previous: Option<GrayImage>,
    dark_in_a_row: u32,
    unchanged_since: Option<Instant>,
    in_episode: bool,
}

impl PictureJudge {
    /// A judge for screenshots taken every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            previous: None,
            dark_in_a_row: 0,
            unchanged_since: None,
            in_episode: false,
        }
    }

    /// Takes the screenshot `picture`, taken at `now`; `streaming` is whether the stream (not an
    /// image) is what is shown.
    pub fn observe(&mut self, picture: &Picture, streaming: bool, now: Instant) -> Verdict {
        let luma_ratio = picture.luma_ratio;
        if !streaming {
            self.forget();
            let figures = ScreenFigures { luma_ratio, black: false, frozen_seconds: 0.0 };
            return Verdict { figures, heal: None };
        }
        self.dark_in_a_row =
            if luma_ratio < BLACK_LUMA { self.dark_in_a_row.saturating_add(1) } else { 0 };
        let unchanged = self
            .previous
            .as_ref()
            .and_then(|previous| difference(previous, &picture.grey))
            .is_some_and(|d| d < UNCHANGED);
        // Unchanged since the previous shot, which is when the picture was last seen to move.
        self.unchanged_since = match (unchanged, self.unchanged_since) {
            (true, Some(since)) => Some(since),
            (true, None) => Some(now.checked_sub(self.interval).unwrap_or(now)),
            (false, _) => None,
        };
        self.previous = Some(picture.grey.clone());
        let frozen = self.unchanged_since.map_or(Duration::ZERO, |since| now - since);
        let black = self.dark_in_a_row >= BLACK_SHOTS;
        let trouble = if black {
            Some(PictureTrouble::Black)
        } else if frozen >= FROZEN_HEAL.max(self.interval * 3) {
            Some(PictureTrouble::Frozen)
        } else {
            None
        };
        let heal = match trouble {
            Some(_) if self.in_episode => None,
            Some(trouble) => {
                self.in_episode = true;
                Some(trouble)
            }
            None => {
                self.in_episode = false;
                None
            }
        };
        let figures = ScreenFigures { luma_ratio, black, frozen_seconds: frozen.as_secs_f64() };
        Verdict { figures, heal }
    }

    /// Something else is shown, or the player was replaced: start again.
    pub fn forget(&mut self) {
        self.previous = None;
        self.dark_in_a_row = 0;
        self.unchanged_since = None;
        self.in_episode = false;
    }
}

#[cfg(test)]
mod tests {
    use image::Luma;

    use super::*;

    /// A picture of one grey level (`level`) with a moving dot at `dot` (none if `None`).
    fn picture(level: u8, dot: Option<u32>) -> Picture {
        let grey =
            GrayImage::from_fn(
                160,
                90,
                |x, _| {
                    if dot == Some(x) { Luma([255]) } else { Luma([level]) }
                },
            );
        let luma_ratio =
            grey.as_raw().iter().map(|&p| f64::from(p)).sum::<f64>() / (160.0 * 90.0 * 255.0);
        Picture { luma_ratio, grey, thumbnail_jpeg: Vec::new() }
    }

    const EVERY: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn black_after_three_dark_shots_while_streaming_healed_once() {
        let mut judge = PictureJudge::new(EVERY);
        let start = Instant::now();
        // (dark, streaming) → (black, heal)
        let shots = [
            (true, false, false, None),
            (true, true, false, None),
            (true, true, false, None),
            (true, true, true, Some(PictureTrouble::Black)),
            (true, true, true, None),
            (false, true, false, None),
            (true, true, false, None),
            (true, true, false, None),
            (true, true, true, Some(PictureTrouble::Black)),
        ];
        for (i, (dark, streaming, black, heal)) in shots.into_iter().enumerate() {
            let now = start + EVERY * i as u32;
            // A moving dot keeps the picture changing, so only blackness is judged.
            let shot = picture(if dark { 2 } else { 120 }, Some(i as u32 * 7 % 160));
            let verdict = judge.observe(&shot, streaming, now);
            assert_eq!((verdict.figures.black, verdict.heal), (black, heal), "shot {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn frozen_seconds_rise_while_unchanged_and_heal_once_after_thirty_seconds() {
        let mut judge = PictureJudge::new(EVERY);
        let start = Instant::now();
        // (dot position or none = same picture, streaming) → (frozen seconds, heal)
        let shots = [
            (Some(1), true, 0, None),
            (Some(1), true, 10, None),
            (Some(1), true, 20, None),
            (Some(1), true, 30, Some(PictureTrouble::Frozen)),
            (Some(1), true, 40, None),
            (Some(2), true, 0, None),
            (Some(2), true, 10, None),
            (Some(2), false, 0, None),
            (Some(2), true, 0, None),
        ];
        for (i, (dot, streaming, frozen, heal)) in shots.into_iter().enumerate() {
            let now = start + EVERY * i as u32;
            let verdict = judge.observe(&picture(100, dot), streaming, now);
            assert_eq!(verdict.figures.frozen_seconds, f64::from(frozen), "shot {i}");
            assert_eq!(verdict.heal, heal, "shot {i}");
            assert!(!verdict.figures.black);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_interval_waits_three_shots_before_healing_a_frozen_picture() {
        let every = Duration::from_secs(60);
        let mut judge = PictureJudge::new(every);
        let start = Instant::now();
        let heals: Vec<_> = (0..4)
            .map(|i| judge.observe(&picture(80, None), true, start + every * i).heal)
            .collect();
        assert_eq!(heals, [None, None, None, Some(PictureTrouble::Frozen)]);
    }

    #[tokio::test(start_paused = true)]
    async fn images_are_never_black_or_frozen() {
        let mut judge = PictureJudge::new(EVERY);
        let start = Instant::now();
        for i in 0..6 {
            let verdict = judge.observe(&picture(0, None), false, start + EVERY * i);
            assert_eq!(
                verdict.figures,
                ScreenFigures { luma_ratio: 0.0, black: false, frozen_seconds: 0.0 }
            );
            assert_eq!(verdict.heal, None);
        }
    }
}
