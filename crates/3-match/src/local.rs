//! Geometric verification with local features: descriptor matching, then a
//! RANSAC similarity transform.  A copy (cropped, pasted, scaled, rotated,
//! mirrored) keeps many keypoints in one consistent geometry; unrelated
//! pictures only produce scattered chance matches.

use std::borrow::Cow;

use xiezhi_fingerprint::{descriptor_words, mirror_descriptor, DescriptorTable, Fingerprint, Keypoint};

/// Matches farther than this (bits of 256) are not considered.
pub const MAX_DESCRIPTOR_DISTANCE: u32 = 64;
/// Lowe's ratio test: best distance < ratio * second best.
pub const RATIO: f32 = 0.8;
pub const RANSAC_ITERATIONS: usize = 500;
/// Inlier tolerance as a share of the candidate's diagonal.
pub const INLIER_TOLERANCE: f32 = 0.02;
/// Keypoint orientations must agree with the transform's rotation this well.
const MAX_ANGLE_ERROR: f32 = std::f32::consts::PI / 6.0;
/// Keypoint sizes must agree with the transform's scale within this factor
/// (pyramid levels are 1.3 apart, so the true ratio is blurred by ~1.3).
const MAX_SIZE_RATIO_ERROR: f32 = 2.0;
/// Fewer inliers than this never yield a box or coverage: with two points any
/// pair of matches defines a similarity, so tiny consensus sets are chance.
pub const MIN_INLIERS_FOR_GEOMETRY: u32 = 6;

/// Outcome of [`verify`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalMatch {
    pub matches: u32,
    pub inliers: u32,
    pub mirrored: bool,
    /// [x, y, w, h] in the candidate of the reference's outline under the transform.
    pub bbox: Option<[u32; 4]>,
    pub coverage: f32,
    /// The fitted similarity [a, b, tx, ty] mapping reference pixels to
    /// candidate pixels: x' = a*x - b*y + tx, y' = b*x + a*y + ty, applied
    /// after mirroring the reference (x -> width - x) when `mirrored`.
    /// Present exactly when `bbox` is.
    pub transform: Option<[f32; 4]>,
    /// Share (0..1) of the reference's area spanned by the bounding box of the
    /// inliers' reference positions: chance consensus sets cluster, a copy's
    /// inliers spread over the part of the reference that is shown.
    pub spread: f32,
}

#[derive(Clone, Copy)]
struct Pair {
    r: (f32, f32),
    c: (f32, f32),
    /// Candidate angle minus reference angle.
    dangle: f32,
    /// Candidate size over reference size.
    dsize: f32,
}

/// Similarity c = z * r + t with z = (a, b) as a complex number.
#[derive(Clone, Copy, Debug)]
struct Similarity {
    a: f32,
    b: f32,
    tx: f32,
    ty: f32,
}

impl Similarity {
    fn apply(&self, p: (f32, f32)) -> (f32, f32) {
        (
            self.a * p.0 - self.b * p.1 + self.tx,
            self.b * p.0 + self.a * p.1 + self.ty,
        )
    }

    fn scale(&self) -> f32 {
        self.a.hypot(self.b)
    }

    fn rotation(&self) -> f32 {
        self.b.atan2(self.a)
    }

    fn from_two(p: &Pair, q: &Pair) -> Option<Self> {
        let (dx, dy) = (q.r.0 - p.r.0, q.r.1 - p.r.1);
        let (ex, ey) = (q.c.0 - p.c.0, q.c.1 - p.c.1);
        let n = dx * dx + dy * dy;
        if n < 1.0 {
            return None;
        }
        // z = e / d (complex division).
        let a = (ex * dx + ey * dy) / n;
        let b = (ey * dx - ex * dy) / n;
        Some(Similarity {
            a,
            b,
            tx: p.c.0 - (a * p.r.0 - b * p.r.1),
            ty: p.c.1 - (b * p.r.0 + a * p.r.1),
        })
    }

