//! The plain sentence that explains a comparison's signals to a reader of the report.

use crate::{
    pdq_counts, Signals, CHROMA_DIFFERENCE_NONE, KIND_CROP, KIND_PASTE, KIND_SHARED, LOCAL_INLIERS_NONE,
    PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY,
};

fn transform_phrase(t: &str) -> &str {
    match t {
        "rot90_ccw" => " after rotating the reference 90° counter-clockwise",
        "rot180" => " after rotating the reference 180°",
        "rot90_cw" => " after rotating the reference 90° clockwise",
        "flip_vertical" => " after flipping the reference upside down",
        "mirror" => " after mirroring the reference",
        "transpose" => " after transposing the reference (mirror + rotation)",
        "transverse" => " after anti-transposing the reference (mirror + rotation)",
        _ => "",
    }
}

fn corners(b: &[u32; 4]) -> String {
    format!(
        "({},{})–({},{})",
        b[0],
        b[1],
        b[0].saturating_add(b[2]),
        b[1].saturating_add(b[3])
    )
}

/// The local-feature clause of [`explain`] (starts with "; ").
fn local_phrase(s: &Signals) -> String {
    if s.local_matches == 0 {
        return String::new();
    }
    let mirrored = if s.local_mirrored { " (mirrored)" } else { "" };
    match (&s.local_box, s.local_inliers > LOCAL_INLIERS_NONE) {
        (Some(b), true) => {
            let mut out = format!(
                "; {:.0} % of the reference{} found at {}, {} matching keypoints in one consistent geometry",
                s.local_coverage * 100.0,
                mirrored,
                corners(b),
                s.local_inliers,
            );
            if let Some(l) = s.located_cosine {
                out.push_str(&format!(
                    "; the candidate's pixels there have embedding similarity {l:.2} with the reference"
                ));
            }
            if let Some(c) = s.pixel_correlation {
                out.push_str(&format!(
                    "; placed there, the reference's grey levels correlate {c:.2} with the candidate's over {} thumbnail pixels (1 = same pixels)",
                    thousands(s.pixel_compared as usize)
                ));
                if let Some(d) = s.pixel_detail_correlation {
                    out.push_str(&format!(", their fine detail {d:.2}"));
                }
                out.push_str(&colour_phrase(s.pixel_chroma_difference));
            }
            out.push_str(&rivals_phrase(s.rival_references));
            out
        }
        _ => format!(
            "; local features: {} of {} tentative keypoint matches agree on one geometry (no geometric confirmation)",
            s.local_inliers, s.local_matches
        ),
    }
}

/// "; the same part of the candidate also matches 2 other references …" (empty for none).
fn rivals_phrase(n: u32) -> String {
    match n {
        0 => String::new(),
        1 => "; the same part of the candidate also matches 1 other reference with at least half as many keypoints (a part both show), so the pixel agreement counts half".into(),
        n => format!(
            "; the same part of the candidate also matches {n} other references with at least half as many keypoints (a part they all show), so the pixel agreement counts 1/{}",
            n + 1
        ),
    }
}

/// Where a reference stands among the references a candidate was checked
/// against, for [`explain_among`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// 1 for the reference whose global embedding is the most similar to the
    /// candidate's, 2 for the next, ...
    pub rank: usize,
    /// How many references the candidate was checked against (the whole case).
    pub references: usize,
}

/// 12408 -> "12,408".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn standing_phrase(st: &Standing) -> String {
    match (st.rank, st.references) {
        (_, 0 | 1) => ", the only reference".into(),
        (1, n) => format!(", nearest of {} references", thousands(n)),
        (r, n) => format!(", {} nearest of {} references", ordinal(r), thousands(n)),
    }
}

/// One plain sentence describing the signals, for a judge.
pub fn explain(s: &Signals) -> String {
    sentence(s, None)
}

/// [`explain`], also saying where the reference stands among all the
/// references ("embedding similarity 0.91, nearest of 12,408 references").
pub fn explain_among(s: &Signals, standing: Standing) -> String {
    sentence(s, Some(standing))
}

fn sentence(s: &Signals, standing: Option<Standing>) -> String {
    if s.exact_bytes {
        return "Identical file: the SHA-256 digests of both files are equal.".into();
    }
    if s.exact_pixels {
        return "Identical pixels: the files differ only in encoding or metadata.".into();
    }
    // The winning transform only means something when the hashes match.
    let transform = if s.pdq_distance <= PDQ_MATCH_THRESHOLD {
        transform_phrase(&s.pdq_transform)
    } else {
        ""
    };
    let mut out = format!(
        "PDQ distance {}/256{} (same-picture threshold {})",
        s.pdq_distance, transform, PDQ_MATCH_THRESHOLD
    );
    if s.pdq_quality < PDQ_MIN_QUALITY {
        out.push_str(&format!(
            ", less reliable because the image has little detail (quality {})",
            s.pdq_quality
        ));
    }
    if !pdq_counts(s) && s.pdq_distance <= PDQ_MATCH_THRESHOLD {
        out.push_str(", not counted: no keypoints confirm the turn, and flat art hashes alike when turned");
    }
    if !s.same_model {
        out.push_str("; the embeddings come from different models and were not compared");
        out.push_str(&local_phrase(s));
        out.push('.');
        return out;
    }
    out.push_str(&format!("; embedding similarity {:.2}", s.embedding_cosine));
    if let Some(st) = &standing {
        out.push_str(&standing_phrase(st));
    }
    let region = match (s.region_kind.as_str(), &s.region_box) {
        (KIND_CROP, Some(b)) => Some(format!("the candidate matches the reference's area {}", corners(b))),
        (KIND_PASTE, Some(b)) => Some(format!(
            "the whole reference appears inside the candidate at {}",
            corners(b)
        )),
        (KIND_SHARED, Some(b)) => Some(format!(
            "a part of the reference matches the candidate's area {}",
            corners(b)
        )),
        _ => None,
    };
    if let Some(r) = region {
        out.push_str(&format!("; best region: {r} with similarity {:.2}", s.region_cosine));
    }
    out.push_str(&local_phrase(s));
    out.push_str(&searched_phrase(s));
    out.push('.');
    out
}

