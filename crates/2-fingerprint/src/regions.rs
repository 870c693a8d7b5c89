//! Fixed windows embedded besides the whole image, so crops of the artwork and
//! the artwork pasted into a larger picture are still found.
//!
//! The set (all proportional to the image, so each window has its aspect ratio):
//! - 5 windows at 60 % of each side: the four corners and the centre;
//! - 9 windows at 40 % of each side on a 3x3 grid (left/centre/right x top/middle/bottom).
//!
//! 14 windows plus the whole image = 15 embeddings per image.  Images smaller than
//! [`MIN_REGION_SIDE`] on either side get no windows (nothing meaningful to crop).

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

/// The windows of a `width` x `height` image, in a fixed order.
pub fn windows(width: u32, height: u32) -> Vec<Window> {
    if width < MIN_REGION_SIDE || height < MIN_REGION_SIDE {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(14);
    let side = |len: u32, frac: f64| ((len as f64 * frac).round() as u32).clamp(1, len);
    let (w6, h6) = (side(width, 0.6), side(height, 0.6));
    for (x, y) in [
        (0, 0),
        (width - w6, 0),
        (0, height - h6),
        (width - w6, height - h6),
        ((width - w6) / 2, (height - h6) / 2),
    ] {
        out.push(Window { x, y, w: w6, h: h6 });
    }
    let (w4, h4) = (side(width, 0.4), side(height, 0.4));
    for gy in 0..3 {
        for gx in 0..3 {
            out.push(Window {
                x: (width - w4) * gx / 2,
                y: (height - h4) * gy / 2,
                w: w4,
                h: h4,
            });
        }
    }
    out
}
