//! The reference index inside `check`: built and stored on first use, reused while
//! the references stay the same, rebuilt when one is added; fingerprints are cached
//! in the compact binary format and old JSON rows still read.

mod common;

use xiezhi_engine::ref_index::index_path;
use xiezhi_engine::{refs, scan, Silent};
use xiezhi_fingerprint::{decode_stored, Fingerprinter, StoredFingerprint};
use xiezhi_match::ReferenceIndex;
use xiezhi_store::Case;

use common::asset;

#[test]
fn check_uses_a_stored_index_and_rebuilds_it_when_references_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::init(&dir.path().join("case"), "index test").unwrap();
    let fp = Fingerprinter::new_default().unwrap();
    refs::add_references(
        &mut case,
        &[asset("references/chelsea.jpg"), asset("references/rocket.jpg")],
        &Silent,
    )
    .unwrap();

    // A mirrored crop of the cat must still be shortlisted and matched.
    let img = image::open(asset("references/chelsea.jpg")).unwrap();
    let (w, h) = (img.width(), img.height());
    let edited = image::imageops::flip_horizontal(&img.crop_imm(w / 6, h / 6, w * 2 / 3, h * 2 / 3).to_rgb8());
    let probe = dir.path().join("probe.png");
    edited.save(&probe).unwrap();

    let first = scan::check(&mut case, &fp, std::slice::from_ref(&probe), &Silent).unwrap();
    let path = index_path(&case, fp.embedder().model_id());
    let header = ReferenceIndex::read_header(&path).expect("index stored in the case");
    assert_eq!(header.model_id, fp.embedder().model_id());
    assert!(header.vectors >= 2, "{header:?}");
    assert!(first.scan.compared >= 1);
    let best = first.matches.first().expect("the edited cat is found");
    assert!(
        best.reference.original_path.ends_with("chelsea.jpg"),
        "{}",
        best.reference.original_path
    );
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();

    // Same references: the stored index is reused as is.
    scan::check(&mut case, &fp, std::slice::from_ref(&probe), &Silent).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified);
    assert_eq!(ReferenceIndex::read_header(&path).unwrap(), header);

    // A new reference: the index is rebuilt with a new key.
    refs::add_references(&mut case, &[asset("references/rose.png")], &Silent).unwrap();
    scan::check(&mut case, &fp, std::slice::from_ref(&probe), &Silent).unwrap();
    let rebuilt = ReferenceIndex::read_header(&path).unwrap();
    assert_ne!(rebuilt.key, header.key);
    assert!(rebuilt.vectors > header.vectors);

    // A damaged index file is derived data: it is rebuilt, the check goes on.
    std::fs::write(&path, b"XZANN garbage").unwrap();
    let again = scan::check(&mut case, &fp, std::slice::from_ref(&probe), &Silent).unwrap();
    assert_eq!(again.matches.first().map(|m| m.reference.id), Some(best.reference.id));
    assert_eq!(ReferenceIndex::read_header(&path).unwrap().key, rebuilt.key);

    // Cached fingerprints are stored in the binary format.
    let sha = &best.reference.sha256;
    let row = case
        .fingerprint(sha, fp.embedder().model_id())
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(row.starts_with(b"XZFP"));
    assert!(matches!(decode_stored(&row).unwrap(), StoredFingerprint::Current(_)));
}

#[test]
fn legacy_json_fingerprint_rows_are_read_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::init(&dir.path().join("case"), "legacy").unwrap();
    let fp = Fingerprinter::new_default().unwrap();
    refs::add_references(&mut case, &[asset("references/rocket.jpg")], &Silent).unwrap();
    let model = fp.embedder().model_id().to_string();
    let reference = case.references().unwrap().remove(0);
    // What versions before the binary format stored: the fingerprint as JSON.
    let print = fp
        .fingerprint(&std::fs::read(asset("references/rocket.jpg")).unwrap())
        .unwrap();
    let json = serde_json::to_vec(&print).unwrap();
    case.put_fingerprint(&reference.sha256, &model, Ok(&json)).unwrap();

    let report = scan::check(&mut case, &fp, &[asset("references/rocket.jpg")], &Silent).unwrap();
    assert_eq!(report.scan.fingerprinted, 0, "{:?}", report.scan);
    assert_eq!(report.matches.first().map(|m| m.score), Some(1.0));
    let row = case.fingerprint(&reference.sha256, &model).unwrap().unwrap().unwrap();
    assert!(row.starts_with(b"XZFP"), "legacy row rewritten");
    assert!(
        row.len() * 5 < json.len() * 3,
        "binary {} vs JSON {} bytes",
        row.len(),
        json.len()
    );
    assert_eq!(decode_stored(&row).unwrap().into_inner(), print);
}