/// The clause of [`explain`] on pixels found by search where keypoints fitted no
/// geometry (starts with "; "; empty without).
fn searched_phrase(s: &Signals) -> String {
    match &s.searched_pixels {
        Some(p) => {
            let mut out = format!(
                "; without a keypoint geometry, searched where the embeddings match best, the reference's grey levels, scaled {:.2} times and placed at {}, correlate {:.2} with the candidate's over {} thumbnail pixels",
                p.transform[0],
                corners(&p.bbox),
                p.correlation,
                thousands(p.compared as usize)
            );
            if let Some(d) = p.detail_correlation {
                out.push_str(&format!(", their fine detail {d:.2}"));
            }
            out.push_str(&colour_phrase(p.chroma_difference));
            out
        }
        _ => String::new(),
    }
}

/// ", in the same colours (…)" / ", in other colours (…)" after a pixel correlation
/// (empty without a colour comparison).
fn colour_phrase(chroma_difference: Option<f32>) -> String {
    match chroma_difference {
        // Below 3: the spread of crops and re-encodes (as the app's Colour row says).
        Some(d) if d.is_finite() && d < 3.0 => {
            format!(", in the same colours (mean colour difference {d:.1} of 255)")
        }
        Some(d) if d.is_finite() && d < CHROMA_DIFFERENCE_NONE => {
            format!(", in nearly the same colours (mean colour difference {d:.1} of 255)")
        }
        Some(d) if d.is_finite() => format!(
            ", in other colours (mean colour difference {d:.1} of 255: recoloured, or another picture with the same shapes)"
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turned_pdq_match_without_keypoints_is_said_not_to_count() {
        let s = Signals {
            pdq_distance: 16,
            pdq_transform: "rot90_cw".into(),
            local_matches: 40,
            local_inliers: 3,
            ..crate::tests::unverified()
        };
        let text = explain(&s);
        assert!(
            text.contains("90° clockwise (same-picture threshold 31), not counted: no keypoints confirm the turn"),
            "{text}"
        );
        let confirmed = Signals { local_inliers: 30, ..s };
        assert!(!explain(&confirmed).contains("not counted"));
    }

    #[test]
    fn rival_references_are_named_with_what_they_cost() {
        let s = Signals {
            local_inliers: 20,
            local_box: Some([0, 0, 99, 99]),
            local_coverage: 0.5,
            ..crate::tests::unverified()
        };
        assert!(!explain(&s).contains("other reference"));
        let one = explain(&Signals {
            rival_references: 1,
            ..s.clone()
        });
        assert!(
            one.contains(
                "also matches 1 other reference with at least half as many keypoints (a part both show), so the pixel agreement counts half"
            ),
            "{one}"
        );
        let three = explain(&Signals {
            rival_references: 3,
            ..s
        });
        assert!(
            three.contains(
                "also matches 3 other references with at least half as many keypoints (a part they all show), so the pixel agreement counts 1/4"
            ),
            "{three}"
        );
    }

    #[test]
    fn pixels_found_by_search_are_said_when_searched() {
        let found = crate::SearchedPixels {
            transform: [0.5, 0.0, 10.0, 20.0],
            bbox: [10, 20, 50, 40],
            correlation: 0.97,
            detail_correlation: Some(0.9),
            compared: 1234,
            chroma_difference: Some(1.26),
        };
        let s = Signals {
            local_inliers: 2,
            searched_pixels: Some(found),
            ..crate::tests::unverified()
        };
        let text = explain(&s);
        assert!(
            text.contains("without a keypoint geometry, searched where the embeddings match best, the reference's grey levels, scaled 0.50 times and placed at (10,20)–(60,60), correlate 0.97 with the candidate's over 1,234 thumbnail pixels, their fine detail 0.90, in the same colours (mean colour difference 1.3 of 255)."),
            "{text}"
        );
        let unsearched = explain(&Signals {
            searched_pixels: None,
            ..s
        });
        assert!(!unsearched.contains("searched"), "{unsearched}");
    }

    #[test]
    fn counts_and_ranks_read_naturally() {
        assert_eq!(thousands(12408), "12,408");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(3), "3rd");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(22), "22nd");
        assert_eq!(ordinal(113), "113th");
    }
}
