//! Small pictures pasted at their own size into a large scene (1024 px): the scene
//! is worked at full size with a keypoint budget that grows with its area, so each
//! pasted picture keeps its detail and its share of keypoints. At a fixed 512-px
//! working size and 500 keypoints (keypoints `v3`) neither pasted sprite below
//! was verified.

mod imaging;

use image::imageops::{self, FilterType};
use image::{DynamicImage, RgbaImage};
use imaging::{jpeg, open, png, root};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_match::{compare, LOCAL_INLIERS_NONE};

/// Four demo photos, 512 px each, in a 1024-px square.
fn mosaic() -> RgbaImage {
    let mut scene = RgbaImage::new(1024, 1024);
    let tiles = ["brick-wall.jpg", "grass.jpg", "clock.jpg", "hubble-deep-field.jpg"];
    for (i, name) in tiles.iter().enumerate() {
        let tile =
            open(&root().join("demo/assets/distractors").join(name)).resize_exact(512, 512, FilterType::Triangle);
        let (x, y) = ((i % 2) as i64 * 512, (i / 2) as i64 * 512);
        imageops::replace(&mut scene, &tile.to_rgba8(), x, y);
    }
    scene
}

#[test]
fn sprites_pasted_small_into_a_large_scene_are_verified_and_located() {
    let fp = Fingerprinter::new_default().expect("model");
    let strip = open(&root().join("2-fingerprint/tests/sprites/hedgewars-hedgehog-sad.png"));
    let hedgehog = strip.crop_imm(0, 0, 32, 32);
    let butterfly = open(&root().join("demo/assets/references/butterfly.png"));
    let butterfly = butterfly.resize(128, 128, FilterType::Triangle);
    let rose = open(&root().join("demo/assets/references/rose.png"));

    // The hedgehog shown 4x (pixel art is enlarged by whole factors), the butterfly
    // at its own 128 px; each covers about 1 % of the scene.
    let shown = hedgehog.resize(128, 128, FilterType::Nearest);
    let mut scene = mosaic();
    let places = [(&shown, 700i64, 180i64), (&butterfly, 150, 640)];
    for (img, x, y) in places {
        imageops::overlay(&mut scene, &img.to_rgba8(), x, y);
    }
    let cand = fp
        .fingerprint(&jpeg(&DynamicImage::ImageRgba8(scene), 85))
        .expect("scene");
    println!("scene: {} keypoints", cand.local.keypoints.len());

    for ((name, reference), (img, x, y)) in [("hedgehog", &hedgehog), ("butterfly", &butterfly)]
        .into_iter()
        .zip(places)
    {
        let r = fp.fingerprint(&png(reference)).expect("reference");
        let s = compare(&r, &cand);
        println!(
            "{name}: {} inliers of {} matches, box {:?}",
            s.local_inliers, s.local_matches, s.local_box
        );
        assert!(
            s.local_inliers > LOCAL_INLIERS_NONE,
            "{name}: {} inliers",
            s.local_inliers
        );
        let [bx, by, bw, bh] = s.local_box.expect("a located copy");
        let (cx, cy) = ((bx + bw / 2) as i64, (by + bh / 2) as i64);
        let (ex, ey) = (x + i64::from(img.width()) / 2, y + i64::from(img.height()) / 2);
        assert!(
            (cx - ex).abs() <= 12 && (cy - ey).abs() <= 12,
            "{name}: centre ({cx},{cy}) vs ({ex},{ey})"
        );
    }

    // A picture that is not in the scene finds no geometry there.
    let s = compare(&fp.fingerprint(&png(&rose)).expect("rose"), &cand);
    println!("rose (not pasted): {} inliers", s.local_inliers);
    assert!(s.local_inliers <= LOCAL_INLIERS_NONE, "{}", s.local_inliers);
}
