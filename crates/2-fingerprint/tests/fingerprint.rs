mod common;

use std::io::Cursor;
use std::time::Instant;

use common::data;
use xiezhi_fingerprint::{Fingerprint, FingerprintError, Fingerprinter};

#[test]
fn fingerprint_of_a_real_photo() {
    let fp = Fingerprinter::new_default().expect("model");
    let bytes = data("chelsea.png");
    let t = Instant::now();
    let f = fp.fingerprint(&bytes).expect("fingerprint");
    println!(
        "fingerprint with {} regions: {:.0} ms",
        f.regions.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(f.sha256.len(), 64);
    assert_eq!(f.pixel_sha256.len(), 64);
    assert_eq!((f.width, f.height), (336, 224));
    assert_eq!(f.media_type, "image/png");
    assert_eq!(f.pdq.len(), 64);
    assert_eq!(f.pdq_variants.len(), 8);
    assert_eq!(f.pdq_variants[0], f.pdq);
    assert!(f.pdq_quality >= 50);
    assert_eq!(f.model_id, fp.embedder().model_id());
    assert_eq!(f.embedding.len(), 1280);
    assert_eq!(f.regions.len(), 9);
    for r in &f.regions {
        assert!(r.x + r.w <= f.width && r.y + r.h <= f.height);
        assert_eq!(r.embedding.len(), 1280);
    }
    let json = serde_json::to_string(&f).expect("serialise");
    let back: Fingerprint = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, f);
}

#[test]
fn lossless_reencode_keeps_pixel_hash_and_pdq() {
    let fp = Fingerprinter::new_default().expect("model");
    let png = data("coffee.png");
    let img = image::load_from_memory(&png).expect("decode");
    let mut tiff = Cursor::new(Vec::new());
    img.write_to(&mut tiff, image::ImageFormat::Tiff).expect("tiff");
    let a = fp.fingerprint(&png).expect("png");
    let b = fp.fingerprint(tiff.get_ref()).expect("tiff");
    assert_ne!(a.sha256, b.sha256);
    assert_eq!(a.pixel_sha256, b.pixel_sha256);
    assert_eq!(a.pdq, b.pdq);
    assert_eq!(b.media_type, "image/tiff");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let fp = Fingerprinter::new_default().expect("model");
    assert!(matches!(
        fp.fingerprint(b"<html>not an image</html>"),
        Err(FingerprintError::UnknownFormat)
    ));
    let jpg = data("rocket.jpg");
    assert!(fp.fingerprint(&jpg[..jpg.len() / 3]).is_err());
}
