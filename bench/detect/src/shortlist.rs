//! Brute-force shortlist of references per query (exact, no ANN: the benchmark
//! measures the signals and the score, not the index).

use xiezhi_match::xiezhi_fingerprint::{hamming, Fingerprint, PdqHash};
use xiezhi_match::{KeypointIndex, KeypointIndexBuilder};

pub struct Index<'a> {
    refs: Vec<&'a Fingerprint>,
    /// Every reference vector (whole image and windows) with its reference.
    vectors: Vec<(usize, &'a [f32])>,
    pdq: Vec<Vec<PdqHash>>,
    keypoints: KeypointIndex,
}

/// Dot product summed in 16 lanes, so the compiler vectorises it (a sequential f32
/// sum cannot be reordered); brute force over every reference vector is most of the
/// harness's matching time.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let mut lanes = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for ((l, p), q) in lanes.iter_mut().zip(x).zip(y) {
            *l += p * q;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

impl<'a> Index<'a> {
    pub fn new(refs: Vec<&'a Fingerprint>) -> Self {
        let mut vectors = Vec::new();
        let mut pdq = Vec::new();
        let mut keypoints = KeypointIndexBuilder::new(refs.len());
        for (i, r) in refs.iter().enumerate() {
            keypoints.add(i as u32, r);
            vectors.push((i, r.embedding.as_slice()));
            for w in &r.regions {
                vectors.push((i, w.embedding.as_slice()));
            }
            pdq.push(
                r.pdq_variants
                    .iter()
                    .filter_map(|h| PdqHash::from_hex(h).ok())
                    .collect(),
            );
        }
        Index {
            refs,
            vectors,
            pdq,
            keypoints: keypoints.build(),
        }
    }

    /// References by keypoint votes (see `xiezhi_match::keypoint_index`).
    pub fn by_votes(&self, q: &Fingerprint, k: usize) -> Vec<usize> {
        self.keypoints
            .shortlist(q, k)
            .into_iter()
            .map(|(i, _)| i as usize)
            .collect()
    }

    /// As the engine's index: the `k` nearest distinct references of each query
    /// vector (whole image and every window), together.
    pub fn per_vector(&self, q: &Fingerprint, k: usize) -> Vec<usize> {
        let queries: Vec<&[f32]> = std::iter::once(q.embedding.as_slice())
            .chain(q.regions.iter().map(|w| w.embedding.as_slice()))
            .collect();
        let n = self.refs.len();
        // best[v * n + r]: best cosine of query vector v with any vector of reference r.
        // Reference vectors outermost, so each is read from memory once per query (the
        // query's dozen vectors stay in cache), not once per query vector.
        let mut best = vec![-1.0f32; queries.len() * n];
        for &(i, v) in &self.vectors {
            for (qi, e) in queries.iter().enumerate() {
                let c = dot(e, v);
                let b = &mut best[qi * n + i];
                if c > *b {
                    *b = c;
                }
            }
        }
        let mut out = Vec::new();
        let k = k.min(n);
        for row in best.chunks_exact(n.max(1)) {
            let mut order: Vec<usize> = (0..n).collect();
            if k > 0 && k < n {
                order.select_nth_unstable_by(k - 1, |a, b| row[*b].total_cmp(&row[*a]));
            }
            out.extend_from_slice(&order[..k]);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Best reference by global-embedding cosine alone.
    pub fn best_global(&self, q: &Fingerprint) -> (Option<usize>, f32) {
        let mut best = (None, -1.0f32);
        for (i, r) in self.refs.iter().enumerate() {
            let c = dot(&q.embedding, &r.embedding);
            if c > best.1 {
                best = (Some(i), c);
            }
        }
        best
    }

    /// The references compared in full with `q`, chosen as the engine's
    /// `Shortlister::candidates` does: the `k` nearest distinct references of each query
    /// vector (whole image and every window: a paste meets the reference's whole image,
    /// a shared part one of its windows), every reference within PDQ distance
    /// `pdq_distance` of it, and the `votes` references with the most keypoint votes.
    /// Exact search here, where the engine's index is approximate.
    pub fn shortlist(&self, q: &Fingerprint, k: usize, pdq_distance: u32, votes: usize) -> Vec<usize> {
        union(&[
            self.per_vector(q, k),
            self.pdq_near(q, pdq_distance),
            self.by_votes(q, votes),
        ])
    }

    /// Every reference with a PDQ variant within `pdq_distance` of `q`'s hash.
    pub fn pdq_near(&self, q: &Fingerprint, pdq_distance: u32) -> Vec<usize> {
        let Ok(qh) = PdqHash::from_hex(&q.pdq) else {
            return Vec::new();
        };
        (0..self.pdq.len())
            .filter(|&i| self.pdq[i].iter().any(|h| hamming(h, &qh) <= pdq_distance))
            .collect()
    }
}

/// The references of all `parts`, each once, ascending.
pub fn union(parts: &[Vec<usize>]) -> Vec<usize> {
    let mut out: Vec<usize> = parts.iter().flatten().copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}
