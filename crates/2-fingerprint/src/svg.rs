//! SVG rasterised with `resvg`, bounded and self-contained.
//!
//! An SVG has no pixel size of its own, and it may point at other files. So:
//! - it is drawn at its declared size (width/height, else viewBox), scaled so the
//!   long side lies within [`MIN_SVG_SIDE`, `MAX_SVG_SIDE`] and the canvas fits the
//!   raster [`DecodeLimits`]: a 10^9-unit viewBox gives a bounded picture, not an
//!   allocation failure (a vector drawing is not a decompression bomb; its detail
//!   beyond 4096 px adds nothing to a fingerprint);
//! - nothing outside the bytes is read: `<image href>` to a path, `file://` or
//!   `http://` is dropped (usvg's default resolver would read local files), and an
//!   embedded `data:` raster is kept only when its header is within the limits;
//! - text is not drawn (no system fonts are loaded: they differ between machines,
//!   so the same file would fingerprint differently).

use std::sync::Arc;

use image::{DynamicImage, ImageFormat, ImageReader, RgbaImage};
use resvg::tiny_skia;
use resvg::usvg::{self, ImageHrefResolver, ImageKind};

use crate::decode::check_dimensions;
use crate::{DecodeLimits, FingerprintError};

pub const SVG_MEDIA_TYPE: &str = "image/svg+xml";
/// Long side of the raster of a small SVG (icons declare 16-24 px).
pub const MIN_SVG_SIDE: u32 = 256;
/// Long side of the raster of a large SVG.
pub const MAX_SVG_SIDE: u32 = 4096;
/// SVG text beyond this is refused before parsing.
pub const MAX_SVG_BYTES: usize = 32 * 1024 * 1024;

/// True when the bytes are an SVG document: after a BOM and whitespace they open with
/// `<svg`, an XML declaration, a comment or a doctype, and an `<svg` tag opens within
/// the first 4 KiB (same rule as the capture stage's sniffer, longer look-ahead).
pub fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let t = text.trim_start();
    (t.starts_with("<svg") || t.starts_with("<?xml") || t.starts_with("<!--") || t.starts_with("<!doctype svg"))
        && t.contains("<svg")
}

/// Rasterises an SVG document (see the module comment) to RGBA with straight alpha.
pub fn rasterise(bytes: &[u8], limits: &DecodeLimits) -> Result<DynamicImage, FingerprintError> {
    if bytes.len() > MAX_SVG_BYTES {
        return Err(FingerprintError::Decode(format!(
            "SVG of {} bytes, beyond the limit of {MAX_SVG_BYTES}",
            bytes.len()
        )));
    }
    let options = usvg::Options {
        resources_dir: None,
        image_href_resolver: self_contained_resolver(*limits),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_data(bytes, &options).map_err(|e| FingerprintError::Decode(format!("SVG: {e}")))?;
    let (width, height) = raster_size(tree.size().width(), tree.size().height(), limits);
    check_dimensions(width, height, limits)?;
    let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or(FingerprintError::Empty)?;
    let transform =
        tiny_skia::Transform::from_scale(width as f32 / tree.size().width(), height as f32 / tree.size().height());
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    let mut rgba = Vec::with_capacity(pixmap.data().len());
    for p in pixmap.pixels() {
        let c = p.demultiply();
        rgba.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
    }
    let image = RgbaImage::from_raw(width, height, rgba)
        .ok_or_else(|| FingerprintError::Decode("SVG raster has the wrong size".into()))?;
    Ok(DynamicImage::ImageRgba8(image))
}

/// Pixel size for a declared `w` x `h` SVG: long side within [MIN, MAX], canvas within `limits`.
fn raster_size(w: f32, h: f32, limits: &DecodeLimits) -> (u32, u32) {
    let long = w.max(h);
    let mut scale = 1.0f64;
    if long < MIN_SVG_SIDE as f32 {
        scale = f64::from(MIN_SVG_SIDE) / f64::from(long);
    }
    let max_side = MAX_SVG_SIDE.min(limits.max_width).min(limits.max_height) as f64;
    if f64::from(long) * scale > max_side {
        scale = max_side / f64::from(long);
    }
    let area = f64::from(w) * f64::from(h) * scale * scale * 4.0;
    if area > limits.max_alloc as f64 {
        scale *= (limits.max_alloc as f64 / area).sqrt();
    }
    let px = |v: f32| ((f64::from(v) * scale).round() as u32).max(1);
    (px(w), px(h))
}

/// An href resolver that reads nothing outside the SVG's own bytes.
fn self_contained_resolver(limits: DecodeLimits) -> ImageHrefResolver<'static> {
    let nested_svg = ImageHrefResolver::default_data_resolver();
    ImageHrefResolver {
        resolve_data: Box::new(move |mime: &str, data: Arc<Vec<u8>>, opts: &usvg::Options| {
            let kind = match image::guess_format(&data) {
                Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP)) => f,
                // Not a raster: a nested SVG (parsed with these same options) or nothing.
                _ => {
                    return looks_like_svg(&data)
                        .then(|| nested_svg(SVG_MEDIA_TYPE, data, opts))
                        .flatten()
                }
            };
            // An embedded raster is decoded by resvg later: check its header now.
            let dims = ImageReader::with_format(std::io::Cursor::new(data.as_slice()), kind)
                .into_dimensions()
                .ok()?;
            check_dimensions(dims.0, dims.1, &limits).ok()?;
            if u64::from(dims.0) * u64::from(dims.1) * 4 > limits.max_alloc {
                return None;
            }
            let _ = mime;
            Some(match kind {
                ImageFormat::Png => ImageKind::PNG(data),
                ImageFormat::Jpeg => ImageKind::JPEG(data),
                ImageFormat::Gif => ImageKind::GIF(data),
                _ => ImageKind::WEBP(data),
            })
        }),
        // Paths, file:// and http(s):// URLs: never fetched.
        resolve_string: Box::new(|_: &str, _: &usvg::Options| None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raster_size_is_bounded_both_ways() {
        let lim = DecodeLimits::default();
        assert_eq!(raster_size(24.0, 12.0, &lim), (256, 128));
        assert_eq!(raster_size(800.0, 600.0, &lim), (800, 600));
        assert_eq!(raster_size(1e9, 5e8, &lim), (4096, 2048));
        assert_eq!(raster_size(1e9, 1.0, &lim), (4096, 1));
        let tight = DecodeLimits {
            max_width: 1000,
            max_height: 1000,
            max_alloc: 1000 * 1000,
        };
        let (w, h) = raster_size(800.0, 800.0, &tight);
        assert!(u64::from(w) * u64::from(h) * 4 <= 1_000_000, "{w}x{h}");
    }
}
