//! Maintaining the index from a stream of fingerprints, one at a time, so a case
//! with 100,000 references never holds all their fingerprints at once: the key is
//! hashed incrementally, and each new reference is reduced to its codes (~4 KB)
//! before its fingerprint (~110 KB) is dropped.

use super::*;

/// [`ReferenceIndex::key`] computed incrementally: feed references in ascending id
/// order (the order `key` sorts them into), then [`finish`](Self::finish).
pub struct KeyHasher {
    h: Sha256,
    last_id: Option<i64>,
    sorted: bool,
}

impl KeyHasher {
    pub fn new(model_id: &str) -> Self {
        let mut h = Sha256::new();
        h.update(INDEX_FORMAT_VERSION.to_le_bytes());
        h.update(model_id.as_bytes());
        h.update([0]);
        KeyHasher {
            h,
            last_id: None,
            sorted: true,
        }
    }

    pub fn update(&mut self, id: i64, fp: &Fingerprint) {
        self.sorted &= self.last_id.is_none_or(|last| last < id);
        self.last_id = Some(id);
        self.h.update(id.to_le_bytes());
        self.h.update(fp.sha256.as_bytes());
        self.h.update((fp.regions.len() as u64).to_le_bytes());
        for v in &fp.embedding {
            self.h.update(v.to_le_bytes());
        }
    }

    /// The key, or `None` if ids were not fed in strictly ascending order (the
    /// result would not equal [`ReferenceIndex::key`]).
    pub fn finish(self) -> Option<String> {
        self.sorted.then(|| self.finish_any_order())
    }

    /// For [`ReferenceIndex::key`], which may see one id twice.
    pub(super) fn finish_any_order(self) -> String {
        hex::encode(self.h.finalize())
    }
}

/// What one reference adds to the index, computed from its fingerprint so the
/// fingerprint itself can be dropped before the index is updated.
pub struct PendingReference {
    id: i64,
    digest: [u8; 32],
    vectors: Vec<(IndexEntry, Code)>,
}

impl PendingReference {
    pub fn new(id: i64, fp: &Fingerprint) -> Self {
        PendingReference {
            id,
            digest: reference_digest(id, fp),
            vectors: reference_codes(id, fp),
        }
    }

    pub fn id(&self) -> i64 {
        self.id
    }

    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

impl ReferenceIndex {
    /// Digest of what `fp` contributes to an index as reference `id` (compare with
    /// [`indexed_digest`](Self::indexed_digest) to see whether it is indexed as is).
    pub fn digest(id: i64, fp: &Fingerprint) -> [u8; 32] {
        reference_digest(id, fp)
    }

    /// Digest of the fingerprint reference `id` was indexed from, if it is indexed.
    pub fn indexed_digest(&self, id: i64) -> Option<&[u8; 32]> {
        self.table.refs.get(&id).map(|s| &s.digest)
    }

    /// Ids of the indexed references, ascending.
    pub fn indexed_references(&self) -> Vec<i64> {
        self.table.refs.keys().copied().collect()
    }

    /// Removes a reference's vectors; false if it was not indexed.
    pub fn remove_reference(&mut self, id: i64) -> Result<bool, IndexError> {
        let Some(slot) = self.table.refs.remove(&id) else {
            return Ok(false);
        };
        for k in slot.keys {
            self.ann.remove(k).map_err(ann_err)?;
        }
        self.header.vectors = self.ann.size() as u64;
        Ok(true)
    }

    /// Adds a batch of references (one parallel insert). A reference already
    /// indexed is left as is: remove it first to replace it.
    pub fn add_pending(&mut self, batch: Vec<PendingReference>) -> Result<(), IndexError> {
        let first = self.table.entries.len() as u64;
        let mut codes = Vec::new();
        for p in batch {
            if self.table.refs.contains_key(&p.id) {
                continue;
            }
            let start = first + codes.len() as u64;
            self.table.refs.insert(
                p.id,
                RefSlot {
                    digest: p.digest,
                    keys: (start..start + p.vectors.len() as u64).collect(),
                },
            );
            for (entry, code) in p.vectors {
                self.table.entries.push(entry);
                codes.push(code);
            }
        }
        self.insert(first, &codes)
    }

    /// Records the key of the reference set the index now holds.
    pub fn set_key(&mut self, key: String) {
        self.header.key = key;
    }
}
