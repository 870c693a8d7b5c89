//! The fast path (decode + PDQ + global embedding) computes exactly what the full
//! fingerprint computes for those signals, and refuses bad input the same way.

use std::path::PathBuf;

use xiezhi_fingerprint::Fingerprinter;

fn data(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn quick_fingerprint_equals_the_full_one_on_its_signals() {
    let fp = Fingerprinter::new_default().expect("model");
    for name in ["chelsea.png", "rocket.jpg"] {
        let bytes = data(name);
        let full = fp.fingerprint(&bytes).expect("full");
        let quick = fp.quick(&bytes).expect("quick");
        assert_eq!(quick.sha256, full.sha256, "{name}");
        assert_eq!(quick.pdq, full.pdq, "{name}");
        assert_eq!(quick.pdq_quality, full.pdq_quality, "{name}");
        // Same network, same input, one image per forward pass in both: bit-identical.
        assert_eq!(quick.embedding, full.embedding, "{name}");
    }
    assert!(fp.quick(b"not an image").is_err());
}
