//! A reference pasted into a larger scene: `check` embeds the candidate again where the
//! keypoints placed the reference, and the match carries that resemblance
//! (`located_cosine`), which the whole scene's embedding lacks.

mod common;

use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{DynamicImage, RgbaImage};
use xiezhi_engine::{refs, scan, Silent};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_store::{Case, MatchRecord};

use common::asset;

/// `picture` pasted at (x, y) on a demo distractor resized to 800 x 600 (JPEG), checked
/// against `references`; the match of the reference whose file is named `name`.
fn paste_and_check(
    dir: &Path,
    references: &[PathBuf],
    picture: &RgbaImage,
    scene: &str,
    (x, y): (i64, i64),
    name: &str,
) -> MatchRecord {
    let mut case = Case::init(&dir.join("case"), "located").unwrap();
    let fp = Fingerprinter::new_default().unwrap();
    refs::add_references(&mut case, references, &Silent).unwrap();
    let mut canvas: RgbaImage = image::open(asset(scene))
        .unwrap()
        .resize_exact(800, 600, FilterType::Triangle)
        .to_rgba8();
    imageops::overlay(&mut canvas, picture, x, y);
    let candidate = dir.join("poster.jpg");
    DynamicImage::ImageRgba8(canvas).to_rgb8().save(&candidate).unwrap();
    let report = scan::check(&mut case, &fp, &[candidate], &Silent).unwrap();
    let m = report
        .matches
        .iter()
        .find(|m| m.reference.original_path.ends_with(name))
        .unwrap_or_else(|| panic!("no match recorded for {name}: {:?}", report.matches))
        .clone();
    println!("{:.3} {}", m.score, m.explanation);
    m
}

/// A demo asset shrunk to fit `side` x `side`, with its alpha.
fn asset_within(name: &str, side: u32) -> RgbaImage {
    image::open(asset(name))
        .unwrap()
        .resize(side, side, FilterType::Triangle)
        .to_rgba8()
}

fn located(m: &MatchRecord) -> f64 {
    m.signals["located_cosine"]
        .as_f64()
        .unwrap_or_else(|| panic!("no located cosine: {}", m.signals))
}

#[test]
fn check_embeds_the_place_where_keypoints_put_a_pasted_reference() {
    let dir = tempfile::tempdir().unwrap();
    // The coffee cup at about an eighth of a brick wall's area.
    let coffee = asset_within("references/coffee.jpg", 300);
    let m = paste_and_check(
        dir.path(),
        &[asset("references/coffee.jpg"), asset("references/rocket.jpg")],
        &coffee,
        "distractors/brick-wall.jpg",
        (380, 240),
        "coffee.jpg",
    );
    let global = m.signals["embedding_cosine"].as_f64().unwrap();
    // The place shows the cup as the reference does; the whole poster is mostly bricks.
    let located = located(&m);
    assert!(located > 0.85, "located {located:.3}");
    assert!(located > global + 0.2, "located {located:.3}, global {global:.3}");
    assert!(
        m.explanation
            .contains("the candidate's pixels there have embedding similarity"),
        "{}",
        m.explanation
    );
}

#[test]
fn check_sees_a_pasted_sprite_through_its_shape() {
    let dir = tempfile::tempdir().unwrap();
    let butterfly = asset_within("references/butterfly.png", 240);
    let reference = dir.path().join("butterfly.png");
    butterfly.save(&reference).unwrap();
    // Grass shows through the sprite's transparent parts; its reference's embedding saw grey.
    let m = paste_and_check(
        dir.path(),
        &[reference, asset("references/rose.png")],
        &butterfly,
        "distractors/grass.jpg",
        (420, 200),
        "butterfly.png",
    );
    // The box as it is, grass and all, resembles the sprite at about 0.6; through its shape
    // 0.86 (0.93 in `xiezhi-match`'s test, whose JPEG is less compressed).
    let located = located(&m);
    assert!(located > 0.8, "located {located:.3}");
}
