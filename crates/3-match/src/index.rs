//! Approximate nearest-neighbour index over reference embeddings (whole image and
//! every region window), so a candidate is compared in full only with the
//! references that look closest instead of with all of them.
//!
//! Vectors are reduced before indexing, to hold 1,000,000 of them on a laptop:
//! a fixed, seeded random orthonormal projection from the model's dimension to
//! [`INDEX_DIM`] (Johnson–Lindenstrauss: cosines are preserved up to a small
//! error, with no training data needed, so a case with three references gets the
//! same projection as one with a million), quantised to i8 with a per-vector
//! scale (cosine is scale-free, so the scale need not be stored): 256 bytes per
//! vector instead of 5,120. The graph is HNSW from `usearch` (chosen by
//! measurement against `instant-distance` and `hnsw_rs`, `bench/results/ann.md`):
//! parallel build, incremental insert and removal, and a compact serialised form.
//! The index only shortlists: every shortlisted reference is then compared with
//! the full fingerprints.
//!
//! Persisted as one file (see [`ReferenceIndex::save`]): `"XZANN"`, format
//! version, the [`IndexHeader`] (model id and a key over the reference set, so a
//! changed model or reference set is seen), the vector → reference table with a
//! digest per reference (so new references are added without a rebuild), the
//! SHA-256 of the graph, then usearch's own serialisation of the graph. The
//! digest is checked before usearch reads a byte: a damaged graph is reported,
//! never handed to C++ code that trusts its offsets.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};
use xiezhi_fingerprint::Fingerprint;

mod file;
mod streaming;

pub use streaming::{KeyHasher, PendingReference};

/// Dimension of the reduced vectors.
pub const INDEX_DIM: usize = 256;
/// Bump when the file layout, the projection or the quantisation changes.
/// Version 1 was an `instant-distance` graph: such files are rebuilt, not read.
pub const INDEX_FORMAT_VERSION: u32 = 2;
const MAGIC: &[u8; 5] = b"XZANN";
/// Seed of the projection matrix; part of the index format.
const PROJECTION_SEED: u64 = 0x5849_455a_4849_0001;
/// HNSW links per node (M) and build / search breadth (ef), chosen in
/// `bench/ann` for recall@10 on real embeddings and p99 latency at 1M vectors.
pub const CONNECTIVITY: usize = 16;
pub const EXPANSION_ADD: usize = 128;
/// 256, not 96: with 100,000 references (1M vectors) the search at 96 missed copies that only a
/// window finds; 256 found them at no cost a scan notices (`bench/results/refs-scale.md`).
pub const EXPANSION_SEARCH: usize = 256;
/// Vectors read per wanted reference when shortlisting (see [`ReferenceIndex::shortlist`]).
pub const SEARCH_WIDTH: usize = 4;
/// At most this many vectors per wanted reference are read (a family of near-identical
/// references can own every vector near a query).
pub const MAX_SEARCH_WIDTH: usize = 256;
/// Header and table sizes above which a file is refused rather than allocated.
const MAX_HEADER_BYTES: u64 = 1 << 20;
const MAX_TABLE_BYTES: u64 = 1 << 32;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("index file {path}: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("reference index: {0}")]
    Ann(String),
}

fn ann_err(e: impl std::fmt::Display) -> IndexError {
    IndexError::Ann(e.to_string())
}

/// What one indexed vector belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Caller's id of the reference (the case's `refs.id`).
    pub reference: i64,
    /// `None` for the whole-image embedding, else the index into `Fingerprint::regions`.
    pub region: Option<u16>,
}

/// A reduced, quantised vector (cosine with another code ≈ cosine of the embeddings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code(Box<[i8]>);

impl Code {
    pub fn as_slice(&self) -> &[i8] {
        &self.0
    }

    /// Cosine between two codes (exact on the quantised values).
    pub fn cosine(&self, other: &Code) -> f32 {
        let (mut ab, mut aa, mut bb) = (0i64, 0i64, 0i64);
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            let (a, b) = (i64::from(*a), i64::from(*b));
            ab += a * b;
            aa += a * a;
            bb += b * b;
        }
        ab as f32 / ((aa as f32).sqrt() * (bb as f32).sqrt()).max(f32::MIN_POSITIVE)
    }
}

