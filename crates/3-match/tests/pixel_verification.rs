//! Pixel verification on real images: once local features have placed the
//! reference in the candidate, its pixels are there for a copy (a sprite pasted
//! into photos, mirrored or not, a photo cropped) and are not for another picture
//! of the same size put at the very same place.

mod imaging;

use image::imageops::FilterType;
use imaging::{jpeg, open, pasted, png, root};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_match::{compare, pixel_correlation};

fn pixel_feature(s: &xiezhi_match::Signals) -> f32 {
    imaging::feature(s, "pixel_agreement")
}

#[test]
fn a_pasted_sprite_has_its_pixels_in_place_and_another_sprite_there_does_not() {
    let fp = Fingerprinter::new_default().expect("model");
    let strip = open(&root().join("2-fingerprint/tests/sprites/hedgewars-hedgehog-sad.png"));
    let sprite = strip.crop_imm(0, 0, 32, 32);
    // Another picture of the same size: a rose, shrunk to 32 x 32.
    let rose = open(&root().join("demo/assets/references/rose.png")).resize_exact(32, 32, FilterType::Triangle);
    let reference = fp.fingerprint(&png(&sprite)).expect("sprite");
    let other = fp.fingerprint(&png(&rose)).expect("rose");
    assert!(reference.thumbnail.is_some() && other.thumbnail.is_some());

    for (name, mirror) in [("brick-wall.jpg", false), ("grass.jpg", false), ("clock.jpg", true)] {
        let host = open(&root().join("demo/assets/distractors").join(name));
        let shown = if mirror { sprite.fliph() } else { sprite.clone() };
        let cand = fp.fingerprint(&pasted(&shown, &host)).expect("candidate");
        let s = compare(&reference, &cand);
        let transform = s.local_transform.expect("a verified geometry");
        assert_eq!(s.local_mirrored, mirror, "{name}");
        let c = s.pixel_correlation.expect("a correlation");
        println!(
            "hedgehog on {name}: {} inliers, correlation {c:.3} over {} px",
            s.local_inliers, s.pixel_compared
        );
        assert!(c >= 0.85, "{name}: {c}");
        assert!(pixel_feature(&s) > 0.7, "{name}");
        assert!(xiezhi_match::explain(&s).contains("correlate"), "{name}");

        // The same place, other pixels: what a look-alike of one art style gives.
        let wrong = pixel_correlation(&other, &cand, transform, s.local_mirrored).expect("comparable");
        println!("  rose at the same place: {:.3}", wrong.correlation);
        assert!(wrong.correlation < 0.6, "{name}: {}", wrong.correlation);
    }
}

#[test]
fn a_cropped_photo_keeps_its_pixels_and_old_fingerprints_give_no_verdict() {
    let fp = Fingerprinter::new_default().expect("model");
    let photo = open(&root().join("demo/assets/references/chelsea.jpg"));
    // 35 % of the area, off centre, re-encoded.
    let (crop, _) = imaging::crop35(&photo);
    let reference = fp.fingerprint(&jpeg(&photo, 90)).expect("photo");
    let cand = fp.fingerprint(&jpeg(&crop, 75)).expect("crop");
    let s = compare(&reference, &cand);
    let c = s.pixel_correlation.expect("a correlation");
    println!(
        "chelsea crop: {} inliers, correlation {c:.3} over {} px",
        s.local_inliers, s.pixel_compared
    );
    assert!(c >= 0.9, "{c}");

    // A fingerprint stored before thumbnails existed: no verdict, no feature.
    let mut old = cand.clone();
    old.thumbnail = None;
    let s = compare(&reference, &old);
    assert!(s.local_transform.is_some());
    assert_eq!(s.pixel_correlation, None);
    assert_eq!(pixel_feature(&s), 0.0);
}

/// A smooth picture (the low frequencies of one photo) carrying the fine detail of another.
fn glow_with_detail(glow: &image::DynamicImage, detail: &image::DynamicImage, side: u32) -> image::DynamicImage {
    let base = glow
        .resize_exact(side, side, FilterType::Triangle)
        .blur(12.0)
        .to_luma8();
    let fine = detail.resize_exact(side, side, FilterType::Triangle).to_luma8();
    let smooth = image::DynamicImage::ImageLuma8(fine.clone()).blur(3.0).to_luma8();
    let out = image::GrayImage::from_fn(side, side, |x, y| {
        let high = f32::from(fine.get_pixel(x, y).0[0]) - f32::from(smooth.get_pixel(x, y).0[0]);
        image::Luma([(f32::from(base.get_pixel(x, y).0[0]) + 0.6 * high).clamp(0.0, 255.0) as u8])
    });
    image::DynamicImage::ImageLuma8(out)
}

