//! Approximate nearest-neighbour index over reference embeddings (whole image and
//! every region window), so a candidate is compared in full only with the
//! references that look closest instead of with all of them.
//!
//! Vectors are reduced before indexing, to hold 1,000,000 of them on a laptop:
//! a fixed, seeded random orthonormal projection from the model's dimension to
//! [`INDEX_DIM`] (Johnson–Lindenstrauss: cosines are preserved up to a small
//! error, with no training data needed, so a case with three references gets the
//! same projection as one with a million), re-normalised and quantised to i8
//! with a per-vector scale: 260 bytes per vector instead of 5,120. The graph is
//! HNSW (`instant-distance`, M = 32). The index only shortlists: every
//! shortlisted reference is then compared with the full fingerprints.
//!
//! Persisted as one file: `"XZANN"`, format version, then postcard of
//! ([`IndexHeader`], graph). The header carries the model id and a key over the
//! reference set, so a changed model or reference set is seen and the index rebuilt.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use instant_distance::{Builder, HnswMap, Point, Search};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xiezhi_fingerprint::Fingerprint;

/// Dimension of the reduced vectors.
pub const INDEX_DIM: usize = 256;
/// Bump when the file layout, the projection or the quantisation changes.
pub const INDEX_FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 5] = b"XZANN";
/// Seed of the projection matrix; part of the index format.
const PROJECTION_SEED: u64 = 0x5849_455a_4849_0001;
/// Build and search breadth of the HNSW graph (instant-distance's `ef`);
/// measured in `bench/ann`: recall@10 ≥ 0.95 on 1M vectors at this setting.
pub const EF_CONSTRUCTION: usize = 100;
pub const EF_SEARCH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index file {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("index file {path}: {reason}")]
    Format { path: std::path::PathBuf, reason: String },
}

/// What one indexed vector belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Caller's id of the reference (the case's `refs.id`).
    pub reference: i64,
    /// `None` for the whole-image embedding, else the index into `Fingerprint::regions`.
    pub region: Option<u16>,
}

/// A reduced, quantised, unit-length vector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Code {
    q: Box<[i8]>,
    /// 1 / quantisation scale, so `q · q' × inv × inv'` ≈ cosine.
    inv: f32,
}

