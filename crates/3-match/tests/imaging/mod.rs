//! Real test images and the benchmark's paste edit, shared by the tests that paste a
//! sprite into photos or scenes (`keypoint_shortlist`, `pixel_verification`, `rival_references`,
//! `scene_paste`).
#![allow(dead_code)] // each test binary uses a part of it

use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, RgbaImage};
use xiezhi_match::{features, Signals, FEATURE_NAMES};

/// `crates/`, where the sprites (`2-fingerprint/tests/sprites`) and the demo's
/// pictures (`demo/assets`) live.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The benchmark's crop35: 35 % of the area (59 % of each side), off centre, towards the
/// top right. Returns the crop and its top-left corner in `img`.
pub fn crop35(img: &DynamicImage) -> (DynamicImage, (u32, u32)) {
    let (w, h) = (img.width(), img.height());
    let (cw, ch) = ((f64::from(w) * 0.59) as u32, (f64::from(h) * 0.59) as u32);
    let (x0, y0) = (w - cw - w / 20, h / 10);
    (img.crop_imm(x0, y0, cw, ch), (x0, y0))
}

pub fn open(p: &Path) -> DynamicImage {
    image::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

pub fn jpeg(img: &DynamicImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, q)
        .encode_image(&img.to_rgb8())
        .expect("jpeg");
    out
}

/// The sprite enlarged over 30 % of the host's area, JPEG q85 (the benchmark's paste30).
pub fn pasted(sprite: &DynamicImage, host: &DynamicImage) -> Vec<u8> {
    let side = (f64::from(host.width()) * f64::from(host.height()) * 0.30).sqrt() as u32;
    let big = sprite.resize_exact(side, side, FilterType::CatmullRom).to_rgba8();
    let mut canvas = host.to_rgba8();
    imageops::overlay(
        &mut canvas,
        &big,
        i64::from((host.width() - side) / 3),
        i64::from((host.height() - side) / 2),
    );
    jpeg(&DynamicImage::ImageRgba8(canvas), 85)
}

/// Four demo photos, 512 px each, in a 1024-px square.
pub fn mosaic() -> RgbaImage {
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

/// The score feature called `name` of these signals.
pub fn feature(s: &Signals, name: &str) -> f32 {
    let i = FEATURE_NAMES.iter().position(|n| *n == name).expect("feature");
    features(s)[i]
}
