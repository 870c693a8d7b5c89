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

use crate::pixels::{correlate, plane, Plane};

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

/// The best correlation of `template` placed with its top-left cell at `(ox, oy)` of
/// `target`, over the shifts within `radius` of `(cx, cy)`.
fn best_shift(template: &Grid, target: &Grid, (cx, cy): (i32, i32), (rx, ry): (i32, i32)) -> Option<(f32, i32, i32)> {
    let rows = TemplateRows::of(template);
    let smaller = template.content.min(target.content);
    let needed = ((MIN_OVERLAP_SHARE * smaller as f32).ceil() as usize).max(MIN_SEARCH_CELLS);
    let mut best: Option<(f32, i32, i32)> = None;
    for oy in cy.saturating_sub(ry)..=cy.saturating_add(ry) {
        for ox in cx.saturating_sub(rx)..=cx.saturating_add(rx) {
            let sums = rows.overlap(target, ox, oy);
            if (sums.n as usize) < needed {
                continue;
            }
            if let Some(c) = sums.correlation() {
                if best.is_none_or(|b| c > b.0) {
                    best = Some((c, ox, oy));
                }
            }
        }
    }
    best
}

/// A template prepared for [`best_shift`]'s inner loop, which sums over every opaque
/// template cell that lands on the target at one shift. Row by row, the overlap is one
/// run of cells: the template's own sums over it come from prefix sums, and the sums
/// involving the target are a branch-free loop over three byte rows that the compiler
/// vectorises. The sums are integers, so the order of summation changes nothing.
struct TemplateRows<'a> {
    template: &'a Grid,
    /// 1 where the cell is at least [`OPAQUE_REFERENCE`] opaque, else 0.
    opaque: Vec<u8>,
    /// The grey level where opaque, else 0.
    luma: Vec<u8>,
    /// Per row, `w + 1` prefix sums of (opaque cells, their grey levels, their squares).
    prefix: Vec<(u32, u32, u32)>,
}

impl<'a> TemplateRows<'a> {
    fn of(template: &'a Grid) -> Self {
        // `row_sums` counts in 32 bits (see there); `template` never makes wider ones.
        debug_assert!(template.w <= MAX_TEMPLATE_SIDE as i32);
        let opaque: Vec<u8> = template
            .alpha
            .iter()
            .map(|a| u8::from(*a >= OPAQUE_REFERENCE))
            .collect();
        let luma: Vec<u8> = template.luma.iter().zip(&opaque).map(|(l, o)| l * o).collect();
        let w = template.w.max(0) as usize;
        let mut prefix = Vec::with_capacity(template.h.max(0) as usize * (w + 1));
        for (o_row, l_row) in opaque.chunks_exact(w.max(1)).zip(luma.chunks_exact(w.max(1))) {
            let mut acc = (0u32, 0u32, 0u32);
            prefix.push(acc);
            for (o, l) in o_row.iter().zip(l_row) {
                let l = u32::from(*l);
                acc = (acc.0 + u32::from(*o), acc.1 + l, acc.2 + l * l);
                prefix.push(acc);
            }
        }
        TemplateRows {
            template,
            opaque,
            luma,
            prefix,
        }
    }

    /// The sums over the opaque template cells that land on `target` with the
    /// template's top-left cell at `(ox, oy)`.
    fn overlap(&self, target: &Grid, ox: i32, oy: i32) -> Sums {
        let (tw, th) = (self.template.w, self.template.h);
        let (u0, u1) = (ox.saturating_neg().max(0), tw.min(target.w.saturating_sub(ox)));
        let (v0, v1) = (oy.saturating_neg().max(0), th.min(target.h.saturating_sub(oy)));
        let mut sums = Sums::default();
        if u0 >= u1 || v0 >= v1 {
            return sums;
        }
        let (u0, u1, run) = (u0 as usize, u1 as usize, (u1 - u0) as usize);
        for v in v0..v1 {
            let at = v as usize * tw as usize;
            let p = &self.prefix[v as usize * (tw as usize + 1)..];
            sums.n += u64::from(p[u1].0 - p[u0].0);
            sums.x += u64::from(p[u1].1 - p[u0].1);
            sums.xx += u64::from(p[u1].2 - p[u0].2);
            let t0 = ((v + oy) * target.w + u0 as i32 + ox) as usize;
            let (y, yy, xy) = row_sums(
                &self.opaque[at + u0..at + u1],
                &self.luma[at + u0..at + u1],
                &target.luma[t0..t0 + run],
            );
            sums.y += y;
            sums.yy += yy;
            sums.xy += xy;
        }
        sums
    }
}

