//! PDQ against Meta's reference implementation, computed now (not from a stored
//! fixture) by the PyPI `pdqhash` package on real photos: ≤ 2 bits apart on the
//! hash and on each of the 8 dihedral variants. Both sides hash the same pixels:
//! the test writes our decoded RGB as PNG, so JPEG decoder differences cannot hide
//! or cause a mismatch.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::data;
use xiezhi_fingerprint::pdq::pdq;
use xiezhi_fingerprint::{decode, hamming, to_rgb_on_grey, DecodeLimits, PdqHash, DIHEDRAL_NAMES};

const PHOTOS: [&str; 7] = [
    "astronaut.jpg",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.jpg",
    "hubble.jpg",
    "rocket.jpg",
];

/// The venv `./run` installs the Python test tools into (`XIEZHI_PYTHON` overrides).
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("XIEZHI_PYTHON") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME");
    cache.join("xiezhi/venv/bin/python3")
}

const HOW_TO_INSTALL: &str = "the PDQ reference needs Python with `pdqhash`, `pillow` and `numpy`: run `./run test` \
     (it installs them into ~/.cache/xiezhi/venv), or `~/.cache/xiezhi/venv/bin/pip install pdqhash pillow numpy` \
     (pdqhash compiles C++: needs g++ and python3-dev), or point XIEZHI_PYTHON at a Python that has them";

#[test]
fn hashes_and_dihedral_variants_match_meta_reference_computed_now() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    let mut ours = Vec::new();
    for name in PHOTOS {
        let rgb = to_rgb_on_grey(&decode(&data(name), &DecodeLimits::default()).expect("decode").image);
        let path = dir.path().join(format!("{name}.png"));
        rgb.save(&path).expect("write png");
        ours.push(pdq(&rgb));
        paths.push(path);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pdq_live_reference.py");
    let py = python();
    let out = Command::new(&py)
        .arg(&script)
        .args(&paths)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {HOW_TO_INSTALL}", py.display()));
    assert!(
        out.status.success(),
        "{} failed: {}\n{HOW_TO_INSTALL}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: serde_json::Value = serde_json::from_slice(&out.stdout).expect("reference prints JSON");
    let reference = reference.as_array().expect("a list");
    assert_eq!(reference.len(), PHOTOS.len());
    let mut worst = 0;
    for ((name, mine), theirs) in PHOTOS.iter().zip(&ours).zip(reference) {
        let want = PdqHash::from_hex(theirs["pdq"].as_str().expect("pdq")).expect("hex");
        let d = hamming(&mine.hash, &want);
        worst = worst.max(d);
        assert!(d <= 2, "{name}: {d} bits from Meta's reference");
        let quality = theirs["quality"].as_u64().expect("quality");
        assert!(
            u64::from(mine.quality).abs_diff(quality) <= 1,
            "{name}: quality {} vs {quality}",
            mine.quality
        );
        let variants = theirs["dihedral"].as_array().expect("dihedral");
        assert_eq!(variants.len(), 8);
        for (i, v) in variants.iter().enumerate() {
            let want = PdqHash::from_hex(v.as_str().expect("hex")).expect("hex");
            let d = hamming(&mine.variants[i], &want);
            worst = worst.max(d);
            assert!(d <= 2, "{name} {}: {d} bits from Meta's reference", DIHEDRAL_NAMES[i]);
        }
    }
    println!(
        "largest distance to the reference over {} photos x 9 hashes: {worst} bits",
        PHOTOS.len()
    );
}
