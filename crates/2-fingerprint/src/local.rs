//! ORB-style local features (FAST-9 corners + steered BRIEF), so a copy can be
//! verified geometrically even when it is pasted into a busy picture whose
//! texture dominates the global embeddings.
//!
//! Pipeline (all deterministic, no external feature crate):
//! 1. Luma of the image composited on mid-grey, resampled so the long side is
//!    between [`MIN_WORK_SIDE`] and [`MAX_WORK_SIDE`] (small images are enlarged
//!    so crops and thumbnails still have room for 31-px patches); the keypoint
//!    budget grows with the working area ([`keypoint_budget`]).
//! 2. A pyramid of [`LEVELS`] levels, each [`SCALE_FACTOR`] smaller (bilinear).
//! 3. FAST-9 corners (threshold [`FAST_THRESHOLD`], or [`FAST_THRESHOLD_FLAT`] on a
//!    level where that finds fewer corners than the level's budget: flat art, clipart
//!    and small sprites have few strong corners), 3x3 non-maximum suppression,
//!    ranked by the Harris response; the per-level budget shrinks by the scale
//!    factor per level (as OpenCV's ORB) and is taken round-robin over a grid of
//!    32-px cells, so a textured background cannot take it all.
//! 4. Orientation from the intensity centroid of a radius-15 disc.
//! 5. 256-bit descriptor: intensity tests on the level smoothed with a Gaussian
//!    (sigma 2), the test pattern rotated by the orientation (rBRIEF).
//!
//! The pattern is 128 point pairs drawn by a SplitMix64 generator with seed
//! [`PATTERN_SEED`] (Gaussian, sigma 31/5, clamped to +-13 px), each followed by
//! its reflection y -> -y.  Because of that pairing the descriptor of the
//! horizontally mirrored image is this descriptor with bits 2k and 2k+1 swapped
//! ([`mirror_descriptor`]), so mirrored copies are matched without a second set.
//!
//! Images with transparency: keypoints whose patch is less than
//! [`MIN_OPAQUE_SHARE`] opaque are dropped (mostly background, so they depend on
//! the grey used here).  Keypoints on the outline are kept: a sprite's silhouette
//! is most of its content, and once pasted onto a scene the tests inside the
//! sprite still agree.
//!
//! Extra keypoints ([`extract_with_extra`]): the same pipeline at four times the
//! density ([`DENSE_KEYPOINTS`]); the base set is exactly what [`extract`] returns
//! (each level's round-robin order is the same, the base set is its head), the extras
//! its continuation. A picture pasted into a scene at a third of its area gets only
//! its share of the scene's budget, and the corners chosen there rarely coincide
//! with those chosen in the reference: four of the benchmark's pasted portraits had
//! 10-12 ratio-test matches and 2-4 inliers at the base density, 17-45 matches and
//! 8-35 inliers with the extras. The match stage matches a reference's base set
//! with a candidate's base and extra keypoints, so the cost grows once, not twice.

use std::sync::OnceLock;

use image::{DynamicImage, GrayImage};

use crate::local_ops::{bilinear, fast9, harris, orientation, resize_gray, smooth};
use crate::rbrief::describe;
pub use crate::rbrief::{
    descriptor_distance, descriptor_words, mirror_descriptor, nearest_two, words_distance, PATTERN_SEED,
};
use serde::{Deserialize, Serialize};

