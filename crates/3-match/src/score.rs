//! The calibrated score: the features computed from a comparison's [`Signals`] and the
//! logistic regression over them (see [`crate::METHOD`]).

use crate::{calibration, Signals, PDQ_MATCH_THRESHOLD};

/// Below this PDQ quality (0..100) the reference implementation advises
/// against trusting the hash (flat or nearly blank images all hash alike).
pub const PDQ_MIN_QUALITY: u32 = 50;

/// Local-feature inliers at or below this count as no evidence: the most seen
/// on any unrelated pair of the test and demo images was 5 (horse vs rose).
pub const LOCAL_INLIERS_NONE: u32 = 5;
/// Inliers from which the `local_verified` feature is 1.
pub const LOCAL_INLIERS_FULL: u32 = 12;
/// Inliers above [`LOCAL_INLIERS_NONE`] at which the `local_inlier_log` feature reaches 1.
pub const LOCAL_INLIERS_LOG_CAP: u32 = 50;
/// Pixel correlation at or below which the `pixel_agreement` feature is 0: about the
/// median of unrelated pairs that passed geometric verification on the benchmark (0.55).
pub const PIXEL_CORRELATION_NONE: f32 = 0.6;
/// Pixel correlation from which the `pixel_agreement` feature is 1 (most crops and
/// pastes of a reference reach it; re-encoding and resampling keep it below 1).
pub const PIXEL_CORRELATION_FULL: f32 = 0.95;

/// Detail correlation (see [`crate::PixelCheck::detail`]) at or below which the pixel
/// agreement counts for nothing: unrelated pairs that passed geometric verification on
/// the benchmark have a median of 0.05 (galaxies on black: their glows correlate, their
/// detail does not)…
pub const PIXEL_DETAIL_NONE: f32 = 0.2;
/// …and from which it counts in full (text overlays keep about 0.57, crops and pastes up
/// to 0.98).
pub const PIXEL_DETAIL_FULL: f32 = 0.6;
/// Weight of the pixel agreement when the detail could not be compared.
pub const PIXEL_DETAIL_UNKNOWN: f32 = 1.0;
/// Mean colour difference (see [`crate::PixelCheck::chroma_difference`]) from which the
/// colour agrees not at all. On the 1,000-reference benchmark a reference's crops and
/// rotations differ by about 1 in the median (4 at the 90th percentile), JPEG at quality 25
/// by 2.7; unrelated pictures whose pixels agreed and scored 0.5 or more, by 10 in the median.
pub const CHROMA_DIFFERENCE_NONE: f32 = 10.0;

/// PDQ closeness in 0..=1: 0 for unrelated hashes, 1 for identical ones,
/// damped when either image has too little detail for PDQ to be trusted; 0 when
/// [`pdq_counts`] says the hash match does not count.
pub fn pdq_term(s: &Signals) -> f32 {
    if !pdq_counts(s) {
        return 0.0;
    }
    let sim = (1.0 - s.pdq_distance as f32 / 128.0).max(0.0);
    sim * s.pdq_quality.min(PDQ_MIN_QUALITY) as f32 / PDQ_MIN_QUALITY as f32
}

/// Whether the PDQ match counts: always as the reference stands or mirrored, but
/// through a turn or upside down only when keypoints confirm a geometry.
/// Flat art (stripes, flags) hashes alike under those turns: the Peruvian flag
/// turned a quarter is 16 bits from the Dutch navy ensign, with no keypoint in
/// common; a real rotated copy keeps its keypoints, which are rotation-invariant.
pub fn pdq_counts(s: &Signals) -> bool {
    matches!(s.pdq_transform.as_str(), "identity" | "mirror") || s.local_inliers > LOCAL_INLIERS_NONE
}

/// 0 up to [`LOCAL_INLIERS_NONE`] inliers, 1 from [`LOCAL_INLIERS_FULL`].
pub fn local_term(s: &Signals) -> f32 {
    let span = (LOCAL_INLIERS_FULL - LOCAL_INLIERS_NONE) as f32;
    (s.local_inliers.saturating_sub(LOCAL_INLIERS_NONE) as f32 / span).clamp(0.0, 1.0)
}

/// 0 up to [`PIXEL_CORRELATION_NONE`], 1 from [`PIXEL_CORRELATION_FULL`], times the
/// agreement of the detail ([`detail_term`]); 0 without a verified geometry (the
/// correlation is only computed along one).
pub fn pixel_term(s: &Signals) -> f32 {
    match s.pixel_correlation {
        Some(c) if s.local_inliers > LOCAL_INLIERS_NONE && c.is_finite() => agreement(c) * detail_term(s),
        _ => 0.0,
    }
}

/// A grey-level correlation as agreement: 0 up to [`PIXEL_CORRELATION_NONE`], 1 from
/// [`PIXEL_CORRELATION_FULL`].
fn agreement(correlation: f32) -> f32 {
    ((correlation - PIXEL_CORRELATION_NONE) / (PIXEL_CORRELATION_FULL - PIXEL_CORRELATION_NONE)).clamp(0.0, 1.0)
}

