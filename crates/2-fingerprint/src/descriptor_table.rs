//! One image's descriptors laid out for the one-against-all search of keypoint
//! matching: every reference keypoint (as is and mirrored) is compared with every
//! candidate keypoint, up to 2 × 2,000 × 4,000 distances per compared pair, which was
//! over a third of the benchmark's matching time.
//!
//! Where the CPU has AVX-512 with VPOPCNTDQ, eight descriptors are compared at once:
//! the table keeps them word-major in blocks of eight, so each of the four 64-bit
//! words of a descriptor is one 512-bit load, XOR and popcount for eight candidates.
//! Each lane keeps its own nearest two; the lanes are merged at the end into exactly
//! what the plain scan answers, ties included (the test below holds both paths to a
//! sort). Elsewhere the plain scan runs, compiled with POPCNT where the CPU has it.

use crate::rbrief::{nearest_two, nearest_two_scan};

/// Descriptors per block: one 512-bit register of 64-bit words.
const LANES: usize = 8;

/// Descriptors in [`crate::descriptor_words`] form, ready for [`DescriptorTable::nearest_two`].
pub struct DescriptorTable {
    words: Vec<[u64; 4]>,
    /// Full blocks of [`LANES`] descriptors, word-major: block `b`, word `w`, lane `l`
    /// at `b * 32 + w * 8 + l`. Empty when the CPU cannot use it.
    blocks: Vec<u64>,
}

