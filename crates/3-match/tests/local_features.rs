//! Local-feature verification on real images: the demo's clip art pasted on a
//! grass texture, edited copies of photos, and every unrelated pair of the
//! test and demo images.

mod common;

use common::iou;
use std::io::Cursor;
use std::path::PathBuf;
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use xiezhi_fingerprint::{Fingerprint, Fingerprinter};
use xiezhi_match::{compare, explain, score, Signals};

/// Most inliers seen on any unrelated pair when this test was written: 5 (see
/// the output of `unrelated_pairs_have_few_inliers_and_extraction_is_fast`);
/// the score ignores up to `LOCAL_INLIERS_NONE` = 5.
const UNRELATED_MAX: u32 = xiezhi_match::LOCAL_INLIERS_NONE;
/// Edited photos that verify have 27 and more inliers; the clip art on grass,
/// the hardest case, 10-11.
const VERIFIED: u32 = 10;

fn read(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn test_photo(name: &str) -> Vec<u8> {
    read(&format!("../2-fingerprint/tests/data/{name}"))
}

fn demo_asset(name: &str) -> Vec<u8> {
    read(&format!("../demo/assets/{name}"))
}

fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).expect("png");
    out.into_inner()
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("jpeg");
    out
}

fn show(label: &str, s: &Signals) {
    println!(
        "{label:42} score {:.3} pdq {:3} emb {:.2} reg {:.2} | matches {:3} inliers {:3} cov {:.2} mirrored {:5} box {:?}",
        score(s),
        s.pdq_distance,
        s.embedding_cosine,
        s.region_cosine,
        s.local_matches,
        s.local_inliers,
        s.local_coverage,
        s.local_mirrored,
        s.local_box
    );
}

/// The demo's `paste` edit (crates/demo/src/edits.rs) with the catalog's
/// butterfly-on-grass parameters: 30 % of the host's area at fx 70 / fy 55,
/// Lanczos3, alpha overlay, JPEG q90.  Returns the bytes and the paste box.
fn butterfly_on_grass() -> (Vec<u8>, [u32; 4]) {
    let img = image::load_from_memory(&demo_asset("references/butterfly.png")).expect("butterfly");
    let host = image::load_from_memory(&demo_asset("distractors/grass.jpg")).expect("grass");
    let target = f64::from(host.width()) * f64::from(host.height()) * 0.30;
    let aspect = f64::from(img.width()) / f64::from(img.height());
    let h = (target / aspect).sqrt();
    let w = ((h * aspect).round() as u32).clamp(1, host.width());
    let h = (h.round() as u32).clamp(1, host.height());
    let pasted = img.resize_exact(w, h, FilterType::Lanczos3).to_rgba8();
    let mut canvas = host.to_rgba8();
    let (x, y) = ((host.width() - w) * 70 / 100, (host.height() - h) * 55 / 100);
    imageops::overlay(&mut canvas, &pasted, i64::from(x), i64::from(y));
    let rgb = DynamicImage::ImageRgba8(canvas).to_rgb8();
    (jpeg(&rgb, 90), [x, y, w, h])
}

/// Bilinear rotation about the centre on a same-size canvas, corners filled grey.
fn rotate(img: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let (sx, sy) = (c * dx + s * dy + cx - 0.5, -s * dx + c * dy + cy - 0.5);
        if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
            return Rgb([128, 128, 128]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let mut out = [0u8; 3];
        for (k, o) in out.iter_mut().enumerate() {
            let p = |xx, yy| f32::from(img.get_pixel(xx, yy)[k]);
            let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + p(x1, y0) * fx * (1.0 - fy)
                + p(x0, y1) * (1.0 - fx) * fy
                + p(x1, y1) * fx * fy;
            *o = v.round().clamp(0.0, 255.0) as u8;
        }
        Rgb(out)
    })
}

fn crop(img: &RgbImage, fx: f64, fy: f64, side: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = ((w as f64 * side) as u32, (h as f64 * side) as u32);
    imageops::crop_imm(img, (w as f64 * fx) as u32, (h as f64 * fy) as u32, cw, ch).to_image()
}

#[test]
fn butterfly_pasted_on_grass_is_verified_and_located() {
    let fp = Fingerprinter::new_default().expect("model");
    let reference = fp
        .fingerprint(&demo_asset("references/butterfly.png"))
        .expect("reference");
    let (bytes, truth) = butterfly_on_grass();
    let cand = fp.fingerprint(&bytes).expect("candidate");
    let s = compare(&reference, &cand);
    show("butterfly pasted on grass", &s);
    println!("    {}", explain(&s));
    println!("    true paste box {truth:?}");
    assert!(s.local_inliers >= VERIFIED, "{}", s.local_inliers);
    let b = s.local_box.expect("box");
    assert!(iou(b, truth) >= 0.5, "box {b:?} vs {truth:?}: IoU {}", iou(b, truth));
    assert!(s.local_coverage > 0.95, "{}", s.local_coverage);
    // Calibrated score (session 3): 10 inliers with a weak global resemblance is measured 0.65;
    // it must reach the review threshold 0.5 (precision 0.977 there on the benchmark's held-out split).
    assert!(score(&s) >= 0.5, "{}", score(&s));
    let text = explain(&s);
    assert!(text.contains("% of the reference found at ("), "{text}");
    assert!(
        text.contains(&format!("{} matching keypoints", s.local_inliers)),
        "{text}"
    );
}

