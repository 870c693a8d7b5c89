//! Bounded decoding of untrusted image bytes.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};

use crate::{svg, FingerprintError};

/// Ceilings applied before any pixel buffer is allocated, so hostile headers
/// (e.g. a PNG claiming 100000x100000) fail fast instead of exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodeLimits {
    pub max_width: u32,
    pub max_height: u32,
    /// Upper bound on the decoded buffer size in bytes.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_width: 16384,
            max_height: 16384,
            max_alloc: 512 * 1024 * 1024,
        }
    }
}

/// A decoded image with its EXIF orientation already applied.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub image: DynamicImage,
    /// MIME type of the format guessed from the content (not from any file name).
    pub media_type: &'static str,
}

impl Decoded {
    /// MIME type of the format guessed from the content (not from any file name).
    pub fn media_type(&self) -> &'static str {
        self.media_type
    }
}

/// Decodes `bytes` (format guessed from the content: raster formats by signature,
/// SVG by its opening tags) within `limits`. Animated formats yield their first frame.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, FingerprintError> {
    if image::guess_format(bytes).is_err() && svg::looks_like_svg(bytes) {
        return Ok(Decoded {
            image: svg::rasterise(bytes, limits)?,
            media_type: svg::SVG_MEDIA_TYPE,
        });
    }
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let format = reader.format().ok_or(FingerprintError::UnknownFormat)?;
    // The JPEG decoder fills a cut-off stream with grey instead of failing; a
    // partial download must not be fingerprinted as if it were the picture.
    if format == ImageFormat::Jpeg && !bytes.windows(2).any(|w| w == [0xFF, 0xD9]) {
        return Err(FingerprintError::Truncated);
    }
    let mut reader = reader;
    reader.limits(image_limits(limits));
    let mut decoder = reader.into_decoder().map_err(|e| explain_limit(bytes, limits, e))?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    let needed = decoder.total_bytes();
    if needed > limits.max_alloc {
        return Err(FingerprintError::TooMuchMemory {
            width,
            height,
            needed,
            limit: limits.max_alloc,
        });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    image.apply_orientation(orientation);
    Ok(Decoded {
        image,
        media_type: format.to_mime_type(),
    })
}

/// Some decoders refuse an oversized header with a bare "limit exceeded"; name the
/// size instead, read from the header alone (no pixel buffer is allocated for that).
fn explain_limit(bytes: &[u8], limits: &DecodeLimits, e: image::ImageError) -> FingerprintError {
    if !matches!(e, image::ImageError::Limits(_)) {
        return map_image_error(e);
    }
    let dims = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|mut r| {
            r.no_limits();
            r.into_dimensions().ok()
        });
    match dims.map(|(w, h)| check_dimensions(w, h, limits)) {
        Some(Err(named)) => named,
        _ => map_image_error(e),
    }
}

/// `image`'s own limits from ours.
pub(crate) fn image_limits(limits: &DecodeLimits) -> image::Limits {
    let mut lim = image::Limits::default();
    lim.max_image_width = Some(limits.max_width);
    lim.max_image_height = Some(limits.max_height);
    lim.max_alloc = Some(limits.max_alloc);
    lim
}

/// Checked here as well because not every decoder honours `image::Limits`.
pub(crate) fn check_dimensions(width: u32, height: u32, limits: &DecodeLimits) -> Result<(), FingerprintError> {
    if width > limits.max_width || height > limits.max_height {
        return Err(FingerprintError::TooLarge {
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        });
    }
    if width == 0 || height == 0 {
        return Err(FingerprintError::Empty);
    }
    Ok(())
}

pub(crate) fn map_image_error(e: image::ImageError) -> FingerprintError {
    match e {
        image::ImageError::Limits(l) => FingerprintError::Decode(format!("limit exceeded: {l}")),
        image::ImageError::Unsupported(u) => FingerprintError::Decode(format!("unsupported: {u}")),
        other => FingerprintError::Decode(other.to_string()),
    }
}

/// RGB view used by PDQ and the model: transparent pixels are composited on a
/// neutral grey (128) so a logo on transparency looks the same whatever the
/// page background was.
pub fn to_rgb_on_grey(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(p[3]);
        for c in 0..3 {
            let v = (u32::from(p[c]) * a + 128 * (255 - a) + 127) / 255;
            o[c] = v as u8;
        }
    }
    out
}