#[test]
fn shared_smooth_shading_with_other_detail_is_no_pixel_agreement() {
    // What galaxies on black do: their smooth glows correlate as wholes, their detail
    // does not. Here both pictures share the blurred shape of one photo and carry the
    // fine texture of two other photos; a re-encoded copy keeps its own detail.
    let fp = Fingerprinter::new_default().expect("model");
    let assets = root().join("demo/assets");
    let glow = open(&assets.join("references/chelsea.jpg"));
    let grass = open(&assets.join("distractors/grass.jpg"));
    let bricks = open(&assets.join("distractors/brick-wall.jpg"));
    let a = glow_with_detail(&glow, &grass, 320);
    let b = glow_with_detail(&glow, &bricks, 320);
    let reference = fp.fingerprint(&png(&a)).expect("reference");
    let identity = [1.0, 0.0, 0.0, 0.0];

    let copy = fp.fingerprint(&jpeg(&a, 70)).expect("copy");
    let same = pixel_correlation(&reference, &copy, identity, false).expect("comparable");
    let other = fp.fingerprint(&png(&b)).expect("look-alike");
    let alike = pixel_correlation(&reference, &other, identity, false).expect("comparable");
    println!("copy: {same:?}\nlook-alike: {alike:?}");
    assert!(same.correlation > 0.95 && alike.correlation > 0.8, "{same:?} {alike:?}");
    let (d_same, d_alike) = (same.detail.expect("detail"), alike.detail.expect("detail"));
    assert!(d_same > xiezhi_match::PIXEL_DETAIL_FULL, "{d_same}");
    assert!(d_alike < xiezhi_match::PIXEL_DETAIL_NONE, "{d_alike}");

    // Through the features: the look-alike's pixel term is gone, the copy's is whole.
    let mut s = compare(&reference, &copy);
    s.local_inliers = s.local_inliers.max(xiezhi_match::LOCAL_INLIERS_FULL);
    s.pixel_correlation = Some(same.correlation);
    s.pixel_detail_correlation = same.detail;
    assert_eq!(pixel_feature(&s), 1.0);
    s.pixel_correlation = Some(alike.correlation);
    s.pixel_detail_correlation = alike.detail;
    assert_eq!(pixel_feature(&s), 0.0);
}

/// Line art on a transparent canvas: the pixels of `photo` within 3 px of a place where
/// its grey level changes fast (its outlines), everything else transparent; a title
/// logo's letters are like it.
fn outlines(photo: &image::DynamicImage) -> image::DynamicImage {
    let grey = photo.to_luma8();
    let (w, h) = grey.dimensions();
    let at = |x: i64, y: i64| {
        i64::from(
            grey.get_pixel(x.clamp(0, i64::from(w) - 1) as u32, y.clamp(0, i64::from(h) - 1) as u32)
                .0[0],
        )
    };
    let edge = |x: i64, y: i64| (at(x + 1, y) - at(x - 1, y)).abs() + (at(x, y + 1) - at(x, y - 1)).abs() > 60;
    let mut out = photo.to_rgba8();
    for y in 0..i64::from(h) {
        for x in 0..i64::from(w) {
            let near = (-3..=3).any(|dy| (-3..=3).any(|dx| edge(x + dx, y + dy)));
            out.get_pixel_mut(x as u32, y as u32).0[3] = if near { 255 } else { 0 };
        }
    }
    image::DynamicImage::ImageRgba8(out)
}

#[test]
fn a_crop_of_thin_line_art_gets_a_pixel_verdict() {
    let fp = Fingerprinter::new_default().expect("model");
    let art = outlines(&open(&root().join("demo/assets/references/rocket.jpg")).resize(600, 600, FilterType::Triangle));
    let (w, h) = (art.width(), art.height());
    let (cw, ch) = ((f64::from(w) * 0.59) as u32, (f64::from(h) * 0.59) as u32);
    let crop = art.crop_imm(w / 10, h / 5, cw, ch);
    let reference = fp.fingerprint(&png(&art)).expect("line art");
    let cand = fp.fingerprint(&png(&crop)).expect("crop");
    let s = compare(&reference, &cand);
    println!(
        "line-art crop: {} inliers, correlation {:?} over {} px",
        s.local_inliers, s.pixel_correlation, s.pixel_compared
    );
    assert!(s.local_transform.is_some());
    // Averaged down to the comparison grid, hardly a cell of thin lines is 90 % opaque:
    // half-opaque cells are compared instead, rather than no verdict at all.
    let c = s.pixel_correlation.expect("a verdict on half-opaque cells");
    assert!(c >= 0.7, "{c}");
    assert!(pixel_feature(&s) > 0.2);
}