impl DescriptorTable {
    pub fn new(words: Vec<[u64; 4]>) -> Self {
        let blocks = if wide_popcount() {
            words
                .chunks_exact(LANES)
                .flat_map(|block| (0..4).flat_map(move |w| block.iter().map(move |d| d[w])))
                .collect()
        } else {
            Vec::new()
        };
        DescriptorTable { words, blocks }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// As [`crate::nearest_two`] over the table's descriptors: the nearest and
    /// second-nearest distances from `q` and the index of the nearest (the first of
    /// equals), with `u32::MAX` for a distance that does not exist.
    pub fn nearest_two(&self, q: &[u64; 4]) -> (u32, u32, usize) {
        #[cfg(target_arch = "x86_64")]
        {
            if !self.blocks.is_empty() {
                // SAFETY: `blocks` is filled only when `wide_popcount` found the CPU
                // features this function is compiled for.
                return unsafe { self.nearest_two_avx512(q) };
            }
        }
        nearest_two(q, &self.words)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    fn nearest_two_avx512(&self, q: &[u64; 4]) -> (u32, u32, usize) {
        use std::arch::x86_64::*;
        let full = self.blocks.len() / (4 * LANES);
        // Per lane: nearest, second nearest, index of the nearest.
        let (mut d1, mut d2, mut j1) = (
            [u64::from(u32::MAX); LANES],
            [u64::from(u32::MAX); LANES],
            [0u64; LANES],
        );
        {
            let qv = q.map(|w| _mm512_set1_epi64(w as i64));
            let mut v1 = _mm512_set1_epi64(i64::from(u32::MAX));
            let mut v2 = v1;
            let mut vj = _mm512_setzero_si512();
            let mut index = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
            let step = _mm512_set1_epi64(LANES as i64);
            for block in self.blocks.chunks_exact(4 * LANES) {
                let mut d = _mm512_setzero_si512();
                for (w, qw) in qv.iter().enumerate() {
                    // SAFETY: `block` holds 4 × 8 words; this reads words w*8..w*8+8.
                    let v = unsafe { _mm512_loadu_si512(block.as_ptr().add(w * LANES).cast()) };
                    d = _mm512_add_epi64(d, _mm512_popcnt_epi64(_mm512_xor_si512(v, *qw)));
                }
                // As the scan: a new nearest pushes the old one to second place.
                let nearer = _mm512_cmplt_epu64_mask(d, v1);
                let second = _mm512_cmplt_epu64_mask(d, v2);
                v2 = _mm512_mask_blend_epi64(second, v2, d);
                v2 = _mm512_mask_blend_epi64(nearer, v2, v1);
                v1 = _mm512_mask_blend_epi64(nearer, v1, d);
                vj = _mm512_mask_blend_epi64(nearer, vj, index);
                index = _mm512_add_epi64(index, step);
            }
            // SAFETY: each array holds 8 u64, one 512-bit store.
            unsafe {
                _mm512_storeu_si512(d1.as_mut_ptr().cast(), v1);
                _mm512_storeu_si512(d2.as_mut_ptr().cast(), v2);
                _mm512_storeu_si512(j1.as_mut_ptr().cast(), vj);
            }
        }
        let done = full * LANES;
        let (t1, t2, tj) = nearest_two_scan(q, &self.words[done..]);
        // The two smallest of all distances are among each lane's two and the tail's.
        let mut nearest = [(t1, done + tj); LANES + 1];
        let mut distances = [t1; 2 * LANES + 2];
        distances[1] = t2;
        for l in 0..LANES {
            nearest[l] = (d1[l] as u32, j1[l] as usize);
            distances[2 + 2 * l] = d1[l] as u32;
            distances[3 + 2 * l] = d2[l] as u32;
        }
        nearest.sort_unstable();
        distances.sort_unstable();
        let (best, at) = nearest[0];
        // With no descriptors at all the scan answers index 0.
        let at = if best == u32::MAX { 0 } else { at };
        (best, distances[1], at)
    }
}

/// AVX-512 with 64-bit popcounts (Ice Lake and later, Zen 4).
fn wide_popcount() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbrief::words_distance;

    /// Whatever path the table takes on this CPU, and the plain scan compiled with POPCNT
    /// or without, answer as a plain sort would, ties included (the first of equal nearest
    /// distances wins), across block boundaries and tails of every length.
    #[test]
    fn table_agrees_with_a_sort() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Sparse words make equal distances common.
        let mut word = |sparse: bool| {
            let mut w = [next(), next(), next(), next()];
            if sparse {
                w = w.map(|x| x & next() & next());
            }
            w
        };
        for n in [0usize, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 500, 2003] {
            for sparse in [false, true] {
                let words: Vec<[u64; 4]> = (0..n).map(|_| word(sparse)).collect();
                let table = DescriptorTable::new(words.clone());
                assert_eq!(table.len(), n);
                for _ in 0..20 {
                    let q = word(sparse);
                    let mut by: Vec<(u32, usize)> = words
                        .iter()
                        .enumerate()
                        .map(|(j, w)| (words_distance(&q, w), j))
                        .collect();
                    by.sort_unstable();
                    let want = (
                        by.first().map_or(u32::MAX, |b| b.0),
                        by.get(1).map_or(u32::MAX, |b| b.0),
                        by.first().map_or(0, |b| b.1),
                    );
                    assert_eq!(table.nearest_two(&q), want, "{n} words, sparse {sparse}");
                    assert_eq!(nearest_two(&q, &words), want, "{n} words, sparse {sparse}, scan");
                    assert_eq!(nearest_two_scan(&q, &words), want, "{n} words, portable scan");
                }
                // A query equal to a stored descriptor finds it (or an earlier equal one).
                if let Some(w) = words.get(n / 2) {
                    let (d, _, j) = table.nearest_two(w);
                    assert_eq!(d, 0);
                    assert!(j <= n / 2 && words[j] == *w);
                }
            }
        }
    }

    /// Says which path the test above exercised, so a run on a CPU without AVX-512 does
    /// not pass for one that checked it.
    #[test]
    fn reports_the_path_taken() {
        let table = DescriptorTable::new(vec![[0; 4]; 16]);
        eprintln!(
            "descriptor table: {}",
            if table.blocks.is_empty() {
                "plain scan"
            } else {
                "AVX-512 blocks"
            }
        );
        assert_eq!(table.blocks.is_empty(), !wide_popcount());
    }
}