/// Working images of elongated pictures are enlarged so their short side is at
/// least this (up to twice [`BASE_WORK_SIDE`] long).
pub const MIN_WORK_SHORT_SIDE: u32 = 96;
/// Transparent margin around images with transparency (see [`extract`]).
const SPRITE_PAD: u32 = 2 * EDGE as u32;
/// Luma of the grey transparent pixels are composited on (as `to_rgb_on_grey`).
const GREY_LUMA: u8 = 128;
/// Working images are shrunk to at most this long side. A scene is worked at up to
/// 1024 px so that a sprite pasted into it keeps its own size and detail: at 512 px
/// a pasted object lost half its size and most of its keypoints to the scene around
/// it (see [`keypoint_budget`]).
pub const MAX_WORK_SIDE: u32 = 1024;
/// ...and enlarged to at least this long side.
pub const MIN_WORK_SIDE: u32 = 320;
/// Keypoints of a working image of at most [`BASE_WORK_SIDE`]² pixels...
pub const BASE_KEYPOINTS: usize = 500;
pub const BASE_WORK_SIDE: u32 = 512;
/// ...and at most this many for larger ones (a 1024² working image).
pub const MAX_KEYPOINTS: usize = 2000;
/// Keypoints per [`BASE_WORK_SIDE`]² of working image with the extra keypoints a
/// candidate is matched with (see [`extract_with_extra`])...
pub const DENSE_KEYPOINTS: usize = 2000;
/// ...and at most this many in all.
pub const MAX_DENSE_KEYPOINTS: usize = 4000;
pub const LEVELS: usize = 8;
pub const SCALE_FACTOR: f32 = 1.2;
pub const FAST_THRESHOLD: i16 = 20;
/// Second pass on levels where [`FAST_THRESHOLD`] leaves the budget unfilled.
pub const FAST_THRESHOLD_FLAT: i16 = 8;
pub const MIN_OPAQUE_SHARE: f32 = 0.5;
/// Identifies the extractor and its parameters; descriptors with a different
/// id must not be compared.
pub const LOCAL_FEATURES_ID: &str = "orb-fast9-rbrief256-v4";

/// Radius of the orientation disc and half-size of the descriptor patch.
const PATCH_RADIUS: i32 = 15;
/// Keypoints keep this far from level borders: the rotated pattern reaches
/// 13 * sqrt(2) < 19 px from the centre.
const EDGE: i32 = 19;

/// One oriented keypoint with its descriptor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keypoint {
    /// Position in pixels of the decoded image (pixel i spans [i, i+1)).
    pub x: f32,
    pub y: f32,
    /// Diameter of the described patch in pixels of the decoded image.
    pub size: f32,
    /// Pyramid level the keypoint was found on.
    pub octave: u8,
    /// Orientation in radians (image coordinates, y down).
    pub angle: f32,
    /// 256-bit rBRIEF descriptor, hex in serialised form.
    #[serde(with = "hex32")]
    pub descriptor: [u8; 32],
}

/// The local features of one image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalFeatures {
    /// [`LOCAL_FEATURES_ID`] at extraction time; empty for "not computed".
    pub id: String,
    pub keypoints: Vec<Keypoint>,
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// Half-widths of the radius-15 disc, per row offset 0..=15.
pub(crate) fn disc() -> &'static [i32; PATCH_RADIUS as usize + 1] {
    static DISC: OnceLock<[i32; PATCH_RADIUS as usize + 1]> = OnceLock::new();
    DISC.get_or_init(|| {
        let mut d = [0; PATCH_RADIUS as usize + 1];
        let r2 = (PATCH_RADIUS * PATCH_RADIUS) as f32;
        for (v, w) in d.iter_mut().enumerate() {
            *w = (r2 - (v * v) as f32).max(0.0).sqrt().floor() as i32;
        }
        d
    })
}

struct Candidate {
    x: i32,
    y: i32,
    response: f32,
}

/// FAST corners of one level after 3x3 non-maximum suppression, best first.
fn detect(img: &GrayImage, threshold: i16) -> Vec<Candidate> {
    let (w, h) = (img.width() as i32, img.height() as i32);
    if w <= 2 * EDGE || h <= 2 * EDGE {
        return Vec::new();
    }
    let mut score = vec![0u32; (w * h) as usize];
    for y in EDGE..h - EDGE {
        for x in EDGE..w - EDGE {
            if let Some(s) = fast9(img, x, y, threshold) {
                score[(y * w + x) as usize] = s;
            }
        }
    }
    let mut out = Vec::new();
    for y in EDGE..h - EDGE {
        for x in EDGE..w - EDGE {
            let s = score[(y * w + x) as usize];
            if s == 0 {
                continue;
            }
            // Ties broken by position so the result does not depend on scan order.
            let is_max = (-1..=1).all(|dy| {
                (-1..=1).all(|dx| {
                    let o = score[((y + dy) * w + x + dx) as usize];
                    (dx == 0 && dy == 0) || o < s || (o == s && (dy, dx) > (0, 0))
                })
            });
            if is_max {
                out.push(Candidate {
                    x,
                    y,
                    response: harris(img, x, y),
                });
            }
        }
    }
    out.sort_by(|a, b| b.response.total_cmp(&a.response).then((a.y, a.x).cmp(&(b.y, b.x))));
    out
}

