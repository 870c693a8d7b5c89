//! Alignment by search: where local features fit no geometry, find where the
//! reference's pixels lie in the candidate by sliding its thumbnail over the
//! candidate's, starting from the windows whose embeddings matched best.
//!
//! Keypoints need corners. A glow, a fog tile, a muzzle flash, a flat map or a
//! clipart drawing cropped to a third has none, or too few to fit a geometry, and
//! its crops were matched by embeddings alone: on the 1,000-reference benchmark, 35 %
//! crops of a reference whose best window embedded at cosine 1.00 against the
//! candidate still scored below hundreds of unrelated images, for nothing checked
//! that the pixels are the same. The embedding match says roughly where and at what
//! scale (a window is 60 % of each side, on a 20 % stride); a search over nearby
//! scales and shifts of the grey-level thumbnails says whether the pixels are there.
//!
//! Where the search starts: each of the best-matching pairs of windows (in a sprite
//! sheet many frames look alike, and the best pair may be two different frames), and
//! the whole images, which also try the candidate as a crop of the reference at its own
//! pixel size wherever it lies (as most crops are made). A coarse grid that follows the
//! matched window is searched first, two finer ones refine the best place, and the
//! verdict is [`crate::pixel_correlation`]'s at that place, over every cell with some
//! content: the grey levels are those over neutral grey, as a crop of a transparent
//! picture keeps them.
//!
//! The search maximises a correlation, so unrelated pictures reach a higher value
//! than along a transform from keypoints; the score weighs this evidence apart
//! (`searched_pixel_agreement`) and the calibration learns how much it is worth.
//! Mirrored copies are not searched: they keep their keypoints (rBRIEF is matched
//! mirrored) and their PDQ hash.

use std::borrow::Cow;

use image::{imageops, imageops::FilterType};
use serde::{Deserialize, Serialize};
use xiezhi_fingerprint::Fingerprint;

use crate::pixels::{correlate, plane, Cells, Plane};

mod shift_search;
use shift_search::best_shift;

/// Search levels: cells across the long side of the candidate's matched window (fewer
/// when the candidate's thumbnail has fewer pixels there), scale factors tried around
/// the level's starting scale, and the shift radius in cells around its starting place.
/// The first level searches widely on a coarse grid, the next two refine on finer ones.
/// The grid follows the window, not the image: a sprite matched in a large picture
/// would be a cell or two on a grid of the whole picture. (The first level's radius is
/// [`FIRST_RADIUS_SHARE`] of the window, or the whole range for the same-size start.)
const LEVELS: [(f32, &[f32], i32); 3] = [
    (20.0, &[0.8, 0.87, 0.93, 1.0, 1.07, 1.15, 1.25], 0),
    (40.0, &[0.95, 1.0, 1.05], 2),
    (80.0, &[0.98, 1.0, 1.02], 1),
];
/// Shift searched on the first level around the windows' placement, as a share of the
/// candidate window's long side (a 60 % window is off a crop or a paste by up to 10 %
/// of the image's side, 17 % of its own, plus the scale error).
const FIRST_RADIUS_SHARE: f32 = 0.2;
/// Scales tried on the first level for the whole-image hypothesis that the candidate is
/// a crop of the reference, or the reference pasted into it, at its own pixel size (the
/// windows' sizes then say nothing: the whole of each image matched best).
const SAME_SIZE_SCALES: [f32; 3] = [0.93, 1.0, 1.07];
/// The reference's cells compared are at least this opaque (of 255). Low, because the
/// grey levels are those of the picture over neutral grey, as a crop keeps them, and on
/// a coarse grid a line drawing or a sprite sheet averages to cells that are mostly
/// transparent (the map of Norway had no cell half opaque on the first level).
const OPAQUE_REFERENCE: u8 = 32;
// The candidate's cells are compared whatever their opacity (over grey as well: a
// reference shape where the candidate is transparent is a difference); how much content
// each picture has is counted at the same opacity as the reference's cells.
/// Fewest cells compared on a search level (the first is coarse: 20 cells a side).
const MIN_SEARCH_CELLS: usize = 12;
/// A placement counts only where the compared cells are at least this share of the
/// smaller of the two pictures' opaque cells: a sliding window finds some small
/// patch of any picture that correlates with some small patch of another.
const MIN_OVERLAP_SHARE: f32 = 0.5;
/// Templates larger than this many cells on a side are not searched (a reference
/// window matched against a tiny part of the candidate would ask for a huge one).
const MAX_TEMPLATE_SIDE: u32 = 512;

