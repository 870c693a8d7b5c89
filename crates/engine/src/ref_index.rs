//! Which references a candidate is compared with in full: the shortlist of the
//! reference index (nearest embeddings of the whole image and of its windows),
//! plus every reference with the same bytes, the same pixels or a near PDQ hash
//! (cheap exact checks, so an identical file is never missed by an approximate search).

use std::collections::HashSet;
use std::path::PathBuf;

use xiezhi_fingerprint::{hamming, Fingerprint, PdqHash};
use xiezhi_match::{ReferenceIndex, PDQ_MATCH_THRESHOLD};
use xiezhi_store::{Case, Reference};

use crate::Result;

/// Nearest indexed vectors taken per query embedding (whole image + each window).
pub const NEIGHBOURS_PER_QUERY: usize = 16;
/// PDQ distance within which a reference is always compared (twice Meta's threshold).
const PDQ_SHORTLIST_DISTANCE: u32 = 2 * PDQ_MATCH_THRESHOLD;

pub(crate) struct Shortlister {
    index: ReferenceIndex,
    /// Reference id → position in the caller's reference list.
    positions: std::collections::HashMap<i64, usize>,
    pdq_variants: Vec<Vec<PdqHash>>,
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

/// Loads the case's reference index if it was built from exactly these
/// fingerprints; if references were added or removed since, updates the stored
/// index in place (no rebuild); else builds it. The result is stored in the case.
pub(crate) fn load_or_build(case: &Case, model_id: &str, refs: &[(Reference, Fingerprint)]) -> Result<Shortlister> {
    let path = index_path(case, model_id);
    let key = ReferenceIndex::key(model_id, refs.iter().map(|(r, f)| (r.id, f)));
    let pairs = || refs.iter().map(|(r, f)| (r.id, f));
    let stored = ReferenceIndex::read_header(&path)
        .ok()
        .filter(|h| h.model_id == model_id)
        .and_then(|_| ReferenceIndex::load(&path).ok());
    // A foreign, old-format or damaged file is simply rebuilt: the index is derived data.
    let index = match stored {
        Some(index) if index.header().key == key => index,
        Some(mut index) => {
            index.sync(key, pairs())?;
            index.save(&path)?;
            index
        }
        None => {
            let index = ReferenceIndex::build(model_id, key, pairs())?;
            index.save(&path)?;
            index
        }
    };
    let positions = refs.iter().enumerate().map(|(i, (r, _))| (r.id, i)).collect();
    let pdq_variants = refs
        .iter()
        .map(|(_, f)| {
            let hexes = if f.pdq_variants.is_empty() {
                std::slice::from_ref(&f.pdq)
            } else {
                &f.pdq_variants[..]
            };
            hexes.iter().filter_map(|h| PdqHash::from_hex(h).ok()).collect()
        })
        .collect();
    Ok(Shortlister {
        index,
        positions,
        pdq_variants,
    })
}

impl Shortlister {
    /// Positions (into the reference list given to [`load_or_build`]) of the
    /// references to compare with `cand`, in ascending order.
    pub fn candidates(&self, refs: &[(Reference, Fingerprint)], cand: &Fingerprint) -> Vec<usize> {
        let mut out: HashSet<usize> = self
            .index
            .shortlist(cand, NEIGHBOURS_PER_QUERY)
            .into_iter()
            .filter_map(|id| self.positions.get(&id).copied())
            .collect();
        let cand_pdq = PdqHash::from_hex(&cand.pdq).ok();
        for (i, (_, rf)) in refs.iter().enumerate() {
            let exact = rf.sha256 == cand.sha256 || rf.pixel_sha256 == cand.pixel_sha256;
            let near = cand_pdq.as_ref().is_some_and(|c| {
                self.pdq_variants[i]
                    .iter()
                    .any(|v| hamming(v, c) <= PDQ_SHORTLIST_DISTANCE)
            });
            if exact || near {
                out.insert(i);
            }
        }
        let mut out: Vec<usize> = out.into_iter().collect();
        out.sort_unstable();
        out
    }
}
