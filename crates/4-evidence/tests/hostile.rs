//! Hostile archives: verify must refuse them from the ZIP directory alone, quickly, naming
//! the entry at fault, without extracting anything or expanding a bomb.

use std::io::Write;
use std::time::Instant;

use xiezhi_evidence::verify_bundle;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

fn failing(r: &xiezhi_evidence::VerifyReport) -> String {
    r.checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.detail.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn zip_bomb_is_refused_without_expanding_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = tmp.path().join("bomb.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&p).expect("create"));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    z.start_file("manifest.json", opts).expect("start");
    z.write_all(b"{}").expect("write");
    z.start_file("exhibits/001/candidate.png", opts).expect("start");
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..8 {
        z.write_all(&zeros).expect("write");
    }
    z.finish().expect("finish");
    assert!(std::fs::metadata(&p).expect("size").len() < 200_000);
    let t = Instant::now();
    let r = verify_bundle(&p, None).expect("verify");
    assert!(!r.ok);
    let f = failing(&r);
    assert!(
        f.contains("exhibits/001/candidate.png") && f.contains("compression ratio"),
        "{f}"
    );
    assert!(t.elapsed().as_secs() < 5);
}

#[test]
fn absurd_entry_count_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = tmp.path().join("many.zip");
    let mut z = zip::ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(&p).expect("create")));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for i in 0..=xiezhi_evidence::MAX_ENTRIES {
        z.start_file(format!("f/{i}"), opts).expect("start");
    }
    z.finish().expect("finish");
    let t = Instant::now();
    let r = verify_bundle(&p, None).expect("verify");
    assert!(!r.ok);
    let f = failing(&r);
    assert!(
        f.contains(&format!("{} entries", xiezhi_evidence::MAX_ENTRIES + 1)),
        "{f}"
    );
    assert!(t.elapsed().as_secs() < 30);
}

#[test]
fn zip_slip_paths_are_refused_before_extraction() {
    let tmp = tempfile::tempdir().expect("tmp");
    for evil in ["../evil.txt", "/etc/evil", "a/../../evil", "C:\\evil", "exhibits/./x"] {
        let p = tmp.path().join("slip.zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&p).expect("create"));
        let opts = SimpleFileOptions::default();
        z.start_file("manifest.json", opts).expect("start");
        z.write_all(b"{}").expect("write");
        z.start_file(evil, opts).expect("start");
        z.write_all(b"x").expect("write");
        z.finish().expect("finish");
        let r = verify_bundle(&p, None).expect("verify");
        assert!(!r.ok && failing(&r).contains(evil), "{evil}: {}", failing(&r));
        assert!(!tmp.path().join("evil.txt").exists() && !tmp.path().parent().expect("parent").join("evil").exists());
    }
}
