//! The rBRIEF descriptor of the local features (see [`crate::local`]): 256 intensity
//! tests on a smoothed patch, rotated by the keypoint's orientation, and the distances
//! used to compare descriptors.

use std::sync::OnceLock;

use image::GrayImage;

/// Seed of the BRIEF test pattern; changing it invalidates stored descriptors.
pub const PATTERN_SEED: u64 = 0x5849_455a_4849_4f52; // "XIEZHIOR"
const PATTERN_PAIRS: usize = 128;

/// Hamming distance between two descriptors.
pub fn descriptor_distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// A descriptor as four little-endian 64-bit words, for code that compares one
/// descriptor with thousands: [`words_distance`] takes four popcounts instead of 32.
pub fn descriptor_words(d: &[u8; 32]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (word, chunk) in w.iter_mut().zip(d.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *word = u64::from_le_bytes(b);
    }
    w
}

/// [`descriptor_distance`] of two descriptors in [`descriptor_words`] form.
#[inline]
pub fn words_distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// The nearest and second-nearest distances from `q` to `words`, and the index of the
/// nearest (the first of equals): `(d1, d2, j1)`, with `u32::MAX` for a distance that
/// does not exist.
///
/// This is the inner loop of keypoint matching, every reference keypoint against every
/// candidate keypoint. The x86-64 baseline that Rust targets has no POPCNT instruction,
/// so `count_ones` becomes a dozen shifts and masks; where the CPU has POPCNT (every x86
/// CPU since 2008) the loop runs compiled for it, twice as fast.
pub fn nearest_two(q: &[u64; 4], words: &[[u64; 4]]) -> (u32, u32, usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has POPCNT, checked just above.
            return unsafe { nearest_two_popcnt(q, words) };
        }
    }
    nearest_two_scan(q, words)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn nearest_two_popcnt(q: &[u64; 4], words: &[[u64; 4]]) -> (u32, u32, usize) {
    nearest_two_scan(q, words)
}

#[inline(always)]
pub(crate) fn nearest_two_scan(q: &[u64; 4], words: &[[u64; 4]]) -> (u32, u32, usize) {
    let (mut d1, mut d2, mut j1) = (u32::MAX, u32::MAX, 0);
    for (j, c) in words.iter().enumerate() {
        let d = words_distance(q, c);
        if d < d1 {
            (d2, d1, j1) = (d1, d, j);
        } else if d < d2 {
            d2 = d;
        }
    }
    (d1, d2, j1)
}

/// The descriptor the same patch gets in the horizontally mirrored image
/// (see [`crate::local`] for why this is a bit permutation).
pub fn mirror_descriptor(d: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, b) in out.iter_mut().zip(d) {
        *o = ((b & 0x55) << 1) | ((b >> 1) & 0x55);
    }
    out
}

/// SplitMix64: tiny, well-known, and fully specified here so the pattern never
/// depends on a crate version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

type Point = (f32, f32);

/// 256 tests as (p, q) pairs; test 2k+1 is test 2k reflected y -> -y.
fn pattern() -> &'static [(Point, Point); 256] {
    static PATTERN: OnceLock<[(Point, Point); 256]> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut rng = SplitMix64(PATTERN_SEED);
        let sigma = 31.0 / 5.0;
        let mut coord = || -> f32 {
            // Box-Muller; one value per call keeps the sequence easy to reproduce.
            let (u, v) = (rng.unit(), rng.unit());
            let g = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
            (g * sigma).round().clamp(-13.0, 13.0) as f32
        };
        let mut out = [((0.0, 0.0), (0.0, 0.0)); 256];
        let mut k = 0;
        while k < PATTERN_PAIRS {
            let p = (coord(), coord());
            let q = (coord(), coord());
            // A test comparing a point with itself, or whose reflection is
            // itself, carries no information for one of the two bits.
            if p == q || (p.0 == q.0 && p.1 == -q.1) {
                continue;
            }
            out[2 * k] = (p, q);
            out[2 * k + 1] = ((p.0, -p.1), (q.0, -q.1));
            k += 1;
        }
        out
    })
}

/// The descriptor of the keypoint at (x, y) of a smoothed pyramid level.
pub(crate) fn describe(smoothed: &GrayImage, x: i32, y: i32, angle: f32) -> [u8; 32] {
    let w = smoothed.width() as i32;
    let data = smoothed.as_raw();
    let (s, c) = angle.sin_cos();
    let at = |p: Point| {
        let dx = (c * p.0 - s * p.1).round() as i32;
        let dy = (s * p.0 + c * p.1).round() as i32;
        data[((y + dy) * w + x + dx) as usize]
    };
    let mut d = [0u8; 32];
    for (i, &(p, q)) in pattern().iter().enumerate() {
        if at(p) < at(q) {
            d[i / 8] |= 1 << (i % 8);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_deterministic_paired_and_in_range() {
        let p = pattern();
        for k in 0..PATTERN_PAIRS {
            let (a, b) = p[2 * k];
            assert_eq!(p[2 * k + 1], ((a.0, -a.1), (b.0, -b.1)));
            for v in [a.0, a.1, b.0, b.1] {
                assert!((-13.0..=13.0).contains(&v));
            }
            assert_ne!(a, b);
        }
        // Pinned so a change of generator or seed is noticed (it would
        // invalidate every stored descriptor).
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn descriptor_words_keep_the_distance() {
        let mut rng = SplitMix64(7);
        for _ in 0..100 {
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            a.iter_mut().chain(b.iter_mut()).for_each(|v| *v = rng.next() as u8);
            let d = words_distance(&descriptor_words(&a), &descriptor_words(&b));
            assert_eq!(d, descriptor_distance(&a, &b));
        }
    }

    #[test]
    fn mirror_descriptor_swaps_bit_pairs() {
        let mut d = [0u8; 32];
        d[0] = 0b0000_0001;
        d[31] = 0b1000_0000;
        let m = mirror_descriptor(&d);
        assert_eq!(m[0], 0b0000_0010);
        assert_eq!(m[31], 0b0100_0000);
        assert_eq!(mirror_descriptor(&m), d);
    }
}
