//! The reference fingerprints a check compares with are read back from the case
//! through a bounded cache: its size changes how often a row is read, never a result.

mod common;

use xiezhi_engine::scan::{check_with, ScanOptions};
use xiezhi_engine::{refs, Silent, DEFAULT_CACHE_BYTES};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_store::Case;

use common::{asset, outcome};

#[test]
fn a_one_fingerprint_cache_gives_the_same_matches_as_a_large_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::init(&dir.path().join("case"), "cache test").unwrap();
    let fp = Fingerprinter::new_default().unwrap();
    refs::add_references(&mut case, &[asset("references")], &Silent).unwrap();

    // Exact copies, an edited copy (mirrored crop of the cat) and unrelated images.
    let img = image::open(asset("references/chelsea.jpg")).unwrap();
    let (w, h) = (img.width(), img.height());
    let edited = image::imageops::flip_horizontal(&img.crop_imm(w / 6, h / 6, w * 2 / 3, h * 2 / 3).to_rgb8());
    let probe = dir.path().join("probe.png");
    edited.save(&probe).unwrap();
    let files = [
        probe,
        asset("references/rocket.jpg"),
        asset("references/rose.png"),
        asset("distractors"),
    ];

    let tiny = ScanOptions {
        reference_cache_bytes: 1,
    };
    let large = ScanOptions {
        reference_cache_bytes: DEFAULT_CACHE_BYTES,
    };
    let small = check_with(&mut case, &fp, &files, &Silent, &tiny).unwrap();
    let big = check_with(&mut case, &fp, &files, &Silent, &large).unwrap();

    let references = case.references().unwrap().len();
    assert_eq!(small.scan.references, references);
    assert!(
        small.matches.len() >= 3,
        "copies and the edited cat are found: {:?}",
        small.matches
    );
    assert_eq!(
        small.matches.iter().map(outcome).collect::<Vec<_>>(),
        big.matches.iter().map(outcome).collect::<Vec<_>>()
    );
    assert_eq!(small.scan.compared, big.scan.compared);
    // The large cache reads each reference at most once; the one-entry cache re-reads them.
    assert!(big.scan.reference_loads <= references, "{:?}", big.scan);
    assert!(
        small.scan.reference_loads > big.scan.reference_loads,
        "tiny {} vs large {}",
        small.scan.reference_loads,
        big.scan.reference_loads
    );
}