    /// Least-squares similarity over the given pairs.
    fn fit(pairs: &[Pair]) -> Option<Self> {
        let n = pairs.len() as f32;
        if pairs.len() < 2 {
            return None;
        }
        let mr = pairs.iter().fold((0.0, 0.0), |s, p| (s.0 + p.r.0, s.1 + p.r.1));
        let mc = pairs.iter().fold((0.0, 0.0), |s, p| (s.0 + p.c.0, s.1 + p.c.1));
        let (mr, mc) = ((mr.0 / n, mr.1 / n), (mc.0 / n, mc.1 / n));
        let (mut sa, mut sb, mut ss) = (0f32, 0f32, 0f32);
        for p in pairs {
            let (rx, ry) = (p.r.0 - mr.0, p.r.1 - mr.1);
            let (cx, cy) = (p.c.0 - mc.0, p.c.1 - mc.1);
            sa += rx * cx + ry * cy;
            sb += rx * cy - ry * cx;
            ss += rx * rx + ry * ry;
        }
        if ss < 1.0 {
            return None;
        }
        let (a, b) = (sa / ss, sb / ss);
        Some(Similarity {
            a,
            b,
            tx: mc.0 - (a * mr.0 - b * mr.1),
            ty: mc.1 - (b * mr.0 + a * mr.1),
        })
    }

    fn plausible(&self) -> bool {
        let s = self.scale();
        s.is_finite() && (0.05..=20.0).contains(&s)
    }
}

fn angle_diff(a: f32) -> f32 {
    let t = std::f32::consts::TAU;
    let r = a.rem_euclid(t);
    r.min(t - r)
}

fn is_inlier(m: &Similarity, p: &Pair, tol: f32) -> bool {
    let q = m.apply(p.r);
    let err = (q.0 - p.c.0).hypot(q.1 - p.c.1);
    let size_ratio = p.dsize / m.scale();
    err <= tol
        && angle_diff(p.dangle - m.rotation()) <= MAX_ANGLE_ERROR
        && (1.0 / MAX_SIZE_RATIO_ERROR..=MAX_SIZE_RATIO_ERROR).contains(&size_ratio)
}

/// Deterministic xorshift64* so the same pair always gives the same answer.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

/// Ratio-test matches, at most one per candidate keypoint. `candidate_words` holds the
/// candidate's descriptors (this loop compares every reference keypoint with every
/// candidate keypoint).
fn tentative(
    reference: &[Keypoint],
    mirror_width: Option<f32>,
    candidate: &[&Keypoint],
    candidate_words: &DescriptorTable,
) -> Vec<Pair> {
    let mut best_for_cand: Vec<Option<(u32, Pair)>> = vec![None; candidate.len()];
    for r in reference {
        let (desc, x, angle) = match mirror_width {
            // See xiezhi_fingerprint::local: mirroring permutes descriptor bits
            // and maps the orientation θ to π − θ.
            Some(w) => (
                mirror_descriptor(&r.descriptor),
                w - r.x,
                std::f32::consts::PI - r.angle,
            ),
            None => (r.descriptor, r.x, r.angle),
        };
        let (d1, d2, j1) = candidate_words.nearest_two(&descriptor_words(&desc));
        if d1 > MAX_DESCRIPTOR_DISTANCE || (d1 as f32) >= RATIO * d2 as f32 {
            continue;
        }
        let c = candidate[j1];
        if r.size <= 0.0 || !r.size.is_finite() || !c.size.is_finite() {
            continue;
        }
        let pair = Pair {
            r: (x, r.y),
            c: (c.x, c.y),
            dangle: c.angle - angle,
            dsize: c.size / r.size,
        };
        if best_for_cand[j1].as_ref().is_none_or(|(d, _)| d1 < *d) {
            best_for_cand[j1] = Some((d1, pair));
        }
    }
    best_for_cand.into_iter().flatten().map(|(_, p)| p).collect()
}