/// [`pixel_term`] of the pixels found by search ([`Signals::searched_pixels`], made only
/// where local features fitted no geometry); 0 without.
pub fn searched_pixel_term(s: &Signals) -> f32 {
    match &s.searched_pixels {
        Some(p) if p.correlation.is_finite() => agreement(p.correlation) * detail_agreement(p.detail_correlation),
        _ => 0.0,
    }
}

/// How well the colours agree where the pixels were compared: 1 for the same colours,
/// falling linearly to 0 at [`CHROMA_DIFFERENCE_NONE`]; 0 without a colour comparison.
pub fn colour_agreement(chroma_difference: Option<f32>) -> f32 {
    match chroma_difference {
        Some(d) if d.is_finite() => (1.0 - d / CHROMA_DIFFERENCE_NONE).clamp(0.0, 1.0),
        _ => 0.0,
    }
}

/// The colour agreement of the place whose pixels agree best: the keypoint geometry's
/// ([`pixel_term`], rivals counted) or the searched one's ([`searched_pixel_term`]),
/// each weighed by its pixel agreement. Colours alone prove nothing (every night sky is
/// black); grey levels that agree in the same colours prove more than grey levels alone.
/// A separate feature, and never a penalty: a recoloured copy (hue shift, palette swap)
/// keeps its grey levels and only misses this bonus.
pub fn colour_term(s: &Signals) -> f32 {
    let pixels = pixel_term(s) / (1.0 + s.rival_references as f32);
    let at_keypoints = colour_agreement(s.pixel_chroma_difference) * pixels;
    let searched = s
        .searched_pixels
        .as_ref()
        .map_or(0.0, |p| colour_agreement(p.chroma_difference) * searched_pixel_term(s));
    at_keypoints.max(searched)
}

/// 0 up to [`PIXEL_DETAIL_NONE`], 1 from [`PIXEL_DETAIL_FULL`]; [`PIXEL_DETAIL_UNKNOWN`]
/// when the detail could not be compared (too few cells with a full neighbourhood, or
/// flat detail). Two smooth glows on black correlate as wholes; their detail does not.
pub fn detail_term(s: &Signals) -> f32 {
    detail_agreement(s.pixel_detail_correlation)
}

fn detail_agreement(detail: Option<f32>) -> f32 {
    match detail {
        Some(d) if d.is_finite() => ((d - PIXEL_DETAIL_NONE) / (PIXEL_DETAIL_FULL - PIXEL_DETAIL_NONE)).clamp(0.0, 1.0),
        _ => PIXEL_DETAIL_UNKNOWN,
    }
}

/// Names of the calibration features, in the order of [`features`].
pub const FEATURE_NAMES: [&str; 12] = [
    "pdq_similarity",
    "pdq_same_picture",
    "embedding_cosine",
    "region_cosine",
    "local_verified",
    "local_inlier_log",
    "local_coverage",
    "local_spread",
    "pixel_agreement",
    "pixel_confirmed_inliers",
    "searched_pixel_agreement",
    "colour_agreement",
];

/// The raw signals as the numbers the score weighs (see [`FEATURE_NAMES`] and
/// [`crate::METHOD`]): each is 0 without evidence and grows with it, so non-negative
/// weights make the score monotone in every signal.
pub fn features(s: &Signals) -> [f32; 12] {
    let damp = s.pdq_quality.min(PDQ_MIN_QUALITY) as f32 / PDQ_MIN_QUALITY as f32;
    let near = if s.pdq_distance <= PDQ_MATCH_THRESHOLD && pdq_counts(s) {
        damp
    } else {
        0.0
    };
    // Where keypoints placed the reference in a part of the candidate, the resemblance
    // there counts as the whole candidate's would: a pasted copy's global embedding
    // mostly shows its scene (see `located`). Never lower than the global cosine.
    let (e, r) = if s.same_model {
        (s.embedding_cosine.max(s.located_cosine.unwrap_or(0.0)), s.region_cosine)
    } else {
        (0.0, 0.0)
    };
    let extra = s.local_inliers.saturating_sub(LOCAL_INLIERS_NONE) as f32;
    let inlier_log = (extra.ln_1p() / (LOCAL_INLIERS_LOG_CAP as f32).ln_1p()).min(1.0);
    let verified = s.local_inliers > LOCAL_INLIERS_NONE;
    // A part that other references show as well proves less (see `rivals`).
    let pixels = pixel_term(s) / (1.0 + s.rival_references as f32);
    [
        pdq_term(s),
        near,
        e,
        r,
        local_term(s),
        inlier_log,
        if verified {
            s.local_coverage.clamp(0.0, 1.0)
        } else {
            0.0
        },
        // Square root: a crop shows a third of the reference, a chance consensus a few %.
        if verified {
            s.local_spread.clamp(0.0, 1.0).sqrt()
        } else {
            0.0
        },
        pixels,
        // Many inliers whose pixels agree prove a copy on their own, with little global
        // resemblance (a crop, a paste); a sum of the two would need both to be high.
        inlier_log * pixels,
        searched_pixel_term(s),
        colour_term(s),
    ]
}