/// Row-major `INDEX_DIM × dim` matrix with orthonormal rows, from a fixed seed;
/// made once per dimension and process (a few ms optimised).
fn projection(dim: usize) -> &'static [f32] {
    static CACHE: OnceLock<Mutex<HashMap<usize, &'static [f32]>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    // One matrix per embedding dimension in use (one per model): leaking it is bounded.
    cache
        .entry(dim)
        .or_insert_with(|| Box::leak(make_projection(dim).into_boxed_slice()))
}

fn make_projection(dim: usize) -> Vec<f32> {
    // SplitMix64 + Box–Muller: tiny, and its output is fixed forever (unlike a
    // library RNG whose stream may change between versions).
    let mut s = PROJECTION_SEED;
    let mut next = || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let rows = INDEX_DIM.min(dim);
    let mut m = vec![0f64; rows * dim];
    for v in m.iter_mut() {
        let (u1, u2) = (next().max(f64::MIN_POSITIVE), next());
        *v = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    }
    // Gram–Schmidt (twice, for numerical orthogonality) makes the rows orthonormal.
    for i in 0..rows {
        let (done, rest) = m.split_at_mut(i * dim);
        let row = &mut rest[..dim];
        for _ in 0..2 {
            for prev in done.chunks_exact(dim) {
                let dot: f64 = row.iter().zip(prev).map(|(a, b)| a * b).sum();
                row.iter_mut().zip(prev).for_each(|(a, b)| *a -= dot * b);
            }
        }
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
    }
    let mut out: Vec<f32> = m.into_iter().map(|v| v as f32).collect();
    out.resize(INDEX_DIM * dim, 0.0);
    out
}

/// Dot product in 16 independent lanes, so the compiler vectorises it: a strict
/// left-to-right sum cannot be, and made projecting the ~1.5M vectors of 100,000
/// references take ~10 minutes (bench/results/refs-scale.md).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0f32; LANES];
    for (x, y) in ca.zip(cb) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Projects and quantises one embedding. `None` for an empty, zero or non-finite vector.
pub fn encode(embedding: &[f32]) -> Option<Code> {
    let dim = embedding.len();
    if dim == 0 {
        return None;
    }
    let p = projection(dim);
    let reduced: Vec<f32> = p.chunks_exact(dim).map(|row| dot(row, embedding)).collect();
    let max = reduced.iter().fold(0f32, |m, v| m.max(v.abs()));
    if !(max.is_finite() && max > 0.0) {
        return None;
    }
    // Largest component to ±127: the most precision i8 can give this vector.
    let scale = 127.0 / max;
    Some(Code(reduced.iter().map(|v| (v * scale).round() as i8).collect()))
}

/// Identifies the set of vectors an index was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexHeader {
    pub format_version: u32,
    pub model_id: String,
    /// See [`ReferenceIndex::key`].
    pub key: String,
    /// Vectors currently searchable.
    pub vectors: u64,
}

/// Where a reference's vectors are and what they were made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RefSlot {
    /// [`reference_digest`] of the fingerprint that was indexed.
    digest: [u8; 32],
    /// usearch keys of its vectors (positions in the entry table).
    keys: Vec<u64>,
}

/// Vector table: key (position) → owner, plus each reference's slot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Table {
    entries: Vec<IndexEntry>,
    refs: BTreeMap<i64, RefSlot>,
}

/// How [`ReferenceIndex::sync`] brought an index up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncReport {
    pub added_references: usize,
    pub removed_references: usize,
    pub added_vectors: usize,
}

/// The reference index.
pub struct ReferenceIndex {
    header: IndexHeader,
    table: Table,
    ann: Index,
}