fn ransac(pairs: &[Pair], tol: f32) -> Option<(Similarity, u32)> {
    if pairs.len() < 2 {
        return None;
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut best: Option<(Similarity, u32)> = None;
    for _ in 0..RANSAC_ITERATIONS {
        let i = rng.below(pairs.len());
        let j = rng.below(pairs.len());
        if i == j {
            continue;
        }
        let Some(m) = Similarity::from_two(&pairs[i], &pairs[j]) else {
            continue;
        };
        if !m.plausible() {
            continue;
        }
        let n = pairs.iter().filter(|p| is_inlier(&m, p, tol)).count() as u32;
        if best.as_ref().is_none_or(|(_, b)| n > *b) {
            best = Some((m, n));
        }
    }
    // One hypothesis per match from its own keypoint scale and orientation: with a
    // copy pasted into a busy picture only a few % of the matches are inliers, and
    // random pairs of matches then rarely hit two of them.  Keypoint scales are
    // pyramid-quantised, so each is counted loosely, refitted, then counted exactly.
    for p in pairs {
        let (s, c) = p.dangle.sin_cos();
        let z = (p.dsize * c, p.dsize * s);
        let m = Similarity {
            a: z.0,
            b: z.1,
            tx: p.c.0 - (z.0 * p.r.0 - z.1 * p.r.1),
            ty: p.c.1 - (z.1 * p.r.0 + z.0 * p.r.1),
        };
        if !m.plausible() {
            continue;
        }
        let loose: Vec<Pair> = pairs.iter().copied().filter(|q| is_inlier(&m, q, 3.0 * tol)).collect();
        if (loose.len() as u32) <= best.as_ref().map_or(1, |b| b.1) {
            continue;
        }
        let Some(r) = Similarity::fit(&loose) else { continue };
        if !r.plausible() {
            continue;
        }
        let n = pairs.iter().filter(|q| is_inlier(&r, q, tol)).count() as u32;
        if best.as_ref().is_none_or(|(_, b)| n > *b) {
            best = Some((r, n));
        }
    }
    let (mut m, mut n) = best?;
    // Two refinement rounds: refit on the consensus set, keep if not worse.
    for _ in 0..2 {
        let inl: Vec<Pair> = pairs.iter().copied().filter(|p| is_inlier(&m, p, tol)).collect();
        let Some(r) = Similarity::fit(&inl) else { break };
        let rn = pairs.iter().filter(|p| is_inlier(&r, p, tol)).count() as u32;
        if !r.plausible() || rn < n {
            break;
        }
        (m, n) = (r, rn);
    }
    Some((m, n))
}

/// Tolerance rounds of [`refine`], as shares of the inlier tolerance.
const REFINE_TOLERANCES: [f32; 2] = [0.5, 0.25];
/// The tightest tolerance [`refine`] uses, in candidate pixels (keypoint positions
/// are rounded to the pixel of their pyramid level).
const REFINE_MIN_TOLERANCE: f32 = 1.5;

/// The consensus is counted with a tolerance of 2 % of the candidate's diagonal
/// (keypoint positions of coarse pyramid levels are that rough), so a least-squares
/// fit over it also bends towards the near-miss matches of a repetitive texture (a
/// star field, a brick wall): a pasted photo came out turned by 2°. Refitting on
/// the matches within a half, then a quarter of that tolerance straightens the
/// transform, which places the overlay exhibit and the pixel check. Kept only when
/// the tighter set is not a small minority and the refit still explains at least
/// 90 % of the consensus at the full tolerance.
fn refine(m: Similarity, n: u32, pairs: &[Pair], tol: f32) -> Similarity {
    let mut best = m;
    for share in REFINE_TOLERANCES {
        let tight = (tol * share).max(REFINE_MIN_TOLERANCE);
        let inl: Vec<Pair> = pairs.iter().copied().filter(|p| is_inlier(&best, p, tight)).collect();
        if (inl.len() as u32) < MIN_INLIERS_FOR_GEOMETRY.max(n / 3) {
            break;
        }
        let Some(r) = Similarity::fit(&inl) else { break };
        let kept = pairs.iter().filter(|p| is_inlier(&r, p, tol)).count() as u32;
        if !r.plausible() || kept * 10 < n * 9 {
            break;
        }
        best = r;
    }
    best
}

/// Area of a simple polygon (shoelace).
fn area(poly: &[(f32, f32)]) -> f32 {
    let mut s = 0.0;
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
        s += a.0 * b.1 - b.0 * a.1;
    }
    (s / 2.0).abs()
}

