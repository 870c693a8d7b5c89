//! A case whose fingerprints were stored by the previous format (7: no colour plane) is
//! brought up to date from the images' pixels, without the model, and matches exactly as
//! a freshly fingerprinted case does.

mod common;

use xiezhi_engine::scan::{check_with, ScanOptions};
use xiezhi_engine::{refs, Silent};
use xiezhi_fingerprint::{decode_stored, encode_stored, Fingerprint, Fingerprinter, StoredFingerprint};
use xiezhi_store::Case;

use common::{asset, outcome};

#[test]
fn format_7_fingerprints_gain_their_colour_without_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::init(&dir.path().join("case"), "format upgrade").unwrap();
    let fp = Fingerprinter::new_default().unwrap();
    refs::add_references(&mut case, &[asset("references")], &Silent).unwrap();
    let img = image::open(asset("references/coffee.jpg")).unwrap();
    let (w, h) = (img.width(), img.height());
    let probe = dir.path().join("probe.jpg");
    img.crop_imm(w / 5, h / 8, w * 3 / 5, h * 3 / 5)
        .to_rgb8()
        .save(&probe)
        .unwrap();
    let options = ScanOptions::default();
    let fresh = check_with(&mut case, &fp, std::slice::from_ref(&probe), &Silent, &options).unwrap();
    assert!(!fresh.matches.is_empty());
    assert_eq!(fresh.scan.upgraded, 0);

    // Every reference row rewritten as format 7 would have stored it.
    let model = fp.embedder().model_id().to_string();
    let mut current = Vec::new();
    for r in case.references().unwrap() {
        let data = case.fingerprint(&r.sha256, &model).unwrap().unwrap().unwrap();
        let Ok(StoredFingerprint::Current(f)) = decode_stored(&data) else {
            panic!("{} not stored in the current format", r.sha256)
        };
        assert!(f.chroma.is_some());
        let mut v7 = encode_stored(&Fingerprint {
            chroma: None,
            ..f.clone()
        })
        .unwrap();
        assert_eq!(v7.pop(), Some(0), "None is one zero byte at the end");
        v7[4..6].copy_from_slice(&7u16.to_le_bytes());
        case.put_fingerprint(&r.sha256, &model, Ok(&v7)).unwrap();
        current.push((r.sha256.clone(), f));
    }

    let again = check_with(&mut case, &fp, &[probe], &Silent, &options).unwrap();
    assert_eq!(again.scan.upgraded, current.len(), "{:?}", again.scan);
    assert_eq!(
        fresh.matches.iter().map(outcome).collect::<Vec<_>>(),
        again.matches.iter().map(outcome).collect::<Vec<_>>()
    );
    // Stored again in the current format, exactly the fresh fingerprint.
    for (sha, f) in current {
        let data = case.fingerprint(&sha, &model).unwrap().unwrap().unwrap();
        match decode_stored(&data).unwrap() {
            StoredFingerprint::Current(back) => assert_eq!(back, f),
            other => panic!("{other:?}"),
        }
    }
}