/// Picks up to `quota` candidates round-robin over a grid (every cell's best,
/// then every cell's second best, ...), so a strongly textured background
/// cannot take the whole budget from a smoother object pasted onto it.
fn spread(cands: Vec<Candidate>, quota: usize, w: u32, h: u32) -> Vec<Candidate> {
    const CELL: u32 = 32;
    let gw = w.div_ceil(CELL).max(1);
    let cells = (gw * h.div_ceil(CELL).max(1)) as usize;
    let mut used = vec![0usize; cells];
    // `cands` is sorted best first, so the running count is the rank in the cell.
    let mut ranked: Vec<(usize, usize, Candidate)> = cands
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let cell = ((c.y as u32 / CELL) * gw + c.x as u32 / CELL) as usize;
            let rank = used.get_mut(cell).map_or(usize::MAX, |n| {
                *n += 1;
                *n - 1
            });
            (rank, i, c)
        })
        .collect();
    ranked.sort_by_key(|&(rank, i, _)| (rank, i));
    ranked.into_iter().take(quota).map(|(_, _, c)| c).collect()
}

/// Share of opaque (alpha >= 128) samples in a disc of `radius` around (x, y).
fn opaque_share(alpha: &GrayImage, x: f32, y: f32, radius: f32) -> f32 {
    let (w, h) = (alpha.width() as i32, alpha.height() as i32);
    let (mut n, mut opaque) = (0u32, 0u32);
    for j in -4..=4 {
        for i in -4..=4 {
            if i * i + j * j > 16 {
                continue;
            }
            let xx = ((x + i as f32 * radius / 4.0) as i32).clamp(0, w - 1);
            let yy = ((y + j as f32 * radius / 4.0) as i32).clamp(0, h - 1);
            n += 1;
            if alpha.as_raw()[(yy * w + xx) as usize] >= 128 {
                opaque += 1;
            }
        }
    }
    opaque as f32 / n.max(1) as f32
}

/// Luma (BT.601) of the image composited on grey 128, and its alpha if any.
fn luma_and_alpha(image: &DynamicImage) -> (GrayImage, Option<GrayImage>) {
    let rgb = crate::to_rgb_on_grey(image);
    let (w, h) = rgb.dimensions();
    let luma: Vec<u8> = rgb
        .pixels()
        .map(|p| ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]) + 500) / 1000) as u8)
        .collect();
    let luma = GrayImage::from_raw(w, h, luma).unwrap_or_else(|| GrayImage::new(w, h));
    let alpha = image.color().has_alpha().then(|| {
        let a: Vec<u8> = image.to_rgba8().pixels().map(|p| p[3]).collect();
        GrayImage::from_raw(w, h, a).unwrap_or_else(|| GrayImage::new(w, h))
    });
    (luma, alpha)
}

/// `g` with a margin of `pad` pixels of value `value` on every side.
fn pad_with(g: &GrayImage, pad: u32, value: u8) -> GrayImage {
    if pad == 0 {
        return g.clone();
    }
    let mut out = GrayImage::from_pixel(g.width() + 2 * pad, g.height() + 2 * pad, image::Luma([value]));
    image::imageops::replace(&mut out, g, i64::from(pad), i64::from(pad));
    out
}

