//! Content-addressed blob files. Writes go to a temporary file that is fsynced and
//! renamed into place, so a crash never leaves a half-written blob under its hash.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{sha256_hex, StoreError};

pub struct BlobStore {
    root: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl BlobStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// `blobs/ab/abcdef…`: a two-character fan-out keeps directories small.
    pub fn path(&self, sha256: &str) -> PathBuf {
        let fan = sha256.get(..2).unwrap_or("xx");
        self.root.join(fan).join(sha256)
    }

    pub fn contains(&self, sha256: &str) -> bool {
        self.path(sha256).is_file()
    }

    /// Store bytes; identical bytes are stored once. Returns the hex SHA-256.
    pub fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let sha = sha256_hex(bytes);
        let dest = self.path(&sha);
        if dest.is_file() {
            return Ok(sha);
        }
        let dir = dest
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let tmp = dir.join(format!(".{sha}.{}.tmp", std::process::id()));
        {
            let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
            f.write_all(bytes).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
        // Make the rename durable too.
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(sha)
    }

    pub fn read(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let p = self.path(sha256);
        if !p.is_file() {
            return Err(StoreError::MissingBlob(sha256.to_string()));
        }
        fs::read(&p).map_err(io_err(&p))
    }

    /// Read and check that the bytes still hash to their name.
    pub fn read_verified(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let bytes = self.read(sha256)?;
        let actual = sha256_hex(&bytes);
        if actual != sha256 {
            return Err(StoreError::CorruptBlob {
                sha256: sha256.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_bytes_stored_once_and_read_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = BlobStore::new(dir.path().join("blobs"));
        let a = store.put(b"hello").expect("put");
        let b = store.put(b"hello").expect("put again");
        assert_eq!(a, b);
        assert_eq!(a, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(store.read_verified(&a).expect("read"), b"hello");
        let files: Vec<_> = walk(&dir.path().join("blobs"));
        assert_eq!(files.len(), 1, "{files:?}");
    }

    #[test]
    fn corrupt_blob_is_detected() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = BlobStore::new(dir.path().join("blobs"));
        let a = store.put(b"evidence").expect("put");
        fs::write(store.path(&a), b"evidencf").expect("tamper");
        assert!(matches!(store.read_verified(&a), Err(StoreError::CorruptBlob { .. })));
    }

    fn walk(p: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in fs::read_dir(p).expect("dir").flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }
}