/// Sutherland–Hodgman clip of a convex polygon to [0,w]x[0,h].
fn clip(poly: Vec<(f32, f32)>, w: f32, h: f32) -> Vec<(f32, f32)> {
    // Each edge: inside test and intersection with the boundary line.
    type Edge = (fn(&(f32, f32), f32) -> f32, usize, f32);
    let edges: [Edge; 4] = [
        (|p, _| p.0, 0, 0.0),
        (|p, v| v - p.0, 0, w),
        (|p, _| p.1, 1, 0.0),
        (|p, v| v - p.1, 1, h),
    ];
    let mut out = poly;
    for (inside, axis, bound) in edges {
        let input = std::mem::take(&mut out);
        for i in 0..input.len() {
            let (cur, prev) = (input[i], input[(i + input.len() - 1) % input.len()]);
            let (dc, dp) = (inside(&cur, bound), inside(&prev, bound));
            let cross = || {
                let t = dp / (dp - dc);
                let p = (prev.0 + t * (cur.0 - prev.0), prev.1 + t * (cur.1 - prev.1));
                // Snap onto the boundary against rounding.
                if axis == 0 {
                    (bound, p.1)
                } else {
                    (p.0, bound)
                }
            };
            if dc >= 0.0 {
                if dp < 0.0 {
                    out.push(cross());
                }
                out.push(cur);
            } else if dp >= 0.0 {
                out.push(cross());
            }
        }
    }
    out
}

/// Area of the bounding box of the inliers' reference positions over `ref_area`.
fn inlier_spread(m: &Similarity, pairs: &[Pair], tol: f32, ref_area: f32) -> f32 {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in pairs.iter().filter(|p| is_inlier(m, p, tol)) {
        (x0, y0, x1, y1) = (x0.min(p.r.0), y0.min(p.r.1), x1.max(p.r.0), y1.max(p.r.1));
    }
    if x1 < x0 || ref_area <= 0.0 {
        return 0.0;
    }
    ((x1 - x0) * (y1 - y0) / ref_area).clamp(0.0, 1.0)
}

/// The keypoints a reference is matched with: its base set and, for a sprite on a
/// transparent canvas, those of its opaque box at the box's own resolution
/// ([`Fingerprint::box_keypoints`]). The candidate's own box keypoints are not used: its
/// dense extras already cover what it shows.
pub fn reference_keypoints(reference: &Fingerprint) -> Cow<'_, [Keypoint]> {
    if reference.box_keypoints.is_empty() {
        Cow::Borrowed(&reference.local.keypoints)
    } else {
        Cow::Owned([&reference.local.keypoints[..], &reference.box_keypoints].concat())
    }
}