fn new_ann() -> Result<Index, IndexError> {
    Index::new(&IndexOptions {
        dimensions: INDEX_DIM,
        metric: MetricKind::Cos,
        quantization: ScalarKind::I8,
        connectivity: CONNECTIVITY,
        expansion_add: EXPANSION_ADD,
        expansion_search: EXPANSION_SEARCH,
        multi: false,
    })
    .map_err(ann_err)
}

/// Digest of what a reference contributes to the index (id, bytes, embeddings).
fn reference_digest(id: i64, fp: &Fingerprint) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(id.to_le_bytes());
    h.update(fp.model_id.as_bytes());
    h.update([0]);
    h.update(fp.sha256.as_bytes());
    for emb in std::iter::once(&fp.embedding).chain(fp.regions.iter().map(|r| &r.embedding)) {
        h.update((emb.len() as u64).to_le_bytes());
        for v in emb {
            h.update(v.to_le_bytes());
        }
    }
    h.finalize().into()
}

/// The vectors a fingerprint contributes: whole image first, then each region.
fn reference_codes(id: i64, fp: &Fingerprint) -> Vec<(IndexEntry, Code)> {
    let regions = fp
        .regions
        .iter()
        .enumerate()
        .map(|(i, r)| (u16::try_from(i).ok(), &r.embedding))
        .filter(|(i, _)| i.is_some());
    std::iter::once((None, &fp.embedding))
        .chain(regions)
        .filter_map(|(region, emb)| encode(emb).map(|c| (IndexEntry { reference: id, region }, c)))
        .collect()
}

