//! Real photos (scikit-image sample data, public domain/CC0) and edited copies
//! made here with the `image` crate: every copy must score above every
//! unrelated pair.

use std::io::Cursor;
use std::path::PathBuf;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageFormat, RgbImage};
use xiezhi_fingerprint::{Fingerprint, Fingerprinter};
use xiezhi_match::{compare, explain, explain_among, score, Signals, Standing, KIND_CROP, KIND_PASTE, METHOD};

fn data(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../2-fingerprint/tests/data")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn rgb(name: &str) -> RgbImage {
    image::load_from_memory(&data(name)).expect("decode").to_rgb8()
}

fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut out, ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("jpeg");
    out
}

fn crop(img: &RgbImage, fx: f64, fy: f64, side: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = ((w as f64 * side) as u32, (h as f64 * side) as u32);
    imageops::crop_imm(img, (w as f64 * fx) as u32, (h as f64 * fy) as u32, cw, ch).to_image()
}

/// `img` scaled to 30 % of the area of `bg` (resized to 600x400), pasted at (200,100).
fn paste(img: &RgbImage, bg: &RgbImage) -> (RgbImage, [u32; 4]) {
    let mut canvas = imageops::resize(bg, 600, 400, FilterType::Triangle);
    let s = (0.3 * 600.0 * 400.0 / (img.width() * img.height()) as f64).sqrt();
    let (w, h) = ((img.width() as f64 * s) as u32, (img.height() as f64 * s) as u32);
    let small = imageops::resize(img, w, h, FilterType::Triangle);
    imageops::replace(&mut canvas, &small, 200, 100);
    (canvas, [200, 100, w, h])
}

fn edits(name: &str, bg: &str) -> Vec<(String, Vec<u8>)> {
    let img = rgb(name);
    let (w, h) = img.dimensions();
    vec![
        ("crop 60%".into(), png(&crop(&img, 0.2, 0.1, 0.6))),
        ("crop 35%".into(), png(&crop(&img, 0.15, 0.3, 0.35))),
        ("mirror".into(), png(&imageops::flip_horizontal(&img))),
        ("rotate 90°".into(), png(&imageops::rotate90(&img))),
        ("hue shift 60°".into(), png(&imageops::huerotate(&img, 60))),
        (
            "downscale to 25%".into(),
            png(&imageops::resize(&img, w / 4, h / 4, FilterType::Triangle)),
        ),
        ("JPEG q25".into(), jpeg(&img, 25)),
        ("paste 30% area".into(), png(&paste(&img, &rgb(bg)).0)),
    ]
}

const PHOTOS: [&str; 7] = [
    "chelsea.png",
    "coffee.png",
    "astronaut.jpg",
    "rocket.jpg",
    "hubble.jpg",
    "camera.png",
    "coins.jpg",
];

fn show(label: &str, s: &Signals) {
    println!(
        "{label:45} score {:.3} pdq {:3} ({:13}) q{:3} emb {:.3} reg {:.3} {:35} {:?}",
        score(s),
        s.pdq_distance,
        s.pdq_transform,
        s.pdq_quality,
        s.embedding_cosine,
        s.region_cosine,
        s.region_kind,
        s.region_box
    );
}

#[test]
fn copies_score_above_unrelated_images() {
    let fp = Fingerprinter::new_default().expect("model");
    let originals: Vec<Fingerprint> = PHOTOS
        .iter()
        .map(|p| fp.fingerprint(&data(p)).expect("fingerprint"))
        .collect();

    let mut unrelated = Vec::new();
    for i in 0..PHOTOS.len() {
        for j in 0..PHOTOS.len() {
            if i != j {
                let s = compare(&originals[i], &originals[j]);
                show(&format!("{} vs {}", PHOTOS[i], PHOTOS[j]), &s);
                unrelated.push((format!("{} vs {}", PHOTOS[i], PHOTOS[j]), score(&s)));
            }
        }
    }

    let mut copies = Vec::new();
    for (ri, bg) in [(0usize, "hubble.jpg"), (1, "rocket.jpg"), (2, "coins.jpg")] {
        for (label, bytes) in edits(PHOTOS[ri], bg) {
            let f = fp.fingerprint(&bytes).expect("fingerprint copy");
            let s = compare(&originals[ri], &f);
            let label = format!("{} {label}", PHOTOS[ri]);
            show(&label, &s);
            println!("    {}", explain(&s));
            if label.ends_with("mirror") {
                assert_eq!(s.pdq_transform, "mirror", "{label}");
                assert!(s.pdq_distance <= 31, "{label}");
            }
            if label.ends_with("rotate 90°") {
                // A PDQ match through a turn counts only with keypoint support
                // (flat art hashes alike under turns); a rotated photo has it.
                assert!(s.pdq_transform.starts_with("rot90") && s.pdq_distance <= 31, "{label}");
                assert!(s.local_inliers > xiezhi_match::LOCAL_INLIERS_NONE, "{label}");
                assert!(
                    xiezhi_match::pdq_counts(&s) && xiezhi_match::features(&s)[1] > 0.0,
                    "{label}"
                );
            }
            if label.ends_with("JPEG q25") || label.ends_with("downscale to 25%") {
                assert!(s.pdq_distance <= 31, "{label}: {}", s.pdq_distance);
            }
            if label.ends_with("paste 30% area") {
                assert!(
                    s.region_kind == KIND_PASTE || s.region_kind == "shared part",
                    "{label}: {}",
                    s.region_kind
                );
            }
            if label.ends_with("crop 35%") {
                assert_ne!(s.region_kind, "whole image", "{label}");
            }
            copies.push((label, score(&s)));
        }
    }
    let worst_copy = copies.iter().min_by(|a, b| a.1.total_cmp(&b.1)).expect("copies");
    let best_unrelated = unrelated.iter().max_by(|a, b| a.1.total_cmp(&b.1)).expect("unrelated");
    println!("worst copy {worst_copy:?}; best unrelated {best_unrelated:?}");
    assert!(
        worst_copy.1 > best_unrelated.1,
        "copy {worst_copy:?} does not beat unrelated {best_unrelated:?}"
    );
    // "Clearly above". With the calibrated score (session 3) the score is a probability: a 35 %
    // crop of these small photos has no local-feature confirmation and measured 0.29-0.91
    // (the benchmark's crop35 recall at 0.5 is 0.77), so crops of 35 % must clear the
    // engine's recording floor (0.2) and every other edit 0.9; unrelated pairs measured <= 0.001.
    for (label, sc) in &copies {
        let bar = if label.ends_with("crop 35%") { 0.2 } else { 0.9 };
        assert!(*sc >= bar, "{label}: {sc}");
    }
    assert!(best_unrelated.1 <= 0.01, "{best_unrelated:?}");
}

