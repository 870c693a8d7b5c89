//! The cache format of fingerprints: lossless round trip, much smaller than the
//! JSON of earlier versions (which still reads), and clear errors otherwise.

mod common;

use common::data;
use xiezhi_fingerprint::{
    decode_stored, decode_stored_v6_still, encode_stored, Fingerprint, Fingerprinter, StoredFingerprint,
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

/// Format 7 only appended the extra keypoints: a format-6 blob of a still image with
/// its keypoints recomputed from the bytes is exactly the fresh fingerprint.
#[test]
fn a_format_6_still_with_fresh_keypoints_is_the_fresh_fingerprint() {
    let fp = Fingerprinter::new_default().expect("model");
    let bytes = data("chelsea.png");
    let fresh = fp.fingerprint(&bytes).expect("fingerprint");
    assert!(!fresh.extra_keypoints.is_empty());
    // A format-6 blob: the same layout without the last field (an empty list is one
    // zero byte in postcard).
    let old = Fingerprint {
        extra_keypoints: Vec::new(),
        ..fresh.clone()
    };
    let mut v6 = encode_stored(&old).expect("encode");
    assert_eq!(v6.pop(), Some(0));
    v6[4..6].copy_from_slice(&6u16.to_le_bytes());
    assert!(decode_stored(&v6).is_err(), "format 6 is stale for the engine");
    let mut upgraded = decode_stored_v6_still(&v6).expect("a format-6 still");
    assert_eq!(upgraded, old);
    (upgraded.local, upgraded.extra_keypoints) = fp.local_features_of(&bytes).expect("keypoints");
    assert_eq!(upgraded, fresh);
    // Not format 6, or cut short: refused.
    assert!(decode_stored_v6_still(&encode_stored(&fresh).expect("encode")).is_none());
    assert!(decode_stored_v6_still(&v6[..v6.len() - 3]).is_none());
}
