//! The colour check on real images: a crop of a photo keeps its colours where the
//! pixels were compared; the same crop with every colour turned to its opposite at the
//! same grey level (what two flags of one layout in other colours are to each other)
//! keeps its grey levels, and the colour agreement says it is not the same picture.

mod imaging;

use image::{DynamicImage, Rgb, RgbImage};
use imaging::{jpeg, open, root};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_match::{compare, explain, Signals, LOCAL_INLIERS_NONE};

fn colour_feature(s: &Signals) -> f32 {
    imaging::feature(s, "colour_agreement")
}

/// Each pixel with its (Cb, Cr) mirrored around grey: the same luma, the opposite hue.
fn opposite_colours(img: &DynamicImage) -> DynamicImage {
    let rgb = img.to_rgb8();
    DynamicImage::ImageRgb8(RgbImage::from_fn(rgb.width(), rgb.height(), |x, y| {
        let [r, g, b] = rgb.get_pixel(x, y).0.map(f32::from);
        let luma = 0.299 * r + 0.587 * g + 0.114 * b;
        let (cb, cr) = (
            -0.168_736 * r - 0.331_264 * g + 0.5 * b,
            0.5 * r - 0.418_688 * g - 0.081_312 * b,
        );
        let (cb, cr) = (-cb, -cr);
        let to_u8 = |v: f32| v.round().clamp(0.0, 255.0) as u8;
        Rgb([
            to_u8(luma + 1.402 * cr),
            to_u8(luma - 0.344_136 * cb - 0.714_136 * cr),
            to_u8(luma + 1.772 * cb),
        ])
    }))
}

#[test]
fn a_crop_keeps_its_colours_and_the_same_shapes_in_other_colours_do_not() {
    let fp = Fingerprinter::new_default().expect("model");
    let photo = open(&root().join("demo/assets/references/coffee.jpg"));
    let (crop, _) = imaging::crop35(&photo);
    let reference = fp.fingerprint(&jpeg(&photo, 90)).expect("photo");

    let copy = compare(&reference, &fp.fingerprint(&jpeg(&crop, 75)).expect("crop"));
    let recoloured = compare(
        &reference,
        &fp.fingerprint(&jpeg(&opposite_colours(&crop), 75)).expect("recoloured"),
    );
    for (name, s) in [("crop", &copy), ("recoloured", &recoloured)] {
        println!(
            "{name}: {} inliers, pixels {:?}, colour difference {:?}, colour feature {:.2}",
            s.local_inliers,
            s.pixel_correlation,
            s.pixel_chroma_difference,
            colour_feature(s)
        );
        assert!(s.local_inliers > LOCAL_INLIERS_NONE, "{name}: no geometry");
        assert!(s.pixel_correlation.is_some_and(|c| c > 0.95), "{name}: {s:?}");
    }
    let same = copy.pixel_chroma_difference.expect("colour compared");
    assert!(same < 5.0, "crop: colour difference {same}");
    assert!(colour_feature(&copy) > 0.5, "{}", colour_feature(&copy));
    assert!(explain(&copy).contains("the same colours ("), "{}", explain(&copy));

    let other = recoloured.pixel_chroma_difference.expect("colour compared");
    assert!(other > 15.0, "recoloured: colour difference {other}");
    assert_eq!(colour_feature(&recoloured), 0.0);
    assert!(
        explain(&recoloured).contains("in other colours"),
        "{}",
        explain(&recoloured)
    );
}

#[test]
fn fingerprints_without_colour_give_no_colour_verdict() {
    let fp = Fingerprinter::new_default().expect("model");
    let photo = open(&root().join("demo/assets/references/chelsea.jpg"));
    let crop = photo.crop_imm(40, 30, photo.width() * 2 / 3, photo.height() * 2 / 3);
    let reference = fp.fingerprint(&jpeg(&photo, 90)).expect("photo");
    let mut cand = fp.fingerprint(&jpeg(&crop, 80)).expect("crop");
    assert!(compare(&reference, &cand).pixel_chroma_difference.is_some());
    // As stored before format 8.
    cand.chroma = None;
    let s = compare(&reference, &cand);
    assert!(s.pixel_correlation.is_some_and(|c| c > 0.95), "{s:?}");
    assert_eq!(s.pixel_chroma_difference, None);
    assert_eq!(colour_feature(&s), 0.0);
    assert!(!explain(&s).contains("colours"), "{}", explain(&s));
}
