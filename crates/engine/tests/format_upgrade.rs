//! A case whose fingerprints were stored by the previous format (8: no keypoints of the
//! opaque box) is brought up to date from the images' pixels, without the model, and
//! matches exactly as a freshly fingerprinted case does.

mod common;

use xiezhi_engine::scan::{check_with, ScanOptions};
use xiezhi_engine::{refs, Silent};
use xiezhi_fingerprint::{decode_stored, encode_stored, Fingerprint, Fingerprinter, StoredFingerprint};
use xiezhi_store::Case;

use common::{asset, outcome};

#[test]
fn format_8_fingerprints_are_completed_without_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::init(&dir.path().join("case"), "format upgrade").unwrap();
    let fp = Fingerprinter::new_default().unwrap();
    // A small figure on a large transparent canvas: the one reference with keypoints of
    // its opaque box, which the upgrade must compute.
    let sprite = dir.path().join("sprite.png");
    let figure = image::open(asset("references/butterfly.png"))
        .unwrap()
        .resize_exact(40, 40, image::imageops::FilterType::Triangle)
        .to_rgba8();
    let mut canvas = image::RgbaImage::new(160, 140);
    image::imageops::replace(&mut canvas, &figure, 60, 50);
    canvas.save(&sprite).unwrap();
    refs::add_references(&mut case, &[asset("references"), sprite], &Silent).unwrap();
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

    // Every reference row rewritten as format 8 would have stored it.
    let model = fp.embedder().model_id().to_string();
    let mut current = Vec::new();
    for r in case.references().unwrap() {
        let data = case.fingerprint(&r.sha256, &model).unwrap().unwrap().unwrap();
        let Ok(StoredFingerprint::Current(f)) = decode_stored(&data) else {
            panic!("{} not stored in the current format", r.sha256)
        };
        let mut v8 = encode_stored(&Fingerprint {
            box_keypoints: Vec::new(),
            ..f.clone()
        })
        .unwrap();
        assert_eq!(v8.pop(), Some(0), "an empty vector is one zero byte at the end");
        v8[4..6].copy_from_slice(&8u16.to_le_bytes());
        case.put_fingerprint(&r.sha256, &model, Ok(&v8)).unwrap();
        current.push((r.sha256.clone(), f));
    }
    assert_eq!(current.len(), 7);
    assert_eq!(current.iter().filter(|(_, f)| !f.box_keypoints.is_empty()).count(), 1);

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
