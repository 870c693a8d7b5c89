//! Xiezhi match stage: compares a reference [`Fingerprint`] with a candidate,
//! combines the signals into one score and explains it in a plain sentence.

mod align;
mod calibration;
mod explain;
pub mod index;
pub mod keypoint_index;
mod local;
mod located;
mod pixels;
mod rivals;
mod score;
#[cfg(test)]
mod test_support;

use serde::{Deserialize, Serialize};
use xiezhi_fingerprint::{hamming, Fingerprint, PdqHash, DIHEDRAL_NAMES};

pub use align::{search_alignment, SearchedPixels, WindowPair};
pub use calibration::{calibration, Calibration, ERROR_RATES};
pub use explain::{explain, explain_among, Standing};
pub use index::{IndexEntry, IndexError, ReferenceIndex};
pub use keypoint_index::{KeypointIndex, KeypointIndexBuilder};
pub use local::{verify, LocalMatch, MIN_INLIERS_FOR_GEOMETRY};
pub use located::{
    located_box, located_opacity, set_located_cosines, LOCATED_MASK_MIN_INLIERS, LOCATED_MAX_SHARE, LOCATED_MIN_SIDE,
};
pub use pixels::{chroma_difference, pixel_correlation, PixelCheck};
pub use rivals::{mark_rivals, RIVAL_INLIER_SHARE, RIVAL_OVERLAP, RIVAL_PIXEL_TERM};
pub use score::{
    colour_agreement, colour_term, detail_term, features, local_term, pdq_counts, pdq_term, pixel_term, score,
    searched_pixel_term, strength, CHROMA_DIFFERENCE_NONE, FEATURE_NAMES, LOCAL_INLIERS_FULL, LOCAL_INLIERS_LOG_CAP,
    LOCAL_INLIERS_NONE, PDQ_MIN_QUALITY, PIXEL_CORRELATION_FULL, PIXEL_CORRELATION_NONE, PIXEL_DETAIL_FULL,
    PIXEL_DETAIL_NONE, PIXEL_DETAIL_UNKNOWN,
};
pub use xiezhi_fingerprint;

/// PDQ's published same-picture threshold (Hamming distance, bits of 256).
pub const PDQ_MATCH_THRESHOLD: u32 = 31;
/// Which references a candidate is compared with in full (the engine's shortlist; the
/// benchmark harness uses the same numbers): the nearest distinct references of each
/// query embedding (whole image and each window)… Measured at 1,000 references
/// (`detect-bench --shortlist-stats --shortlist 48`, 3,000 copies and 3,000 unrelated
/// images): 48 instead of 16 puts the true reference of 0.900 instead of 0.876 of pasted
/// copies in the shortlist (combinations 0.967 instead of 0.955), for 2.5 times the full
/// comparisons (92 instead of 36 references per unrelated image); not taken. Matched in
/// full on the eval split (committed weights), 48 found fewer pastes at precision 0.99
/// (0.784 → 0.772): 8 more compared, 9 more beaten by another reference, and a higher
/// cut-off, as every unrelated image met three times as many references.
pub const SHORTLIST_NEIGHBOURS_PER_VECTOR: usize = 16;
/// …every reference within this PDQ distance (twice Meta's threshold)…
pub const SHORTLIST_PDQ_DISTANCE: u32 = 2 * PDQ_MATCH_THRESHOLD;
/// …and the references with the most keypoint votes ([`KeypointIndex`]).
pub const SHORTLIST_KEYPOINT_REFERENCES: usize = 8;

/// Region cosine from which a comparison without a keypoint geometry searches for the
/// reference's pixels ([`search_alignment`]). Below it, the windows say too little about
/// where to look. Of the pairs the benchmark's shortlist compares, 15 % have no keypoint
/// geometry and a window at or above it.
pub const SEARCH_MIN_REGION_COSINE: f32 = 0.7;

/// The best-matching window pairs a search starts from (see [`search_alignment`]).
pub const SEARCH_STARTS: usize = 4;

