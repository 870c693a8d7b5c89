//! Alignment by search on real images: a crop of a picture without corners (a photo
//! blurred until FAST finds too few keypoints to fit a geometry, as a glow, a fog tile
//! or a soft painting has) is found by sliding the reference's thumbnail near the
//! best-matching windows; another picture gets no such agreement.

mod imaging;

use imaging::{jpeg, open, root};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_match::{compare, explain, search_alignment, WindowPair, LOCAL_INLIERS_NONE};

fn searched_feature(s: &xiezhi_match::Signals) -> f32 {
    imaging::feature(s, "searched_pixel_agreement")
}

fn blurred(name: &str) -> image::DynamicImage {
    open(&root().join("demo/assets/references").join(name)).blur(14.0)
}

#[test]
fn a_crop_without_keypoints_is_found_by_search_and_another_picture_is_not() {
    let fp = Fingerprinter::new_default().expect("model");
    let photo = blurred("coffee.jpg");
    let (w, h) = (photo.width(), photo.height());
    // 35 % of the area, off centre, re-encoded: the benchmark's crop35.
    let (crop, (x0, y0)) = imaging::crop35(&photo);
    let (cw, ch) = (crop.width(), crop.height());
    let reference = fp.fingerprint(&jpeg(&photo, 90)).expect("photo");
    let cand = fp.fingerprint(&jpeg(&crop, 75)).expect("crop");

    let s = compare(&reference, &cand);
    println!(
        "blurred coffee crop: {} inliers, region cosine {:.3} ({}), searched {:?}",
        s.local_inliers, s.region_cosine, s.region_kind, s.searched_pixels
    );
    assert!(s.local_inliers <= LOCAL_INLIERS_NONE, "keypoints fitted a geometry");
    let found = s.searched_pixels.expect("a searched alignment");
    assert!(found.correlation >= 0.95, "{found:?}");
    // The reference placed at its own size, shifted by the crop's corner.
    let [scale, _, tx, ty] = found.transform;
    assert!((scale - 1.0).abs() < 0.05, "{found:?}");
    assert!((tx + x0 as f32).abs() < 0.03 * w as f32, "{found:?}");
    assert!((ty + y0 as f32).abs() < 0.03 * h as f32, "{found:?}");
    assert!(searched_feature(&s) > 0.8, "{}", searched_feature(&s));
    assert!(explain(&s).contains("searched"), "{}", explain(&s));

    // Another blurred photo cropped the same way, searched at the same windows.
    let other = blurred("chelsea.jpg").crop_imm(x0, y0, cw, ch);
    let other = fp.fingerprint(&jpeg(&other, 75)).expect("other");
    let windows = WindowPair {
        reference: [0, 0, reference.width, reference.height],
        candidate: [0, 0, other.width, other.height],
    };
    let wrong = search_alignment(&reference, &other, &[windows]);
    println!("blurred chelsea crop vs coffee: {wrong:?}");
    assert!(wrong.is_none_or(|p| p.correlation < 0.8), "{wrong:?}");
    let s = compare(&reference, &other);
    assert!(searched_feature(&s) < 0.3, "{s:?}");
}

#[test]
fn a_geometry_from_keypoints_needs_no_search() {
    let fp = Fingerprinter::new_default().expect("model");
    let photo = open(&root().join("demo/assets/references/chelsea.jpg"));
    let crop = photo.crop_imm(40, 30, 300, 200);
    let s = compare(
        &fp.fingerprint(&jpeg(&photo, 90)).expect("photo"),
        &fp.fingerprint(&jpeg(&crop, 80)).expect("crop"),
    );
    assert!(s.local_inliers > LOCAL_INLIERS_NONE, "{s:?}");
    assert_eq!(s.searched_pixels, None);
    assert_eq!(searched_feature(&s), 0.0);
}
