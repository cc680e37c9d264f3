//! What a screenshot shows, in numbers: its mean brightness and how much it differs from the
//! one before, measured on a thumbnail at most [`THUMBNAIL_WIDTH`] pixels wide.
//!
//! mpv writes the screenshot (a JPEG of the decoded picture, `screenshot-to-file … video`); this
//! module decodes it, scales it down, and keeps the grey thumbnail for the next comparison and a
//! small JPEG of it for `/screen.jpg`. It is CPU work: the supervisor runs it on a blocking
//! thread, once per `HEALTH_SCREEN_INTERVAL`.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, GrayImage, RgbImage};

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
    Decode(#[from] jpeg_decoder::Error),
    /// The JPEG decodes to something other than RGB or grey (CMYK), or to no pixels.
    #[error("the screenshot is not an RGB or grey picture")]
    Format,
    /// The thumbnail could not be encoded.
    #[error("cannot encode the thumbnail: {0}")]
    Encode(#[from] image::ImageError),
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
    let reduced = decode_reduced(jpeg)?;
    // `thumbnail` averages every source pixel into its box (what a mean wants) with integer
    // arithmetic: the cheapest scaling that skips no pixel.
    let small = reduced.thumbnail(THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT);
    drop(reduced);
    let grey = small.to_luma8();
    let luma_ratio = mean(&grey);
    let thumbnail_jpeg = encode(&small)?;
    Ok(Picture { luma_ratio, grey, thumbnail_jpeg })
}

/// Decodes `jpeg` at the smallest of 1/8, 1/4, 1/2 and full size that is still at least as large
/// as the thumbnail: the decoder skips the detail instead of computing and then averaging it.
fn decode_reduced(jpeg: &[u8]) -> Result<DynamicImage, PictureError> {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    decoder.read_info()?;
    let info = decoder.info().ok_or(PictureError::Format)?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    if width == 0 || height == 0 {
        return Err(PictureError::Format);
    }
    // The thumbnail's own size, which the reduced picture must cover.
    let (want_width, want_height) = if width >= height {
        (THUMBNAIL_WIDTH.min(width), (THUMBNAIL_WIDTH * height).div_ceil(width).max(1))
    } else {
        ((THUMBNAIL_HEIGHT * width).div_ceil(height).max(1), THUMBNAIL_HEIGHT.min(height))
    };
    let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    let (out_width, out_height) = decoder.scale(clamp(want_width), clamp(want_height))?;
    let pixels = decoder.decode()?;
    let (w, h) = (u32::from(out_width), u32::from(out_height));
    let info = decoder.info().ok_or(PictureError::Format)?;
    match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => RgbImage::from_raw(w, h, pixels)
            .map(DynamicImage::ImageRgb8)
            .ok_or(PictureError::Format),
        jpeg_decoder::PixelFormat::L8 => GrayImage::from_raw(w, h, pixels)
            .map(DynamicImage::ImageLuma8)
            .ok_or(PictureError::Format),
        _ => Err(PictureError::Format),
    }
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
    use image::Rgb;

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
