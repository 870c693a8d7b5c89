//! PDQ perceptual hash (Meta, 2019), written from the published algorithm and
//! checked bit-for-bit against the reference C++ `pdqhashing` (see tests).
//!
//! Steps: RGB -> luma (0.299/0.587/0.114), two passes of a Jarosz (box-of-box ≈
//! tent) filter with window ceil(dim/128), decimation to 64x64, the 16x16
//! low-frequency block of the 2-D DCT (DC excluded), threshold at the median.

use image::RgbImage;

use crate::FingerprintError;

/// The eight dihedral transforms in the reference output order (original,
/// rotate90, rotate180, rotate270, flipX, flipY, flipPlus1, flipMinus1; the
/// reference rotates counter-clockwise).  Each names the transform applied to
/// the hashed image.
pub const DIHEDRAL_NAMES: [&str; 8] = [
    "identity",
    "rot90_ccw",
    "rot180",
    "rot90_cw",
    "flip_vertical",
    "mirror",
    "transpose",
    "transverse",
];

/// The reference does not hash images smaller than this on either side.
const MIN_HASHABLE_DIM: usize = 5;
/// Above this long side the image is first shrunk: the hash only keeps 64x64
/// samples, and full-resolution float buffers of a 16k image would need gigabytes.
const MAX_HASH_INPUT_SIDE: u32 = 1024;

/// A 256-bit PDQ hash stored like the reference `Hash256`: bit k lives in
/// word k/16 at position k%16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PdqHash(pub [u16; 16]);

impl PdqHash {
    /// Reference text form: word 15 first, four hex digits per word.
    pub fn to_hex(&self) -> String {
        self.0.iter().rev().map(|w| format!("{w:04x}")).collect()
    }

    pub fn from_hex(s: &str) -> Result<PdqHash, FingerprintError> {
        if s.len() != 64 || !s.is_ascii() {
            return Err(FingerprintError::BadHash(format!(
                "expected 64 hex digits, got {} characters",
                s.len()
            )));
        }
        let mut w = [0u16; 16];
        for (i, slot) in w.iter_mut().rev().enumerate() {
            let chunk = &s[i * 4..i * 4 + 4];
            *slot = u16::from_str_radix(chunk, 16).map_err(|e| FingerprintError::BadHash(format!("{chunk:?}: {e}")))?;
        }
        Ok(PdqHash(w))
    }

    fn set_bit(&mut self, k: usize) {
        self.0[k / 16] |= 1 << (k % 16);
    }
}

/// Number of differing bits.
pub fn hamming(a: &PdqHash, b: &PdqHash) -> u32 {
    a.0.iter().zip(&b.0).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Hamming distance between two hex-encoded hashes.
pub fn hamming_hex(a: &str, b: &str) -> Result<u32, FingerprintError> {
    Ok(hamming(&PdqHash::from_hex(a)?, &PdqHash::from_hex(b)?))
}

/// Hash, quality (0..=100; the reference suggests distrusting < 50) and the 8
/// dihedral variants in [`DIHEDRAL_NAMES`] order (variant 0 = the hash itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdq {
    pub hash: PdqHash,
    pub quality: u32,
    pub variants: [PdqHash; 8],
}

/// PDQ of an RGB image.
pub fn pdq(image: &RgbImage) -> Pdq {
    let shrunk;
    let img = if image.width().max(image.height()) > MAX_HASH_INPUT_SIDE {
        let s = MAX_HASH_INPUT_SIDE as f64 / image.width().max(image.height()) as f64;
        let w = ((image.width() as f64 * s).round() as u32).max(1);
        let h = ((image.height() as f64 * s).round() as u32).max(1);
        shrunk = image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle);
        &shrunk
    } else {
        image
    };
    let (cols, rows) = (img.width() as usize, img.height() as usize);
    if rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM {
        return Pdq {
            hash: PdqHash::default(),
            quality: 0,
            variants: [PdqHash::default(); 8],
        };
    }
    // Luma computed in f64 then stored as f32, as the reference bindings do.
    let mut luma: Vec<f32> = img
        .pixels()
        .map(|p| (p[0] as f64 * 0.299 + p[1] as f64 * 0.587 + p[2] as f64 * 0.114) as f32)
        .collect();
    jarosz_filter(&mut luma, rows, cols);
    let mut small = [[0f32; 64]; 64];
    for (i, row) in small.iter_mut().enumerate() {
        let ini = (((i as f64 + 0.5) * rows as f64) / 64.0) as usize;
        for (j, v) in row.iter_mut().enumerate() {
            let inj = (((j as f64 + 0.5) * cols as f64) / 64.0) as usize;
            *v = luma[ini * cols + inj];
        }
    }
    let quality = quality_metric(&small);
    let dct = dct64_to_16(&small);
    let variants = [
        dct,
        dihedral(&dct, true, |u, _| u % 2 == 0),
        dihedral(&dct, false, |u, v| (u + v) % 2 == 1),
        dihedral(&dct, true, |_, v| v % 2 == 0),
        dihedral(&dct, false, |u, _| u % 2 == 0),
        dihedral(&dct, false, |_, v| v % 2 == 0),
        dihedral(&dct, true, |_, _| false),
        dihedral(&dct, true, |u, v| (u + v) % 2 == 1),
    ]
    .map(|d| to_bits(&d));
    Pdq {
        hash: variants[0],
        quality,
        variants,
    }
}

type Block16 = [[f32; 16]; 16];