/// How the score is computed, for the evidence report.
pub const METHOD: &str = "\
Signals (reference R, candidate C):
- exact_bytes: SHA-256 of the files are equal; exact_pixels: SHA-256 over (width, height, RGBA8 pixels) are equal.
- pdq_distance: smallest Hamming distance (0..256 bits) between C's PDQ hash and the PDQ hashes of the 8 rotations/mirrorings of R (pdq_transform names the winner). Same-picture threshold published by Meta: 31.
- embedding_cosine: cosine similarity of the L2-normalised EfficientNet-Lite0 (ImageNet) 1280-d global-average-pool embeddings of the whole images.
- located_cosine: when keypoints placed R in a part of C (local_inliers > 5; local_box, clipped to C, at least 32 px on each side and at most 80 % of C's area), C's pixels in that box are embedded as the windows are and compared with R's whole-image embedding: a picture pasted into a scene at a third of its area leaves C's global embedding mostly showing the scene, and the fixed windows seldom frame it. When R has transparency and the geometry has 12 inliers or more, C's pixels are first laid over neutral grey where R, placed there (its thumbnail's opacity, by the transform), is transparent, as R's own embedding sees it: a sprite pasted on a scene shows the scene through its holes.
- region_cosine: best cosine over the whole images and fixed windows (9 at 60 % of each side on a 3x3 grid, offsets 0/20/40 %, and each sprite of a sprite sheet; windows less than 15 % opaque or of one colour, luma standard deviation below 4 of 255, are left out because they carry no content): R-window vs whole C (C is a crop of R), whole R vs C-window (R pasted into C), R-window vs C-window (shared part); never below embedding_cosine.
- local_inliers: ORB-style local features (FAST-9 corners on a 1.2x image pyramid, contrast threshold 20, lowered to 8 on pyramid levels with too few corners such as flat art; 256-bit steered BRIEF descriptors; on a working copy whose long side is 320 to 1024 px and whose short side is at least 96 px when the long side can grow to 1024 px, so sprite strips have room for patches; 500 per 512 x 512 px of working copy, at least 500 and at most 2,000, spread over a grid of 32-px cells, so a small picture pasted into a large scene keeps its detail and its share of keypoints; images with transparency are padded with transparent grey and keep only keypoints whose patch is at least 50 % opaque, so the outline of a sprite counts, also where it touches the file's border; when R has transparency and the box of its opaque pixels would be worked at least 1.5 times finer on its own, as a small figure on a large transparent canvas, R also has that box's keypoints, extracted at the box's own working size, so that copies showing the figure enlarged meet keypoints of about their scale) are matched between R (as is and mirrored) and C, whose keypoints continue to four times that density (2,000 per 512 x 512 px, at most 4,000: a picture pasted into C at a third of its area gets only its share of C's keypoints, and at the base density too few of them were the corners chosen in R) (Hamming distance <= 64 bits, Lowe ratio 0.8, one match per C keypoint; local_matches counts them); a similarity transform (rotation, uniform scale, shift) is fitted by RANSAC (500 fixed-seed iterations), and local_inliers counts the matches it maps within 2 % of C's diagonal with consistent keypoint orientation (30 degrees) and size (factor 2). Besides random pairs of matches, every match also proposes the transform given by its own keypoint scale and orientation (refitted on the matches it explains), so a copy whose inliers are a few % of the matches, as when it is pasted into a busy picture, is still found. With 6 or more inliers the transform is refitted on the matches within a half, then a quarter of that tolerance (at least 1.5 px), so that near-miss matches of a repetitive texture (a star field) do not turn it, and R's outline is mapped into C: local_box is its bounding box there, local_coverage the share of R's area inside C, local_mirrored whether R had to be mirrored.
- pixel_correlation: with that transform, R's pixels are placed in C and compared: both fingerprints keep a grey-level thumbnail (luma over neutral grey, long side 160 px, area-averaged, with its opacity); on a grid in R's frame at half the resolution at which the coarser of the two thumbnails shows R, the Pearson correlation of R's grey levels (pixels at least 90 % opaque; at least half opaque when those give no verdict, as for thin strokes such as a title logo's letters) with C's (bilinear, opaque pixels), best of 9 sub-pixel shifts (0 or ±0.5 of C's thumbnail pixel); no value below 32 compared pixels or over flat pixels. When R has transparency its silhouette is compared as well, and the higher correlation is kept: every cell of the box of R's half-opaque cells (one cell wider), R laid over the mean grey level C shows at the cells where R is at most 10 % opaque (at least 8 of them) instead of over neutral grey (a flat silhouette, such as a black footprint, a map's mask or line art with holes, has one grey level in its opaque cells, so their correlation is chance; its outline against what it was pasted on is what shows it). pixel_detail_correlation: the same correlation, at the same shift, of the detail: each grid value minus the mean of its 3x3 neighbourhood, over the grid cells whose whole neighbourhood was compared (two smooth glows on black, such as two galaxies, correlate as wholes; their detail does not). Keypoints say 'same kind of picture'; sprites of one art style share a dozen keypoints in one geometry without sharing their pixels, a crop or a paste keeps them. pixel_chroma_difference: at the same shift and cells, the mean distance between R's and C's colour, (Cb, Cr) of BT.601 in units of 0..255 (both fingerprints keep the colour of their thumbnail at half its resolution, 80 px on the long side, area-averaged over neutral grey; sampled bilinearly at each compared cell's centre): grey levels are blind to hue, so two flags of plain stripes with one layout (Bulgaria and the Dutch navy ensign) correlate at 1.00, and their colours differ by tens of units.
- searched_pixels: when keypoints give 5 inliers or fewer and the region cosine is at least 0.7, R's pixels are searched for in C: starting from each of the 4 best-matching window pairs (placement and scale from the windows' sizes and centres) and from the whole images (also as a crop of R, or R pasted in C, at R's own pixel size, anywhere), scales 0.8-1.25 times and shifts up to 20 % of the matched window are tried on a grid of 20 cells across that window, the best place is refined on grids of 40 and 80 cells (never finer than either thumbnail shows R), and the place with the highest correlation is compared as pixel_correlation does, over every cell of R that is at least 1/8 opaque and C's cells whatever their opacity (both over neutral grey, as a crop of a transparent picture keeps them): correlation, detail correlation, cells compared, the colour difference as pixel_chroma_difference measures it, the scale and shift (no rotation, no mirror: rotated and mirrored copies keep their keypoints). A glow, a fog tile, a flat drawing cropped to a third has no corners; the embeddings say roughly where and at what scale, the search says whether the pixels are there.
Score: 1.0 when exact_bytes or exact_pixels; otherwise a calibrated logistic regression
  score = sigmoid(bias + sum of w_i * f_i), every weight >= 0 so that no signal can lower the score (monotone), over
  f1 pdq_similarity = max(0, 1 - pdq_distance/128) * min(pdq_quality, 50)/50 (damped for low-detail images, whose hashes are unreliable),
  f2 pdq_same_picture = min(pdq_quality, 50)/50 when pdq_distance <= 31, else 0,
  both 0 when pdq_transform is neither identity nor mirror (a turn of the reference, or an upside-down flip) and local_inliers <= 5 (flat art such as flags hashes alike under those turns; a rotated copy keeps its keypoints, which are rotation-invariant),
  f3 embedding_cosine, or located_cosine when it is higher (the reference's resemblance to C as a whole or to the place keypoints put it), and f4 region_cosine (both 0 when the embeddings come from different models),
  f5 local_verified = clamp((local_inliers - 5) / 7, 0, 1) (0 up to 5 inliers, the most seen on unrelated test images; 1 from 12),
  f6 local_inlier_log = min(1, ln(1 + max(local_inliers - 5, 0)) / ln(51)) (keeps growing with the evidence up to 55 inliers),
  f7 local_coverage when local_inliers > 5, else 0,
  f8 local_spread = sqrt(share of R's area spanned by the bounding box of the inliers' positions in R) when local_inliers > 5, else 0 (a copy's inliers cover the part of R it shows; chance consensus sets cluster in a few % of it),
  f9 pixel_agreement = clamp((pixel_correlation - 0.6) / 0.35, 0, 1) x clamp((pixel_detail_correlation - 0.2) / 0.4, 0, 1) when local_inliers > 5, else 0 (the first factor is 0 up to about the median of unrelated images that passed geometric verification on the benchmark, 1 from 0.95; the second 0 up to 0.2, where the detail of unrelated verified pairs lies (median 0.05), 1 from 0.6, and 1 when the detail could not be compared), divided by 1 + rival_references: the number of other references compared with the same candidate whose own pixel agreement there is at least 0.2 (before this division), with at least half this match's inliers, at a place overlapping this match's box by at least 30 % of the smaller box (a five-pointed star verifies against every flag with one; a copy seldom shows a part that another reference shows as well, and a reference that explains the place with far fewer inliers is a weaker explanation, not a rival),
  f10 pixel_confirmed_inliers = f6 x f9 (the evidence of many inliers counts as far as the pixels confirm it: when it was added, on the benchmark's held-out half, this product lifted µAP from 0.948 to 0.951 and recall at precision 0.99 of pasted copies from 0.69 to 0.72, and did no harm with the halves swapped),
  f11 searched_pixel_agreement = the ramps of f9 over the searched_pixels correlation and detail, 0 without a search (a separate feature because a search that maximises a correlation finds more agreement between unrelated pictures than a transform from keypoints does: the fit weighs it on its own),
  f12 colour_agreement = the larger of f9 x clamp(1 - pixel_chroma_difference/10, 0, 1) and f11 x clamp(1 - searched chroma difference/10, 0, 1), 0 without a colour comparison (grey levels that agree in the same colours: a reference's crops and rotations differ by about 1 unit in the median, unrelated pictures whose grey levels agreed and scored 0.5 or more by 10; a separate feature that adds, never a penalty, so that a recoloured copy, whose grey levels agree, only misses this bonus).
The weights and bias are in models/calibration.json (built into the program). They were fitted with scikit-learn (L2, C = 10) on the training half of Xiezhi's copy-detection benchmark (bench/detect: real images from Debian packages, 12 kinds of edited copies, unrelated images; references split in halves so that related references, such as one asset's variants, fall in the same half): positives are each edited copy paired with its own reference, negatives every pair the shortlist proposed for an unrelated image. Pairs of an edited copy with another reference are left out of the fit because references of the benchmark can share content with each other (variants of one portrait, cards of one deck), so such a pair is not a clean negative. The score is thus an estimate of the probability that the candidate is a copy of the reference at the benchmark's mix of copies and unrelated images; the precision and recall measured at the thresholds the product uses (0.5, 0.9, 0.99), on the held-out half only, overall and per kind of edit, are in models/METHOD-error-rates.md.
The logit (bias + sum of w_i * f_i; infinite for identical bytes or pixels) orders as the score does but keeps telling strong matches apart where the score rounds to 1.00: the benchmark ranks by it, and so does the choice of an animation's best-matching frame.
Shortlist: each candidate is compared in full with the references shortlisted for it: the 16 nearest distinct references of each of its embeddings (whole image and windows) in the reference index, every reference within PDQ distance 62, and the 8 references with the most keypoint votes (each of C's descriptors, the extra ones included, votes for the reference holding its nearest descriptor within 48 bits, when no other reference holds one within 0.85 of that distance; 3 votes at least), so that a small sprite pasted into a large scene, which no window resembles as a whole, is still compared; matches are ranked by this score.";

/// Raw comparison signals between a reference and a candidate fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    pub exact_bytes: bool,
    pub exact_pixels: bool,
    /// Min over the reference's 8 dihedral PDQ variants vs the candidate's hash.
    pub pdq_distance: u32,
    /// Which transform of the reference gave `pdq_distance` (see [`DIHEDRAL_NAMES`]).
    pub pdq_transform: String,
    /// Lower of the two PDQ qualities (0..=100).
    pub pdq_quality: u32,
    /// False when the two embeddings come from different models (embedding
    /// signals are then 0 and must not be used).
    pub same_model: bool,
    pub embedding_cosine: f32,
    pub region_cosine: f32,
    /// "whole image", "candidate is part of the reference",
    /// "reference inside candidate" or "shared part".
    pub region_kind: String,
    /// Window [x, y, w, h] of the best region match: in the reference for
    /// "candidate is part of the reference", otherwise in the candidate; None
    /// for "whole image".
    pub region_box: Option<[u32; 4]>,
    /// Local-feature matches that passed the ratio test (0 when either
    /// fingerprint has no keypoints, e.g. one cached before they existed).
    #[serde(default)]
    pub local_matches: u32,
    /// Of those, the ones agreeing with the best similarity transform.
    #[serde(default)]
    pub local_inliers: u32,
    /// [x, y, w, h] in the candidate of the reference's outline under that
    /// transform, clipped to the candidate.
    #[serde(default)]
    pub local_box: Option<[u32; 4]>,
    /// Share (0..1) of the reference's area that lies inside the candidate.
    #[serde(default)]
    pub local_coverage: f32,
    /// The transform includes a horizontal mirror.
    #[serde(default)]
    pub local_mirrored: bool,
    /// The similarity [a, b, tx, ty] from reference to candidate pixels
    /// (see [`LocalMatch::transform`]); lets the report warp the
    /// reference onto the candidate for the overlay exhibit.
    #[serde(default)]
    pub local_transform: Option<[f32; 4]>,
    /// Share (0..1) of the reference spanned by the inliers (see [`LocalMatch::spread`]).
    #[serde(default)]
    pub local_spread: f32,
    /// Correlation of the reference's pixels, mapped by `local_transform`, with the
    /// candidate's ([`pixel_correlation`]); `None` without a transform, without
    /// thumbnails (fingerprints stored before format 5) or over flat pixels.
    #[serde(default)]
    pub pixel_correlation: Option<f32>,
    /// Thumbnail pixels that correlation was computed over.
    #[serde(default)]
    pub pixel_compared: u32,
    /// The same comparison on the detail (high-pass) of the grey levels.
    #[serde(default)]
    pub pixel_detail_correlation: Option<f32>,
    /// Mean colour difference at that alignment ([`PixelCheck::chroma_difference`]);
    /// `None` without a pixel correlation or without chroma (fingerprints stored before
    /// format 8).
    #[serde(default)]
    pub pixel_chroma_difference: Option<f32>,
    /// Other references compared with the same candidate whose pixels also agree at an
    /// overlapping place of it (a part both show), verified with at least half as many
    /// inliers; set by [`mark_rivals`], 0 from
    /// [`compare`] alone.
    #[serde(default)]
    pub rival_references: u32,
    /// Where local features fitted no geometry: the reference's pixels found by a
    /// search near the best-matching windows ([`search_alignment`]), when the region
    /// cosine is at least [`SEARCH_MIN_REGION_COSINE`].
    #[serde(default)]
    pub searched_pixels: Option<SearchedPixels>,
    /// Cosine of the reference's embedding with the embedding of the candidate's pixels
    /// cut to [`located_box`] (where keypoints placed the reference): a pasted copy's
    /// global embedding mostly shows the scene around it. Needs the candidate's pixels,
    /// so [`compare`] leaves it `None` and the caller that has them sets it.
    #[serde(default)]
    pub located_cosine: Option<f32>,
}

pub const KIND_WHOLE: &str = "whole image";
pub const KIND_CROP: &str = "candidate is part of the reference";
pub const KIND_PASTE: &str = "reference inside candidate";
pub const KIND_SHARED: &str = "shared part";

/// Cosine of two embeddings; 0 for vectors of different lengths or a zero vector.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    // Embeddings are stored normalised, but a deserialised fingerprint is outside input.
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

fn pdq_signal(reference: &Fingerprint, candidate: &Fingerprint) -> (u32, String) {
    let Ok(cand) = PdqHash::from_hex(&candidate.pdq) else {
        return (256, "unreadable hash".into());
    };
    let mut best = (256, "unreadable hash".to_string());
    let variants: Vec<&String> = if reference.pdq_variants.is_empty() {
        vec![&reference.pdq]
    } else {
        reference.pdq_variants.iter().collect()
    };
    for (i, v) in variants.into_iter().enumerate() {
        if let Ok(h) = PdqHash::from_hex(v) {
            let d = hamming(&h, &cand);
            if d < best.0 {
                best = (d, DIHEDRAL_NAMES.get(i).unwrap_or(&"variant").to_string());
            }
        }
    }
    best
}

/// Compares a reference (the client's artwork) with a candidate found on the web.
pub fn compare(reference: &Fingerprint, candidate: &Fingerprint) -> Signals {
    let (pdq_distance, pdq_transform) = pdq_signal(reference, candidate);
    let same_model = reference.model_id == candidate.model_id;
    let mut embedding_cosine = 0.0;
    let whole = |f: &Fingerprint| [0, 0, f.width, f.height];
    let boxed = |r: &xiezhi_fingerprint::RegionEmbedding| [r.x, r.y, r.w, r.h];
    // Every comparison of a reference window (or the whole) with a candidate window (or
    // the whole): cosine, kind, reference's window, candidate's window.
    let mut pairs: Vec<(f32, &str, [u32; 4], [u32; 4])> = Vec::new();
    if same_model {
        embedding_cosine = cosine(&reference.embedding, &candidate.embedding);
        pairs.push((embedding_cosine, KIND_WHOLE, whole(reference), whole(candidate)));
        for r in &reference.regions {
            pairs.push((
                cosine(&r.embedding, &candidate.embedding),
                KIND_CROP,
                boxed(r),
                whole(candidate),
            ));
        }
        for cr in &candidate.regions {
            pairs.push((
                cosine(&reference.embedding, &cr.embedding),
                KIND_PASTE,
                whole(reference),
                boxed(cr),
            ));
        }
        for r in &reference.regions {
            for cr in &candidate.regions {
                pairs.push((cosine(&r.embedding, &cr.embedding), KIND_SHARED, boxed(r), boxed(cr)));
            }
        }
    }
    // The first of the best (the whole image, then crops, pastes and shared parts, as
    // they were pushed), as before the search needed the others.
    let best = pairs
        .iter()
        .fold(None::<&(f32, &str, [u32; 4], [u32; 4])>, |b, p| match b {
            Some(b) if b.0 >= p.0 => Some(b),
            _ => Some(p),
        })
        .copied()
        .unwrap_or((0.0, KIND_WHOLE, whole(reference), whole(candidate)));
    let region_box = match best.1 {
        KIND_WHOLE => None,
        KIND_CROP => Some(best.2),
        _ => Some(best.3),
    };
    let lm = verify(reference, candidate);
    let pixels = lm
        .transform
        .and_then(|t| pixel_correlation(reference, candidate, t, lm.mirrored));
    // Without a geometry from keypoints, look for the pixels where the windows say.
    let searched = (lm.inliers <= LOCAL_INLIERS_NONE && best.0 >= SEARCH_MIN_REGION_COSINE)
        .then(|| {
            pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
            // The whole images as well: it also tries the candidate as a crop of the
            // reference at its own pixel size, wherever it lies (see `search_alignment`).
            let whole_pair = WindowPair {
                reference: whole(reference),
                candidate: whole(candidate),
            };
            let mut starts: Vec<WindowPair> = pairs
                .iter()
                .take(SEARCH_STARTS)
                .filter(|p| p.0 >= SEARCH_MIN_REGION_COSINE)
                .map(|p| WindowPair {
                    reference: p.2,
                    candidate: p.3,
                })
                .collect();
            if !starts.contains(&whole_pair) {
                starts.push(whole_pair);
            }
            search_alignment(reference, candidate, &starts)
        })
        .flatten();
    Signals {
        exact_bytes: reference.sha256 == candidate.sha256,
        exact_pixels: reference.pixel_sha256 == candidate.pixel_sha256,
        pdq_distance,
        pdq_transform,
        pdq_quality: reference.pdq_quality.min(candidate.pdq_quality),
        same_model,
        embedding_cosine,
        region_cosine: best.0,
        region_kind: best.1.to_string(),
        region_box,
        local_matches: lm.matches,
        local_inliers: lm.inliers,
        local_box: lm.bbox,
        local_coverage: lm.coverage,
        local_mirrored: lm.mirrored,
        local_transform: lm.transform,
        local_spread: lm.spread,
        pixel_correlation: pixels.map(|p| p.correlation),
        pixel_compared: pixels.map_or(0, |p| u32::try_from(p.pixels).unwrap_or(u32::MAX)),
        pixel_detail_correlation: pixels.and_then(|p| p.detail),
        pixel_chroma_difference: pixels.and_then(|p| p.chroma_difference),
        rival_references: 0,
        searched_pixels: searched,
        located_cosine: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A comparison with middling global signals and no local evidence yet.
    pub(crate) fn unverified() -> Signals {
        Signals {
            exact_bytes: false,
            exact_pixels: false,
            pdq_distance: 120,
            pdq_transform: "identity".into(),
            pdq_quality: 100,
            same_model: true,
            embedding_cosine: 0.4,
            region_cosine: 0.6,
            region_kind: KIND_WHOLE.into(),
            region_box: None,
            local_matches: 600,
            local_inliers: 0,
            local_box: None,
            local_coverage: 1.0,
            local_mirrored: false,
            local_transform: None,
            local_spread: 0.0,
            pixel_correlation: Some(0.97),
            pixel_compared: 500,
            pixel_detail_correlation: None,
            pixel_chroma_difference: None,
            rival_references: 0,
            searched_pixels: None,
            located_cosine: None,
        }
    }

    /// The same, verified: 20 inliers placing half of the reference.
    pub(crate) fn verified() -> Signals {
        Signals {
            local_inliers: 20,
            local_box: Some([0, 0, 99, 99]),
            local_coverage: 0.5,
            local_transform: Some([1.0, 0.0, 0.0, 0.0]),
            local_spread: 0.5,
            ..unverified()
        }
    }
}