/// Keypoints wanted from a working image of `w` x `h` pixels: [`BASE_KEYPOINTS`]
/// per [`BASE_WORK_SIDE`]² of area, at least [`BASE_KEYPOINTS`], at most
/// [`MAX_KEYPOINTS`]. A constant density keeps an object's share of the budget the
/// same whatever the size of the scene it was pasted into (at a fixed 500, a
/// 1024-px scene gave a pasted sprite a quarter of the keypoints a 512-px one did).
pub fn keypoint_budget(w: u32, h: u32) -> usize {
    budget_at(w, h, BASE_KEYPOINTS, MAX_KEYPOINTS)
}

/// Keypoints wanted with the extras ([`extract_with_extra`]): [`DENSE_KEYPOINTS`]
/// per [`BASE_WORK_SIDE`]², never fewer than [`keypoint_budget`], at most
/// [`MAX_DENSE_KEYPOINTS`].
pub fn dense_keypoint_budget(w: u32, h: u32) -> usize {
    budget_at(w, h, DENSE_KEYPOINTS, MAX_DENSE_KEYPOINTS).max(keypoint_budget(w, h))
}

fn budget_at(w: u32, h: u32, per_base_area: usize, max: usize) -> usize {
    let base = u64::from(BASE_WORK_SIDE) * u64::from(BASE_WORK_SIDE);
    let scaled = (u64::from(w) * u64::from(h))
        .saturating_mul(per_base_area as u64)
        .div_ceil(base);
    usize::try_from(scaled).unwrap_or(max).clamp(BASE_KEYPOINTS, max)
}

/// The factor that takes an image of `w` x `h` pixels to its working size: long side
/// between [`MIN_WORK_SIDE`] and [`MAX_WORK_SIDE`]; strips (sprite rows, banners) keep
/// a short side with room for patches ([`MIN_WORK_SHORT_SIDE`]), up to twice the base
/// long side.
pub fn work_scale(w: u32, h: u32) -> f32 {
    let long = w.max(h).max(1);
    let short = w.min(h).max(1);
    let scale = if long > MAX_WORK_SIDE {
        MAX_WORK_SIDE as f32 / long as f32
    } else if long < MIN_WORK_SIDE {
        MIN_WORK_SIDE as f32 / long as f32
    } else {
        1.0
    };
    if (short as f32 * scale) < MIN_WORK_SHORT_SIDE as f32 {
        (MIN_WORK_SHORT_SIDE as f32 / short as f32).min(2.0 * BASE_WORK_SIDE as f32 / long as f32)
    } else {
        scale
    }
}

/// Local features of a decoded image (orientation already applied).
pub fn extract(image: &DynamicImage) -> LocalFeatures {
    extract_levels(image, false).0
}

/// [`extract`]'s local features and the extra keypoints that continue them to the
/// density of [`dense_keypoint_budget`] (see the module documentation).
pub fn extract_with_extra(image: &DynamicImage) -> (LocalFeatures, Vec<Keypoint>) {
    extract_levels(image, true)
}

