//! Every distinct frame of an animation is fingerprinted: a copy shown only in a
//! later frame of a real animated GIF is found, and the frame is named.

mod common;

use common::data;
use image::codecs::gif::GifEncoder;
use image::imageops::{self, FilterType};
use image::{Delay, DynamicImage, Frame, RgbaImage};
use xiezhi_fingerprint::{decode, to_rgb_on_grey, DecodeLimits, Fingerprinter};

fn photo(name: &str) -> RgbaImage {
    let img = decode(&data(name), &DecodeLimits::default()).expect("decode").image;
    let small = imageops::resize(&to_rgb_on_grey(&img), 240, 160, FilterType::Triangle);
    DynamicImage::ImageRgb8(small).to_rgba8()
}

/// 12 frames: 11 distinct real photos, the cat only as frame 7, frame 12 repeats frame 1.
fn animation() -> Vec<u8> {
    let mut frames = Vec::new();
    for name in [
        "astronaut.jpg",
        "camera.png",
        "coffee.png",
        "coins.jpg",
        "hubble.jpg",
        "rocket.jpg",
    ] {
        frames.push(photo(name));
    }
    frames.push(photo("chelsea.png"));
    for name in ["astronaut.jpg", "coffee.png", "coins.jpg", "hubble.jpg"] {
        frames.push(imageops::flip_vertical(&photo(name)));
    }
    frames.push(frames[0].clone());
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 10);
        enc.encode_frames(
            frames
                .into_iter()
                .map(|f| Frame::from_parts(f, 0, 0, Delay::from_numer_denom_ms(100, 1))),
        )
        .expect("encode gif");
    }
    out
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn a_copy_in_frame_7_of_12_is_fingerprinted_and_named() {
    let fp = Fingerprinter::new_default().expect("model");
    let gif = animation();
    let reference = fp.fingerprint(&data("chelsea.png")).expect("reference");
    assert_eq!(reference.animation_frames, 0, "a still image has no frames");
    assert!(reference.frames.is_empty());

    let anim = fp.fingerprint(&gif).expect("animation");
    assert_eq!(anim.media_type, "image/gif");
    assert_eq!(anim.animation_frames, 12);
    assert!(!anim.animation_truncated);
    // 11 distinct frames: the first is the fingerprint itself, 10 more; the repeat is dropped.
    let positions: Vec<u32> = anim.frames.iter().map(|f| f.frame).collect();
    assert_eq!(positions, (2..=11).collect::<Vec<_>>());
    let views: Vec<_> = anim.frame_views().collect();
    assert_eq!(views.len(), 11);
    assert_eq!(views[0].0, Some(1));

    let sims: Vec<(Option<u32>, f32)> = views
        .iter()
        .map(|(k, f)| (*k, cosine(&f.embedding, &reference.embedding)))
        .collect();
    println!("{sims:?}");
    let (best_frame, best) = sims.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)).expect("frames");
    assert_eq!(best_frame, Some(7), "the cat is frame 7");
    assert!(best > 0.8, "frame 7 vs the reference: cosine {best}");
    assert!(sims[0].1 < 0.6, "frame 1 is not the cat: cosine {}", sims[0].1);
    // Each frame fingerprint is complete (windows, keypoints) so it can be matched alone.
    let seventh = &anim.frames.iter().find(|f| f.frame == 7).expect("frame 7").fingerprint;
    assert!(!seventh.regions.is_empty());
    assert_eq!((seventh.width, seventh.height), (240, 160));
    assert_eq!(seventh.sha256, anim.sha256, "a frame keeps the file's SHA-256");

    // The cached form keeps the frames.
    let stored = xiezhi_fingerprint::encode_stored(&anim).expect("encode");
    let back = xiezhi_fingerprint::decode_stored(&stored).expect("decode").into_inner();
    assert_eq!(back, anim);
}
