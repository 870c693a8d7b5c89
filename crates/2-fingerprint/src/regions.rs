//! Fixed windows embedded besides the whole image, so crops of the artwork and
//! the artwork pasted into a larger picture are still found.
//!
//! The set: 9 windows at 60 % of each side on a 3x3 grid (offsets 0, 20 % and 40 %
//! of each side), all proportional to the image so each window has its aspect ratio.
//! Ordered the four corners, the centre, then the four edge middles (the first five
//! are the set used before the grid, kept first so an ablation can truncate to them).
//!
//! Why 60 % on a 20 % stride: a 35 %-area crop has ~59 % of each side and a picture
//! pasted over 30 % of a scene ~55 %, so some window is off by at most 10 % of a side
//! from either, wherever it lies.  The former 3x3 grid at 40 % found nothing the
//! 60 % windows missed on `bench/detect` (µAP 0.957 without it, 0.952 with it).
//!
//! 9 windows plus the whole image = 10 embeddings per image.  Images smaller than
//! [`MIN_REGION_SIDE`] on either side get no windows (nothing meaningful to crop).
//!
//! Blank windows are dropped ([`is_blank`]): a window of a sprite that is mostly
//! transparent, or of one flat colour, embeds as "a grey square" and met every other
//! blank window at cosine 1.000 on `bench/detect` (29 unrelated pairs at >= 0.97 in
//! 100 references), which taught the score to distrust every region match.

use serde::{Deserialize, Serialize};

pub const MIN_REGION_SIDE: u32 = 64;

/// A window in pixels of the decoded (orientation-corrected) image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// An embedded window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionEmbedding {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub embedding: Vec<f32>,
}

/// Below this share of opaque pixels a window is blank (its embedding is the grey
/// the image is composited on).
pub const MIN_OPAQUE_WINDOW_SHARE: f32 = 0.15;
/// Below this standard deviation of luma (0..255) a window is blank (one colour).
pub const MIN_WINDOW_LUMA_STD: f32 = 4.0;

/// Whether window `w` of `image` (as decoded) and `rgb` (the same image composited on
/// grey, as embedded) carries too little content to be compared: mostly transparent,
/// or one flat colour.  Looks at about 64 x 64 samples, so large windows cost no more.
pub fn is_blank(image: &image::DynamicImage, rgb: &image::RgbImage, w: &Window) -> bool {
    let step_x = (w.w / 64).max(1);
    let step_y = (w.h / 64).max(1);
    let has_alpha = image.color().has_alpha();
    let (mut n, mut opaque) = (0u32, 0u32);
    let (mut sum, mut sum_sq) = (0f64, 0f64);
    let mut y = w.y;
    while y < w.y + w.h && y < rgb.height() {
        let mut x = w.x;
        while x < w.x + w.w && x < rgb.width() {
            n += 1;
            if !has_alpha || image::GenericImageView::get_pixel(image, x, y).0[3] >= 128 {
                opaque += 1;
            }
            let [r, g, b] = rgb.get_pixel(x, y).0;
            let luma = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
            sum += luma;
            sum_sq += luma * luma;
            x += step_x;
        }
        y += step_y;
    }
    if n == 0 {
        return true;
    }
    let mean = sum / f64::from(n);
    let std = (sum_sq / f64::from(n) - mean * mean).max(0.0).sqrt();
    (opaque as f32) < MIN_OPAQUE_WINDOW_SHARE * n as f32 || (std as f32) < MIN_WINDOW_LUMA_STD
}

/// The windows of a `width` x `height` image, in a fixed order.
pub fn windows(width: u32, height: u32) -> Vec<Window> {
    if width < MIN_REGION_SIDE || height < MIN_REGION_SIDE {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(9);
    let side = |len: u32, frac: f64| ((len as f64 * frac).round() as u32).clamp(1, len);
    let (w6, h6) = (side(width, 0.6), side(height, 0.6));
    let (mx, my) = (width - w6, height - h6);
    for (x, y) in [
        (0, 0),
        (mx, 0),
        (0, my),
        (mx, my),
        (mx / 2, my / 2),
        (mx / 2, 0),
        (0, my / 2),
        (mx, my / 2),
        (mx / 2, my),
    ] {
        out.push(Window { x, y, w: w6, h: h6 });
    }
    out
}
