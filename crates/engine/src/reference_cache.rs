//! What a scan keeps in memory about the references: a compact table for the
//! exact checks (SHA-256, pixel SHA-256, PDQ of the 8 dihedral variants: ~400 B
//! per reference) and a bounded cache of full fingerprints (~110 KB each) loaded
//! from case.db when a reference is shortlisted. A case with 100,000 references
//! would need ~11 GB to hold every fingerprint; this keeps a scan within a
//! fixed budget whatever the number of references.

use std::collections::HashMap;
use std::sync::Arc;

use lru::LruCache;
use xiezhi_fingerprint::{decode_stored, hamming, Fingerprint, PdqHash};
use xiezhi_store::Case;

use crate::{EngineError, Result};

/// Default budget of the fingerprint cache: ~2,400 fingerprints of ~110 KB.
pub const DEFAULT_CACHE_BYTES: usize = 256 << 20;

/// Per reference, what the exact checks need; positions follow ascending reference id.
#[derive(Default)]
pub(crate) struct ReferenceTable {
    ids: Vec<i64>,
    sha256: Vec<Box<str>>,
    by_sha256: HashMap<Box<str>, Vec<u32>>,
    by_pixel_sha256: HashMap<Box<str>, Vec<u32>>,
    /// Every PDQ variant of every reference, with its owner's position (a linear
    /// scan: 800,000 Hamming distances of 256 bits take about a millisecond).
    pdq: Vec<(PdqHash, u32)>,
}

impl ReferenceTable {
    /// Appends a reference; call in ascending id order.
    pub fn push(&mut self, id: i64, fp: &Fingerprint) {
        let pos = self.ids.len() as u32;
        self.ids.push(id);
        self.sha256.push(fp.sha256.as_str().into());
        self.by_sha256.entry(fp.sha256.as_str().into()).or_default().push(pos);
        self.by_pixel_sha256
            .entry(fp.pixel_sha256.as_str().into())
            .or_default()
            .push(pos);
        let hexes = if fp.pdq_variants.is_empty() {
            std::slice::from_ref(&fp.pdq)
        } else {
            &fp.pdq_variants[..]
        };
        self.pdq
            .extend(hexes.iter().filter_map(|h| PdqHash::from_hex(h).ok()).map(|h| (h, pos)));
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn id(&self, pos: usize) -> i64 {
        self.ids[pos]
    }

    /// Position of reference `id` (ids are pushed in ascending order).
    pub fn position(&self, id: i64) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    pub fn sha256(&self, pos: usize) -> &str {
        &self.sha256[pos]
    }

    /// Positions of the references with the same bytes or pixels as `cand`, or a PDQ
    /// variant within `max_distance` of its PDQ (unsorted, may repeat).
    pub fn exact_and_near(&self, cand: &Fingerprint, max_distance: u32) -> Vec<usize> {
        let mut out: Vec<usize> = [
            self.by_sha256.get(cand.sha256.as_str()),
            self.by_pixel_sha256.get(cand.pixel_sha256.as_str()),
        ]
        .into_iter()
        .flatten()
        .flatten()
        .map(|p| *p as usize)
        .collect();
        if let Ok(c) = PdqHash::from_hex(&cand.pdq) {
            out.extend(
                self.pdq
                    .iter()
                    .filter(|(h, _)| hamming(h, &c) <= max_distance)
                    .map(|(_, p)| *p as usize),
            );
        }
        out
    }
}

/// Full fingerprints of shortlisted references, least recently used evicted first
/// once their total stored size passes the budget (the postcard row is the same
/// size as the decoded fingerprint to within its few `Vec` headers).
pub(crate) struct FingerprintCache {
    model_id: String,
    entries: LruCache<usize, (Arc<Fingerprint>, usize)>,
    bytes: usize,
    capacity: usize,
    /// Rows read from case.db (cache misses), for the scan report.
    pub loads: usize,
}

impl FingerprintCache {
    pub fn new(model_id: &str, capacity_bytes: usize) -> Self {
        FingerprintCache {
            model_id: model_id.to_string(),
            entries: LruCache::unbounded(),
            bytes: 0,
            capacity: capacity_bytes,
            loads: 0,
        }
    }

    /// The fingerprint of the reference at `pos`, from the cache or case.db.
    pub fn get(&mut self, case: &Case, table: &ReferenceTable, pos: usize) -> Result<Arc<Fingerprint>> {
        if let Some((fp, _)) = self.entries.get(&pos) {
            return Ok(fp.clone());
        }
        let sha = table.sha256(pos);
        // The first phase of the scan stored (and checked) this row: anything else now
        // means the case changed under the scan.
        let gone = |why: String| EngineError::Invalid(format!("reference fingerprint {sha} {why} during the scan"));
        let data = match case.fingerprint(sha, &self.model_id)? {
            Some(Ok(data)) => data,
            Some(Err(e)) => return Err(gone(format!("became an error ({e})"))),
            None => return Err(gone("was deleted".into())),
        };
        let mut fp = decode_stored(&data)
            .map_err(|e| gone(format!("became unreadable ({e})")))?
            .into_inner();
        if fp.sha256 != sha {
            return Err(gone("was replaced".into()));
        }
        // Used as a reference only (see xiezhi_match::verify): the stored size is then
        // an upper bound of what the entry holds.
        fp.drop_extra_keypoints();
        self.loads += 1;
        let fp = Arc::new(fp);
        self.bytes += data.len();
        self.entries.put(pos, (fp.clone(), data.len()));
        // The newest entry always stays, so a budget below one fingerprint still works.
        while self.bytes > self.capacity && self.entries.len() > 1 {
            match self.entries.pop_lru() {
                Some((_, (_, size))) => self.bytes -= size,
                None => break,
            }
        }
        Ok(fp)
    }
}