/// A dihedral transform of the image is a sign pattern (and maybe a transpose)
/// on its DCT: with basis cos(pi/128 (u+1)(2y+1)), flipping y multiplies
/// frequency u by (-1)^(u+1), i.e. negates the even u.
fn dihedral(a: &Block16, transpose: bool, negate: impl Fn(usize, usize) -> bool) -> Block16 {
    let mut b = [[0f32; 16]; 16];
    for (u, row) in b.iter_mut().enumerate() {
        for (v, x) in row.iter_mut().enumerate() {
            let s = if transpose { a[v][u] } else { a[u][v] };
            *x = if negate(u, v) { -s } else { s };
        }
    }
    b
}

fn jarosz_window(old: usize) -> usize {
    old.div_ceil(2 * 64)
}

fn jarosz_filter(buf: &mut [f32], rows: usize, cols: usize) {
    let wr = jarosz_window(cols);
    let wc = jarosz_window(rows);
    let mut tmp = vec![0f32; buf.len()];
    for _ in 0..2 {
        for (src, dst) in buf.chunks_exact(cols).zip(tmp.chunks_exact_mut(cols)) {
            box_1d(src, dst, wr);
        }
        box_columns(&tmp, buf, rows, cols, wc);
    }
}

/// [`box_1d`] down every column at once, a whole row per step: each column sees the
/// same float operations in the same order (so the same bits), but memory is read
/// row by row instead of with a stride of `cols` (the strided pass dominated).
fn box_columns(input: &[f32], out: &mut [f32], rows: usize, cols: usize, full: usize) {
    let full = full.clamp(1, rows);
    let half = (full + 2) / 2;
    let row = |i: usize| &input[i * cols..][..cols];
    let mut sum = vec![0f32; cols];
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut n = 0usize;
    let emit = |out: &mut [f32], oi: usize, sum: &[f32], n: usize| {
        for (o, s) in out[oi * cols..][..cols].iter_mut().zip(sum) {
            *o = s / n as f32;
        }
    };
    for _ in 0..half - 1 {
        sum.iter_mut().zip(row(ri)).for_each(|(s, v)| *s += v);
        n += 1;
        ri += 1;
    }
    for _ in 0..full - half + 1 {
        sum.iter_mut().zip(row(ri)).for_each(|(s, v)| *s += v);
        n += 1;
        emit(out, oi, &sum, n);
        ri += 1;
        oi += 1;
    }
    for _ in 0..rows - full {
        sum.iter_mut().zip(row(ri)).zip(row(li)).for_each(|((s, a), d)| {
            *s += a;
            *s -= d;
        });
        emit(out, oi, &sum, n);
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..half - 1 {
        sum.iter_mut().zip(row(li)).for_each(|(s, d)| *s -= d);
        n -= 1;
        emit(out, oi, &sum, n);
        li += 1;
        oi += 1;
    }
}

/// Centred running mean with shrinking windows at the edges; same phases and
/// float order as the reference `box1DFloat`.
fn box_1d(input: &[f32], out: &mut [f32], full: usize) {
    let len = input.len();
    let full = full.clamp(1, len);
    let half = (full + 2) / 2;
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut sum = 0f32;
    let mut n = 0usize;
    for _ in 0..half - 1 {
        sum += input[ri];
        n += 1;
        ri += 1;
    }
    for _ in 0..full - half + 1 {
        sum += input[ri];
        n += 1;
        out[oi] = sum / n as f32;
        ri += 1;
        oi += 1;
    }
    for _ in 0..len - full {
        sum += input[ri];
        sum -= input[li];
        out[oi] = sum / n as f32;
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..half - 1 {
        sum -= input[li];
        n -= 1;
        out[oi] = sum / n as f32;
        li += 1;
        oi += 1;
    }
}

fn quality_metric(b: &[[f32; 64]; 64]) -> u32 {
    let mut sum: i64 = 0;
    for (upper, lower) in b.iter().zip(b.iter().skip(1)) {
        for (u, v) in upper.iter().zip(lower) {
            sum += (((u - v) * 100.0 / 255.0) as i64).abs();
        }
    }
    for row in b.iter() {
        for j in 0..63 {
            sum += (((row[j] - row[j + 1]) * 100.0 / 255.0) as i64).abs();
        }
    }
    (sum / 90).min(100) as u32
}

fn dct_matrix() -> [[f32; 64]; 16] {
    let mut d = [[0f32; 64]; 16];
    let scale = (2.0f64 / 64.0).sqrt();
    for (i, row) in d.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = (scale * ((std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64).cos()) as f32;
        }
    }
    d
}

/// B = D A Dᵀ with D the 16x64 DCT-II rows 1..=16.
fn dct64_to_16(a: &[[f32; 64]; 64]) -> Block16 {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for i in 0..16 {
        for j in 0..64 {
            let mut s = 0f32;
            for k in 0..64 {
                s += d[i][k] * a[k][j];
            }
            t[i][j] = s;
        }
    }
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let mut s = 0f32;
            for k in 0..64 {
                s += t[i][k] * d[j][k];
            }
            b[i][j] = s;
        }
    }
    b
}

fn to_bits(b: &Block16) -> PdqHash {
    let mut flat: Vec<f32> = b.iter().flatten().copied().collect();
    // Lower median (element 128 of 256, 1-based), as the reference's Torben selection.
    flat.sort_by(|x, y| x.total_cmp(y));
    let median = flat[127];
    let mut h = PdqHash::default();
    for (k, v) in b.iter().flatten().enumerate() {
        if *v > median {
            h.set_bit(k);
        }
    }
    h
}