/// Matches the reference's keypoints (as is and mirrored) against the
/// candidate's and keeps the geometry with the larger consensus.
pub fn verify(reference: &Fingerprint, candidate: &Fingerprint) -> LocalMatch {
    let rk = reference_keypoints(reference);
    // Descriptors from different extractors (or none) are not comparable.
    if rk.is_empty() || candidate.local.keypoints.is_empty() || reference.local.id != candidate.local.id {
        return LocalMatch::default();
    }
    // The candidate's extra keypoints too (same extractor): a picture pasted into it
    // at a fraction of its area needs them; the reference's base set suffices, and
    // the cost grows with both counts.
    let ck: Vec<&Keypoint> = candidate
        .local
        .keypoints
        .iter()
        .chain(&candidate.extra_keypoints)
        .collect();
    let (cw, ch) = (candidate.width as f32, candidate.height as f32);
    let tol = INLIER_TOLERANCE * cw.hypot(ch);
    let mut best = LocalMatch::default();
    let mut best_model = None;
    let mut best_pairs = Vec::new();
    let words = DescriptorTable::new(ck.iter().map(|k| descriptor_words(&k.descriptor)).collect());
    for mirrored in [false, true] {
        let pairs = tentative(&rk, mirrored.then_some(reference.width as f32), &ck, &words);
        let found = ransac(&pairs, tol);
        let inliers = found.as_ref().map_or(0, |f| f.1);
        if inliers > best.inliers || (!mirrored && best.matches == 0) {
            best = LocalMatch {
                matches: pairs.len() as u32,
                inliers,
                mirrored,
                ..LocalMatch::default()
            };
            best_model = found.map(|f| f.0);
            best_pairs = pairs;
        }
    }
    if best.inliers < MIN_INLIERS_FOR_GEOMETRY {
        return best;
    }
    let Some(m) = best_model else { return best };
    let (rw, rh) = (reference.width as f32, reference.height as f32);
    best.spread = inlier_spread(&m, &best_pairs, tol, rw * rh);
    let m = refine(m, best.inliers, &best_pairs, tol);
    // Mirrored keypoints live in the mirrored reference, whose outline is the
    // same rectangle, so the outline maps the same way in both cases.
    let outline: Vec<(f32, f32)> = [(0.0, 0.0), (rw, 0.0), (rw, rh), (0.0, rh)]
        .into_iter()
        .map(|p| m.apply(p))
        .collect();
    let full = area(&outline);
    let inside = clip(outline, cw, ch);
    if full <= 0.0 || inside.len() < 3 {
        return best;
    }
    best.coverage = (area(&inside) / full).clamp(0.0, 1.0);
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in &inside {
        (x0, y0, x1, y1) = (x0.min(p.0), y0.min(p.1), x1.max(p.0), y1.max(p.1));
    }
    let (x0, y0) = (x0.max(0.0).round() as u32, y0.max(0.0).round() as u32);
    let (x1, y1) = (x1.min(cw).round() as u32, y1.min(ch).round() as u32);
    best.bbox = Some([x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0)]);
    best.transform = Some([m.a, m.b, m.tx, m.ty]);
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_and_area() {
        let sq = vec![(-10.0, -10.0), (10.0, -10.0), (10.0, 10.0), (-10.0, 10.0)];
        assert_eq!(area(&sq), 400.0);
        let c = clip(sq, 100.0, 100.0);
        assert!((area(&c) - 100.0).abs() < 1e-3, "{c:?}");
    }

    #[test]
    fn similarity_from_two_points_recovers_rotation_and_scale() {
        let truth = Similarity {
            a: 0.5 * 0.3f32.cos(),
            b: 0.5 * 0.3f32.sin(),
            tx: 10.0,
            ty: -4.0,
        };
        let mk = |r: (f32, f32)| Pair {
            r,
            c: truth.apply(r),
            dangle: 0.3,
            dsize: 0.5,
        };
        let (p, q) = (mk((3.0, 4.0)), mk((50.0, -20.0)));
        let m = Similarity::from_two(&p, &q).expect("model");
        assert!((m.scale() - 0.5).abs() < 1e-4 && (m.rotation() - 0.3).abs() < 1e-4);
        let f = Similarity::fit(&[p, q, mk((7.0, 70.0))]).expect("fit");
        assert!((f.tx - 10.0).abs() < 1e-3 && (f.ty + 4.0).abs() < 1e-3);
        assert!(is_inlier(&f, &mk((100.0, 100.0)), 1.0));
    }

    /// A pasted copy: 10 true matches among 400 chance ones (2.5 %).  Random pairs
    /// of matches hit two true ones with probability ~0.06 % per draw; each true
    /// match's own scale and orientation propose the right transform directly.
    #[test]
    fn a_few_percent_of_inliers_are_found_and_their_spread_measured() {
        let truth = Similarity {
            a: 0.6 * 0.2f32.cos(),
            b: 0.6 * 0.2f32.sin(),
            tx: 300.0,
            ty: 120.0,
        };
        let mut rng = Rng(7);
        let mut pairs = Vec::new();
        for k in 0..10 {
            // True matches spread over the reference's left half (200x400 of 400x400).
            let r = ((k % 5) as f32 * 45.0 + 10.0, (k / 5) as f32 * 350.0 + 20.0);
            pairs.push(Pair {
                r,
                c: truth.apply(r),
                dangle: 0.2 + 0.05,
                dsize: 0.6 * 1.15,
            });
        }
        for _ in 0..400 {
            let r = (rng.below(400) as f32, rng.below(400) as f32);
            let c = (rng.below(1000) as f32, rng.below(800) as f32);
            let dangle = rng.below(628) as f32 / 100.0;
            pairs.push(Pair {
                r,
                c,
                dangle,
                dsize: 0.5 + rng.below(100) as f32 / 100.0,
            });
        }
        let tol = INLIER_TOLERANCE * 1000f32.hypot(800.0);
        let (m, n) = ransac(&pairs, tol).expect("a model");
        assert!(n >= 10, "{n} inliers");
        assert!(
            (m.scale() - 0.6).abs() < 0.03 && (m.rotation() - 0.2).abs() < 0.03,
            "{m:?}"
        );
        let spread = inlier_spread(&m, &pairs, tol, 400.0 * 400.0);
        // The true inliers span 180 x 350 px of the 400 x 400 reference (0.39).
        assert!((0.38..0.45).contains(&spread), "{spread}");
    }

    /// A star field: besides the true matches, near-miss matches to neighbouring
    /// stars all within the loose tolerance, biased one way around the centre. The
    /// consensus fit turns with them; the refit on the tight matches does not.
    #[test]
    fn refinement_straightens_a_fit_bent_by_near_misses() {
        let truth = Similarity {
            a: 1.4,
            b: 0.0,
            tx: 130.0,
            ty: 390.0,
        };
        let tol = INLIER_TOLERANCE * 533f32.hypot(800.0); // 19 px
        let mut pairs = Vec::new();
        let mut push = |r: (f32, f32), off: (f32, f32)| {
            let c = truth.apply(r);
            pairs.push(Pair {
                r,
                c: (c.0 + off.0, c.1 + off.1),
                dangle: 0.0,
                dsize: 1.4,
            });
        };
        for k in 0..60 {
            push(((k % 8) as f32 * 32.0 + 8.0, (k / 8) as f32 * 32.0 + 8.0), (0.0, 0.0));
        }
        for k in 0..40 {
            // Offsets of 0.8 tol, tangential around the reference's centre (128, 128).
            let r = ((k % 8) as f32 * 32.0 + 20.0, (k / 8) as f32 * 48.0 + 20.0);
            let (dx, dy) = (r.0 - 128.0, r.1 - 128.0);
            let n = dx.hypot(dy).max(1.0);
            push(r, (-dy / n * 0.8 * tol, dx / n * 0.8 * tol));
        }
        let bent = Similarity::fit(&pairs).expect("fit");
        assert!(bent.rotation().abs() > 0.01, "{bent:?}");
        let n = pairs.iter().filter(|p| is_inlier(&bent, p, tol)).count() as u32;
        let m = refine(bent, n, &pairs, tol);
        assert!(m.rotation().abs() < 0.002, "{m:?}");
        assert!((m.scale() - 1.4).abs() < 0.005, "{m:?}");
    }
}