#[test]
fn exact_copies_score_one_and_say_so() {
    let fp = Fingerprinter::new_default().expect("model");
    let bytes = data("coffee.png");
    let a = fp.fingerprint(&bytes).expect("a");
    let s = compare(&a, &a);
    assert!(s.exact_bytes && s.exact_pixels);
    assert_eq!(score(&s), 1.0);
    assert!(explain(&s).starts_with("Identical file"));

    // Same pixels, different container: BMP re-encode.
    let img = image::load_from_memory(&bytes).expect("decode");
    let mut bmp = Cursor::new(Vec::new());
    img.write_to(&mut bmp, ImageFormat::Bmp).expect("bmp");
    let b = fp.fingerprint(bmp.get_ref()).expect("b");
    let s = compare(&a, &b);
    assert!(!s.exact_bytes && s.exact_pixels);
    assert_eq!(s.pdq_distance, 0);
    assert_eq!(score(&s), 1.0);
    assert_eq!(
        explain(&s),
        "Identical pixels: the files differ only in encoding or metadata."
    );
}

#[test]
fn explanation_names_the_crop_window_and_signals_round_trip() {
    let fp = Fingerprinter::new_default().expect("model");
    let img = rgb("chelsea.png");
    let reference = fp.fingerprint(&png(&img)).expect("ref");
    // Exactly the reference's top-left 60 % window.
    let w = &reference.regions[0];
    let w = (w.x, w.y, w.w, w.h);
    let cut = imageops::crop_imm(&img, w.0, w.1, w.2, w.3).to_image();
    let cand = fp.fingerprint(&jpeg(&cut, 80)).expect("cand");
    let s = compare(&reference, &cand);
    show("chelsea window crop", &s);
    assert_eq!(s.region_kind, KIND_CROP);
    assert_eq!(s.region_box, Some([w.0, w.1, w.2, w.3]));
    assert!(s.region_cosine > 0.95);
    let text = explain(&s);
    println!("{text}");
    assert!(text.contains(&format!("({},{})–({},{})", w.0, w.1, w.0 + w.2, w.1 + w.3)));
    assert!(text.contains(&format!(
        "PDQ distance {}/256 (same-picture threshold 31)",
        s.pdq_distance
    )));
    // With the caller's count of references, the sentence says where this one stands.
    let among = explain_among(
        &s,
        Standing {
            rank: 1,
            references: 12408,
        },
    );
    let similarity = format!(
        "embedding similarity {:.2}, nearest of 12,408 references",
        s.embedding_cosine
    );
    assert!(among.contains(&similarity), "{among}");
    let third = explain_among(
        &s,
        Standing {
            rank: 3,
            references: 40,
        },
    );
    assert!(third.contains("3rd nearest of 40 references"), "{third}");
    let json = serde_json::to_string(&s).expect("json");
    let back: Signals = serde_json::from_str(&json).expect("back");
    assert_eq!(back, s);
    assert!(METHOD.contains("calibrated") && METHOD.contains("models/METHOD-error-rates.md"));
}

#[test]
fn different_models_are_not_compared_and_bad_hashes_do_not_panic() {
    let fp = Fingerprinter::new_default().expect("model");
    let a = fp.fingerprint(&data("rocket.jpg")).expect("a");
    let mut b = a.clone();
    b.sha256 = "0".repeat(64);
    b.pixel_sha256 = "0".repeat(64);
    b.model_id = "other-model".into();
    b.pdq = "not hex".into();
    let s = compare(&a, &b);
    assert!(!s.same_model);
    assert_eq!(s.pdq_distance, 256);
    assert_eq!(s.region_cosine, 0.0);
    // Local features do not depend on the embedding model: the identical
    // keypoints still verify (and say so).
    assert!(s.local_inliers > 100, "{}", s.local_inliers);
    assert!(explain(&s).contains("different models"));
    assert!(explain(&s).contains("matching keypoints in one consistent geometry"));
    b.local = Default::default();
    let s = compare(&a, &b);
    assert_eq!(s.local_inliers, 0);
    assert!(score(&s) < 0.01);
}