/// Where the best-matching windows lie: `[x, y, w, h]` in pixels of each image (the
/// whole image when the match was of the whole image).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowPair {
    pub reference: [u32; 4],
    pub candidate: [u32; 4],
}

/// The outcome of [`search_alignment`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchedPixels {
    /// Similarity [a, b, tx, ty] from reference to candidate pixels (b is 0: no
    /// rotation is searched), as [`crate::LocalMatch::transform`].
    pub transform: [f32; 4],
    /// [x, y, w, h] in the candidate of the reference placed there, clipped to it.
    pub bbox: [u32; 4],
    /// Correlation of the grey levels there (-1..=1), as [`crate::pixel_correlation`]
    /// computes it.
    pub correlation: f32,
    /// The same of their detail (as [`crate::PixelCheck::detail`]).
    pub detail_correlation: Option<f32>,
    /// Thumbnail pixels compared.
    pub compared: u32,
    /// Their colour difference there (as [`crate::PixelCheck::chroma_difference`]);
    /// `None` in signals stored before it existed.
    #[serde(default)]
    pub chroma_difference: Option<f32>,
}

/// A grid of one picture: grey level and opacity per cell.
struct Grid {
    w: i32,
    h: i32,
    luma: Vec<u8>,
    alpha: Vec<u8>,
    /// Cells at least [`OPAQUE_REFERENCE`] opaque: how much the picture shows.
    content: usize,
}

impl Grid {
    fn of(p: &Plane, w: u32, h: u32) -> Grid {
        let (w, h) = (w.max(1), h.max(1));
        let resized = if (w, h) == p.dimensions() {
            p.clone()
        } else if w <= p.width() && h <= p.height() {
            imageops::thumbnail(p, w, h)
        } else {
            imageops::resize(p, w, h, FilterType::Triangle)
        };
        let (luma, alpha): (Vec<u8>, Vec<u8>) = resized.pixels().map(|px| (px.0[0], px.0[1])).unzip();
        let content = alpha.iter().filter(|a| **a >= OPAQUE_REFERENCE).count();
        Grid {
            w: w as i32,
            h: h as i32,
            luma,
            alpha,
            content,
        }
    }
}

/// The candidate's grid with about `side` cells across `window` candidate pixels, no
/// finer than its thumbnail nor than `finest` cells per candidate pixel (where the
/// reference's thumbnail shows it: a template enlarged from a coarser thumbnail is
/// blurred, and correlated 0.71 instead of 0.9 with a sharp crop), and the grid cells
/// per candidate pixel.
fn candidate_grid(cp: &Plane, candidate: &Fingerprint, side: f32, window: f32, finest: f32) -> (Grid, f32) {
    let ((w, h), per_pixel) = candidate_grid_size(cp, candidate, side, window, finest);
    (Grid::of(cp, w, h), per_pixel)
}

/// The size of [`candidate_grid`]'s grid and its cells per candidate pixel, without
/// resampling the thumbnail.
fn candidate_grid_size(cp: &Plane, candidate: &Fingerprint, side: f32, window: f32, finest: f32) -> ((u32, u32), f32) {
    let thumb_per_pixel = cp.width() as f32 / candidate.width.max(1) as f32;
    let g = grid_per_pixel(cp, candidate, side, window, finest) / thumb_per_pixel;
    // As `Grid::of` sizes it: at least one cell a side.
    let (w, h) = (
        ((cp.width() as f32 * g).round() as u32).max(1),
        ((cp.height() as f32 * g).round() as u32).max(1),
    );
    ((w, h), w as f32 / candidate.width as f32)
}

