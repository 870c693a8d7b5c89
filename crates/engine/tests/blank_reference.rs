//! A reference that shows nothing (a fully transparent placeholder, one flat colour) is
//! kept but reported, and matches no other blank image: bench/detect drew four such
//! Wesnoth wall placeholders as "artwork" before it learnt to skip them.

mod common;

use image::{Rgba, RgbaImage};
use xiezhi_engine::{refs, scan, Silent};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_store::Case;

use common::asset;

#[test]
fn a_blank_reference_is_reported_and_matches_no_blank_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::init(&dir.path().join("case"), "blank").unwrap();
    let fp = Fingerprinter::new_default().unwrap();
    let placeholder = dir.path().join("dummy-concave-br.png");
    RgbaImage::from_pixel(126, 144, Rgba([0, 0, 0, 0]))
        .save(&placeholder)
        .unwrap();
    let flat = dir.path().join("flat-blue.png");
    RgbaImage::from_pixel(300, 200, Rgba([30, 90, 200, 255]))
        .save(&flat)
        .unwrap();
    refs::add_references(
        &mut case,
        &[asset("references/rocket.jpg"), placeholder.clone(), flat.clone()],
        &Silent,
    )
    .unwrap();

    // Another blank file (other size, other invisible colour) and the real reference itself.
    let other_blank = dir.path().join("dummy-concave-r.png");
    RgbaImage::from_pixel(126, 180, Rgba([255, 255, 255, 0]))
        .save(&other_blank)
        .unwrap();
    let report = scan::check(
        &mut case,
        &fp,
        &[other_blank.clone(), asset("references/rocket.jpg")],
        &Silent,
    )
    .unwrap();

    let mut blank = report.scan.blank_references.clone();
    blank.sort();
    let mut expected = [refs::absolute(&placeholder), refs::absolute(&flat)];
    expected.sort();
    assert_eq!(blank, expected);
    let blank_candidate = refs::absolute(&other_blank);
    let flagged: Vec<_> = report
        .matches
        .iter()
        .filter(|m| m.asset.locator == blank_candidate && m.score >= 0.5)
        .map(|m| (m.reference.original_path.clone(), m.score))
        .collect();
    assert!(flagged.is_empty(), "a blank candidate flagged against {flagged:?}");
    let rocket = report
        .matches
        .iter()
        .find(|m| m.reference.original_path.ends_with("rocket.jpg"))
        .map(|m| m.score);
    assert_eq!(rocket, Some(1.0), "the real reference is still matched");
}