fn extract_levels(image: &DynamicImage, with_extra: bool) -> (LocalFeatures, Vec<Keypoint>) {
    let (w, h) = (image.width(), image.height());
    let long = w.max(h);
    if long == 0 {
        return (LocalFeatures::default(), Vec::new());
    }
    let work_scale = work_scale(w, h);
    let ww = ((w as f32 * work_scale).round() as u32).max(1);
    let wh = ((h as f32 * work_scale).round() as u32).max(1);
    // From the working size before any padding: the padding is not content.
    let budget = keypoint_budget(ww, wh);
    let dense_budget = if with_extra {
        dense_keypoint_budget(ww, wh)
    } else {
        budget
    };
    let (luma, alpha) = luma_and_alpha(image);
    let resize = |g: &GrayImage| {
        if (ww, wh) == (w, h) {
            g.clone()
        } else {
            resize_gray(g, ww, wh)
        }
    };
    // A sprite's outline often touches its file's border, where no patch fits: pad
    // images with transparency with transparent grey (keypoints in the padding are
    // then dropped by the opacity test).  Opaque images are not padded: the border of
    // a photo or a crop is not part of its content.
    let pad = if alpha.is_some() { SPRITE_PAD } else { 0 };
    let base = pad_with(&resize(&luma), pad, GREY_LUMA);
    let alpha = alpha.map(|a| pad_with(&resize(&a), pad, 0));
    let (ww, wh) = (ww + 2 * pad, wh + 2 * pad);
    let pad = pad as f32;

    // Budget per level shrinking by the scale factor (not its square, as in
    // OpenCV's ORB): coarse levels are what match copies shown smaller.
    let inv_area = 1.0 / SCALE_FACTOR;
    let total: f32 = (0..LEVELS).map(|l| inv_area.powi(l as i32)).sum();
    let mut keypoints = Vec::new();
    let mut extra = Vec::new();
    let mut prev = base.clone();
    for level in 0..LEVELS {
        let f = SCALE_FACTOR.powi(level as i32);
        let lw = (ww as f32 / f).round() as u32;
        let lh = (wh as f32 / f).round() as u32;
        if lw <= 2 * EDGE as u32 || lh <= 2 * EDGE as u32 {
            break;
        }
        // Each level from the previous one, as ORB does.
        let img = if level == 0 {
            base.clone()
        } else {
            bilinear(&prev, lw, lh)
        };
        prev = img.clone();
        // Exact per-axis factors back to working pixels.
        let (sx, sy) = (ww as f32 / lw as f32, wh as f32 / lh as f32);
        let share = inv_area.powi(level as i32) / total;
        let quota = (budget as f32 * share).round() as usize;
        let dense_quota = (dense_budget as f32 * share).round() as usize;
        let opaque_enough = |cands: &mut Vec<Candidate>| {
            if let Some(a) = &alpha {
                cands.retain(|c| {
                    let (x, y) = ((c.x as f32 + 0.5) * sx, (c.y as f32 + 0.5) * sy);
                    opaque_share(a, x, y, PATCH_RADIUS as f32 * sx) >= MIN_OPAQUE_SHARE
                });
            }
        };
        let mut cands = detect(&img, FAST_THRESHOLD);
        opaque_enough(&mut cands);
        if cands.len() < quota {
            // Flat art: weaker corners are still its corners (ranked after the strong ones by Harris).
            cands = detect(&img, FAST_THRESHOLD_FLAT);
            opaque_enough(&mut cands);
        }
        // The base set is the head of the round-robin order, so it does not depend on
        // whether the extras are wanted.
        let chosen = spread(cands, dense_quota.max(quota), lw, lh);
        if chosen.is_empty() {
            continue;
        }
        let smoothed = smooth(&img);
        for (rank, c) in chosen.into_iter().enumerate() {
            let (px, py) = ((c.x as f32 + 0.5) * sx - pad, (c.y as f32 + 0.5) * sy - pad);
            if px < 0.0 || py < 0.0 || px > (ww as f32 - 2.0 * pad) || py > (wh as f32 - 2.0 * pad) {
                continue; // centred in the padding
            }
            let angle = orientation(&img, c.x, c.y);
            let descriptor = describe(&smoothed, c.x, c.y, angle);
            // Back to decoded-image pixels; rounded to 0.1 px to keep JSON short.
            let round = |v: f32| (v * 10.0).round() / 10.0;
            let kp = Keypoint {
                x: round(px / work_scale),
                y: round(py / work_scale),
                size: round((2 * PATCH_RADIUS + 1) as f32 * sx / work_scale),
                octave: level as u8,
                angle: (angle * 1000.0).round() / 1000.0,
                descriptor,
            };
            if rank < quota {
                keypoints.push(kp);
            } else {
                extra.push(kp);
            }
        }
    }
    keypoints.truncate(budget);
    extra.truncate(dense_budget.saturating_sub(keypoints.len()));
    let features = LocalFeatures {
        id: LOCAL_FEATURES_ID.to_string(),
        keypoints,
    };
    (features, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypoint_budget_follows_the_working_area() {
        assert_eq!(keypoint_budget(320, 200), BASE_KEYPOINTS);
        assert_eq!(keypoint_budget(512, 512), BASE_KEYPOINTS);
        assert_eq!(keypoint_budget(1024, 768), 1500);
        assert_eq!(keypoint_budget(1024, 1024), MAX_KEYPOINTS);
        assert_eq!(keypoint_budget(u32::MAX, u32::MAX), MAX_KEYPOINTS);
    }

    #[test]
    fn dense_budget_is_four_times_the_base_density_within_its_bounds() {
        assert_eq!(dense_keypoint_budget(320, 200), BASE_KEYPOINTS);
        assert_eq!(dense_keypoint_budget(512, 512), DENSE_KEYPOINTS);
        assert_eq!(dense_keypoint_budget(512, 1024), MAX_DENSE_KEYPOINTS);
        assert_eq!(dense_keypoint_budget(1024, 1024), MAX_DENSE_KEYPOINTS);
        assert_eq!(dense_keypoint_budget(u32::MAX, u32::MAX), MAX_DENSE_KEYPOINTS);
    }

    /// The base set must not depend on whether the extras are wanted: references are
    /// matched with it, and stored fingerprints of either kind must agree.
    #[test]
    fn extras_continue_the_base_set_without_changing_it() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coffee.png");
        // Enlarged to a scene's size, where the budget with the extras is four times
        // the base one (an enlarged photo has fewer corners than that: 575 + 1,069).
        let img = image::open(path)
            .expect("test photo")
            .resize_exact(672, 448, image::imageops::FilterType::Triangle);
        let base = extract(&img);
        let (with, extra) = extract_with_extra(&img);
        assert_eq!(with, base);
        let (w, h) = (img.width(), img.height());
        println!(
            "{w}x{h}: {} base, {} extra keypoints",
            base.keypoints.len(),
            extra.len()
        );
        assert!(extra.len() > base.keypoints.len(), "{}", extra.len());
        assert!(base.keypoints.len() + extra.len() <= dense_keypoint_budget(w, h));
        // Extras are other corners, not repeats of the base set.
        let repeats = extra
            .iter()
            .filter(|e| {
                base.keypoints
                    .iter()
                    .any(|k| k.octave == e.octave && k.x == e.x && k.y == e.y)
            })
            .count();
        assert_eq!(repeats, 0);
    }

    #[test]
    fn fast_finds_the_corners_of_a_square() {
        let mut img = GrayImage::from_pixel(100, 100, image::Luma([40]));
        for y in 30..70 {
            for x in 30..70 {
                img.put_pixel(x, y, image::Luma([220]));
            }
        }
        let c = detect(&img, FAST_THRESHOLD);
        assert!(!c.is_empty());
        for k in c.iter().take(4) {
            let near = |v: i32| (v - 30).abs() <= 2 || (v - 69).abs() <= 2;
            assert!(near(k.x) && near(k.y), "({}, {})", k.x, k.y);
        }
        // Flat images have no corners.
        assert!(detect(&GrayImage::from_pixel(100, 100, image::Luma([90])), FAST_THRESHOLD_FLAT).is_empty());
    }

    #[test]
    fn mirrored_image_gives_mirrored_descriptors() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coffee.png");
        let img = image::open(path).expect("test photo").to_luma8();
        let a = extract(&DynamicImage::ImageLuma8(img.clone()));
        let b = extract(&DynamicImage::ImageLuma8(image::imageops::flip_horizontal(&img)));
        assert!(a.keypoints.len() > 50, "{}", a.keypoints.len());
        let w = a.keypoints.len() as f32;
        let mut close = 0;
        for k in &a.keypoints {
            let md = mirror_descriptor(&k.descriptor);
            let x = img.width() as f32 - k.x;
            if b.keypoints.iter().any(|o| {
                (o.x - x).abs() < 1.0 && (o.y - k.y).abs() < 1.0 && descriptor_distance(&o.descriptor, &md) < 40
            }) {
                close += 1;
            }
        }
        assert!(close as f32 > 0.6 * w, "{close} of {w}");
    }
}
