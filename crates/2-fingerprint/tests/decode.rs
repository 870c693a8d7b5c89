mod common;

use std::io::Cursor;

use common::{data, png_chunk};
use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use xiezhi_fingerprint::{decode, pixel_sha256, sha256, to_rgb_on_grey, DecodeLimits, FingerprintError};

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

#[test]
fn decodes_real_png_and_jpeg_with_media_type() {
    let d = decode(&data("chelsea.png"), &DecodeLimits::default()).expect("png");
    assert_eq!((d.image.width(), d.image.height()), (336, 224));
    assert_eq!(d.media_type(), "image/png");
    let d = decode(&data("astronaut.jpg"), &DecodeLimits::default()).expect("jpeg");
    assert_eq!((d.image.width(), d.image.height()), (300, 300));
    assert_eq!(d.media_type(), "image/jpeg");
}

#[test]
fn truncated_jpeg_is_an_error() {
    let bytes = data("astronaut.jpg");
    for cut in [10, 200, bytes.len() / 2] {
        let r = decode(&bytes[..cut], &DecodeLimits::default());
        assert!(
            matches!(r, Err(FingerprintError::Truncated) | Err(FingerprintError::Decode(_))),
            "cut at {cut}: {r:?}"
        );
    }
}

#[test]
fn random_bytes_are_unknown_format() {
    // Deterministic xorshift noise; the first byte avoids every magic number.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect();
    let mut bytes = bytes;
    bytes[0] = 0x01;
    assert!(matches!(
        decode(&bytes, &DecodeLimits::default()),
        Err(FingerprintError::UnknownFormat)
    ));
    assert!(decode(&[], &DecodeLimits::default()).is_err());
}

#[test]
fn png_header_claiming_100000_squared_is_refused_without_allocating() {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA: 40 GB if honoured
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(png_chunk(b"IEND", &[]));
    let err = decode(&png, &DecodeLimits::default()).expect_err("must refuse");
    let msg = err.to_string();
    assert!(msg.contains("limit"), "{msg}");
    // Within the side limits but above the memory limit.
    let tight = DecodeLimits {
        max_width: 200_000,
        max_height: 200_000,
        max_alloc: 64 << 20,
    };
    assert!(matches!(
        decode(&png, &tight),
        Err(FingerprintError::TooMuchMemory { .. }) | Err(FingerprintError::Decode(_))
    ));
}

#[test]
fn exif_orientation_is_applied() {
    // 4x2 image, left half red; EXIF orientation 6 = rotate 90° clockwise to display.
    let mut img = RgbaImage::from_pixel(4, 2, Rgba([0, 0, 255, 255]));
    for y in 0..2 {
        for x in 0..2 {
            img.put_pixel(x, y, Rgba([255, 0, 0, 255]));
        }
    }
    let png = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
    // Minimal big-endian TIFF with one IFD entry: Orientation (0x0112) SHORT = 6.
    let exif: Vec<u8> = vec![
        b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
    ];
    // eXIf goes right after IHDR (signature 8 + IHDR 25 bytes), before IDAT.
    let mut with_exif = png[..33].to_vec();
    with_exif.extend(png_chunk(b"eXIf", &exif));
    with_exif.extend_from_slice(&png[33..]);
    let d = decode(&with_exif, &DecodeLimits::default()).expect("decode");
    assert_eq!((d.image.width(), d.image.height()), (2, 4));
    let rgba = d.image.to_rgba8();
    // After a clockwise turn the red (left) half is on top.
    assert_eq!(rgba.get_pixel(0, 0)[0], 255);
    assert_eq!(rgba.get_pixel(0, 3)[2], 255);
}

#[test]
fn alpha_is_composited_on_grey() {
    let mut img = RgbaImage::from_pixel(8, 8, Rgba([0, 0, 0, 0]));
    img.put_pixel(0, 0, Rgba([255, 255, 255, 255]));
    let rgb = to_rgb_on_grey(&DynamicImage::ImageRgba8(img));
    assert_eq!(rgb.get_pixel(1, 1).0, [128, 128, 128]);
    assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
}

