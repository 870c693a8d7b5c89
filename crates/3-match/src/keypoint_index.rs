//! Shortlist by shared local features: which references share many keypoint
//! descriptors with a candidate.
//!
//! The embedding index finds a reference when some window of the candidate looks
//! like it as a whole. A small sprite pasted into a large scene, or a tight crop of
//! a flat drawing, often does not: every window is mostly something else. Its
//! keypoints still match the reference's one by one, so each candidate descriptor
//! votes for the one reference holding a clearly nearest descriptor, and the
//! references with the most votes are compared in full (where RANSAC decides whether
//! the votes agree on a geometry).
//!
//! Lookup is multi-index hashing: the 256-bit descriptor is cut into 16 chunks of 16
//! bits, and a reference descriptor is a candidate for the distance test when one
//! chunk is equal. At the ~30–45 bits that separate a keypoint from its JPEG-ed,
//! rescaled copy, one chunk in 16 is equal more often than not.

use std::collections::HashMap;

use xiezhi_fingerprint::{descriptor_words as words, words_distance as distance, Fingerprint};

const CHUNKS: usize = 16;
const BUCKETS: usize = 1 << 16;
/// Hamming distance (bits of 256) within which a descriptor votes (the verifier
/// allows 64, but its candidates are one image's keypoints, not a million).
pub const VOTE_DISTANCE: u32 = 48;
/// A descriptor near those of more references than this tells none apart (flat
/// patches, straight edges) and casts no vote; it also bounds the work per descriptor.
const MAX_OWNERS_PER_DESCRIPTOR: usize = 256;
/// Votes a reference needs to be shortlisted. Few, because a chunk lookup finds only
/// about half of the near descriptors and the ratio test drops more; the verifier
/// then needs 6 inliers to fit a geometry at all.
pub const MIN_VOTES: u32 = 3;
/// Lowe's ratio test across references: a descriptor votes for the reference holding
/// its nearest descriptor only when that is nearer than `RATIO` times the nearest of
/// any other reference.
pub const RATIO: f32 = 0.85;
/// Descriptors kept in the index over all references (16 chunk tables of 4 bytes plus
/// 32 bytes of descriptor and 4 of owner each: ~100 bytes, so ~200 MB at most).
const MAX_INDEXED_DESCRIPTORS: usize = 2_000_000;
/// Per reference, whatever the budget allows, between these bounds.
const MIN_PER_REFERENCE: usize = 32;
const MAX_PER_REFERENCE: usize = 500;

/// Keypoint descriptors of many references, searchable by near descriptor.
#[derive(Default)]
pub struct KeypointIndex {
    descriptors: Vec<[u64; 4]>,
    owners: Vec<u32>,
    /// One more than the largest owner number.
    owner_count: usize,
    /// Per chunk, bucket start offsets into `ids` (CSR, `BUCKETS + 1` each).
    starts: Vec<u32>,
    /// Per chunk, descriptor numbers sorted by that chunk's value.
    ids: Vec<u32>,
    /// Buckets holding more descriptors than this are skipped at query time.
    max_bucket: usize,
}

/// Collects reference descriptors, then [`KeypointIndexBuilder::build`]s the index.
pub struct KeypointIndexBuilder {
    per_reference: usize,
    descriptors: Vec<[u64; 4]>,
    owners: Vec<u32>,
}

fn chunk(w: &[u64; 4], c: usize) -> usize {
    ((w[c / 4] >> ((c % 4) * 16)) & 0xffff) as usize
}

impl KeypointIndexBuilder {
    /// A builder for about `references` references: each keeps as many descriptors as
    /// the memory budget allows.
    pub fn new(references: usize) -> Self {
        let per_reference = (MAX_INDEXED_DESCRIPTORS / references.max(1)).clamp(MIN_PER_REFERENCE, MAX_PER_REFERENCE);
        KeypointIndexBuilder {
            per_reference,
            descriptors: Vec::new(),
            owners: Vec::new(),
        }
    }

    /// Adds the keypoints of reference number `owner` ([`crate::local::reference_keypoints`];
    /// an evenly spaced subset when it has more than its share: keypoints are stored
    /// level by level, so every scale keeps some).
    pub fn add(&mut self, owner: u32, f: &Fingerprint) {
        let kps = crate::local::reference_keypoints(f);
        let n = kps.len();
        let keep = n.min(self.per_reference);
        for i in 0..keep {
            let k = &kps[i * n / keep];
            self.descriptors.push(words(&k.descriptor));
            self.owners.push(owner);
        }
    }

