//! Local features on flat and transparent art (a Hedgewars sprite, the demo's clip
//! art): the adaptive FAST threshold and the outline keypoints must give geometric
//! verification something to work with.

use std::path::PathBuf;

use image::DynamicImage;
use xiezhi_fingerprint::local::extract;

fn open(rel: &str) -> DynamicImage {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    image::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The first 32x32 frame of the hedgehog strip: a flat-shaded sprite on transparency.
fn hedgehog() -> DynamicImage {
    open("tests/sprites/hedgewars-hedgehog-sad.png").crop_imm(0, 0, 32, 32)
}

#[test]
fn a_flat_sprite_gets_keypoints_on_its_body_and_outline() {
    let sprite = hedgehog();
    let lf = extract(&sprite);
    println!("hedgehog 32x32: {} keypoints", lf.keypoints.len());
    // Enough for a verified geometry (6+ inliers) once the sprite is scaled and pasted.
    assert!(lf.keypoints.len() >= 40, "{}", lf.keypoints.len());
    let alpha = sprite.to_rgba8();
    for k in &lf.keypoints {
        assert!(k.x >= 0.0 && k.y >= 0.0 && k.x <= 32.0 && k.y <= 32.0, "{k:?}");
    }
    // Keypoints sit on the sprite (its pixels or their outline), not in the empty margin.
    let near_opaque = lf
        .keypoints
        .iter()
        .filter(|k| {
            let (x, y) = (k.x as i32, k.y as i32);
            (-2..=2).any(|dy| {
                (-2..=2).any(|dx| {
                    let (xx, yy) = (x + dx, y + dy);
                    (0..32).contains(&xx) && (0..32).contains(&yy) && alpha.get_pixel(xx as u32, yy as u32)[3] >= 128
                })
            })
        })
        .count();
    assert_eq!(near_opaque, lf.keypoints.len());
}

#[test]
fn clip_art_keeps_enough_keypoints_and_extraction_is_deterministic() {
    let rose = open("../demo/assets/references/rose.png");
    let a = extract(&rose);
    let b = extract(&rose);
    println!("rose: {} keypoints", a.keypoints.len());
    assert_eq!(a, b);
    assert!(a.keypoints.len() >= 200, "{}", a.keypoints.len());
    assert!(a.keypoints.len() <= xiezhi_fingerprint::local::MAX_KEYPOINTS);
}
