//! Every distinct frame of an animation (GIF, APNG, animated WebP), within limits.
//!
//! A copied sprite may sit in any frame of an animated GIF, so each distinct frame
//! is worth fingerprinting. Frames are composed on the full canvas by the `image`
//! decoders, de-duplicated by a hash of their pixels (looping animations repeat
//! frames), and capped: at most [`MAX_DISTINCT_FRAMES`] kept, at most
//! [`MAX_DECODED_FRAMES`] decoded, and never more kept pixels than the decode
//! allocation limit allows.

use std::collections::HashSet;
use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat};

use crate::decode::{check_dimensions, image_limits, map_image_error};
use crate::{decode, DecodeLimits, FingerprintError};

/// Distinct frames kept per image.
pub const MAX_DISTINCT_FRAMES: usize = 32;
/// Frames decoded per image (a hostile file may hold millions of tiny ones).
pub const MAX_DECODED_FRAMES: usize = 1000;

/// The distinct frames of an image: one for still images.
#[derive(Debug, Clone)]
pub struct Frames {
    /// MIME type of the format guessed from the content.
    pub media_type: &'static str,
    /// Distinct frames in order of first appearance.
    pub frames: Vec<DynamicImage>,
    /// 0-based position in the animation of each distinct frame's first appearance.
    pub positions: Vec<usize>,
    /// Frames decoded (including repeats).
    pub decoded: usize,
    /// True when a cap stopped the decoding before the end of the animation.
    pub capped: bool,
}

/// Decodes every distinct frame of `bytes` within `limits` (see the module comment).
pub fn decode_frames(bytes: &[u8], limits: &DecodeLimits) -> Result<Frames, FingerprintError> {
    let still = || -> Result<Frames, FingerprintError> {
        let d = decode(bytes, limits)?;
        Ok(Frames {
            media_type: d.media_type,
            frames: vec![d.image],
            positions: vec![0],
            decoded: 1,
            capped: false,
        })
    };
    let Ok(format) = image::guess_format(bytes) else {
        // SVG (sniffed by `decode`) or an unknown format (`decode` names the error).
        return still();
    };
    match format {
        ImageFormat::Gif => {
            let mut dec = GifDecoder::new(Cursor::new(bytes)).map_err(map_image_error)?;
            let (w, h) = dec.dimensions();
            check_dimensions(w, h, limits)?;
            dec.set_limits(image_limits(limits)).map_err(map_image_error)?;
            collect(format, w, h, dec.into_frames(), limits)
        }
        ImageFormat::Png => {
            let mut dec = PngDecoder::new(Cursor::new(bytes)).map_err(map_image_error)?;
            if !dec.is_apng().map_err(map_image_error)? {
                return still();
            }
            let (w, h) = dec.dimensions();
            check_dimensions(w, h, limits)?;
            dec.set_limits(image_limits(limits)).map_err(map_image_error)?;
            collect(format, w, h, dec.apng().map_err(map_image_error)?.into_frames(), limits)
        }
        ImageFormat::WebP => {
            let mut dec = WebPDecoder::new(Cursor::new(bytes)).map_err(map_image_error)?;
            if !dec.has_animation() {
                return still();
            }
            let (w, h) = dec.dimensions();
            check_dimensions(w, h, limits)?;
            dec.set_limits(image_limits(limits)).map_err(map_image_error)?;
            collect(format, w, h, dec.into_frames(), limits)
        }
        _ => still(),
    }
}

fn collect(
    format: ImageFormat,
    width: u32,
    height: u32,
    frames: image::Frames<'_>,
    limits: &DecodeLimits,
) -> Result<Frames, FingerprintError> {
    let frame_bytes = u64::from(width) * u64::from(height) * 4;
    let by_memory = (limits.max_alloc / frame_bytes.max(1)).max(1) as usize;
    let keep = MAX_DISTINCT_FRAMES.min(by_memory);
    let mut seen = HashSet::new();
    let mut out = Frames {
        media_type: format.to_mime_type(),
        frames: Vec::new(),
        positions: Vec::new(),
        decoded: 0,
        capped: false,
    };
    for frame in frames {
        if out.decoded == MAX_DECODED_FRAMES || out.frames.len() == keep {
            out.capped = true;
            break;
        }
        let frame = match frame {
            Ok(f) => f,
            // Frames before a damaged one are real pictures: keep them; none at all is an error.
            Err(_) if !out.frames.is_empty() => {
                out.capped = true;
                break;
            }
            Err(e) => return Err(map_image_error(e)),
        };
        let position = out.decoded;
        out.decoded += 1;
        let buffer = frame.into_buffer();
        let image = DynamicImage::ImageRgba8(buffer);
        if seen.insert(crate::pixel_sha256(&image)) {
            out.frames.push(image);
            out.positions.push(position);
        }
    }
    if out.frames.is_empty() {
        return Err(FingerprintError::Empty);
    }
    Ok(out)
}
