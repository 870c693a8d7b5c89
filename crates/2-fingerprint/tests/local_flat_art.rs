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
    // 400 x 333: worked at its own size, within the base budget.
    assert!(a.keypoints.len() <= xiezhi_fingerprint::local::BASE_KEYPOINTS);
}

#[test]
fn an_animation_strip_gets_keypoints_along_its_length() {
    // 32x512, 14 frames of 32x32 (the rest transparent). At the usual working size the
    // strip is 32 px wide, too narrow for a 31-px patch away from the border, so it had
    // no keypoints at all. It is now enlarged (short side 96 px, long side at most 1024)
    // and padded, so its outline at the border counts.
    let strip = open("tests/sprites/hedgewars-hedgehog-sad.png");
    let lf = extract(&strip);
    let frames_with_keypoints = (0..14)
        .filter(|f| {
            let (top, bottom) = (*f as f32 * 32.0, (*f as f32 + 1.0) * 32.0);
            lf.keypoints.iter().any(|k| k.y >= top && k.y < bottom)
        })
        .count();
    println!(
        "strip: {} keypoints, in {frames_with_keypoints} of 14 frames",
        lf.keypoints.len()
    );
    assert!(lf.keypoints.len() >= 100, "{}", lf.keypoints.len());
    assert!(frames_with_keypoints >= 12, "{frames_with_keypoints}");
    for k in &lf.keypoints {
        assert!(k.x >= 0.0 && k.y >= 0.0 && k.x <= 32.0 && k.y <= 512.0, "{k:?}");
    }
}
