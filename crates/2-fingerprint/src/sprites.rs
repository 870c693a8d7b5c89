//! Sprite sheets and texture atlases: split an image with transparency into its
//! sprites, so each one can be fingerprinted as a region of the reference (a game
//! copies one sprite, not the whole sheet).
//!
//! Sprites are the 8-connected components of the opaque pixels (alpha > 16) with
//! at least [`MIN_SPRITE_PIXELS`] pixels. Smaller fragments (a detached weapon tip,
//! a shadow, antialiased specks) join the sprite whose box is within
//! [`MERGE_DISTANCE`] px, else are dropped. (A plain dilation would also merge the
//! neighbouring frames of a strip, which are often only 1–2 px apart.) At most
//! [`MAX_SPRITES`] are kept (the largest). An image that is one blob, or has no transparency, is not
//! a sheet and gives nothing.

use image::DynamicImage;

use crate::Window;

/// Alpha above which a pixel belongs to a sprite.
pub const ALPHA_OPAQUE: u8 = 16;
/// A small fragment this close (px) to a sprite's box becomes part of that sprite.
pub const MERGE_DISTANCE: u32 = 3;
/// Smallest sprite kept, in opaque pixels.
pub const MIN_SPRITE_PIXELS: u32 = 64;
/// Most sprites kept per image (each costs one embedding).
pub const MAX_SPRITES: usize = 32;
/// Images with more pixels are not split (bounded memory for the labels).
pub const MAX_SHEET_PIXELS: u64 = 32 << 20;

/// The sprites of `image`, largest first; empty when it is not a sheet.
pub fn sprite_windows(image: &DynamicImage) -> Vec<Window> {
    if !image.color().has_alpha() {
        return Vec::new();
    }
    let (w, h) = (image.width(), image.height());
    if w == 0 || h == 0 || u64::from(w) * u64::from(h) > MAX_SHEET_PIXELS {
        return Vec::new();
    }
    let rgba = image.to_rgba8();
    let opaque: Vec<bool> = rgba.pixels().map(|p| p[3] > ALPHA_OPAQUE).collect();
    let opaque_count = opaque.iter().filter(|o| **o).count();
    if opaque_count == 0 || opaque_count == opaque.len() {
        return Vec::new();
    }
    let (mut sprites, fragments): (Vec<Blob>, Vec<Blob>) = components(&opaque, w as usize, h as usize)
        .into_iter()
        .partition(|(n, _)| *n >= MIN_SPRITE_PIXELS);
    for (n, f) in fragments {
        let near = sprites
            .iter_mut()
            .filter(|(_, s)| gap(s, &f) <= MERGE_DISTANCE)
            .min_by_key(|(_, s)| gap(s, &f));
        if let Some((count, s)) = near {
            *count += n;
            *s = union(s, &f);
        }
    }
    // One blob covering the picture is an ordinary image with a transparent border.
    if sprites.len() < 2 {
        return Vec::new();
    }
    sprites.sort_by(|a, b| b.0.cmp(&a.0).then((a.1.y, a.1.x).cmp(&(b.1.y, b.1.x))));
    sprites.truncate(MAX_SPRITES);
    sprites.into_iter().map(|(_, b)| b).collect()
}

/// A connected component: pixel count and bounding box.
type Blob = (u32, Window);

/// Pixels between two boxes (0 when they touch or overlap).
fn gap(a: &Window, b: &Window) -> u32 {
    let dx = (b.x.saturating_sub(a.x + a.w)).max(a.x.saturating_sub(b.x + b.w));
    let dy = (b.y.saturating_sub(a.y + a.h)).max(a.y.saturating_sub(b.y + b.h));
    dx.max(dy)
}

fn union(a: &Window, b: &Window) -> Window {
    let (x, y) = (a.x.min(b.x), a.y.min(b.y));
    Window {
        x,
        y,
        w: (a.x + a.w).max(b.x + b.w) - x,
        h: (a.y + a.h).max(b.y + b.h) - y,
    }
}

/// 8-connected components of `mask`: pixel count and bounding box of each.
fn components(mask: &[bool], w: usize, h: usize) -> Vec<Blob> {
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut n, mut x0, mut y0, mut x1, mut y1) = (0u32, usize::MAX, usize::MAX, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            n += 1;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    let j = yy * w + xx;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push((
            n,
            Window {
                x: x0 as u32,
                y: y0 as u32,
                w: (x1 - x0 + 1) as u32,
                h: (y1 - y0 + 1) as u32,
            },
        ));
    }
    out
}
