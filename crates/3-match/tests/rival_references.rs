//! Rival references on real pictures: a sprite and its recoloured variant (a palette
//! swap, as games ship them) are both references; a scene shows the sprite once and,
//! elsewhere, another sprite. The two variants verify at the same place of the scene
//! and are each other's rival; the other sprite has none.

mod imaging;

use image::imageops::{self, FilterType};
use image::DynamicImage;
use imaging::{jpeg, mosaic, open, png, root};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_match::{compare, features, mark_rivals, pixel_term, score, Signals, LOCAL_INLIERS_NONE};

/// The sprite with its colour channels turned (r, g, b) -> (b, r, g): same drawing,
/// other colours, other grey levels.
fn recoloured(img: &DynamicImage) -> DynamicImage {
    let mut out = img.to_rgba8();
    for p in out.pixels_mut() {
        let [r, g, b, a] = p.0;
        p.0 = [b, r, g, a];
    }
    DynamicImage::ImageRgba8(out)
}

#[test]
fn two_references_showing_one_part_are_rivals_and_a_sprite_beside_them_is_not() {
    let fp = Fingerprinter::new_default().expect("model");
    let butterfly = open(&root().join("demo/assets/references/butterfly.png")).resize(256, 256, FilterType::Triangle);
    let hedgehog = open(&root().join("2-fingerprint/tests/sprites/hedgewars-hedgehog-sad.png")).crop_imm(0, 0, 32, 32);
    let rose = open(&root().join("demo/assets/references/rose.png"));

    let mut scene = mosaic();
    imageops::overlay(&mut scene, &butterfly.to_rgba8(), 120, 600);
    let shown = hedgehog.resize(128, 128, FilterType::Nearest);
    imageops::overlay(&mut scene, &shown.to_rgba8(), 700, 180);
    let cand = fp
        .fingerprint(&jpeg(&DynamicImage::ImageRgba8(scene), 85))
        .expect("scene");

    let names = ["butterfly", "recoloured butterfly", "hedgehog", "rose"];
    let refs =
        [&butterfly, &recoloured(&butterfly), &hedgehog, &rose].map(|r| fp.fingerprint(&png(r)).expect("reference"));
    let mut compared: Vec<Signals> = refs.iter().map(|r| compare(r, &cand)).collect();
    let alone: Vec<f32> = compared.iter().map(score).collect();
    mark_rivals(&mut compared.iter_mut().collect::<Vec<_>>());
    for (i, s) in compared.iter().enumerate() {
        println!(
            "{}: {} inliers, box {:?}, pixel term {:.2}, {} rival(s), score {:.3} alone, {:.3} among the others",
            names[i],
            s.local_inliers,
            s.local_box,
            pixel_term(s),
            s.rival_references,
            alone[i],
            score(s)
        );
    }
    let [butterfly, variant, hedgehog, rose] = &compared[..] else {
        unreachable!()
    };
    for s in [butterfly, variant, hedgehog] {
        assert!(s.local_inliers > LOCAL_INLIERS_NONE, "{s:?}");
        assert!(pixel_term(s) > 0.5, "{s:?}");
    }
    assert_eq!(butterfly.rival_references, 1);
    assert_eq!(variant.rival_references, 1);
    assert_eq!(hedgehog.rival_references, 0);
    assert_eq!(rose.rival_references, 0);
    assert!((features(butterfly)[8] - pixel_term(butterfly) / 2.0).abs() < 1e-6);
    assert!(score(butterfly) < alone[0]);
    assert_eq!(score(hedgehog), alone[2]);
}
