//! Sprite-sheet splitting on real game sprite strips (Hedgewars, GPL-2; see
//! tests/sprites/SOURCES.md) and on a crafted atlas with a detached fragment.

use std::path::PathBuf;

use image::{DynamicImage, Rgba, RgbaImage};
use xiezhi_fingerprint::sprites::{sprite_windows, MAX_SPRITES};
use xiezhi_fingerprint::Window;

fn sheet(name: &str) -> DynamicImage {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sprites")
        .join(name);
    image::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn hedgehog_animation_strip_splits_into_its_14_frames() {
    // 32x512 strip: 16 cells of 32x32, the first 14 hold a frame (rows 1..31 of each cell).
    let boxes = sprite_windows(&sheet("hedgewars-hedgehog-sad.png"));
    assert_eq!(boxes.len(), 14, "{boxes:?}");
    let mut cells: Vec<u32> = boxes.iter().map(|b| b.y / 32).collect();
    cells.sort_unstable();
    assert_eq!(cells, (0..14).collect::<Vec<_>>(), "one sprite per cell");
    for b in &boxes {
        assert!(b.y % 32 + b.h <= 32, "a sprite never crosses its cell: {b:?}");
        assert!(b.w >= 16 && b.h >= 16 && b.w <= 32, "{b:?}");
    }
}

#[test]
fn ball_sheet_splits_into_nine_separate_balls() {
    let img = sheet("hedgewars-balls.png");
    let boxes = sprite_windows(&img);
    assert_eq!(boxes.len(), 9, "{boxes:?}");
    for (i, a) in boxes.iter().enumerate() {
        assert!(a.x + a.w <= img.width() && a.y + a.h <= img.height(), "{a:?}");
        assert!(a.h <= 24 && a.w <= 31, "one ball, not a run of them: {a:?}");
        for b in &boxes[i + 1..] {
            let overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
            assert!(!overlap, "{a:?} overlaps {b:?}");
        }
    }
}

#[test]
fn detached_fragments_join_their_sprite_and_specks_are_dropped() {
    let mut img = RgbaImage::from_pixel(100, 40, Rgba([0, 0, 0, 0]));
    let mut fill = |x0: u32, y0: u32, w: u32, h: u32| {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                img.put_pixel(x, y, Rgba([200, 40, 40, 255]));
            }
        }
    };
    fill(2, 2, 20, 20); // sprite A
    fill(24, 5, 3, 3); // fragment 2 px right of A: part of A
    fill(50, 10, 30, 25); // sprite B
    fill(95, 0, 2, 2); // a lone speck far from both: dropped
    let boxes = sprite_windows(&DynamicImage::ImageRgba8(img.clone()));
    assert_eq!(
        boxes,
        [
            Window {
                x: 50,
                y: 10,
                w: 30,
                h: 25
            },
            Window {
                x: 2,
                y: 2,
                w: 25,
                h: 20
            }
        ]
    );
    // One blob with a transparent border is a picture, not a sheet.
    let mut single = RgbaImage::from_pixel(50, 50, Rgba([0, 0, 0, 0]));
    for y in 5..45 {
        for x in 5..45 {
            single.put_pixel(x, y, Rgba([1, 2, 3, 255]));
        }
    }
    assert!(sprite_windows(&DynamicImage::ImageRgba8(single)).is_empty());
    // No alpha channel: not a sheet.
    assert!(sprite_windows(&DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(img).to_rgb8())).is_empty());
}

#[test]
fn sprite_count_is_capped() {
    // A 12x12 grid of 9x9 squares = 144 sprites.
    let mut img = RgbaImage::from_pixel(144, 144, Rgba([0, 0, 0, 0]));
    for gy in 0..12 {
        for gx in 0..12 {
            for y in 0..9 {
                for x in 0..9 {
                    img.put_pixel(gx * 12 + x, gy * 12 + y, Rgba([9, 9, 9, 255]));
                }
            }
        }
    }
    assert_eq!(sprite_windows(&DynamicImage::ImageRgba8(img)).len(), MAX_SPRITES);
}