/// Cells per candidate pixel at which the reference's thumbnail shows it at `scale`.
fn finest(rp: &Plane, reference: &Fingerprint, scale: f32) -> f32 {
    rp.width() as f32 / reference.width.max(1) as f32 / scale.max(f32::MIN_POSITIVE)
}

/// Cells per candidate pixel of [`candidate_grid`].
fn grid_per_pixel(cp: &Plane, candidate: &Fingerprint, side: f32, window: f32, finest: f32) -> f32 {
    let thumb_per_pixel = cp.width() as f32 / candidate.width.max(1) as f32;
    (side / window.max(1.0)).min(finest).min(thumb_per_pixel)
}

/// The reference's template at `scale` (candidate pixels per reference pixel) on a
/// grid of `per_pixel` cells per candidate pixel, and the scale it really has after
/// rounding to whole cells.
fn template(part: &Plane, (pw, ph): (f32, f32), scale: f32, per_pixel: f32) -> Option<(Grid, f32)> {
    let w = (pw * scale * per_pixel).round();
    let h = (ph * scale * per_pixel).round();
    if w < 3.0 || h < 3.0 || w > MAX_TEMPLATE_SIDE as f32 || h > MAX_TEMPLATE_SIDE as f32 {
        return None;
    }
    let grid = Grid::of(part, w as u32, h as u32);
    let real = 0.5 * (w / (pw * per_pixel) + h / (ph * per_pixel));
    Some((grid, real))
}

/// The part of the reference's thumbnail within `focus` ([x, y, w, h] in reference
/// pixels; all of it without), its origin and its size in reference pixels.
fn reference_part<'a>(
    rp: &'a Plane,
    reference: &Fingerprint,
    focus: Option<[f32; 4]>,
) -> (Cow<'a, Plane>, (f32, f32), (f32, f32)) {
    let (rw, rh) = (reference.width as f32, reference.height as f32);
    let whole = || (Cow::Borrowed(rp), (0.0, 0.0), (rw, rh));
    let Some([x, y, w, h]) = focus else {
        return whole();
    };
    let k = rp.width() as f32 / rw;
    let x0 = (x.max(0.0) * k).floor() as u32;
    let y0 = (y.max(0.0) * k).floor() as u32;
    let x1 = (((x + w).min(rw) * k).ceil() as u32).min(rp.width());
    let y1 = (((y + h).min(rh) * k).ceil() as u32).min(rp.height());
    if x1 <= x0 || y1 <= y0 {
        return whole();
    }
    let part = imageops::crop_imm(rp, x0, y0, x1 - x0, y1 - y0).to_image();
    let origin = (x0 as f32 / k, y0 as f32 / k);
    (Cow::Owned(part), origin, ((x1 - x0) as f32 / k, (y1 - y0) as f32 / k))
}

/// One placement of the reference in the candidate: scale (candidate pixels per
/// reference pixel) and the candidate pixel its top-left corner lands on.
#[derive(Clone, Copy)]
struct Placement {
    scale: f32,
    shift: (f32, f32),
}

/// Where a level's search starts.
struct Start<'a> {
    at: Placement,
    /// Scale factors tried around `at.scale`.
    factors: &'a [f32],
    /// Shift radius in cells around `at`; [`FIRST_RADIUS_SHARE`] of the window when `None`.
    radius: Option<(i32, i32)>,
    /// Only this part of the reference is compared ([x, y, w, h] in its pixels): on the
    /// first level, the matched window and its surroundings, so that a sprite matched in a
    /// large sheet is not searched for with the whole sheet (the finer levels compare all).
    focus: Option<[f32; 4]>,
}

