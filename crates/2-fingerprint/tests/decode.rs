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
