//! `check` on a real animated GIF whose only copy of a reference is frame 7 of 12:
//! the match is recorded, scored on that frame, and its explanation names the frame.

mod common;

use image::codecs::gif::GifEncoder;
use image::imageops::{self, FilterType};
use image::{Delay, DynamicImage, Frame, RgbaImage};
use xiezhi_engine::{refs, scan, Silent};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_store::Case;

use common::asset;

fn frame(rel: &str) -> RgbaImage {
    let img = image::open(asset(rel)).expect("demo asset").to_rgb8();
    DynamicImage::ImageRgb8(imageops::resize(&img, 240, 160, FilterType::Triangle)).to_rgba8()
}

#[test]
fn a_reference_hidden_in_frame_7_of_12_is_found_and_the_frame_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::init(&dir.path().join("case"), "animation test").unwrap();
    let fp = Fingerprinter::new_default().unwrap();
    refs::add_references(&mut case, &[asset("references/chelsea.jpg")], &Silent).unwrap();

    let others = [
        "distractors/bison.png",
        "distractors/brick-wall.jpg",
        "distractors/clock.jpg",
        "distractors/crawfish.png",
        "distractors/dragonfly.png",
        "distractors/grass.jpg",
        "distractors/horse.png",
        "distractors/ladybug.png",
        "distractors/lizard.png",
        "distractors/pineapple.png",
        "distractors/strawberry.png",
    ];
    let mut frames: Vec<RgbaImage> = others[..6].iter().map(|r| frame(r)).collect();
    frames.push(frame("references/chelsea.jpg"));
    frames.extend(others[6..11].iter().map(|r| frame(r)));
    assert_eq!(frames.len(), 12);
    let gif = dir.path().join("banner.gif");
    {
        let file = std::fs::File::create(&gif).unwrap();
        let mut enc = GifEncoder::new_with_speed(file, 10);
        enc.encode_frames(
            frames
                .into_iter()
                .map(|f| Frame::from_parts(f, 0, 0, Delay::from_numer_denom_ms(80, 1))),
        )
        .unwrap();
    }

    let report = scan::check(&mut case, &fp, std::slice::from_ref(&gif), &Silent).unwrap();
    assert!(report.scan.unreadable.is_empty(), "{:?}", report.scan.unreadable);
    let m = report.matches.first().expect("the cat in frame 7 is a match");
    println!("{:.3} {}", m.score, m.explanation);
    assert!(m.score >= 0.5, "score {}", m.score);
    assert!(m.explanation.contains("frame 7 of 12"), "{}", m.explanation);
    assert_eq!(m.signals["frame"], 7);
    assert_eq!(m.signals["animation_frames"], 12);
}