impl ReferenceIndex {
    /// Key over the model and the references' ids, SHA-256s and embeddings: equal
    /// keys mean the same indexed vectors, so a stored index can be reused.
    pub fn key<'a>(model_id: &str, refs: impl IntoIterator<Item = (i64, &'a Fingerprint)>) -> String {
        let mut refs: Vec<(i64, &Fingerprint)> = refs.into_iter().collect();
        refs.sort_unstable_by_key(|(id, _)| *id);
        let mut h = KeyHasher::new(model_id);
        for (id, fp) in refs {
            h.update(id, fp);
        }
        h.finish_any_order()
    }

    /// An empty index for `model_id`.
    pub fn empty(model_id: &str, key: String) -> Result<Self, IndexError> {
        Ok(ReferenceIndex {
            header: IndexHeader {
                format_version: INDEX_FORMAT_VERSION,
                model_id: model_id.to_string(),
                key,
                vectors: 0,
            },
            table: Table::default(),
            ann: new_ann()?,
        })
    }

    /// Builds the index from reference fingerprints (whole image and regions).
    /// Fingerprints of another model are left out.
    pub fn build<'a>(
        model_id: &str,
        key: String,
        refs: impl IntoIterator<Item = (i64, &'a Fingerprint)>,
    ) -> Result<Self, IndexError> {
        let mut index = Self::empty(model_id, key)?;
        index.add(refs)?;
        Ok(index)
    }

    /// Builds from already encoded vectors, key `i` for `codes[i]` (used by the benchmark).
    pub fn from_codes(
        model_id: &str,
        key: String,
        codes: Vec<Code>,
        entries: Vec<IndexEntry>,
    ) -> Result<Self, IndexError> {
        let mut index = Self::empty(model_id, key)?;
        for (k, e) in entries.iter().enumerate() {
            index
                .table
                .refs
                .entry(e.reference)
                .or_insert_with(|| RefSlot {
                    digest: [0; 32],
                    keys: Vec::new(),
                })
                .keys
                .push(k as u64);
        }
        index.table.entries = entries;
        index.insert(0, &codes)?;
        Ok(index)
    }

    /// Adds `codes` under keys `first..`, in parallel (usearch's insert is thread-safe).
    fn insert(&mut self, first: u64, codes: &[Code]) -> Result<(), IndexError> {
        if codes.is_empty() {
            return Ok(());
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(codes.len());
        let needed = self.ann.size() + codes.len();
        if needed > self.ann.capacity() {
            // Grow geometrically so that one-by-one additions stay cheap.
            let capacity = needed.max(self.ann.capacity() * 3 / 2);
            self.ann
                .reserve_capacity_and_threads(capacity, threads)
                .map_err(ann_err)?;
        }
        let chunk = codes.len().div_ceil(threads);
        let ann = &self.ann;
        std::thread::scope(|s| {
            let workers: Vec<_> = codes
                .chunks(chunk)
                .enumerate()
                .map(|(t, part)| {
                    s.spawn(move || {
                        for (i, code) in part.iter().enumerate() {
                            let key = first + (t * chunk + i) as u64;
                            ann.add(key, code.as_slice()).map_err(ann_err)?;
                        }
                        Ok::<(), IndexError>(())
                    })
                })
                .collect();
            workers
                .into_iter()
                .try_for_each(|w| w.join().unwrap_or_else(|_| Err(ann_err("index worker panicked"))))
        })?;
        self.header.vectors = self.ann.size() as u64;
        Ok(())
    }

    /// Adds references not yet in the index (a reference already present is left as is;
    /// fingerprints of another model are left out).
    pub fn add<'a>(&mut self, refs: impl IntoIterator<Item = (i64, &'a Fingerprint)>) -> Result<(), IndexError> {
        let first = self.table.entries.len() as u64;
        let mut codes = Vec::new();
        for (id, fp) in refs {
            if fp.model_id != self.header.model_id || self.table.refs.contains_key(&id) {
                continue;
            }
            let vectors = reference_codes(id, fp);
            let start = first + codes.len() as u64;
            self.table.refs.insert(
                id,
                RefSlot {
                    digest: reference_digest(id, fp),
                    keys: (start..start + vectors.len() as u64).collect(),
                },
            );
            for (entry, code) in vectors {
                self.table.entries.push(entry);
                codes.push(code);
            }
        }
        self.insert(first, &codes)
    }

    /// Brings the index up to date with `refs` without rebuilding it: references
    /// no longer present (or whose fingerprint changed) are removed, new ones added.
    pub fn sync<'a>(
        &mut self,
        key: String,
        refs: impl IntoIterator<Item = (i64, &'a Fingerprint)> + Clone,
    ) -> Result<SyncReport, IndexError> {
        let model = self.header.model_id.clone();
        let wanted: HashMap<i64, [u8; 32]> = refs
            .clone()
            .into_iter()
            .filter(|(_, fp)| fp.model_id == model)
            .map(|(id, fp)| (id, reference_digest(id, fp)))
            .collect();
        let stale: Vec<i64> = self
            .table
            .refs
            .iter()
            .filter(|(id, slot)| wanted.get(id) != Some(&slot.digest))
            .map(|(id, _)| *id)
            .collect();
        for id in &stale {
            if let Some(slot) = self.table.refs.remove(id) {
                for k in slot.keys {
                    self.ann.remove(k).map_err(ann_err)?;
                }
            }
        }
        let (refs_before, vectors_before) = (self.table.refs.len(), self.table.entries.len());
        self.add(refs)?;
        self.header.key = key;
        self.header.vectors = self.ann.size() as u64;
        Ok(SyncReport {
            added_references: self.table.refs.len() - refs_before,
            removed_references: stale.len(),
            added_vectors: self.table.entries.len() - vectors_before,
        })
    }

    pub fn header(&self) -> &IndexHeader {
        &self.header
    }

    pub fn len(&self) -> usize {
        self.header.vectors as usize
    }

    pub fn is_empty(&self) -> bool {
        self.header.vectors == 0
    }

    /// Up to `k` nearest indexed vectors to `code`, nearest first, with their approximate cosine.
    pub fn search_code(&self, code: &Code, k: usize) -> Vec<(IndexEntry, f32)> {
        if self.is_empty() || k == 0 {
            return Vec::new();
        }
        // A failed search (it cannot fail for a code of the right length) shortlists nothing;
        // the exact/PDQ checks of the caller still run.
        let Ok(found) = self.ann.search(code.as_slice(), k) else {
            return Vec::new();
        };
        found
            .keys
            .iter()
            .zip(&found.distances)
            .filter_map(|(key, d)| {
                let entry = usize::try_from(*key).ok().and_then(|k| self.table.entries.get(k))?;
                Some((*entry, 1.0 - d))
            })
            .collect()
    }

    /// Up to `k` nearest indexed vectors to an embedding.
    pub fn search(&self, embedding: &[f32], k: usize) -> Vec<(IndexEntry, f32)> {
        match encode(embedding) {
            Some(code) => self.search_code(&code, k),
            None => Vec::new(),
        }
    }

    /// The references worth a full comparison with `candidate`: the `k` nearest distinct
    /// references to the candidate's whole-image embedding and to each of its region
    /// embeddings (crops, pastes and shared parts all meet some window).
    ///
    /// Distinct references, not vectors: each reference owns a dozen vectors (whole image,
    /// windows, frames), so the `k` nearest vectors are often the windows of two or three
    /// references, and a large set of similar references (a sprite family) would crowd the
    /// true one out.
    pub fn shortlist(&self, candidate: &Fingerprint, k: usize) -> Vec<i64> {
        if candidate.model_id != self.header.model_id {
            return Vec::new();
        }
        let mut out = Vec::new();
        let queries = std::iter::once(&candidate.embedding).chain(candidate.regions.iter().map(|r| &r.embedding));
        for q in queries {
            out.extend(self.nearest_references(q, k));
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The owners of the nearest vectors to `embedding`, nearest first, until `k` distinct
    /// ones are found: `SEARCH_WIDTH × k` vectors are read, then four times more while too
    /// few owners came back, up to `MAX_SEARCH_WIDTH × k` vectors.
    pub fn nearest_references(&self, embedding: &[f32], k: usize) -> Vec<i64> {
        let Some(code) = encode(embedding) else {
            return Vec::new();
        };
        let mut want = k.saturating_mul(SEARCH_WIDTH);
        loop {
            let found = self.search_code(&code, want);
            let mut owners: Vec<i64> = Vec::with_capacity(k);
            for (e, _) in &found {
                if !owners.contains(&e.reference) {
                    owners.push(e.reference);
                    if owners.len() == k {
                        return owners;
                    }
                }
            }
            let exhausted = found.len() < want || want >= self.len();
            if exhausted || want >= k.saturating_mul(MAX_SEARCH_WIDTH) {
                return owners;
            }
            want = want.saturating_mul(4);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn projection_rows_are_orthonormal() {
        let p = projection(1280);
        for (i, j) in [(0, 0), (0, 1), (17, 200), (255, 255), (3, 254)] {
            let dot: f32 = p[i * 1280..(i + 1) * 1280]
                .iter()
                .zip(&p[j * 1280..(j + 1) * 1280])
                .map(|(a, b)| a * b)
                .sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-4, "rows {i},{j}: {dot}");
        }
    }

    #[test]
    fn quantised_code_keeps_self_similarity_and_orders_neighbours() {
        let a = unit((0..1280).map(|i| ((i * 7919) % 101) as f32).collect());
        let b = unit(
            a.iter()
                .enumerate()
                .map(|(i, x)| x + if i % 3 == 0 { 0.01 } else { 0.0 })
                .collect(),
        );
        let c = unit((0..1280).map(|i| ((i * 104_729) % 97) as f32).collect());
        let (ca, cb, cc) = (encode(&a).unwrap(), encode(&b).unwrap(), encode(&c).unwrap());
        assert!((ca.cosine(&ca) - 1.0).abs() < 1e-6, "{}", ca.cosine(&ca));
        assert!(ca.cosine(&cb) > ca.cosine(&cc));
        // The quantised cosine stays close to the cosine of the embeddings.
        let exact: f32 = a.iter().zip(&c).map(|(x, y)| x * y).sum();
        assert!((ca.cosine(&cc) - exact).abs() < 0.1, "{} vs {exact}", ca.cosine(&cc));
        assert!(encode(&[0.0; 1280]).is_none());
        assert!(encode(&[f32::NAN; 1280]).is_none());
        assert!(encode(&[]).is_none());
    }
}
