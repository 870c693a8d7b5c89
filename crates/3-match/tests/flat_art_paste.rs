//! A flat sprite (Hedgewars hedgehog, 32x32 on transparency) pasted into a photo at
//! 30 % of its area and saved as JPEG: the case the benchmark's `paste30` family
//! measures, where flat art used to give no keypoint matches at all.

mod common;

use std::path::PathBuf;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::DynamicImage;
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_match::{compare, explain, score};

use common::iou;

fn open(rel: &str) -> DynamicImage {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    image::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// The sprite enlarged (Catmull-Rom, as a web page would) over 30 % of the host's
/// area at 20 % / 60 % of the free room, JPEG q85 (the benchmark's `paste30`).
fn pasted(sprite: &DynamicImage, host: &DynamicImage) -> (Vec<u8>, [u32; 4]) {
    let side = (f64::from(host.width()) * f64::from(host.height()) * 0.30).sqrt() as u32;
    let big = sprite.resize_exact(side, side, FilterType::CatmullRom).to_rgba8();
    let mut canvas = host.to_rgba8();
    let (x, y) = ((host.width() - side) / 5, (host.height() - side) * 3 / 5);
    imageops::overlay(&mut canvas, &big, i64::from(x), i64::from(y));
    let rgb = DynamicImage::ImageRgba8(canvas).to_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&rgb)
        .expect("jpeg");
    (out, [x, y, side, side])
}

#[test]
fn flat_sprite_pasted_into_a_photo_is_verified_and_located() {
    let fp = Fingerprinter::new_default().expect("model");
    let sprite = open("../2-fingerprint/tests/sprites/hedgewars-hedgehog-sad.png").crop_imm(0, 0, 32, 32);
    let reference = fp.fingerprint(&png(&sprite)).expect("reference");
    let mut located = 0;
    for host in ["brick-wall.jpg", "clock.jpg", "grass.jpg"] {
        let host_img = open(&format!("../demo/assets/distractors/{host}"));
        let (bytes, truth) = pasted(&sprite, &host_img);
        let cand = fp.fingerprint(&bytes).expect("candidate");
        let s = compare(&reference, &cand);
        println!(
            "hedgehog on {host}: score {:.3}, matches {}, inliers {}, box {:?} (true {truth:?}), coverage {:.2}",
            score(&s),
            s.local_matches,
            s.local_inliers,
            s.local_box,
            s.local_coverage
        );
        println!("    {}", explain(&s));
        if s.local_inliers > xiezhi_match::LOCAL_INLIERS_NONE && s.local_box.is_some_and(|b| iou(b, truth) >= 0.5) {
            located += 1;
            let text = explain(&s);
            assert!(
                text.contains(&format!("{} matching keypoints", s.local_inliers)),
                "{text}"
            );
        }
        // Unrelated content of the same photo must not verify: the host alone.
        let host_fp = fp.fingerprint(&png(&host_img)).expect("host");
        let h = compare(&reference, &host_fp);
        assert!(
            h.local_inliers <= xiezhi_match::LOCAL_INLIERS_NONE,
            "{host}: {}",
            h.local_inliers
        );
    }
    assert_eq!(located, 3, "located in {located} of 3 hosts");
}
