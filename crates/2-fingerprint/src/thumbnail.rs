//! A small grey-level copy of the picture, kept in the fingerprint so the match
//! stage can compare *pixels* once local features have aligned two images.
//!
//! Keypoints and embeddings say "same kind of picture"; sprites drawn in one art
//! style (a skeleton and a lich) share a dozen keypoints in a consistent geometry
//! without sharing their pixels. A crop or a paste keeps the pixels, which a
//! correlation of the aligned thumbnails shows.

use image::{DynamicImage, GenericImageView, ImageBuffer, LumaA};
use serde::{Deserialize, Serialize};

/// Long side of the thumbnail in pixels (smaller pictures are kept at their size).
/// Measured on the benchmark's copies: at 128 px a paste (30 % of a scene) keeps
/// too little detail, at 256 px a crop's alignment error (a pixel or two of the
/// reference's working copy) costs more correlation than the detail gains.
pub const THUMBNAIL_SIDE: u32 = 160;

/// Grey levels of the picture composited on neutral grey, and its opacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    /// Row-major luma (BT.601) of the picture over grey 128, `width * height` bytes.
    pub luma: Vec<u8>,
    /// Row-major opacity, `width * height` bytes; empty when the picture is opaque.
    pub alpha: Vec<u8>,
}

/// Standard deviation of the thumbnail's grey levels (0..255) below which the picture is
/// one flat colour on the grey it is composited on: fully transparent, or a single
/// colour. A lone dark pixel in 160 x 160 stays below it (0.8), a faint cloud at 11 %
/// opacity does not.
pub const FLAT_LUMA_STD: f32 = 1.0;

impl Thumbnail {
    /// A thumbnail is usable when both planes have the size it claims.
    pub fn is_consistent(&self) -> bool {
        let n = self.width as usize * self.height as usize;
        n > 0 && self.luma.len() == n && (self.alpha.is_empty() || self.alpha.len() == n)
    }

    /// Whether the picture is one flat colour as the model sees it (see [`FLAT_LUMA_STD`]).
    pub fn is_flat(&self) -> bool {
        if self.luma.is_empty() {
            return true;
        }
        let n = self.luma.len() as f64;
        let mean = self.luma.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = self.luma.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        var.sqrt() < f64::from(FLAT_LUMA_STD)
    }
}

/// The picture's colour at half the thumbnail's resolution, for the match stage's
/// colour check. Grey levels cannot tell two flags of plain stripes apart (Bulgaria's
/// white, green and red have the grey levels of the Dutch navy ensign's white, red and
/// blue); their colours can. Half resolution: colour varies slower than detail, and
/// the pixel check compares on a grid no finer than half the thumbnail anyway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chroma {
    pub width: u32,
    pub height: u32,
    /// Row-major (Cb, Cr) pairs (BT.601, 128 for grey) of the picture over grey 128,
    /// `2 * width * height` bytes.
    pub cbcr: Vec<u8>,
}

impl Chroma {
    /// A chroma plane is usable when it has the size it claims.
    pub fn is_consistent(&self) -> bool {
        let n = self.width as usize * self.height as usize;
        n > 0 && self.cbcr.len() == 2 * n
    }
}

