//! Which references a candidate is compared with in full: the shortlist of the
//! reference index (nearest embeddings of the whole image and of its windows),
//! plus every reference with the same bytes, the same pixels or a near PDQ hash
//! (cheap exact checks, so an identical file is never missed by an approximate search),
//! plus the references sharing the most keypoint descriptors with it (a small sprite
//! pasted into a big scene, or a tight crop of flat art, looks like no reference as a
//! whole, but its corners still match the reference's one by one).
//!
//! The references are streamed, never all held at once: [`prepare`] fingerprints
//! (or reads) them one at a time, keeps a compact table for the exact checks and
//! brings the stored index up to date as it goes; the full fingerprints of the
//! shortlisted references are then read back from case.db through a bounded cache.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use xiezhi_fingerprint::{Fingerprint, Fingerprinter};
use xiezhi_match::index::{KeyHasher, PendingReference};
use xiezhi_match::{
    KeypointIndex, KeypointIndexBuilder, ReferenceIndex, SHORTLIST_KEYPOINT_REFERENCES,
    SHORTLIST_NEIGHBOURS_PER_VECTOR, SHORTLIST_PDQ_DISTANCE,
};
use xiezhi_store::Case;

use crate::reference_cache::{FingerprintCache, ReferenceTable};
use crate::scan::{fingerprint_blob, ScanReport};
use crate::{EngineError, Progress, Result};

/// Nearest distinct references taken per query embedding (whole image + each window).
pub const NEIGHBOURS_PER_QUERY: usize = SHORTLIST_NEIGHBOURS_PER_VECTOR;
/// References whose codes are inserted into the index together (~4 KB of codes each).
const INSERT_BATCH: usize = 2048;

pub(crate) struct Shortlister {
    index: ReferenceIndex,
    table: ReferenceTable,
    keypoints: KeypointIndex,
    cache: FingerprintCache,
}

/// `<case>/ann/references-<model>.xzann`
pub fn index_path(case: &Case, model_id: &str) -> PathBuf {
    let safe: String = model_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    case.root().join("ann").join(format!("references-{safe}.xzann"))
}

/// The stored index if it is readable and of this model (a foreign, old-format or
/// damaged file is simply rebuilt: the index is derived data).
fn stored_index(path: &std::path::Path, model_id: &str) -> Option<ReferenceIndex> {
    ReferenceIndex::read_header(path)
        .ok()
        .filter(|h| h.model_id == model_id)
        .and_then(|_| ReferenceIndex::load(path).ok())
}

/// Fingerprints every reference (or reads its cached fingerprint), one at a time,
/// and brings the case's reference index up to date with them: reused as is if it
/// was built from exactly these fingerprints, else updated in place (references
/// added or changed are inserted, removed ones taken out) or built, and stored.
/// Unreadable references are reported and left out. `None` if the operator cancelled.
pub(crate) fn prepare(
    case: &mut Case,
    fp: &Fingerprinter,
    progress: &dyn Progress,
    report: &mut ScanReport,
    cache_bytes: usize,
) -> Result<Option<Shortlister>> {
    let model_id = fp.embedder().model_id().to_string();
    let path = index_path(case, &model_id);
    let stored = stored_index(&path, &model_id);
    let stored_key = stored.as_ref().map(|i| i.header().key.clone());
    let mut index = match stored {
        Some(index) => index,
        None => ReferenceIndex::empty(&model_id, String::new())?,
    };
    let mut table = ReferenceTable::default();
    let mut key = KeyHasher::new(&model_id);
    let mut pending = Vec::new();
    let mut changed = false;

    let refs = case.references()?;
    report.references = refs.len();
    // Built afresh each scan from the fingerprints streamed here (like `table`): it is
    // cheap next to reading them, and needs no file of its own to keep in step.
    let mut keypoints = KeypointIndexBuilder::new(refs.len());
    progress.phase("fingerprinting references", Some(refs.len() as u64));
    for r in refs {
        if progress.cancelled() {
            report.cancelled = true;
            progress.done();
            return Ok(None);
        }
        progress.message(&r.original_path);
        let f = match fingerprint_blob(case, fp, &r.sha256, report)? {
            Ok(f) => f,
            Err(e) => {
                report.unreadable.push((format!("reference {}", r.original_path), e));
                progress.advance(1);
                continue;
            }
        };
        if f.shows_nothing() {
            report.blank_references.push(r.original_path.clone());
        }
        keypoints.add(table.len() as u32, &f);
        table.push(r.id, &f);
        key.update(r.id, &f);
        // Fingerprints of another model are not indexed (as `ReferenceIndex::add`).
        if f.model_id == model_id {
            let indexed = index.indexed_digest(r.id).copied();
            if indexed != Some(ReferenceIndex::digest(r.id, &f)) {
                // Changed since it was indexed: its old vectors go before the new ones come.
                changed |= index.remove_reference(r.id)?;
                pending.push(PendingReference::new(r.id, &f));
                if pending.len() >= INSERT_BATCH {
                    index.add_pending(std::mem::take(&mut pending))?;
                    changed = true;
                }
            }
        }
        progress.advance(1);
    }
    progress.done();
    if !pending.is_empty() {
        index.add_pending(pending)?;
        changed = true;
    }
    let present: HashSet<i64> = (0..table.len()).map(|p| table.id(p)).collect();
    for id in index.indexed_references() {
        if !present.contains(&id) {
            changed |= index.remove_reference(id)?;
        }
    }
    let key = key
        .finish()
        .ok_or_else(|| EngineError::Invalid("references not listed in id order".into()))?;
    if changed || stored_key.as_deref() != Some(key.as_str()) {
        index.set_key(key);
        index.save(&path)?;
    }
    Ok(Some(Shortlister {
        index,
        table,
        keypoints: keypoints.build(),
        cache: FingerprintCache::new(&model_id, cache_bytes),
    }))
}

impl Shortlister {
    /// References compared in full (those with a usable fingerprint).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// The case's id of the reference at `pos`.
    pub fn reference_id(&self, pos: usize) -> i64 {
        self.table.id(pos)
    }

    /// Positions (ascending reference id) of the references to compare with `cand`.
    pub fn candidates(&self, cand: &Fingerprint) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .index
            .shortlist(cand, NEIGHBOURS_PER_QUERY)
            .into_iter()
            .filter_map(|id| self.position(id))
            .chain(self.table.exact_and_near(cand, SHORTLIST_PDQ_DISTANCE))
            .chain(
                self.keypoints
                    .shortlist(cand, SHORTLIST_KEYPOINT_REFERENCES)
                    .into_iter()
                    .map(|(pos, _)| pos as usize),
            )
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The full fingerprint of the reference at `pos` (bounded cache over case.db).
    pub fn fingerprint(&mut self, case: &Case, pos: usize) -> Result<Arc<Fingerprint>> {
        self.cache.get(case, &self.table, pos)
    }

    /// Fingerprints read from case.db so far (cache misses).
    pub fn loads(&self) -> usize {
        self.cache.loads
    }

    fn position(&self, id: i64) -> Option<usize> {
        self.table.position(id)
    }
}
