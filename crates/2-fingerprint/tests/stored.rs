//! The cache format of fingerprints: lossless round trip, much smaller than the
//! JSON of earlier versions (which still reads), and clear errors otherwise.

mod common;

use common::data;
use xiezhi_fingerprint::{
    decode_stored, decode_stored_v7_still, encode_stored, Fingerprint, Fingerprinter, StoredFingerprint,
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

/// Format 8 only appended the chroma: a format-7 blob of a still image with its chroma
/// computed from the bytes is exactly the fresh fingerprint.
#[test]
fn a_format_7_still_with_fresh_chroma_is_the_fresh_fingerprint() {
    let fp = Fingerprinter::new_default().expect("model");
    let bytes = data("chelsea.png");
    let fresh = fp.fingerprint(&bytes).expect("fingerprint");
    assert!(fresh.chroma.as_ref().is_some_and(|c| c.is_consistent()));
    // A format-7 blob: the same layout without the last field (`None` is one zero byte
    // in postcard).
    let old = Fingerprint {
        chroma: None,
        ..fresh.clone()
    };
    let mut v7 = encode_stored(&old).expect("encode");
    assert_eq!(v7.pop(), Some(0));
    v7[4..6].copy_from_slice(&7u16.to_le_bytes());
    assert!(decode_stored(&v7).is_err(), "format 7 is stale for the engine");
    let mut upgraded = decode_stored_v7_still(&v7).expect("a format-7 still");
    assert_eq!(upgraded, old);
    upgraded.chroma = Some(fp.chroma_of(&bytes).expect("chroma"));
    assert_eq!(upgraded, fresh);
    // Not format 7, or cut short: refused.
    assert!(decode_stored_v7_still(&encode_stored(&fresh).expect("encode")).is_none());
    assert!(decode_stored_v7_still(&v7[..v7.len() - 3]).is_none());
}