/// Over one run of cells: the target's grey levels where the template is opaque, their
/// squares, and their products with the template's grey levels. A row is at most
/// [`MAX_TEMPLATE_SIDE`] cells, so 32-bit lanes cannot overflow (512 × 255² < 2³²).
fn row_sums(opaque: &[u8], luma: &[u8], target: &[u8]) -> (u64, u64, u64) {
    let (mut y, mut yy, mut xy) = (0u32, 0u32, 0u32);
    for ((o, l), t) in opaque.iter().zip(luma).zip(target) {
        let t = u32::from(*t);
        let masked = u32::from(*o) * t;
        y += masked;
        yy += masked * t;
        xy += u32::from(*l) * t;
    }
    (u64::from(y), u64::from(yy), u64::from(xy))
}

/// Running sums of grey-level pairs, exact in integers (the search's inner loop: no
/// list of pairs, no floating point until the end).
#[derive(Default)]
struct Sums {
    n: u64,
    x: u64,
    y: u64,
    xx: u64,
    yy: u64,
    xy: u64,
}

impl Sums {
    #[cfg(test)]
    fn add(&mut self, x: u8, y: u8) {
        let (x, y) = (u64::from(x), u64::from(y));
        self.n += 1;
        self.x += x;
        self.y += y;
        self.xx += x * x;
        self.yy += y * y;
        self.xy += x * y;
    }

    /// Pearson correlation; `None` below [`MIN_SEARCH_CELLS`] or over a flat side (as
    /// the pixel check's correlation: less than about 1 grey level of deviation).
    fn correlation(&self) -> Option<f32> {
        if (self.n as usize) < MIN_SEARCH_CELLS {
            return None;
        }
        let n = self.n as f64;
        // n² times the (co)variances.
        let vx = n * self.xx as f64 - (self.x as f64).powi(2);
        let vy = n * self.yy as f64 - (self.y as f64).powi(2);
        let cov = n * self.xy as f64 - self.x as f64 * self.y as f64;
        if vx < n * n || vy < n * n {
            return None;
        }
        Some((cov / (vx * vy).sqrt()) as f32)
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
        &[f32::from(OPAQUE_REFERENCE)],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(w: i32, h: i32, next: &mut impl FnMut() -> u64) -> Grid {
        let n = (w * h) as usize;
        let luma: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        // A third transparent, some barely opaque, the rest opaque.
        let alpha: Vec<u8> = (0..n)
            .map(|_| [0, 31, 32, 200, 255, 255][(next() % 6) as usize])
            .collect();
        let content = alpha.iter().filter(|a| **a >= OPAQUE_REFERENCE).count();
        Grid {
            w,
            h,
            luma,
            alpha,
            content,
        }
    }

    /// The sums as the definition reads: every opaque template cell that lands on the target.
    fn sums_by_cells(template: &Grid, target: &Grid, ox: i32, oy: i32) -> Sums {
        let mut sums = Sums::default();
        for v in 0..template.h {
            for u in 0..template.w {
                let i = (v * template.w + u) as usize;
                let (x, y) = (u + ox, v + oy);
                if template.alpha[i] >= OPAQUE_REFERENCE && x >= 0 && y >= 0 && x < target.w && y < target.h {
                    sums.add(template.luma[i], target.luma[(y * target.w + x) as usize]);
                }
            }
        }
        sums
    }

    /// Row runs with prefix sums give exactly the cell-by-cell sums at every shift,
    /// inside, across each edge and off the target.
    #[test]
    fn row_sums_equal_cell_sums_at_every_shift() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (tw, th, gw, gh) in [
            (5, 4, 20, 15),
            (20, 15, 6, 5),
            (1, 1, 3, 3),
            (13, 9, 13, 9),
            (40, 3, 9, 30),
        ] {
            let template = grid(tw, th, &mut next);
            let target = grid(gw, gh, &mut next);
            let rows = TemplateRows::of(&template);
            for oy in -th - 1..=gh + 1 {
                for ox in -tw - 1..=gw + 1 {
                    let (a, b) = (rows.overlap(&target, ox, oy), sums_by_cells(&template, &target, ox, oy));
                    assert_eq!(
                        (a.n, a.x, a.y, a.xx, a.yy, a.xy),
                        (b.n, b.x, b.y, b.xx, b.yy, b.xy),
                        "template {tw}x{th} on {gw}x{gh} at ({ox}, {oy})"
                    );
                }
            }
        }
    }

    /// The search finds a template cut out of the target where it was cut, with
    /// correlation 1, from a start a few cells off.
    #[test]
    fn best_shift_finds_a_cut_out_part() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut target = grid(30, 20, &mut next);
        target.alpha.iter_mut().for_each(|a| *a = 255);
        target.content = target.alpha.len();
        let (x0, y0, w, h) = (11, 6, 8, 7);
        let mut template = grid(w, h, &mut next);
        for v in 0..h {
            for u in 0..w {
                template.luma[(v * w + u) as usize] = target.luma[((y0 + v) * 30 + x0 + u) as usize];
            }
        }
        let (c, ox, oy) = best_shift(&template, &target, (x0 - 3, y0 + 2), (4, 4)).expect("a place");
        assert_eq!((ox, oy), (x0, y0));
        assert!((c - 1.0).abs() < 1e-6, "{c}");
    }
}
