//! The cache format of fingerprints: lossless round trip, much smaller than the
//! JSON of earlier versions (which still reads), and clear errors otherwise.

mod common;

use common::data;
use xiezhi_fingerprint::{
    decode_stored, decode_stored_older_still, encode_stored, Fingerprint, Fingerprinter, StoredFingerprint,
    STORED_FORMAT_VERSION,
};

#[test]
fn binary_round_trip_is_lossless_and_smaller_than_json() {
    let fp = Fingerprinter::new_default().expect("model");
    let print = fp.fingerprint(&data("chelsea.png")).expect("fingerprint");
    let bin = encode_stored(&print).expect("encode");
    assert_eq!(&bin[..4], b"XZFP");
    assert_eq!(u16::from_le_bytes([bin[4], bin[5]]), STORED_FORMAT_VERSION);
    match decode_stored(&bin).expect("decode") {
        StoredFingerprint::Current(back) => assert_eq!(back, print),
        other => panic!("{other:?}"),
    }
    let json = serde_json::to_vec(&print).expect("json");
    println!("binary {} bytes, JSON {} bytes", bin.len(), json.len());
    // Embeddings stay f32 (lossless): 15 x 1280 x 4 = 77 KB of the ~110 KB.
    assert!(
        bin.len() * 5 < json.len() * 3,
        "binary {} vs JSON {}",
        bin.len(),
        json.len()
    );
    match decode_stored(&json).expect("legacy") {
        StoredFingerprint::Legacy(back) => assert_eq!(back, print),
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_versions_and_damage_are_errors_not_wrong_fingerprints() {
    let fp = Fingerprinter::new_default().expect("model");
    let bin = encode_stored(&fp.fingerprint(&data("camera.png")).expect("fingerprint")).expect("encode");
    let mut newer = bin.clone();
    newer[4..6].copy_from_slice(&(STORED_FORMAT_VERSION + 1).to_le_bytes());
    let err = decode_stored(&newer).expect_err("other version");
    assert!(err.to_string().contains("format version"), "{err}");
    assert!(decode_stored(&bin[..bin.len() / 2]).is_err(), "truncated");
    assert!(decode_stored(&bin[..5]).is_err(), "header cut short");
    assert!(decode_stored(b"").is_err());
    assert!(decode_stored(b"{\"sha256\": 1}").is_err(), "JSON of something else");
    assert!(decode_stored(b"\x89PNG....").is_err());
}

/// A small figure (the test photo shrunk to 40 x 30 px) on a 120 x 100 px transparent
/// canvas, as PNG: a picture whose opaque box gets keypoints of its own.
fn sprite_png() -> Vec<u8> {
    let photo = image::load_from_memory(&data("chelsea.png")).expect("test photo");
    let figure = photo
        .resize_exact(40, 30, image::imageops::FilterType::Triangle)
        .to_rgba8();
    let mut canvas = image::RgbaImage::new(120, 100);
    image::imageops::replace(&mut canvas, &figure, 50, 20);
    let mut png = Vec::new();
    canvas
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode PNG");
    png
}

/// Formats 8 and 9 only appended fields (the chroma, the opaque box's keypoints): a blob
/// of format 7 or 8 of a still image, completed from the bytes, is exactly the fresh
/// fingerprint; the engine reads neither as current.
#[test]
fn an_older_still_completed_from_its_bytes_is_the_fresh_fingerprint() {
    let fp = Fingerprinter::new_default().expect("model");
    for bytes in [data("chelsea.png"), sprite_png()] {
        let fresh = fp.fingerprint(&bytes).expect("fingerprint");
        assert!(fresh.chroma.as_ref().is_some_and(|c| c.is_consistent()));
        for (version, old) in [
            (
                7u16,
                Fingerprint {
                    chroma: None,
                    box_keypoints: Vec::new(),
                    ..fresh.clone()
                },
            ),
            (
                8,
                Fingerprint {
                    box_keypoints: Vec::new(),
                    ..fresh.clone()
                },
            ),
        ] {
            // The same layout without the last fields (`None` and an empty vector are one
            // zero byte each in postcard).
            let mut blob = encode_stored(&old).expect("encode");
            let dropped = usize::from(9 - version);
            assert!(blob.split_off(blob.len() - dropped).iter().all(|b| *b == 0));
            blob[4..6].copy_from_slice(&version.to_le_bytes());
            assert!(
                decode_stored(&blob).is_err(),
                "format {version} is stale for the engine"
            );
            let older = decode_stored_older_still(&blob).expect("an older still");
            assert_eq!((older.version, &older.fingerprint), (version, &old));
            assert_eq!(fp.complete_older_still(older, &bytes).expect("complete"), fresh);
            assert!(
                decode_stored_older_still(&blob[..blob.len() - 3]).is_none(),
                "cut short"
            );
        }
        // The current format is not an older one.
        assert!(decode_stored_older_still(&encode_stored(&fresh).expect("encode")).is_none());
    }
    let sprite = fp.fingerprint(&sprite_png()).expect("fingerprint");
    assert!(!sprite.box_keypoints.is_empty(), "the sprite's box has keypoints");
}
