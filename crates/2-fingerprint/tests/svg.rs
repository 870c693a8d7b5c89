//! SVG: sniffed and rasterised with resvg, bounded in size, and never reading
//! anything outside its own bytes (local files, file:// or http:// hrefs).

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::time::Instant;

use common::data;
use image::{Rgba, RgbaImage};
use xiezhi_fingerprint::{decode, decode_frames, DecodeLimits, Fingerprinter, MAX_SVG_SIDE, SVG_MEDIA_TYPE};

fn rgba(bytes: &[u8]) -> RgbaImage {
    decode(bytes, &DecodeLimits::default())
        .expect("svg decodes")
        .image
        .to_rgba8()
}

/// A drawing: blue square, red disc in its centre, a transparent corner strip.
const DRAWING: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<!-- drawn by hand for this test -->
<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300" viewBox="0 0 400 300">
  <rect x="0" y="20" width="400" height="280" fill="#0000ff"/>
  <circle cx="200" cy="160" r="80" fill="#ff0000"/>
</svg>"##;

#[test]
fn svg_is_sniffed_and_rasterised_at_its_declared_size_with_alpha() {
    let d = decode(DRAWING.as_bytes(), &DecodeLimits::default()).expect("decode");
    assert_eq!(d.media_type(), SVG_MEDIA_TYPE);
    let img = d.image.to_rgba8();
    assert_eq!(img.dimensions(), (400, 300));
    assert_eq!(*img.get_pixel(200, 160), Rgba([255, 0, 0, 255]));
    assert_eq!(*img.get_pixel(10, 200), Rgba([0, 0, 255, 255]));
    assert_eq!(img.get_pixel(10, 5)[3], 0, "unpainted area stays transparent");
    // decode_frames routes it the same way (a still image, one frame).
    let frames = decode_frames(DRAWING.as_bytes(), &DecodeLimits::default()).expect("frames");
    assert_eq!((frames.frames.len(), frames.media_type), (1, SVG_MEDIA_TYPE));
    // And the whole fingerprint works on it.
    let fp = Fingerprinter::new_default()
        .expect("model")
        .fingerprint(DRAWING.as_bytes())
        .expect("fingerprint");
    assert_eq!(
        (fp.width, fp.height, fp.media_type.as_str()),
        (400, 300, SVG_MEDIA_TYPE)
    );
}

#[test]
fn tiny_icons_are_drawn_larger_and_huge_viewboxes_are_bounded() {
    let icon = r#"<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="8" height="16" fill="red"/></svg>"#;
    let img = rgba(icon.as_bytes());
    assert_eq!(img.dimensions(), (256, 256));
    assert_eq!(*img.get_pixel(64, 128), Rgba([255, 0, 0, 255]));
    assert_eq!(img.get_pixel(192, 128)[3], 0);

    // A hostile declared size: 10^9 x 10^9 units would be 4 EB of pixels.
    let huge = r#"<svg xmlns="http://www.w3.org/2000/svg" width="1000000000" height="1000000000"
        viewBox="0 0 1000000000 1000000000"><circle cx="500000000" cy="500000000" r="400000000" fill="green"/></svg>"#;
    let t = Instant::now();
    let img = rgba(huge.as_bytes());
    assert_eq!(img.dimensions(), (MAX_SVG_SIDE, MAX_SVG_SIDE));
    assert_eq!(
        *img.get_pixel(MAX_SVG_SIDE / 2, MAX_SVG_SIDE / 2),
        Rgba([0, 128, 0, 255])
    );
    println!(
        "10^9-unit viewBox rasterised to {}x{} in {:?}",
        img.width(),
        img.height(),
        t.elapsed()
    );

    // Tighter decode limits bound the canvas too.
    let tight = DecodeLimits {
        max_width: 500,
        max_height: 500,
        max_alloc: 500 * 500 * 4,
    };
    let small = decode(huge.as_bytes(), &tight).expect("bounded").image;
    assert!(small.width() <= 500 && small.height() <= 500);
}

#[test]
fn hrefs_to_local_files_and_urls_are_never_fetched() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A real local image that a careless renderer would paint: solid red.
    let secret = dir.path().join("secret.png");
    RgbaImage::from_pixel(64, 64, Rgba([255, 0, 0, 255]))
        .save(&secret)
        .expect("png");
    // A real server on loopback that records whether anyone connected.
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    server.set_nonblocking(true).expect("nonblocking");
    let port = server.local_addr().expect("addr").port();
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="300" height="100">
  <rect width="300" height="100" fill="white"/>
  <image x="0" y="0" width="100" height="100" href="{path}"/>
  <image x="100" y="0" width="100" height="100" xlink:href="file://{path}"/>
  <image x="200" y="0" width="100" height="100" href="http://127.0.0.1:{port}/red.png"/>
  <style>@import url("http://127.0.0.1:{port}/evil.css");</style>
</svg>"#,
        path = secret.display()
    );
    let img = rgba(svg.as_bytes());
    assert_eq!(img.dimensions(), (300, 100));
    for x in [50, 150, 250] {
        assert_eq!(
            *img.get_pixel(x, 50),
            Rgba([255, 255, 255, 255]),
            "x={x}: an external image was drawn"
        );
    }
    match server.accept() {
        Ok((mut s, _)) => {
            let mut req = String::new();
            let _ = s.read_to_string(&mut req);
            panic!("the SVG renderer connected to the loopback server: {req}");
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
    }

    // The same picture embedded as a data: URL is self-contained, so it is drawn.
    let png = std::fs::read(&secret).expect("read");
    let b64 = base64_encode(&png);
    let inline = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><image width="100" height="100" href="data:image/png;base64,{b64}"/></svg>"#
    );
    assert_eq!(*rgba(inline.as_bytes()).get_pixel(50, 50), Rgba([255, 0, 0, 255]));
}

#[test]
fn an_embedded_decompression_bomb_is_not_decoded() {
    // The openclipart file whose header claims 20990x29700 pixels, inlined as data:.
    let bomb = data("openclipart-stop-sign-head.png");
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100" fill="white"/><image width="100" height="100" href="data:image/png;base64,{}"/></svg>"#,
        base64_encode(&bomb)
    );
    let img = rgba(svg.as_bytes());
    assert_eq!(*img.get_pixel(50, 50), Rgba([255, 255, 255, 255]));
}

#[test]
fn broken_svg_gives_a_clear_error() {
    let err = decode(
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect",
        &DecodeLimits::default(),
    )
    .expect_err("broken");
    assert!(err.to_string().contains("SVG"), "{err}");
    let zero = br#"<svg xmlns="http://www.w3.org/2000/svg" width="0" height="10"></svg>"#;
    let err = decode(zero, &DecodeLimits::default()).expect_err("zero width");
    assert!(err.to_string().contains("SVG"), "{err}");
}

/// Standard base64 (RFC 4648) for the data: URLs above.
fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