/// Two 8-bit values per pixel of the picture composited on grey 128, computed by `f`
/// from (r, g, b) over grey and the opacity. The decoded buffer is read in place when
/// it is 8-bit RGB(A), as nearly all are: a full-size RGBA copy of a large photo would
/// be the biggest allocation here.
fn per_pixel(image: &DynamicImage, f: impl Fn([u32; 3], u8) -> [u8; 2]) -> ImageBuffer<LumaA<u8>, Vec<u8>> {
    let (w, h) = image.dimensions();
    let over_grey = |p: [u8; 4]| {
        let a = u32::from(p[3]);
        let over = |c: u8| (u32::from(c) * a + 128 * (255 - a) + 127) / 255;
        LumaA(f([over(p[0]), over(p[1]), over(p[2])], p[3]))
    };
    match image {
        DynamicImage::ImageRgba8(rgba) => ImageBuffer::from_fn(w, h, |x, y| over_grey(rgba.get_pixel(x, y).0)),
        DynamicImage::ImageRgb8(rgb) => ImageBuffer::from_fn(w, h, |x, y| {
            let [r, g, b] = rgb.get_pixel(x, y).0;
            over_grey([r, g, b, 255])
        }),
        other => {
            let rgba = other.to_rgba8();
            ImageBuffer::from_fn(w, h, |x, y| over_grey(rgba.get_pixel(x, y).0))
        }
    }
}

/// The thumbnail's size for a picture of `w` x `h`: the long side down to
/// [`THUMBNAIL_SIDE`], or the picture's own size when it is smaller.
fn thumbnail_size(w: u32, h: u32) -> (u32, u32) {
    let long = w.max(h).max(1);
    if long <= THUMBNAIL_SIDE {
        return (w.max(1), h.max(1));
    }
    let side =
        |v: u32| ((u64::from(v) * u64::from(THUMBNAIL_SIDE) + u64::from(long) / 2) / u64::from(long)).max(1) as u32;
    (side(w), side(h))
}

/// The thumbnail of a decoded picture: area-averaged down to [`THUMBNAIL_SIDE`].
pub fn thumbnail(image: &DynamicImage) -> Thumbnail {
    let (w, h) = image.dimensions();
    // Luma over grey (as the model sees transparency), opacity alongside.
    let grey = per_pixel(image, |[r, g, b], a| {
        let luma = (299 * r + 587 * g + 114 * b + 500) / 1000;
        [luma.min(255) as u8, a]
    });
    let (tw, th) = thumbnail_size(w, h);
    // Area averaging: every source pixel counts, so thin lines survive.
    let small = if (tw, th) == (w, h) {
        grey
    } else {
        image::imageops::thumbnail(&grey, tw, th)
    };
    let (tw, th) = small.dimensions();
    let mut luma = Vec::with_capacity((tw * th) as usize);
    let mut alpha = Vec::with_capacity((tw * th) as usize);
    for p in small.pixels() {
        luma.push(p.0[0]);
        alpha.push(p.0[1]);
    }
    if alpha.iter().all(|a| *a == 255) {
        alpha = Vec::new();
    }
    Thumbnail {
        width: tw,
        height: th,
        luma,
        alpha,
    }
}