    pub fn build(self) -> KeypointIndex {
        let n = self.descriptors.len();
        let mut starts = vec![0u32; CHUNKS * (BUCKETS + 1)];
        let mut ids = vec![0u32; CHUNKS * n];
        for c in 0..CHUNKS {
            let s = &mut starts[c * (BUCKETS + 1)..(c + 1) * (BUCKETS + 1)];
            for d in &self.descriptors {
                s[chunk(d, c) + 1] += 1;
            }
            for b in 0..BUCKETS {
                s[b + 1] += s[b];
            }
            let mut next: Vec<u32> = s[..BUCKETS].to_vec();
            let out = &mut ids[c * n..(c + 1) * n];
            for (i, d) in self.descriptors.iter().enumerate() {
                let b = chunk(d, c);
                out[next[b] as usize] = i as u32;
                next[b] += 1;
            }
        }
        // A bucket far above the mean (n / 65536) holds a pattern common to much of the
        // art (flat patches); scanning it would cost more than it tells.
        let max_bucket = (n / 256).max(64);
        KeypointIndex {
            owner_count: self.owners.iter().max().map_or(0, |&o| o as usize + 1),
            descriptors: self.descriptors,
            owners: self.owners,
            starts,
            ids,
            max_bucket,
        }
    }
}

impl KeypointIndex {
    /// Descriptors held.
    pub fn len(&self) -> usize {
        self.descriptors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.descriptors.is_empty()
    }

    /// Up to `k` reference numbers with at least [`MIN_VOTES`] votes from the
    /// candidate's descriptors, most votes first, with their votes. A candidate
    /// descriptor votes for the reference holding its nearest descriptor (within
    /// [`VOTE_DISTANCE`]) when no other reference holds one nearly as near
    /// ([`RATIO`]): votes for a reference then come from corners it alone explains.
    ///
    /// Measured on a third of the 1,000-reference benchmark's queries
    /// (`detect-bench --shortlist-stats`): with these thresholds the true reference is
    /// among the votes of 0.70 of pasted copies and 0.90 of 35 % crops, while an
    /// unrelated image gets 0.3 references on average; a crowding limit of 8 or 32
    /// instead of 256 owners, or no ratio test, found far fewer (0.28–0.47 of pastes).
    /// Two more were measured on all 22,000 queries and not kept: votes of the mirrored
    /// descriptors too (a fixed bit permutation) raised the votes' recall of mirrored
    /// copies (flips 0.45 → 0.94) but not the shortlist's, whose embedding part already
    /// holds them (combo 0.955 → 0.956), for 40 % more voted references; and 2,000
    /// descriptors per reference instead of 500 found no more pastes (0.711 → 0.714).
    /// The candidate's extra keypoints (four times the base density) do: pastes in the
    /// votes 0.711 → 0.784, in the shortlist 0.860 → 0.877, for 0.5 → 0.7 voted
    /// references per unrelated image (2.6 → 4.6 per paste). Later, on 3,000 copies and
    /// 3,000 unrelated images: 2 votes instead of 3 put 0.880 instead of 0.876 of pastes
    /// in the shortlist for 2.7 times the voted references, a ratio of 0.9 0.877; not taken.
    pub fn shortlist(&self, candidate: &Fingerprint, k: usize) -> Vec<(u32, u32)> {
        if self.is_empty() || k == 0 {
            return Vec::new();
        }
        // The candidate's extra keypoints vote too: a paste's share of the base set is small.
        let queries: Vec<[u64; 4]> = candidate
            .local
            .keypoints
            .iter()
            .chain(&candidate.extra_keypoints)
            .map(|kp| words(&kp.descriptor))
            .collect();
        self.ranked(&queries, k)
    }

    /// [`Self::shortlist`] for the candidate's descriptors in words form.
    fn ranked(&self, queries: &[[u64; 4]], k: usize) -> Vec<(u32, u32)> {
        let votes = self.votes(queries);
        let mut out: Vec<(u32, u32)> = votes.into_iter().filter(|&(_, v)| v >= MIN_VOTES).collect();
        out.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        out
    }

