//! Deterministic image edits that turn a reference into a planted copy.
//!
//! No randomness anywhere: every offset and factor comes from the catalog, and
//! the encoders used are deterministic, so two starts serve identical bytes.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, ExtendedColorType, ImageEncoder, ImageResult, RgbImage};

use crate::catalog::Edit;

/// Quality for re-encoded photos when the edit itself is not about quality:
/// high enough that the edit, not JPEG loss, is what the matcher has to see through.
const PHOTO_QUALITY: u8 = 90;

/// Produces the planted file's bytes. `host` is the decoded host image for
/// [`Edit::PasteInto`], `None` otherwise.
pub(crate) fn apply(
    edit: Edit,
    original: &[u8],
    img: &DynamicImage,
    host: Option<&DynamicImage>,
) -> ImageResult<Vec<u8>> {
    match edit {
        Edit::Exact => Ok(original.to_vec()),
        Edit::PngReencode => png(img),
        Edit::WebpLossless => webp_lossless(img),
        Edit::Crop { percent, fx, fy } => jpeg(&crop(img, percent, fx, fy), PHOTO_QUALITY),
        Edit::Mirror => jpeg(&img.fliph(), PHOTO_QUALITY),
        Edit::HueRotate(deg) => jpeg(&img.huerotate(deg), PHOTO_QUALITY),
        Edit::ChannelSwap => jpeg(&DynamicImage::ImageRgb8(swap_rb(img)), PHOTO_QUALITY),
        Edit::Downscale { percent } => {
            let w = scaled(img.width(), percent);
            let h = scaled(img.height(), percent);
            jpeg(&img.resize_exact(w, h, FilterType::Triangle), 85)
        }
        Edit::Jpeg { quality } => jpeg(img, quality),
        Edit::PasteInto { percent, fx, fy, .. } => match host {
            Some(host) => jpeg(&paste(img, host, percent, fx, fy), PHOTO_QUALITY),
            // The caller always passes the host; an absent one is a catalog bug
            // and the plain copy is a harmless, still-detectable fallback.
            None => jpeg(img, PHOTO_QUALITY),
        },
        Edit::CropMirrorRecolour => {
            let cropped = crop(img, 70, 20, 40);
            jpeg(&cropped.fliph().huerotate(60), PHOTO_QUALITY)
        }
    }
}

fn scaled(side: u32, percent: u32) -> u32 {
    (side * percent / 100).max(1)
}

/// Window of `percent` % of the area (same aspect), placed at `fx`/`fy` % of the slack.
fn crop(img: &DynamicImage, percent: u32, fx: u32, fy: u32) -> DynamicImage {
    let side = (f64::from(percent) / 100.0).sqrt();
    let w = ((f64::from(img.width()) * side).round() as u32).clamp(1, img.width());
    let h = ((f64::from(img.height()) * side).round() as u32).clamp(1, img.height());
    let x = (img.width() - w) * fx.min(100) / 100;
    let y = (img.height() - h) * fy.min(100) / 100;
    img.crop_imm(x, y, w, h)
}

fn swap_rb(img: &DynamicImage) -> RgbImage {
    let mut rgb = img.to_rgb8();
    for p in rgb.pixels_mut() {
        p.0.swap(0, 2);
    }
    rgb
}

/// Scales `img` to `percent` % of the host's area and alpha-composites it in,
/// as a poster on a wall or a sticker on a photo would appear.
fn paste(img: &DynamicImage, host: &DynamicImage, percent: u32, fx: u32, fy: u32) -> DynamicImage {
    let host_area = f64::from(host.width()) * f64::from(host.height());
    let target_area = host_area * f64::from(percent) / 100.0;
    let aspect = f64::from(img.width()) / f64::from(img.height());
    let h = (target_area / aspect).sqrt();
    let w = ((h * aspect).round() as u32).clamp(1, host.width());
    let h = (h.round() as u32).clamp(1, host.height());
    let pasted = img.resize_exact(w, h, FilterType::Lanczos3).to_rgba8();
    let mut canvas = host.to_rgba8();
    let x = (host.width() - w) * fx.min(100) / 100;
    let y = (host.height() - h) * fy.min(100) / 100;
    imageops::overlay(&mut canvas, &pasted, i64::from(x), i64::from(y));
    DynamicImage::ImageRgba8(canvas)
}

fn jpeg(img: &DynamicImage, quality: u8) -> ImageResult<Vec<u8>> {
    // JPEG has no alpha channel: flatten to RGB first.
    let rgb = img.to_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality).write_image(
        rgb.as_raw(),
        rgb.width(),
        rgb.height(),
        ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

fn png(img: &DynamicImage) -> ImageResult<Vec<u8>> {
    let rgba = img.to_rgba8();
    let mut out = Vec::new();
    // Settings chosen to differ from the optimised committed file, so the
    // bytes change while the pixels do not.
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, PngFilter::NoFilter).write_image(
        rgba.as_raw(),
        rgba.width(),
        rgba.height(),
        ExtendedColorType::Rgba8,
    )?;
    Ok(out)
}

fn webp_lossless(img: &DynamicImage) -> ImageResult<Vec<u8>> {
    let rgb = img.to_rgb8();
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out).write_image(
        rgb.as_raw(),
        rgb.width(),
        rgb.height(),
        ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}
