//! Small pictures pasted at their own size into a large scene (1024 px): the scene
//! is worked at full size with a keypoint budget that grows with its area, so each
//! pasted picture keeps its detail and its share of keypoints. At a fixed 512-px
//! working size and 500 keypoints (keypoints `v3`) neither pasted sprite below
//! was verified. A picture pasted at a third of a textured scene needs the
//! candidate's extra keypoints.

mod imaging;

use image::imageops::{self, FilterType};
use image::DynamicImage;
use imaging::{jpeg, mosaic, open, png, root};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_match::{compare, LOCAL_INLIERS_NONE};

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

/// Where [`paste30`] put the picture, and the fingerprint of the scene.
struct Pasted {
    cand: xiezhi_fingerprint::Fingerprint,
    x: i64,
    y: i64,
    w: u32,
    h: u32,
    scale: f32,
}

/// The benchmark's `paste30` edit: `picture` resized (with `filter`) to 30 % of the area
/// of a `w` x `h` grass scene, strongly textured everywhere, overlaid at the place
/// `place` gives for the free width and height, saved as JPEG at quality 85.
fn paste30(
    fp: &Fingerprinter,
    picture: &DynamicImage,
    (w, h): (u32, u32),
    filter: FilterType,
    place: fn(u32, u32) -> (u32, u32),
) -> Pasted {
    let mut scene = open(&root().join("demo/assets/distractors/grass.jpg"))
        .resize_exact(w, h, FilterType::Triangle)
        .to_rgba8();
    let scale = (0.30 * (w * h) as f32 / (picture.width() * picture.height()) as f32).sqrt();
    let (pw, ph) = (
        (picture.width() as f32 * scale) as u32,
        (picture.height() as f32 * scale) as u32,
    );
    let (x, y) = place(w - pw, h - ph);
    let (x, y) = (i64::from(x), i64::from(y));
    imageops::overlay(&mut scene, &picture.resize_exact(pw, ph, filter).to_rgba8(), x, y);
    let cand = fp
        .fingerprint(&jpeg(&DynamicImage::ImageRgba8(scene), 85))
        .expect("scene");
    Pasted {
        cand,
        x,
        y,
        w: pw,
        h: ph,
        scale,
    }
}

/// A picture pasted at 30 % of the area of a scene with strong texture everywhere
/// (the benchmark's `paste30` edit): the scene's keypoint budget is spread over the
/// grass, and the corners chosen on the pasted lizard at the base density are rarely
/// the ones chosen in the reference (2 inliers). The candidate's extra keypoints
/// (four times the density) verify and locate it.
#[test]
fn a_picture_pasted_into_a_textured_scene_is_verified_with_the_extra_keypoints() {
    let fp = Fingerprinter::new_default().expect("model");
    let lizard = open(&root().join("demo/assets/distractors/lizard.png"));
    let Pasted {
        cand,
        x,
        y,
        w: pw,
        h: ph,
        ..
    } = paste30(&fp, &lizard, (512, 1024), FilterType::Lanczos3, |fw, fh| {
        (fw / 3, fh / 2)
    });
    let reference = fp.fingerprint(&png(&lizard)).expect("reference");

    let s = compare(&reference, &cand);
    let base_only = xiezhi_fingerprint::Fingerprint {
        extra_keypoints: Vec::new(),
        ..cand.clone()
    };
    let s0 = compare(&reference, &base_only);
    println!(
        "{} base + {} extra keypoints; inliers {} (base only {}), box {:?}",
        cand.local.keypoints.len(),
        cand.extra_keypoints.len(),
        s.local_inliers,
        s0.local_inliers,
        s.local_box
    );
    assert!(s0.local_inliers <= LOCAL_INLIERS_NONE, "{}", s0.local_inliers);
    assert!(s.local_inliers > LOCAL_INLIERS_NONE + 3, "{}", s.local_inliers);
    let [bx, by, bw, bh] = s.local_box.expect("a located copy");
    let near = |a: u32, b: i64| (i64::from(a) - b).abs() <= 12;
    assert!(
        near(bx, x) && near(by, y) && near(bw, i64::from(pw)) && near(bh, i64::from(ph)),
        "box {:?} vs ({x},{y}) {pw}x{ph}",
        s.local_box
    );
    assert!(
        s.pixel_correlation.is_some_and(|c| c > 0.9),
        "{:?}",
        s.pixel_correlation
    );
}

/// A small sprite on a large transparent canvas (as a Wesnoth unit's 72 x 72 file
/// holds a figure of about 30 x 40 px), pasted into a scene as the benchmark's
/// `paste30` does: its visible part alone, enlarged to 30 % of the scene. Worked with
/// its canvas, the figure gets few keypoints at a fifth of the size it is shown; the
/// keypoints of its opaque box, at the box's own resolution, verify and locate it.
#[test]
fn a_small_sprite_on_a_large_canvas_pasted_enlarged_is_verified_with_its_box_keypoints() {
    let fp = Fingerprinter::new_default().expect("model");
    let strip = open(&root().join("2-fingerprint/tests/sprites/hedgewars-hedgehog-sad.png"));
    let frame = strip.crop_imm(0, 0, 32, 32).to_rgba8();
    let mut canvas = image::RgbaImage::new(120, 100);
    imageops::replace(&mut canvas, &frame, 50, 30);
    let reference = fp
        .fingerprint(&png(&DynamicImage::ImageRgba8(canvas.clone())))
        .expect("reference");
    let (bx, by, bw, bh) =
        xiezhi_fingerprint::opaque_box::opaque_box(&DynamicImage::ImageRgba8(canvas.clone())).expect("a figure");
    let figure = DynamicImage::ImageRgba8(imageops::crop_imm(&canvas, bx, by, bw, bh).to_image());
    let Pasted {
        cand,
        x,
        y,
        w: pw,
        h: ph,
        scale,
    } = paste30(&fp, &figure, (1024, 768), FilterType::Triangle, |fw, fh| {
        (fw / 2, fh / 3)
    });

    let s = compare(&reference, &cand);
    let canvas_only = xiezhi_fingerprint::Fingerprint {
        box_keypoints: Vec::new(),
        ..reference.clone()
    };
    let s0 = compare(&canvas_only, &cand);
    println!(
        "figure {bw}x{bh} shown {pw}x{ph}; reference {} + {} box keypoints; inliers {} (canvas only {}), box {:?}",
        reference.local.keypoints.len(),
        reference.box_keypoints.len(),
        s.local_inliers,
        s0.local_inliers,
        s.local_box
    );
    assert!(!reference.box_keypoints.is_empty());
    assert!(
        s.local_inliers > 2 * s0.local_inliers.max(LOCAL_INLIERS_NONE),
        "{} vs {}",
        s.local_inliers,
        s0.local_inliers
    );
    // The canvas's outline maps beyond the scene: check where the figure's centre goes.
    let [a, b, tx, ty] = s.local_transform.expect("a fitted geometry");
    let (fx, fy) = (bx as f32 + bw as f32 / 2.0, by as f32 + bh as f32 / 2.0);
    let (cx, cy) = (a * fx - b * fy + tx, b * fx + a * fy + ty);
    let (ex, ey) = (x as f32 + pw as f32 / 2.0, y as f32 + ph as f32 / 2.0);
    assert!(
        (cx - ex).abs() <= 12.0 && (cy - ey).abs() <= 12.0,
        "centre ({cx},{cy}) vs ({ex},{ey})"
    );
    assert!(
        (a.hypot(b) - scale).abs() < 0.1 * scale,
        "scale {} vs {scale}",
        a.hypot(b)
    );
}