#[test]
fn edited_photos_verify() {
    let fp = Fingerprinter::new_default().expect("model");
    let mut failed = Vec::new();
    for name in ["chelsea.png", "coffee.png", "astronaut.jpg", "rocket.jpg", "coins.jpg"] {
        let bytes = test_photo(name);
        let img = image::load_from_memory(&bytes).expect("decode").to_rgb8();
        let (w, h) = img.dimensions();
        let reference = fp.fingerprint(&bytes).expect("reference");
        let edits: Vec<(&str, Vec<u8>, bool)> = vec![
            (
                "crop 60%",
                png(&DynamicImage::ImageRgb8(crop(&img, 0.2, 0.1, 0.6))),
                false,
            ),
            (
                "crop 35%",
                png(&DynamicImage::ImageRgb8(crop(&img, 0.15, 0.3, 0.35))),
                false,
            ),
            (
                "mirror",
                png(&DynamicImage::ImageRgb8(imageops::flip_horizontal(&img))),
                true,
            ),
            (
                "hue shift 60°",
                png(&DynamicImage::ImageRgb8(imageops::huerotate(&img, 60))),
                false,
            ),
            ("JPEG q25", jpeg(&img, 25), false),
            ("rotate 10°", png(&DynamicImage::ImageRgb8(rotate(&img, 10.0))), false),
            (
                "downscale 50%",
                png(&DynamicImage::ImageRgb8(imageops::resize(
                    &img,
                    w / 2,
                    h / 2,
                    FilterType::Triangle,
                ))),
                false,
            ),
            (
                "downscale 25%",
                png(&DynamicImage::ImageRgb8(imageops::resize(
                    &img,
                    w / 4,
                    h / 4,
                    FilterType::Triangle,
                ))),
                false,
            ),
        ];
        for (label, bytes, mirrored) in edits {
            let cand = fp.fingerprint(&bytes).expect("candidate");
            let s = compare(&reference, &cand);
            let label = format!("{name} {label}");
            show(&label, &s);
            // Not verified by local features (PDQ or the region embeddings
            // carry them, see edited_copies.rs): the 35 % crops are 105x70 to
            // 117x78 px, too little room for 31-px patches at the reference's
            // scale; rocket downscaled to 25 % is 75x50 px.
            if label.ends_with("crop 35%") || label == "rocket.jpg downscale 25%" {
                continue;
            }
            if s.local_inliers < VERIFIED || (s.local_mirrored != mirrored) {
                failed.push(label);
            }
        }
    }
    println!("not verified: {failed:?}");
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn unrelated_pairs_have_few_inliers_and_extraction_is_deterministic() {
    let fp = Fingerprinter::new_default().expect("model");
    // Two groups of distinct pictures (the groups share subjects: the demo's
    // chelsea, coffee… are other cuts of the same sample photos).
    let tests: Vec<(String, Vec<u8>)> = [
        "chelsea.png",
        "coffee.png",
        "astronaut.jpg",
        "rocket.jpg",
        "hubble.jpg",
        "camera.png",
        "coins.jpg",
    ]
    .iter()
    .map(|n| (n.to_string(), test_photo(n)))
    .collect();
    let mut demo = Vec::new();
    for dir in ["references", "distractors"] {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../demo/assets")
            .join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&p)
            .expect("assets")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        for n in names {
            demo.push((n.clone(), demo_asset(&format!("{dir}/{n}"))));
        }
    }
    let mut worst = (0u32, String::new());
    let mut times = Vec::new();
    for group in [&tests, &demo] {
        let mut fps: Vec<(String, Fingerprint)> = Vec::new();
        for (n, b) in group.iter() {
            let img = image::load_from_memory(b).expect("decode");
            let t = Instant::now();
            let lf = xiezhi_fingerprint::local::extract(&img);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            let f = fp.fingerprint(b).expect("fingerprint");
            assert_eq!(f.local, lf, "{n}: extraction is deterministic");
            assert!(f.local.keypoints.len() <= 500);
            fps.push((n.clone(), f));
        }
        for (i, (a, fa)) in fps.iter().enumerate() {
            for (j, (b, fb)) in fps.iter().enumerate() {
                if i == j {
                    continue;
                }
                let s = compare(fa, fb);
                if s.local_inliers >= worst.0 {
                    show(&format!("{a} vs {b}"), &s);
                    worst = (s.local_inliers, format!("{a} vs {b}"));
                }
            }
        }
    }
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let max = times.iter().copied().fold(0.0, f64::max);
    println!("local features: mean {mean:.1} ms, max {max:.1} ms per image; most unrelated inliers {worst:?}");
    // Timing is printed for the log only: speed targets are measured in bench/, not asserted
    // in tests that share a busy CI machine.
    assert!(worst.0 <= UNRELATED_MAX, "{worst:?}");
}

#[test]
fn old_fingerprints_without_keypoints_still_compare() {
    let fp = Fingerprinter::new_default().expect("model");
    let f = fp.fingerprint(&test_photo("rocket.jpg")).expect("fp");
    let mut json: serde_json::Value = serde_json::to_value(&f).expect("json");
    json.as_object_mut().expect("object").remove("local");
    let old: Fingerprint = serde_json::from_value(json).expect("old row");
    assert!(old.local.keypoints.is_empty());
    let s = compare(&old, &f);
    assert_eq!((s.local_inliers, s.local_matches, s.local_box), (0, 0, None));
    // Old Signals rows too.
    let mut sj = serde_json::to_value(&s).expect("signals");
    for k in [
        "local_inliers",
        "local_matches",
        "local_box",
        "local_coverage",
        "local_mirrored",
    ] {
        sj.as_object_mut().expect("object").remove(k);
    }
    let back: Signals = serde_json::from_value(sj).expect("old signals");
    assert_eq!(back, s);
}
