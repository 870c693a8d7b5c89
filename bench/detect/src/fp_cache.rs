//! On-disk cache of full fingerprints for the benchmark, so a change to matching or
//! to the score can be measured in minutes instead of re-fingerprinting 20k images.
//!
//! A file is keyed by the image's SHA-256 and by everything that changes what the
//! fingerprint holds: the stored format version (bumped with the windows or the
//! keypoint extractor), the keypoint extractor id and the weights' SHA-256. Entries
//! of another key are simply never read, so a stale cache cannot leak into a run.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use xiezhi_match::xiezhi_fingerprint::{
    decode_stored, encode_stored, Fingerprint, Fingerprinter, StoredFingerprint, LOCAL_FEATURES_ID,
    STORED_FORMAT_VERSION,
};

pub struct FpCache {
    dir: PathBuf,
}

impl FpCache {
    /// The cache folder for this build's fingerprints under `root`.
    pub fn open(root: &Path, fp: &Fingerprinter) -> std::io::Result<Self> {
        let key = format!(
            "v{STORED_FORMAT_VERSION}-{LOCAL_FEATURES_ID}-{}",
            &fp.embedder().weights_sha256()[..16.min(fp.embedder().weights_sha256().len())]
        );
        let dir = root.join(key);
        std::fs::create_dir_all(&dir)?;
        Ok(FpCache { dir })
    }

    fn path(&self, bytes: &[u8]) -> PathBuf {
        self.dir.join(format!("{}.xzfp", hex::encode(Sha256::digest(bytes))))
    }

    /// The cached fingerprint of these bytes, if a readable one of this key exists.
    pub fn get(&self, bytes: &[u8]) -> Option<Fingerprint> {
        let blob = std::fs::read(self.path(bytes)).ok()?;
        match decode_stored(&blob).ok()? {
            StoredFingerprint::Current(f) => Some(f),
            StoredFingerprint::Legacy(_) => None,
        }
    }

    /// Stores a fingerprint (write to a temporary name, then rename: a killed run
    /// never leaves a truncated entry behind).
    pub fn put(&self, bytes: &[u8], fingerprint: &Fingerprint) {
        let Ok(blob) = encode_stored(fingerprint) else {
            return;
        };
        let path = self.path(bytes);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, blob).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}