impl Point for Code {
    fn distance(&self, other: &Self) -> f32 {
        let dot: i32 = self
            .q
            .iter()
            .zip(other.q.iter())
            .map(|(a, b)| i32::from(*a) * i32::from(*b))
            .sum();
        1.0 - dot as f32 * self.inv * other.inv
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

/// Projects, re-normalises and quantises one embedding. `None` for an empty or zero vector.
pub fn encode(embedding: &[f32]) -> Option<Code> {
    let dim = embedding.len();
    if dim == 0 {
        return None;
    }
    let p = projection(dim);
    let reduced: Vec<f32> = p
        .chunks_exact(dim)
        .map(|row| row.iter().zip(embedding).map(|(a, b)| a * b).sum())
        .collect();
    let norm = reduced.iter().map(|v| v * v).sum::<f32>().sqrt();
    let max = reduced.iter().fold(0f32, |m, v| m.max(v.abs())) / norm;
    if !(norm.is_finite() && norm > 0.0 && max > 0.0) {
        return None;
    }
    let scale = 127.0 / max;
    let q = reduced.iter().map(|v| (v / norm * scale).round() as i8).collect();
    Some(Code { q, inv: 1.0 / scale })
}

/// Identifies the set of vectors an index was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexHeader {
    pub format_version: u32,
    pub model_id: String,
    /// See [`ReferenceIndex::key`].
    pub key: String,
    pub vectors: u64,
}

/// The reference index.
pub struct ReferenceIndex {
    header: IndexHeader,
    map: HnswMap<Code, IndexEntry>,
}

impl ReferenceIndex {
    /// Key over the model and the references' ids, SHA-256s and embeddings: equal
    /// keys mean the same indexed vectors, so a stored index can be reused.
    pub fn key<'a>(model_id: &str, refs: impl IntoIterator<Item = (i64, &'a Fingerprint)>) -> String {
        let mut refs: Vec<(i64, &Fingerprint)> = refs.into_iter().collect();
        refs.sort_unstable_by_key(|(id, _)| *id);
        let mut h = Sha256::new();
        h.update(INDEX_FORMAT_VERSION.to_le_bytes());
        h.update(model_id.as_bytes());
        h.update([0]);
        for (id, fp) in refs {
            h.update(id.to_le_bytes());
            h.update(fp.sha256.as_bytes());
            h.update((fp.regions.len() as u64).to_le_bytes());
            for v in &fp.embedding {
                h.update(v.to_le_bytes());
            }
        }
        hex::encode(h.finalize())
    }

    /// Builds the index from reference fingerprints (whole image and regions).
    /// Fingerprints of another model are left out.
    pub fn build<'a>(model_id: &str, key: String, refs: impl IntoIterator<Item = (i64, &'a Fingerprint)>) -> Self {
        let mut points = Vec::new();
        let mut values = Vec::new();
        for (id, fp) in refs {
            if fp.model_id != model_id {
                continue;
            }
            let regions = fp
                .regions
                .iter()
                .enumerate()
                .map(|(i, r)| (Some(i as u16), &r.embedding));
            for (region, emb) in std::iter::once((None, &fp.embedding)).chain(regions) {
                if let Some(code) = encode(emb) {
                    points.push(code);
                    values.push(IndexEntry { reference: id, region });
                }
            }
        }
        Self::from_codes(model_id, key, points, values)
    }

    /// Builds from already encoded vectors (used by the benchmark).
    pub fn from_codes(model_id: &str, key: String, points: Vec<Code>, values: Vec<IndexEntry>) -> Self {
        let vectors = points.len() as u64;
        let map = Builder::default()
            .ef_construction(EF_CONSTRUCTION)
            .ef_search(EF_SEARCH)
            .seed(PROJECTION_SEED)
            .build(points, values);
        ReferenceIndex {
            header: IndexHeader {
                format_version: INDEX_FORMAT_VERSION,
                model_id: model_id.to_string(),
                key,
                vectors,
            },
            map,
        }
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
    pub fn search_code(&self, code: &Code, k: usize, search: &mut Search) -> Vec<(IndexEntry, f32)> {
        if self.is_empty() {
            return Vec::new();
        }
        self.map
            .search(code, search)
            .take(k)
            .map(|item| (*item.value, 1.0 - item.distance))
            .collect()
    }

    /// Up to `k` nearest indexed vectors to an embedding.
    pub fn search(&self, embedding: &[f32], k: usize) -> Vec<(IndexEntry, f32)> {
        match encode(embedding) {
            Some(code) => self.search_code(&code, k, &mut Search::default()),
            None => Vec::new(),
        }
    }

    /// The references worth a full comparison with `candidate`: the owners of the
    /// `k` nearest vectors to the candidate's whole-image embedding and to each of
    /// its region embeddings (crops, pastes and shared parts all meet some window).
    pub fn shortlist(&self, candidate: &Fingerprint, k: usize) -> Vec<i64> {
        if candidate.model_id != self.header.model_id {
            return Vec::new();
        }
        let mut search = Search::default();
        let mut out = Vec::new();
        let queries = std::iter::once(&candidate.embedding).chain(candidate.regions.iter().map(|r| &r.embedding));
        for q in queries {
            if let Some(code) = encode(q) {
                out.extend(
                    self.search_code(&code, k, &mut search)
                        .into_iter()
                        .map(|(e, _)| e.reference),
                );
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Writes the index to `path` atomically (temp file in the same folder, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), IndexError> {
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let tmp = path.with_extension("tmp");
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = BufWriter::new(file);
        w.write_all(MAGIC).map_err(io)?;
        w.write_all(&INDEX_FORMAT_VERSION.to_le_bytes()).map_err(io)?;
        let w = postcard::to_io(&(&self.header, &self.map), w).map_err(|e| IndexError::Format {
            path: path.to_path_buf(),
            reason: format!("cannot serialise: {e}"),
        })?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads only the header of an index file (to decide whether it is current).
    pub fn read_header(path: &Path) -> Result<IndexHeader, IndexError> {
        let bytes = std::fs::read(path).map_err(|source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let body = check_magic(path, &bytes)?;
        postcard::take_from_bytes::<IndexHeader>(body)
            .map(|(h, _)| h)
            .map_err(|e| IndexError::Format {
                path: path.to_path_buf(),
                reason: format!("corrupt header: {e}"),
            })
    }

    /// Loads an index written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self, IndexError> {
        let bytes = std::fs::read(path).map_err(|source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let body = check_magic(path, &bytes)?;
        let (header, map): (IndexHeader, HnswMap<Code, IndexEntry>) =
            postcard::from_bytes(body).map_err(|e| IndexError::Format {
                path: path.to_path_buf(),
                reason: format!("corrupt: {e}"),
            })?;
        if map.values.len() as u64 != header.vectors {
            return Err(IndexError::Format {
                path: path.to_path_buf(),
                reason: format!(
                    "header says {} vectors, graph holds {}",
                    header.vectors,
                    map.values.len()
                ),
            });
        }
        Ok(ReferenceIndex { header, map })
    }
}

fn check_magic<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a [u8], IndexError> {
    let bad = |reason: String| IndexError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| bad("not a Xiezhi index (no XZANN header)".into()))?;
    let (version, body) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| bad("header cut short".into()))?;
    let version = u32::from_le_bytes(*version);
    if version != INDEX_FORMAT_VERSION {
        return Err(bad(format!(
            "format version {version}, this build reads {INDEX_FORMAT_VERSION}"
        )));
    }
    Ok(body)
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
        assert!(ca.distance(&ca).abs() < 0.01, "{}", ca.distance(&ca));
        assert!(ca.distance(&cb) < ca.distance(&cc));
        assert!(encode(&[0.0; 1280]).is_none());
        assert!(encode(&[]).is_none());
    }
}