/// What orders matches: the calibrated score's logit, `+inf` for identical bytes or
/// pixels. It ranks as [`score`] does, but the score, a sigmoid in `f32`, rounds to
/// exactly 1.0 from a logit of about 17 and would tie strong matches.
pub fn strength(s: &Signals) -> f32 {
    if s.exact_bytes || s.exact_pixels {
        return f32::INFINITY;
    }
    calibration().logit(&features(s))
}

/// The score in 0..=1 that is shown and stored with each match (see [`crate::METHOD`]): 1.0 for
/// identical bytes or pixels, else the logistic regression of [`crate::calibration()`]
/// over [`features`], whose measured error rates are [`crate::ERROR_RATES`]; [`strength`] orders
/// matches whose scores both round to 1.0.
pub fn score(s: &Signals) -> f32 {
    if s.exact_bytes || s.exact_pixels {
        return 1.0;
    }
    let z = calibration().logit(&features(s));
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{unverified, verified};

    #[test]
    fn strength_orders_matches_whose_score_rounds_to_one() {
        let strong = |pixels: f32| Signals {
            pdq_distance: 0,
            embedding_cosine: 1.0,
            region_cosine: 1.0,
            local_inliers: 400,
            local_coverage: 1.0,
            local_spread: 1.0,
            pixel_correlation: Some(pixels),
            pixel_detail_correlation: Some(0.9),
            ..verified()
        };
        let (best, less) = (strong(0.99), strong(0.8));
        assert!(strength(&best) > strength(&less));
        assert!(score(&best) >= score(&less));
        let mut exact = less.clone();
        exact.exact_pixels = true;
        assert_eq!(strength(&exact), f32::INFINITY);
        assert_eq!(score(&exact), 1.0);
    }

    #[test]
    fn detail_gates_the_pixel_term_and_unknown_detail_keeps_it() {
        let mut s = verified();
        assert_eq!(pixel_term(&s), 1.0);
        let mut last = -1.0;
        for d in [-0.5, 0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.9] {
            s.pixel_detail_correlation = Some(d);
            let t = pixel_term(&s);
            assert!(t >= last && (0.0..=1.0).contains(&t), "{d}: {t}");
            last = t;
        }
        s.pixel_detail_correlation = Some(PIXEL_DETAIL_NONE);
        assert_eq!(pixel_term(&s), 0.0);
        s.pixel_detail_correlation = Some(PIXEL_DETAIL_FULL);
        assert_eq!(pixel_term(&s), 1.0);
        s.pixel_detail_correlation = Some(f32::NAN);
        assert_eq!(pixel_term(&s), PIXEL_DETAIL_UNKNOWN);
    }

    #[test]
    fn pdq_through_a_turn_counts_only_with_keypoint_support() {
        let near = |transform: &str, inliers: u32| {
            features(&Signals {
                pdq_distance: 16,
                pdq_transform: transform.into(),
                local_inliers: inliers,
                ..verified()
            })
        };
        for t in ["identity", "mirror"] {
            assert!(near(t, 0)[0] > 0.8 && near(t, 0)[1] == 1.0, "{t}");
        }
        for t in [
            "rot90_cw",
            "rot180",
            "rot90_ccw",
            "flip_vertical",
            "transpose",
            "transverse",
        ] {
            assert_eq!(near(t, 0)[..2], [0.0, 0.0], "{t}");
            assert_eq!(near(t, LOCAL_INLIERS_NONE)[..2], [0.0, 0.0], "{t}");
            assert_eq!(near(t, LOCAL_INLIERS_NONE + 1)[..2], near("identity", 0)[..2], "{t}");
        }
    }

    #[test]
    fn the_located_resemblance_counts_as_the_global_one_when_higher() {
        let with = |located| Signals {
            embedding_cosine: 0.3,
            located_cosine: located,
            ..verified()
        };
        assert_eq!(features(&with(None))[2], 0.3);
        assert_eq!(features(&with(Some(0.8)))[2], 0.8);
        // Never a penalty: a place less like the reference than the whole candidate.
        assert_eq!(features(&with(Some(0.1)))[2], 0.3);
        assert!(strength(&with(Some(0.8))) > strength(&with(None)));
        let other_model = Signals {
            same_model: false,
            ..with(Some(0.8))
        };
        assert_eq!(features(&other_model)[2], 0.0);
    }

    #[test]
    fn features_are_monotone_in_inliers_and_bounded() {
        let mut s = unverified();
        let mut last = features(&s);
        assert!(last[4..].iter().all(|v| *v == 0.0), "{last:?}");
        for n in 1..=600 {
            s.local_inliers = n;
            let f = features(&s);
            assert!(f.iter().zip(&last).all(|(a, b)| a >= b), "{n}: {f:?} < {last:?}");
            assert!(f.iter().all(|v| (0.0..=1.0).contains(v)), "{n}: {f:?}");
            last = f;
        }
        assert_eq!(last[5], 1.0);
        assert_eq!(last[9], last[5] * last[8]);
    }
}
