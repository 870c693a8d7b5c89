//! On-disk cache of full fingerprints for the benchmark, so a change to matching or
//! to the score can be measured in minutes instead of re-fingerprinting 20k images.
//!
//! A file is keyed by the image's SHA-256 and by everything that changes what the
//! fingerprint holds: the stored format version (bumped with the windows or the
//! keypoint extractor), the keypoint extractor id and the weights' SHA-256. Entries
//! of another key are simply never read, so a stale cache cannot leak into a run.
//! The one exception is an entry of format 7 or 8 of a still image: the formats since
//! only added fields computed from the bytes (a decode and keypoints, no model), so the
//! entry is completed and re-stored — exactly the fresh fingerprint, as
//! `tests/stored.rs` checks.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use xiezhi_match::xiezhi_fingerprint::{
    decode_stored, decode_stored_older_still, encode_stored, Fingerprint, Fingerprinter, StoredFingerprint,
    LOCAL_FEATURES_ID, STORED_FORMAT_VERSION,
};

pub struct FpCache {
    dir: PathBuf,
    /// The caches of formats 7 and 8 of the same weights that exist (see the module doc).
    older_dirs: Vec<PathBuf>,
}

impl FpCache {
    /// The cache folder for this build's fingerprints under `root`.
    pub fn open(root: &Path, fp: &Fingerprinter) -> std::io::Result<Self> {
        let weights = &fp.embedder().weights_sha256()[..16.min(fp.embedder().weights_sha256().len())];
        let dir = root.join(format!("v{STORED_FORMAT_VERSION}-{LOCAL_FEATURES_ID}-{weights}"));
        std::fs::create_dir_all(&dir)?;
        // Newest first: an entry there needs the least computing.
        let older_dirs = [8, 7]
            .into_iter()
            .filter(|v| *v < STORED_FORMAT_VERSION)
            .map(|v| root.join(format!("v{v}-{LOCAL_FEATURES_ID}-{weights}")))
            .filter(|d| d.is_dir())
            .collect();
        Ok(FpCache { dir, older_dirs })
    }

    fn name(bytes: &[u8]) -> String {
        format!("{}.xzfp", hex::encode(Sha256::digest(bytes)))
    }

    fn path(&self, bytes: &[u8]) -> PathBuf {
        self.dir.join(Self::name(bytes))
    }

    /// The cached fingerprint of these bytes, if a readable one of this key exists
    /// (or an older one of a still image, brought up to date and stored).
    pub fn get(&self, fp: &Fingerprinter, bytes: &[u8]) -> Option<Fingerprint> {
        if let Ok(blob) = std::fs::read(self.path(bytes)) {
            if let Ok(StoredFingerprint::Current(f)) = decode_stored(&blob) {
                return Some(f);
            }
        }
        let older = self
            .older_dirs
            .iter()
            .find_map(|d| decode_stored_older_still(&std::fs::read(d.join(Self::name(bytes))).ok()?))?;
        let f = fp.complete_older_still(older, bytes).ok()?;
        self.put(bytes, &f);
        Some(f)
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