    /// Votes per reference number. The distance test runs a few hundred times per
    /// candidate descriptor, so it is compiled with POPCNT where the CPU has it (the
    /// x86-64 baseline Rust targets lacks it, and `count_ones` is then a dozen
    /// shifts and masks).
    fn votes(&self, queries: &[[u64; 4]]) -> HashMap<u32, u32> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU has POPCNT, checked just above.
                return unsafe { self.votes_popcnt(queries) };
            }
        }
        self.votes_scan(queries)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn votes_popcnt(&self, queries: &[[u64; 4]]) -> HashMap<u32, u32> {
        self.votes_scan(queries)
    }

    #[inline(always)]
    fn votes_scan(&self, queries: &[[u64; 4]]) -> HashMap<u32, u32> {
        let n = self.descriptors.len();
        let mut votes: HashMap<u32, u32> = HashMap::new();
        // (owner, nearest distance) of the references near this descriptor.
        let mut near: Vec<(u32, u32)> = Vec::with_capacity(MAX_OWNERS_PER_DESCRIPTOR + 1);
        // Where each owner is in `near` (u32::MAX: not there): a lookup instead of a
        // search through up to 256 entries for every near descriptor.
        let mut slot: Vec<u32> = vec![u32::MAX; self.owner_count];
        for &q in queries {
            for &(o, _) in &near {
                slot[o as usize] = u32::MAX;
            }
            near.clear();
            let mut crowded = false;
            'chunks: for c in 0..CHUNKS {
                let s = &self.starts[c * (BUCKETS + 1)..];
                let b = chunk(&q, c);
                let (lo, hi) = (s[b] as usize, s[b + 1] as usize);
                if hi - lo > self.max_bucket {
                    continue;
                }
                for &i in &self.ids[c * n + lo..c * n + hi] {
                    let i = i as usize;
                    let d = distance(&q, &self.descriptors[i]);
                    if d > VOTE_DISTANCE {
                        continue;
                    }
                    let owner = self.owners[i];
                    match near.get_mut(slot[owner as usize] as usize) {
                        Some(e) => e.1 = e.1.min(d),
                        None => {
                            slot[owner as usize] = near.len() as u32;
                            near.push((owner, d));
                            if near.len() > MAX_OWNERS_PER_DESCRIPTOR {
                                crowded = true;
                                break 'chunks;
                            }
                        }
                    }
                }
            }
            if crowded || near.is_empty() {
                continue;
            }
            near.sort_unstable_by_key(|&(o, d)| (d, o));
            let second = near.get(1).map_or(VOTE_DISTANCE + 1, |e| e.1);
            if (near[0].1 as f32) < RATIO * second as f32 {
                *votes.entry(near[0].0).or_insert(0) += 1;
            }
        }
        votes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::xorshift;

    #[test]
    fn chunks_cover_every_bit_once() {
        let mut seen = 0u32;
        for bit in 0..256 {
            let mut w = [0u64; 4];
            w[bit / 64] = 1 << (bit % 64);
            let hits: Vec<usize> = (0..CHUNKS).filter(|&c| chunk(&w, c) != 0).collect();
            assert_eq!(hits.len(), 1, "bit {bit}");
            seen += 1;
        }
        assert_eq!(seen, 256);
    }

    /// `d` with `bits` of its bits flipped, spread over the words.
    fn flipped(d: [u64; 4], bits: u32) -> [u64; 4] {
        let mut out = d;
        for b in 0..bits as usize {
            out[b % 4] ^= 1 << (7 * b % 64);
        }
        out
    }

    /// Each candidate descriptor votes for the one reference holding a clearly nearest
    /// descriptor; one near two references alike (here an exact duplicate) votes for
    /// neither; references under `MIN_VOTES` are left out; most votes first.
    #[test]
    fn votes_go_to_the_reference_alone_nearest() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let mut builder = KeypointIndexBuilder::new(3);
        let mut own: Vec<Vec<[u64; 4]>> = Vec::new();
        for owner in 0..3u32 {
            let ds: Vec<[u64; 4]> = (0..40).map(|_| [next(), next(), next(), next()]).collect();
            for d in &ds {
                builder.descriptors.push(*d);
                builder.owners.push(owner);
            }
            own.push(ds);
        }
        // Reference 2 also holds one of reference 0's descriptors.
        builder.descriptors.push(own[0][0]);
        builder.owners.push(2);
        let index = builder.build();
        // 10 near copies of reference 1's corners, 5 of reference 0's (the shared one
        // among them, which votes for neither), 2 of reference 2's.
        let mut queries: Vec<[u64; 4]> = own[1][..10].iter().map(|d| flipped(*d, 6)).collect();
        queries.extend(own[0][..5].iter().map(|d| flipped(*d, 4)));
        queries.extend(own[2][..2].iter().map(|d| flipped(*d, 2)));
        // Unrelated descriptors: no reference within the vote distance.
        queries.extend((0..20).map(|_| [next(), next(), next(), next()]));
        assert_eq!(index.ranked(&queries, 8), vec![(1, 10), (0, 4)]);
        assert_eq!(index.ranked(&queries, 1), vec![(1, 10)]);
    }
}
