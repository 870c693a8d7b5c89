//! Where to embed the candidate again: the place keypoints put the reference.
//!
//! A reference pasted into a larger scene covers a third of it; the candidate's global
//! embedding mostly shows the scene, and its fixed windows (60 % of each side on a grid)
//! seldom frame the paste. Once keypoints have placed the reference ([`Signals::local_box`]),
//! the candidate's pixels there can be embedded and compared with the reference's
//! embedding ([`Signals::located_cosine`]). The match stage holds fingerprints, not
//! pixels: the caller that has the candidate's pixels decodes them and calls
//! [`set_located_cosines`].

use xiezhi_fingerprint::{Fingerprint, FingerprintError, Fingerprinter};

use crate::cosine;

use crate::{Signals, LOCAL_INLIERS_NONE};

/// Boxes covering more of the candidate than this share are the whole picture to the
/// model: its global embedding already says what the box would.
pub const LOCATED_MAX_SHARE: f32 = 0.8;
/// Inliers from which the candidate is seen through the reference's shape
/// ([`located_opacity`]). The shape is evidence of its own: on the 1,000-reference benchmark,
/// Wesnoth wall tiles with transparent corners placed on one another by 7 inliers looked
/// alike through it, and an unrelated tile rose above the cut-off of three families; from
/// 12 inliers (where `local_verified` is full) pastes gained as much with 12 and 20.
pub const LOCATED_MASK_MIN_INLIERS: u32 = 12;
/// Boxes narrower than this (candidate pixels) on either side hold too little for the
/// model, which sees 224 × 224.
pub const LOCATED_MIN_SIDE: u32 = 32;

/// The box of the candidate, [x, y, w, h] in its pixels, whose embedding is compared with
/// the reference's: where a verified geometry (more than [`LOCAL_INLIERS_NONE`] inliers)
/// placed the reference, clipped to the candidate of `width` × `height`, when it is a part
/// of it ([`LOCATED_MAX_SHARE`]) large enough to embed ([`LOCATED_MIN_SIDE`]).
pub fn located_box(s: &Signals, width: u32, height: u32) -> Option<[u32; 4]> {
    if s.exact_bytes || s.exact_pixels || s.local_inliers <= LOCAL_INLIERS_NONE {
        return None;
    }
    let [x, y, w, h] = s.local_box?;
    let (x, y) = (x.min(width), y.min(height));
    let (w, h) = (w.min(width - x), h.min(height - y));
    let share = (f64::from(w) * f64::from(h)) / (f64::from(width) * f64::from(height)).max(1.0);
    (w >= LOCATED_MIN_SIDE && h >= LOCATED_MIN_SIDE && share <= f64::from(LOCATED_MAX_SHARE)).then_some([x, y, w, h])
}

/// The reference's opacity at each pixel of `b` (a [`located_box`] of the candidate),
/// row-major, from the opacity its fingerprint's thumbnail keeps, placed by the verified
/// transform; 0 outside the reference. A sprite pasted into a scene shows the scene
/// through its transparent parts, where the reference's embedding saw neutral grey: the
/// candidate's pixels there are laid over that grey before they are embedded, so that a
/// copy looks to the model as its reference does. `None` (the box embedded as it is) for a
/// reference without transparency or without a transform, and for a geometry of fewer
/// than [`LOCATED_MASK_MIN_INLIERS`] inliers.
pub fn located_opacity(reference: &Fingerprint, s: &Signals, b: [u32; 4]) -> Option<Vec<u8>> {
    if s.local_inliers < LOCATED_MASK_MIN_INLIERS {
        return None;
    }
    let t = reference
        .thumbnail
        .as_ref()
        .filter(|t| t.is_consistent() && !t.alpha.is_empty())?;
    let [a, bb, tx, ty] = s.local_transform?;
    let den = a * a + bb * bb;
    if !(den.is_finite() && den > 1e-12) || reference.width == 0 || reference.height == 0 {
        return None;
    }
    let (sx, sy) = (
        t.width as f32 / reference.width as f32,
        t.height as f32 / reference.height as f32,
    );
    let mut out = Vec::with_capacity(b[2] as usize * b[3] as usize);
    for y in 0..b[3] {
        for x in 0..b[2] {
            // Candidate pixel centre back into the reference (see `LocalMatch::transform`).
            let (u, v) = ((b[0] + x) as f32 + 0.5 - tx, (b[1] + y) as f32 + 0.5 - ty);
            let (mut rx, ry) = ((a * u + bb * v) / den, (a * v - bb * u) / den);
            if s.local_mirrored {
                rx = reference.width as f32 - rx;
            }
            let (px, py) = ((rx * sx).floor(), (ry * sy).floor());
            let inside = px >= 0.0 && py >= 0.0 && px < t.width as f32 && py < t.height as f32;
            out.push(if inside {
                t.alpha[py as usize * t.width as usize + px as usize]
            } else {
                0
            });
        }
    }
    Some(out)
}

/// Sets [`Signals::located_cosine`] on each comparison of one candidate (decoded as `image`,
/// one frame) with a reference, whose [`located_box`] is a part of it: the boxes, each seen
/// through its reference's shape where [`located_opacity`] gives one, embedded in one
/// batch and compared with the reference's embedding. Embeddings of another model are
/// left `None`.
pub fn set_located_cosines(
    fp: &Fingerprinter,
    image: &image::DynamicImage,
    compared: &mut [(&Fingerprint, &mut Signals)],
) -> Result<(), FingerprintError> {
    let (width, height) = (image.width(), image.height());
    let placed: Vec<(usize, [u32; 4], Option<Vec<u8>>)> = compared
        .iter()
        .enumerate()
        .filter_map(|(i, (r, s))| located_box(s, width, height).map(|b| (i, b, located_opacity(r, s, b))))
        .collect();
    if placed.is_empty() {
        return Ok(());
    }
    let boxes: Vec<([u32; 4], Option<&[u8]>)> = placed.iter().map(|(_, b, m)| (*b, m.as_deref())).collect();
    let embeddings = fp.embed_masked_boxes(image, &boxes)?;
    for ((i, _, _), e) in placed.iter().zip(embeddings) {
        let (r, s) = &mut compared[*i];
        if r.model_id == fp.embedder().model_id() {
            s.located_cosine = Some(cosine(&r.embedding, &e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{unverified, verified};

    #[test]
    fn a_verified_part_of_the_candidate_is_located_and_the_whole_or_a_speck_is_not() {
        let at = |b| Signals {
            local_box: Some(b),
            ..verified()
        };
        assert_eq!(
            located_box(&at([100, 50, 200, 150]), 640, 480),
            Some([100, 50, 200, 150])
        );
        // Clipped to the candidate.
        assert_eq!(
            located_box(&at([500, 400, 300, 300]), 640, 480),
            Some([500, 400, 140, 80])
        );
        // Nearly the whole candidate: its global embedding says as much.
        assert_eq!(located_box(&at([0, 0, 620, 470]), 640, 480), None);
        assert_eq!(located_box(&at([10, 10, 20, 300]), 640, 480), None);
        assert_eq!(located_box(&at([700, 10, 100, 100]), 640, 480), None);
        // No geometry, no place.
        let unplaced = Signals {
            local_box: Some([100, 50, 200, 150]),
            ..unverified()
        };
        assert_eq!(located_box(&unplaced, 640, 480), None);
    }
}