/// The [`Chroma`] of a decoded picture: area-averaged down to half the thumbnail's size.
pub fn chroma(image: &DynamicImage) -> Chroma {
    let (w, h) = image.dimensions();
    let full = per_pixel(image, |[r, g, b], _| {
        let (r, g, b) = (r as f32, g as f32, b as f32);
        let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
        let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
        [cb.round().clamp(0.0, 255.0) as u8, cr.round().clamp(0.0, 255.0) as u8]
    });
    let (tw, th) = thumbnail_size(w, h);
    let (cw, ch) = (tw.div_ceil(2), th.div_ceil(2));
    let small = image::imageops::thumbnail(&full, cw, ch);
    Chroma {
        width: small.width(),
        height: small.height(),
        cbcr: small.into_raw(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    #[test]
    fn large_pictures_shrink_to_the_long_side_and_keep_their_aspect() {
        let img = DynamicImage::ImageRgba8(RgbaImage::from_pixel(800, 400, Rgba([255, 255, 255, 255])));
        let t = thumbnail(&img);
        assert_eq!((t.width, t.height), (THUMBNAIL_SIDE, THUMBNAIL_SIDE / 2));
        assert!(t.is_consistent() && t.alpha.is_empty());
        assert!(t.luma.iter().all(|v| *v == 255));
    }

    #[test]
    fn flat_means_one_colour_on_grey_whatever_the_opacity() {
        let flat = |img: RgbaImage| thumbnail(&DynamicImage::ImageRgba8(img)).is_flat();
        assert!(
            flat(RgbaImage::from_pixel(300, 200, Rgba([200, 10, 10, 0]))),
            "fully transparent"
        );
        assert!(
            flat(RgbaImage::from_pixel(300, 200, Rgba([30, 90, 200, 255]))),
            "one colour"
        );
        let mut dot = RgbaImage::from_pixel(160, 160, Rgba([0, 0, 0, 0]));
        dot.put_pixel(80, 80, Rgba([0, 0, 0, 255]));
        assert!(flat(dot), "a lone pixel");
        let mut faint = RgbaImage::from_pixel(160, 160, Rgba([0, 0, 0, 0]));
        for y in 40..120 {
            for x in 30..130 {
                faint.put_pixel(x, y, Rgba([255, 255, 255, 28]));
            }
        }
        assert!(!flat(faint), "a faint cloud (11 % opaque) is a picture");
        let mut line = RgbaImage::from_pixel(72, 72, Rgba([0, 0, 0, 0]));
        for x in 0..72 {
            line.put_pixel(x, 36, Rgba([250, 250, 0, 255]));
        }
        assert!(!flat(line), "a one-pixel line across a sprite");
    }

    #[test]
    fn chroma_is_half_size_and_tells_colours_of_one_grey_apart() {
        // Green and red of (nearly) one grey level: their thumbnails agree, their colours do not.
        let green = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(300, 200, image::Rgb([0, 150, 0])));
        let red = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(300, 200, image::Rgb([255, 20, 0])));
        let (tg, tr) = (thumbnail(&green), thumbnail(&red));
        assert!(tg.luma[0].abs_diff(tr.luma[0]) <= 1, "{} {}", tg.luma[0], tr.luma[0]);
        let (cg, cr) = (chroma(&green), chroma(&red));
        assert_eq!((cg.width, cg.height), (80, 54));
        assert!(cg.is_consistent() && cr.is_consistent());
        assert!(
            cg.cbcr[1] < 70 && cr.cbcr[1] > 240,
            "Cr {} vs {}",
            cg.cbcr[1],
            cr.cbcr[1]
        );
        // Grey and full transparency are chroma 128.
        let clear = chroma(&DynamicImage::ImageRgba8(RgbaImage::from_pixel(
            7,
            5,
            Rgba([255, 0, 0, 0]),
        )));
        assert_eq!((clear.width, clear.height), (4, 3));
        assert!(clear.cbcr.iter().all(|v| *v == 128));
    }

    #[test]
    fn transparency_is_kept_and_composited_on_grey() {
        let mut img = RgbaImage::from_pixel(40, 20, Rgba([0, 0, 0, 0]));
        img.put_pixel(3, 4, Rgba([0, 0, 0, 255]));
        let t = thumbnail(&DynamicImage::ImageRgba8(img));
        assert_eq!((t.width, t.height), (40, 20));
        assert_eq!(t.alpha[4 * 40 + 3], 255);
        assert_eq!(t.alpha[0], 0);
        assert_eq!(t.luma[4 * 40 + 3], 0);
        assert_eq!(t.luma[0], 128);
    }

    #[test]
    fn every_pixel_layout_gives_the_same_thumbnail() {
        let rgb = image::RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 251) as u8])
        });
        let from_rgb = thumbnail(&DynamicImage::ImageRgb8(rgb.clone()));
        let rgba = DynamicImage::ImageRgb8(rgb).to_rgba8();
        assert_eq!(from_rgb, thumbnail(&DynamicImage::ImageRgba8(rgba.clone())));
        let wide = DynamicImage::ImageRgba8(rgba).to_rgba16();
        assert_eq!(from_rgb, thumbnail(&DynamicImage::ImageRgba16(wide)));
    }
}
