//! Keypoints of a sprite on a mostly transparent canvas, at the sprite's own size.
//!
//! The extractor ([`crate::local`]) works a whole picture at one resolution: a
//! 32 x 39 px figure on an 88 x 74 px canvas is worked at 320 px for the canvas, so
//! the figure gets about 140 px and the few keypoints that fit there. Its copies
//! usually show the figure alone, much larger (a sprite pasted into a scene at a third
//! of its area is enlarged ten times). Extracting the bounding box of the opaque
//! pixels on its own, at that box's working resolution, gives the figure a full
//! keypoint budget at about the scale its copies show. On the benchmark's held-out
//! pastes, these keypoints took 6 more copies past the cut-off at precision 0.99
//! with the weights of the time (see `bench/detect/README.md`).

use image::DynamicImage;

use crate::local::{extract, work_scale, Keypoint};

/// The box gets its own keypoints only when it is worked at least this many times
/// finer than the whole canvas: below that the canvas's keypoints already see it at
/// about that scale, and the pyramid spans the rest (its 8 levels cover 1.2^7 = 3.6).
pub const BOX_MIN_GAIN: f32 = 1.5;
/// Alpha from which a pixel is opaque (as the extractor's opacity test).
const OPAQUE_ALPHA: u8 = 128;

/// Bounding box `(x, y, w, h)` of the pixels with alpha at least [`OPAQUE_ALPHA`];
/// `None` for a picture without an alpha channel or without such pixels.
pub fn opaque_box(image: &DynamicImage) -> Option<(u32, u32, u32, u32)> {
    if !image.color().has_alpha() {
        return None;
    }
    // Most pictures with transparency decode as RGBA8: read them in place.
    let converted;
    let rgba = match image.as_rgba8() {
        Some(rgba) => rgba,
        None => {
            converted = image.to_rgba8();
            &converted
        }
    };
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in rgba.enumerate_pixels() {
        if p[3] >= OPAQUE_ALPHA {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
        }
    }
    (x0 < x1 && y0 < y1).then(|| (x0, y0, x1 - x0, y1 - y0))
}

/// The keypoints (base set, see [`extract`]) of the [`opaque_box`] extracted on its
/// own, in the picture's pixels; empty when the picture has no opaque box or when the
/// box is not worked [`BOX_MIN_GAIN`] times finer than the canvas.
pub fn extract_opaque_box(image: &DynamicImage) -> Vec<Keypoint> {
    let Some((x, y, w, h)) = opaque_box(image) else {
        return Vec::new();
    };
    if work_scale(w, h) < BOX_MIN_GAIN * work_scale(image.width(), image.height()) {
        return Vec::new();
    }
    let mut keypoints = extract(&image.crop_imm(x, y, w, h)).keypoints;
    for k in &mut keypoints {
        k.x += x as f32;
        k.y += y as f32;
    }
    keypoints
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    /// A checkerboard figure of `fw` x `fh` px at (`x`, `y`) on a transparent canvas.
    fn sprite(cw: u32, ch: u32, x: u32, y: u32, fw: u32, fh: u32) -> DynamicImage {
        let mut img = RgbaImage::from_pixel(cw, ch, Rgba([0, 0, 0, 0]));
        for j in 0..fh {
            for i in 0..fw {
                let v = if ((i / 4) + (j / 3)) % 2 == 0 { 230 } else { 30 };
                img.put_pixel(x + i, y + j, Rgba([v, 255 - v, v / 2, 255]));
            }
        }
        DynamicImage::ImageRgba8(img)
    }

    #[test]
    fn the_box_is_where_the_opaque_pixels_are() {
        assert_eq!(opaque_box(&sprite(88, 74, 28, 21, 32, 39)), Some((28, 21, 32, 39)));
        assert_eq!(opaque_box(&sprite(10, 10, 0, 0, 0, 0)), None);
        let opaque = DynamicImage::ImageRgb8(image::RgbImage::new(10, 10));
        assert_eq!(opaque_box(&opaque), None);
    }

    #[test]
    fn a_small_figure_gets_keypoints_of_its_own_inside_its_box() {
        let img = sprite(88, 74, 28, 21, 32, 39);
        let own = extract_opaque_box(&img);
        let canvas = extract(&img).keypoints;
        println!("{} keypoints from the box, {} from the canvas", own.len(), canvas.len());
        assert!(own.len() >= 100, "{}", own.len());
        // In the canvas's pixels, inside the box (keypoints may sit on its outline).
        for k in &own {
            assert!((27.0..=61.0).contains(&k.x) && (20.0..=61.0).contains(&k.y), "{k:?}");
        }
        // Patches at the box's finer resolution are smaller in the canvas's pixels.
        let smallest = |ks: &[Keypoint]| ks.iter().map(|k| k.size).fold(f32::MAX, f32::min);
        assert!(smallest(&own) < smallest(&canvas) / BOX_MIN_GAIN);
    }

    #[test]
    fn no_extra_keypoints_where_the_canvas_already_works_the_figure_finely() {
        // The figure fills most of the canvas: same working scale.
        assert!(extract_opaque_box(&sprite(88, 74, 4, 4, 80, 66)).is_empty());
        // A 600 x 200 logo with its text on 390 x 70 px: worked 1.4 times finer only.
        assert!(extract_opaque_box(&sprite(600, 200, 100, 60, 390, 70)).is_empty());
        assert!(extract_opaque_box(&DynamicImage::ImageRgb8(image::RgbImage::new(88, 74))).is_empty());
    }
}
