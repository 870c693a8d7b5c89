//! Windows with no content (transparent margins of a sprite sheet, one flat colour)
//! are not embedded: they all look like "a grey square" to the model, and matched
//! each other at cosine 1.000 between unrelated sprites on `bench/detect`.

use std::io::Cursor;
use std::path::PathBuf;

use image::{DynamicImage, RgbaImage};
use xiezhi_fingerprint::{Fingerprint, Fingerprinter};

fn sprite(rel: &str, crop: (u32, u32, u32, u32)) -> DynamicImage {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    let img = image::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    img.crop_imm(crop.0, crop.1, crop.2, crop.3)
}

/// `s` scaled into the top-left 128x128 of a 256x256 transparent sheet.
fn on_empty_sheet(s: &DynamicImage) -> Vec<u8> {
    let big = s.resize(128, 128, image::imageops::FilterType::Triangle);
    let mut sheet = RgbaImage::new(256, 256);
    image::imageops::overlay(&mut sheet, &big.to_rgba8(), 0, 0);
    let mut png = Vec::new();
    DynamicImage::ImageRgba8(sheet)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode");
    png
}

fn best_window_cosine(a: &Fingerprint, b: &Fingerprint) -> f32 {
    let mut best = -1.0f32;
    for wa in &a.regions {
        for wb in &b.regions {
            let c: f32 = wa.embedding.iter().zip(&wb.embedding).map(|(x, y)| x * y).sum();
            best = best.max(c);
        }
    }
    best
}

#[test]
fn empty_windows_of_a_sheet_are_dropped_and_unrelated_sprites_stay_apart() {
    let fp = Fingerprinter::new_default().expect("model");
    let hedgehog = on_empty_sheet(&sprite("tests/sprites/hedgewars-hedgehog-sad.png", (0, 0, 32, 32)));
    let rose = on_empty_sheet(&sprite("../demo/assets/references/rose.png", (0, 0, 400, 333)));
    let a = fp.fingerprint(&hedgehog).expect("hedgehog");
    let b = fp.fingerprint(&rose).expect("rose");
    // The sprite fills at most the top-left 128x128 of 256x256: windows away from it are empty.
    let grid = |f: &Fingerprint| f.regions.iter().filter(|r| r.w == 154 && r.h == 154).count();
    println!("grid windows kept: hedgehog {}, rose {}", grid(&a), grid(&b));
    assert!(grid(&a) < 9 && grid(&b) < 9, "{} / {}", grid(&a), grid(&b));
    for f in [&a, &b] {
        assert!(!f.regions.is_empty(), "the window on the sprite is kept");
        for r in &f.regions {
            assert!(
                r.x < 128 && r.y < 128,
                "a kept window misses the sprite: {:?}",
                (r.x, r.y, r.w, r.h)
            );
        }
    }
    let c = best_window_cosine(&a, &b);
    println!("best window cosine hedgehog vs rose: {c:.3}");
    assert!(c < 0.95, "unrelated sprites' windows meet at {c}");
}

#[test]
fn a_one_colour_picture_has_no_windows() {
    let fp = Fingerprinter::new_default().expect("model");
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(image::RgbImage::from_pixel(300, 200, image::Rgb([30, 90, 200])))
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode");
    let f = fp.fingerprint(&png).expect("fingerprint");
    assert!(f.regions.is_empty(), "{} windows", f.regions.len());
    assert_eq!(f.embedding.len(), 1280, "the whole image is still embedded");
}
