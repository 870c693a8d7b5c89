//! Brute-force shortlist of references per query (exact, no ANN: the benchmark
//! measures the signals and the score, not the index).

use xiezhi_match::xiezhi_fingerprint::{hamming, Fingerprint, PdqHash};

pub struct Index<'a> {
    refs: Vec<&'a Fingerprint>,
    /// Every reference vector (whole image and windows) with its reference.
    vectors: Vec<(usize, &'a [f32])>,
    pdq: Vec<Vec<PdqHash>>,
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
        for (i, r) in refs.iter().enumerate() {
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
        Index { refs, vectors, pdq }
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

    /// Up to `k` references by best embedding cosine between any query vector and any
    /// reference vector (whole images and windows: crops, pastes and shared parts), plus
    /// the nearest by PDQ.
    pub fn shortlist(&self, q: &Fingerprint, k: usize) -> Vec<usize> {
        let mut best = vec![-1.0f32; self.refs.len()];
        for &(i, v) in &self.vectors {
            let c = dot(&q.embedding, v);
            if c > best[i] {
                best[i] = c;
            }
        }
        // Query windows against every reference vector (whole image and windows), as the
        // engine's index queries do: a paste meets the reference's whole image, a shared
        // part meets one of its windows.
        for w in &q.regions {
            for &(i, v) in &self.vectors {
                let c = dot(&w.embedding, v);
                if c > best[i] {
                    best[i] = c;
                }
            }
        }
        let mut order: Vec<usize> = (0..self.refs.len()).collect();
        order.sort_by(|a, b| best[*b].total_cmp(&best[*a]));
        order.truncate(k);
        if let Ok(qh) = PdqHash::from_hex(&q.pdq) {
            let nearest = self
                .pdq
                .iter()
                .enumerate()
                .map(|(i, hs)| (i, hs.iter().map(|h| hamming(h, &qh)).min().unwrap_or(256)))
                .min_by_key(|(_, d)| *d);
            if let Some((i, _)) = nearest {
                if !order.contains(&i) {
                    order.push(i);
                }
            }
        }
        order
    }
}