#[test]
fn pixel_hash_survives_lossless_reencode_but_byte_hash_does_not() {
    let png = data("chelsea.png");
    let img = decode(&png, &DecodeLimits::default()).expect("decode").image;
    let bmp = encode(&img, ImageFormat::Bmp);
    let img2 = decode(&bmp, &DecodeLimits::default()).expect("bmp").image;
    assert_ne!(sha256(&png), sha256(&bmp));
    assert_eq!(pixel_sha256(&img), pixel_sha256(&img2));
    let mut changed = img2.to_rgba8();
    changed.get_pixel_mut(5, 5)[0] ^= 1;
    assert_ne!(pixel_sha256(&img), pixel_sha256(&DynamicImage::ImageRgba8(changed)));
    // Known vector: SHA-256 of the empty string.
    assert_eq!(
        sha256(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn skimage_truncated_jpeg_is_an_error_naming_the_cause() {
    // scikit-image's deliberately broken sample (400 bytes of a JPEG cut off).
    let err = decode(&data("truncated.jpg"), &DecodeLimits::default()).expect_err("truncated");
    assert!(matches!(err, FingerprintError::Truncated), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(xiezhi_fingerprint::decode_frames(&data("truncated.jpg"), &DecodeLimits::default()).is_err());
}

#[test]
fn openclipart_20990_by_29700_png_is_refused_from_its_header() {
    // The first 4 KB of openclipart's real stop-sign drawing (20990x29700 RGBA: 2.5 GB decoded).
    let head = data("openclipart-stop-sign-head.png");
    let err = decode(&head, &DecodeLimits::default()).expect_err("too large");
    assert!(
        matches!(
            err,
            FingerprintError::TooLarge {
                width: 20990,
                height: 29700,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("20990x29700"), "{err}");
    // Sides allowed, memory not: refused before any pixel buffer exists.
    let wide = DecodeLimits {
        max_width: 40_000,
        max_height: 40_000,
        max_alloc: 512 << 20,
    };
    let err = decode(&head, &wide).expect_err("too much memory");
    assert!(matches!(err, FingerprintError::TooMuchMemory { .. }), "{err}");
    assert!(xiezhi_fingerprint::decode_frames(&head, &DecodeLimits::default()).is_err());
}

fn solid(color: [u8; 4]) -> RgbaImage {
    let mut img = RgbaImage::from_pixel(24, 16, Rgba(color));
    img.put_pixel(3, 3, Rgba([color[2], color[0], color[1], 255]));
    img
}

fn animated_gif(frames: &[RgbaImage]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        enc.set_repeat(image::codecs::gif::Repeat::Infinite).expect("repeat");
        for f in frames {
            let frame = image::Frame::from_parts(f.clone(), 0, 0, image::Delay::from_numer_denom_ms(100, 1));
            enc.encode_frame(frame).expect("frame");
        }
    }
    out
}

#[test]
fn every_distinct_gif_frame_is_returned_once() {
    let (a, b, c) = (
        solid([200, 30, 30, 255]),
        solid([30, 200, 30, 255]),
        solid([30, 30, 200, 255]),
    );
    let gif = animated_gif(&[a.clone(), b.clone(), a.clone(), b.clone(), c.clone(), a.clone()]);
    let frames = xiezhi_fingerprint::decode_frames(&gif, &DecodeLimits::default()).expect("gif");
    assert_eq!(frames.media_type, "image/gif");
    assert_eq!(frames.decoded, 6);
    assert_eq!(frames.frames.len(), 3, "repeats removed");
    assert!(!frames.capped);
    // In order of first appearance, with the encoder's palette error at most small.
    for (got, want) in frames.frames.iter().zip([&a, &b, &c]) {
        let got = got.to_rgba8();
        assert_eq!(got.dimensions(), want.dimensions());
        let diff = got
            .pixels()
            .zip(want.pixels())
            .map(|(p, q)| (i32::from(p[1]) - i32::from(q[1])).abs())
            .max();
        assert!(diff.unwrap_or(0) <= 8, "{diff:?}");
    }
    // The plain decoder still gives the first frame.
    let first = decode(&gif, &DecodeLimits::default()).expect("first frame");
    assert_eq!(pixel_sha256(&first.image), pixel_sha256(&frames.frames[0]));
    // A still image is one frame.
    let still = xiezhi_fingerprint::decode_frames(&data("chelsea.png"), &DecodeLimits::default()).expect("png");
    assert_eq!((still.frames.len(), still.decoded), (1, 1));
}

#[test]
fn gif_frame_count_is_capped() {
    let many: Vec<RgbaImage> = (0..(xiezhi_fingerprint::MAX_DISTINCT_FRAMES + 8))
        .map(|i| solid([(i * 7) as u8, (255 - i * 5) as u8, 40, 255]))
        .collect();
    let gif = animated_gif(&many);
    let frames = xiezhi_fingerprint::decode_frames(&gif, &DecodeLimits::default()).expect("gif");
    assert_eq!(frames.frames.len(), xiezhi_fingerprint::MAX_DISTINCT_FRAMES);
    assert!(frames.capped);
    // The allocation limit bounds the kept frames too (24x16x4 bytes each).
    let tight = DecodeLimits {
        max_alloc: 24 * 16 * 4 * 3,
        ..DecodeLimits::default()
    };
    let frames = xiezhi_fingerprint::decode_frames(&gif, &tight).expect("gif");
    assert!(frames.frames.len() <= 3 && frames.capped, "{}", frames.frames.len());
}

#[test]
fn gif_header_claiming_a_huge_canvas_is_refused() {
    let mut gif = animated_gif(&[solid([1, 2, 3, 255]), solid([9, 8, 7, 255])]);
    // Logical screen width/height live at bytes 6..10 (little endian).
    gif[6..8].copy_from_slice(&60_000u16.to_le_bytes());
    gif[8..10].copy_from_slice(&60_000u16.to_le_bytes());
    let err = xiezhi_fingerprint::decode_frames(&gif, &DecodeLimits::default()).expect_err("huge");
    assert!(err.to_string().contains("limit"), "{err}");
    assert!(decode(&gif, &DecodeLimits::default()).is_err());
}