/// The best placement at one level: each of `starts` tried at each of its scale factors.
fn search_level(
    rp: &Plane,
    cp: &Plane,
    reference: &Fingerprint,
    candidate: &Fingerprint,
    (side, window): (f32, f32),
    starts: &[Start],
) -> Option<(f32, Placement)> {
    let (rw, rh) = (reference.width as f32, reference.height as f32);
    let largest = starts.iter().map(|s| s.at.scale).fold(f32::MIN_POSITIVE, f32::max);
    let (target, per_pixel) = candidate_grid(cp, candidate, side, window, finest(rp, reference, largest));
    let mut best: Option<(f32, Placement)> = None;
    for Start {
        at: start,
        factors,
        radius,
        focus,
    } in starts
    {
        // Scaling keeps the centre of the start placement where it is.
        let centre = (
            start.shift.0 + start.scale * rw / 2.0,
            start.shift.1 + start.scale * rh / 2.0,
        );
        let (part, origin, size) = reference_part(rp, reference, *focus);
        for f in *factors {
            let Some((t, scale)) = template(&part, size, start.scale * f, per_pixel) else {
                continue;
            };
            let shift = (centre.0 - scale * rw / 2.0, centre.1 - scale * rh / 2.0);
            // Where the part's top-left cell lands.
            let from = (
                ((shift.0 + scale * origin.0) * per_pixel).round() as i32,
                ((shift.1 + scale * origin.1) * per_pixel).round() as i32,
            );
            let radius = radius.unwrap_or_else(|| {
                let r = (FIRST_RADIUS_SHARE * window * per_pixel).ceil() as i32;
                (r.max(2), r.max(2))
            });
            if let Some((c, ox, oy)) = best_shift(&t, &target, from, radius) {
                if best.is_none_or(|b| c > b.0) {
                    let shift = (
                        ox as f32 / per_pixel - scale * origin.0,
                        oy as f32 / per_pixel - scale * origin.1,
                    );
                    best = Some((c, Placement { scale, shift }));
                }
            }
        }
    }
    best
}

/// Searches scale and shift of the reference in the candidate near the placement each
/// of `windows` gives (the best-matching pairs of windows: in a sprite sheet many frames
/// look alike, and the best pair may be two different frames), and returns the pixel
/// comparison at the best place found; `None` without thumbnails, when nothing
/// comparable overlaps, or over flat pixels.
pub fn search_alignment(
    reference: &Fingerprint,
    candidate: &Fingerprint,
    windows: &[WindowPair],
) -> Option<SearchedPixels> {
    let (rt, ct) = (reference.thumbnail.as_ref()?, candidate.thumbnail.as_ref()?);
    let (rp, cp) = (plane(rt)?, plane(ct)?);
    windows
        .iter()
        .filter_map(|w| search_from(&rp, &cp, reference, candidate, *w))
        .max_by(|a, b| a.correlation.total_cmp(&b.correlation))
}

