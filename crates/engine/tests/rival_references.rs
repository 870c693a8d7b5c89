//! Scan and check count a match's rivals among all the references compared with the
//! candidate: a butterfly and its recoloured variant are both references, a scene shows
//! the butterfly once. Each match says so in its signals and its explanation.

mod common;

use image::imageops::{self, FilterType};
use image::{DynamicImage, RgbaImage};
use xiezhi_engine::{refs, scan, Silent};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_store::Case;

use common::asset;

#[test]
fn check_counts_the_references_that_match_the_same_part_of_a_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::init(&dir.path().join("case"), "rivals").unwrap();
    let fp = Fingerprinter::new_default().unwrap();

    let butterfly = image::open(asset("references/butterfly.png"))
        .unwrap()
        .resize(256, 256, FilterType::Triangle)
        .to_rgba8();
    let mut variant = butterfly.clone();
    for p in variant.pixels_mut() {
        let [r, g, b, a] = p.0;
        p.0 = [b, r, g, a];
    }
    let (original, recoloured) = (dir.path().join("butterfly.png"), dir.path().join("butterfly-blue.png"));
    butterfly.save(&original).unwrap();
    variant.save(&recoloured).unwrap();
    refs::add_references(
        &mut case,
        &[original.clone(), recoloured.clone(), asset("references/rocket.jpg")],
        &Silent,
    )
    .unwrap();

    let mut scene: RgbaImage = image::open(asset("distractors/grass.jpg"))
        .unwrap()
        .resize_exact(800, 600, FilterType::Triangle)
        .to_rgba8();
    imageops::overlay(&mut scene, &butterfly, 300, 200);
    let candidate = dir.path().join("poster.jpg");
    DynamicImage::ImageRgba8(scene).to_rgb8().save(&candidate).unwrap();

    let report = scan::check(&mut case, &fp, &[candidate], &Silent).unwrap();
    let rivals = |name: &str| {
        let m = report
            .matches
            .iter()
            .find(|m| m.reference.original_path.ends_with(name))
            .unwrap_or_else(|| panic!("no match recorded for {name}: {:?}", report.matches));
        println!("{name}: {:.3} {}", m.score, m.explanation);
        (m.signals["rival_references"].as_u64(), m.explanation.clone())
    };
    for name in ["butterfly.png", "butterfly-blue.png"] {
        let (n, explanation) = rivals(name);
        assert_eq!(n, Some(1), "{name}");
        assert!(
            explanation
                .contains("also matches 1 other reference with at least half as many keypoints (a part both show)"),
            "{explanation}"
        );
    }
}
