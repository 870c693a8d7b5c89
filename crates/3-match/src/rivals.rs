//! Rival references: other references whose pixels also agree at the same place of
//! one candidate.
//!
//! A five-pointed star on a red field is, under geometry and grey levels, a crop of
//! every flag that has such a star. On the 1,000-reference benchmark the highest false
//! alarms of the pasted and cropped copies were such shapes: the flag of China
//! verified against Acadia's and Alaska's (pixel agreement 0.99 and 0.97, at one
//! place of the candidate), Chile's against the same two. A copy of one reference
//! seldom shows a part that another reference shows as well, so when it does, the
//! part proves less: each match's pixel agreement is divided by 1 + its rivals
//! (see [`crate::features`]). Two references pasted side by side into one candidate
//! are at different places and are no rivals. Nor is a reference that explains the
//! place with fewer than half the inliers: a nebula pasted into a scene verified with
//! 156 inliers, and another photograph of that sky, verified there with 7, halved its
//! evidence; the copy of one frame of an animated item (130 inliers) was divided by 3
//! for its neighbouring frames (35 and 28).

use crate::{pixel_term, Signals, LOCAL_INLIERS_NONE};

/// Pixel agreement ([`pixel_term`]) from which a verified match counts as showing
/// its reference at its place in the candidate. Fitted on the benchmark's training half
/// and scored on the held-out half, 0.1–0.3 gave the same results; 0.5 lost crops and
/// combined edits.
pub const RIVAL_PIXEL_TERM: f32 = 0.2;
/// Two matches are at the same place when their boxes in the candidate overlap by at
/// least this share of the smaller box (0.1 and 0.3 gave the same results).
pub const RIVAL_OVERLAP: f32 = 0.3;

/// Share of a match's inliers another reference needs to be its rival. Rescored and
/// refitted on the benchmark (held-out half, recall at precision 0.99): 0.889 with every
/// rival counted, 0.892 at 0.3, 0.901 at 0.5 and 0.7, 0.890 at 1.0 (where of two flags
/// with one star the stronger keeps its full agreement).
pub const RIVAL_INLIER_SHARE: f32 = 0.5;

fn shows_reference(s: &Signals) -> Option<([u32; 4], u32)> {
    if s.exact_bytes || s.exact_pixels {
        return None;
    }
    let b = s.local_box?;
    (s.local_inliers > LOCAL_INLIERS_NONE && pixel_term(s) >= RIVAL_PIXEL_TERM).then_some((b, s.local_inliers))
}

fn overlap(a: &[u32; 4], b: &[u32; 4]) -> bool {
    let span = |lo0: u32, len0: u32, lo1: u32, len1: u32| {
        let hi = (u64::from(lo0) + u64::from(len0)).min(u64::from(lo1) + u64::from(len1));
        hi.saturating_sub(u64::from(lo0.max(lo1)))
    };
    let common = span(a[0], a[2], b[0], b[2]) * span(a[1], a[3], b[1], b[3]);
    let smaller = (u64::from(a[2]) * u64::from(a[3])).min(u64::from(b[2]) * u64::from(b[3]));
    common as f64 >= f64::from(RIVAL_OVERLAP) * smaller.max(1) as f64
}

/// Sets [`Signals::rival_references`] on every comparison of one candidate: how many
/// of the other references compared with it also show their pixels at an overlapping
/// place (verified geometry, pixel agreement at least [`RIVAL_PIXEL_TERM`], at least
/// [`RIVAL_INLIER_SHARE`] of this match's inliers). Pass all
/// the references the candidate was compared with (for an animation, each with its
/// best frame).
pub fn mark_rivals(compared: &mut [&mut Signals]) {
    let boxes: Vec<Option<([u32; 4], u32)>> = compared.iter().map(|s| shows_reference(s)).collect();
    for (i, s) in compared.iter_mut().enumerate() {
        let least = RIVAL_INLIER_SHARE * s.local_inliers as f32;
        s.rival_references = match s.local_box.filter(|_| s.local_inliers > LOCAL_INLIERS_NONE) {
            Some(own) => boxes
                .iter()
                .enumerate()
                .filter(|(j, b)| *j != i && b.is_some_and(|(b, inliers)| inliers as f32 >= least && overlap(&own, &b)))
                .count()
                .try_into()
                .unwrap_or(u32::MAX),
            None => 0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::verified;

    fn at(b: [u32; 4], correlation: f32) -> Signals {
        Signals {
            local_box: Some(b),
            pixel_correlation: Some(correlation),
            pixel_detail_correlation: Some(0.9),
            ..verified()
        }
    }

    #[test]
    fn references_showing_pixels_at_one_place_are_rivals_and_elsewhere_not() {
        let mut star_a = at([10, 10, 100, 100], 0.97);
        let mut star_b = at([40, 30, 90, 90], 0.95);
        // Its geometry is verified there, but its pixels do not agree: no rival.
        let mut unlike = at([10, 10, 100, 100], 0.5);
        // Pasted beside them: not the same place.
        let mut beside = at([300, 10, 100, 100], 0.97);
        let mut unverified = Signals {
            local_inliers: 3,
            ..at([10, 10, 100, 100], 0.97)
        };
        mark_rivals(&mut [&mut star_a, &mut star_b, &mut unlike, &mut beside, &mut unverified]);
        assert_eq!(star_a.rival_references, 1);
        assert_eq!(star_b.rival_references, 1);
        // It shares its place with both stars, which say more than it does.
        assert_eq!(unlike.rival_references, 2);
        assert_eq!(beside.rival_references, 0);
        assert_eq!(unverified.rival_references, 0);

        let alone = crate::features(&at([10, 10, 100, 100], 0.97))[8];
        assert!(alone > 0.9, "{alone}");
        assert!((crate::features(&star_a)[8] - alone / 2.0).abs() < 1e-6);
    }

    #[test]
    fn a_reference_with_far_fewer_inliers_at_the_place_is_no_rival() {
        let with_inliers = |n| Signals {
            local_inliers: n,
            ..at([10, 10, 100, 100], 0.98)
        };
        let (mut copy, mut weak, mut half) = (with_inliers(156), with_inliers(7), with_inliers(78));
        mark_rivals(&mut [&mut copy, &mut weak]);
        assert_eq!(copy.rival_references, 0);
        // The weaker match still has the stronger one as its rival.
        assert_eq!(weak.rival_references, 1);
        let mut copy = with_inliers(156);
        mark_rivals(&mut [&mut copy, &mut half]);
        assert_eq!((copy.rival_references, half.rival_references), (1, 1));
    }

    #[test]
    fn overlap_is_a_share_of_the_smaller_box() {
        assert!(overlap(&[0, 0, 100, 100], &[50, 50, 10, 10]));
        // Side by side, sharing 20 % of each: not the same place; 40 %: the same place.
        assert!(!overlap(&[0, 0, 100, 100], &[80, 0, 100, 100]));
        assert!(overlap(&[0, 0, 100, 100], &[60, 0, 100, 100]));
        assert!(!overlap(&[0, 0, 100, 100], &[100, 0, 100, 100]));
        assert!(!overlap(&[0, 0, 0, 0], &[0, 0, 10, 10]));
        assert!(overlap(&[u32::MAX - 1, 0, 10, 10], &[u32::MAX - 1, 0, 10, 10]));
    }
}
