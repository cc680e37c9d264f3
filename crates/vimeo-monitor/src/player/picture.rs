//! What a screenshot shows, in numbers: its mean brightness and how much it differs from the
//! one before, measured on a thumbnail at most [`THUMBNAIL_WIDTH`] pixels wide.
//!
//! mpv writes the screenshot (a JPEG of the decoded picture, `screenshot-to-file … video`); this
//! module decodes it, scales it down, and keeps the grey thumbnail for the next comparison and a
//! small JPEG of it for `/screen.jpg`. It is CPU work: the supervisor runs it on a blocking
//! thread, once per `HEALTH_SCREEN_INTERVAL`.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, GrayImage, ImageFormat};

/// The thumbnail's largest width; its height follows the picture's aspect ratio.
pub const THUMBNAIL_WIDTH: u32 = 160;
/// The thumbnail's largest height (a portrait picture).
const THUMBNAIL_HEIGHT: u32 = 160;
/// JPEG quality of the thumbnail: a 160 × 90 picture is about 3 KB at 70.
const THUMBNAIL_QUALITY: u8 = 70;
/// A screenshot larger than this is not decoded: a 4K JPEG from mpv is about 2 MB.
pub const MAX_SCREENSHOT_BYTES: u64 = 16 * 1024 * 1024;

/// Why a screenshot could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// The file is not a JPEG image this decoder reads, or is damaged.
    #[error("the screenshot is not a readable JPEG: {0}")]
    Decode(#[from] image::ImageError),
}

/// One screenshot, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// Mean luma, 0 (black) to 1 (white).
    pub luma_ratio: f64,
    /// The grey thumbnail, for [`difference`].
    pub grey: GrayImage,
    /// The colour thumbnail as JPEG, for `/screen.jpg`.
    pub thumbnail_jpeg: Vec<u8>,
}

/// Decodes a JPEG screenshot and measures it.
pub fn measure(jpeg: &[u8]) -> Result<Picture, PictureError> {
    let full = image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)?;
    // `thumbnail` averages every source pixel into its box (what a mean wants) with integer
    // arithmetic: the cheapest scaling that skips no pixel.
    let small = full.thumbnail(THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT);
    drop(full);
    let grey = small.to_luma8();
    let luma_ratio = mean(&grey);
    let thumbnail_jpeg = encode(&small)?;
    Ok(Picture { luma_ratio, grey, thumbnail_jpeg })
}

/// The mean absolute difference of two grey thumbnails, 0 (identical) to 1; `None` when their
/// sizes differ (the picture's shape changed: that is a change).
pub fn difference(a: &GrayImage, b: &GrayImage) -> Option<f64> {
    if a.dimensions() != b.dimensions() || a.as_raw().is_empty() {
        return None;
    }
    let total: u64 =
        a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    Some(total as f64 / (a.as_raw().len() as f64 * 255.0))
}

fn mean(grey: &GrayImage) -> f64 {
    let pixels = grey.as_raw();
    if pixels.is_empty() {
        return 0.0;
    }
    let total: u64 = pixels.iter().map(|&p| u64::from(p)).sum();
    total as f64 / (pixels.len() as f64 * 255.0)
}

fn encode(picture: &DynamicImage) -> Result<Vec<u8>, PictureError> {
    let mut jpeg = Vec::with_capacity(8 * 1024);
    JpegEncoder::new_with_quality(&mut jpeg, THUMBNAIL_QUALITY).encode_image(&picture.to_rgb8())?;
    Ok(jpeg)
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;

    /// A JPEG of `width` × `height` filled by `paint`.
    fn jpeg(width: u32, height: u32, paint: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let picture = RgbImage::from_fn(width, height, |x, y| Rgb(paint(x, y)));
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(&mut bytes, 90).encode_image(&picture).unwrap();
        bytes
    }

    #[test]
    fn black_white_and_grey_pictures_measure_as_expected() {
        // (colour, expected mean luma ± 0.02)
        let cases = [([0, 0, 0], 0.0), ([255, 255, 255], 1.0), ([128, 128, 128], 0.5)];
        for (colour, expected) in cases {
            let picture = measure(&jpeg(1920, 1080, |_, _| colour)).unwrap();
            assert!(
                (picture.luma_ratio - expected).abs() < 0.02,
                "{colour:?}: {}",
                picture.luma_ratio
            );
            assert_eq!(picture.grey.dimensions(), (160, 90), "16:9 at most 160 wide");
            let thumbnail = image::load_from_memory(&picture.thumbnail_jpeg).unwrap();
            assert_eq!((thumbnail.width(), thumbnail.height()), (160, 90));
        }
    }

    #[test]
    fn the_same_picture_does_not_differ_and_a_moved_one_does() {
        let bars = |shift: u32| {
            move |x: u32, _| if ((x + shift) / 160).is_multiple_of(2) { [250; 3] } else { [10; 3] }
        };
        let a = measure(&jpeg(1280, 720, bars(0))).unwrap();
        let again = measure(&jpeg(1280, 720, bars(0))).unwrap();
        let moved = measure(&jpeg(1280, 720, bars(80))).unwrap();
        assert_eq!(difference(&a.grey, &again.grey), Some(0.0));
        let moved = difference(&a.grey, &moved.grey).unwrap();
        assert!(moved > 0.3, "half the bars swapped: {moved}");
        let portrait = measure(&jpeg(720, 1280, bars(0))).unwrap();
        assert_eq!(portrait.grey.dimensions(), (90, 160));
        assert_eq!(difference(&a.grey, &portrait.grey), None, "a new shape is a change");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let error = measure(b"not a jpeg at all").unwrap_err();
        assert!(error.to_string().contains("not a readable JPEG"), "{error}");
        assert!(measure(&[]).is_err());
    }
}