fn search_from(
    rp: &Plane,
    cp: &Plane,
    reference: &Fingerprint,
    candidate: &Fingerprint,
    windows: WindowPair,
) -> Option<SearchedPixels> {
    let [rx, ry, rw, rh] = windows.reference.map(|v| v as f32);
    let [cx, cy, cw, ch] = windows.candidate.map(|v| v as f32);
    if reference.width == 0 || reference.height == 0 || candidate.width == 0 || rw <= 0.0 || rh <= 0.0 {
        return None;
    }
    // The windows' placement: scale from their sizes, shift from their centres.
    let scale = ((cw / rw) * (ch / rh)).sqrt();
    if !scale.is_finite() || scale <= 0.0 {
        return None;
    }
    let windows_start = Placement {
        scale,
        shift: (
            cx + cw / 2.0 - scale * (rx + rw / 2.0),
            cy + ch / 2.0 - scale * (ry + rh / 2.0),
        ),
    };
    let window = cw.max(ch);
    // The reference window and a margin of the search radius around it.
    let margin = FIRST_RADIUS_SHARE * rw.max(rh);
    let mut starts = vec![Start {
        at: windows_start,
        factors: LEVELS[0].1,
        radius: None,
        focus: Some([rx - margin, ry - margin, rw + 2.0 * margin, rh + 2.0 * margin]),
    }];
    let whole = windows.reference == [0, 0, reference.width, reference.height]
        && windows.candidate == [0, 0, candidate.width, candidate.height];
    if whole {
        // The candidate anywhere inside the reference at its pixel size, or the
        // reference anywhere inside the candidate: every shift on the coarse grid.
        let (_, per_pixel) = candidate_grid_size(cp, candidate, LEVELS[0].0, window, finest(rp, reference, 1.0));
        let (dw, dh) = (
            candidate.width as f32 - reference.width as f32,
            candidate.height as f32 - reference.height as f32,
        );
        let radius = |d: f32| ((d.abs() / 2.0 + 0.1 * d.abs().max(1.0)) * per_pixel).ceil() as i32 + 1;
        let same_size = Placement {
            scale: 1.0,
            shift: (dw / 2.0, dh / 2.0),
        };
        starts.push(Start {
            at: same_size,
            factors: &SAME_SIZE_SCALES,
            radius: Some((radius(dw), radius(dh))),
            focus: None,
        });
    }
    let (_, mut best) = search_level(rp, cp, reference, candidate, (LEVELS[0].0, window), &starts)?;
    let mut resolution = grid_per_pixel(cp, candidate, LEVELS[0].0, window, finest(rp, reference, best.scale));
    for (side, factors, radius) in &LEVELS[1..] {
        // A level no finer than the last (both thumbnails are already at their own
        // resolution there) would search the same cells again.
        let finer = grid_per_pixel(cp, candidate, *side, window, finest(rp, reference, best.scale));
        if finer < resolution * 1.2 {
            continue;
        }
        resolution = finer;
        let start = [Start {
            at: best,
            factors,
            radius: Some((*radius, *radius)),
            focus: None,
        }];
        let (_, refined) = search_level(rp, cp, reference, candidate, (*side, window), &start)?;
        best = refined;
    }
    verdict(reference, candidate, best)
}

/// The comparison at the place found, as [`crate::pixel_correlation`] makes it (its grid,
/// sub-pixel shifts and detail), over every cell of the reference with some content and
/// the candidate's cells whatever their opacity (see [`OPAQUE_REFERENCE`]).
fn verdict(reference: &Fingerprint, candidate: &Fingerprint, at: Placement) -> Option<SearchedPixels> {
    let transform = [at.scale, 0.0, at.shift.0, at.shift.1];
    let check = correlate(
        reference,
        candidate,
        (transform, false),
        &[&[Cells::Opaque(f32::from(OPAQUE_REFERENCE))]],
        0.0,
    )?;
    Some(SearchedPixels {
        transform,
        bbox: clipped_box(transform, reference, candidate),
        correlation: check.correlation,
        detail_correlation: check.detail,
        compared: u32::try_from(check.pixels).unwrap_or(u32::MAX),
        chroma_difference: check.chroma_difference,
    })
}

/// The reference's outline placed by `transform` (no rotation), clipped to the candidate.
fn clipped_box([s, _, tx, ty]: [f32; 4], reference: &Fingerprint, candidate: &Fingerprint) -> [u32; 4] {
    let clip = |v: f32, len: u32| v.clamp(0.0, len as f32);
    let (x0, y0) = (clip(tx, candidate.width), clip(ty, candidate.height));
    let x1 = clip(tx + s * reference.width as f32, candidate.width);
    let y1 = clip(ty + s * reference.height as f32, candidate.height);
    [
        x0.round() as u32,
        y0.round() as u32,
        (x1 - x0).round() as u32,
        (y1 - y0).round() as u32,
    ]
}
