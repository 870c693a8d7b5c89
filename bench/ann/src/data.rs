//! Benchmark data: seeded synthetic vectors (random or shaped on real embeddings) and the
//! cache of real Lite0 embeddings written by `embed`.

use super::*;

/// Deterministic generator (SplitMix64 + Box–Muller).
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn gauss(&mut self) -> f32 {
        let (u1, u2) = (self.uniform().max(1e-300), self.uniform());
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}

pub(crate) fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
}

pub(crate) const CLUSTERS: u64 = 2000;

/// Clustered random vector `i`: a ReLU'd, normalised point around one of [`CLUSTERS`]
/// non-negative random centres (the worst case: no structure for the graph to use).
pub(crate) fn random_vector(i: u64, dim: usize) -> Vec<f32> {
    let mut c = Rng(0xC0FFEE ^ (i % CLUSTERS).wrapping_mul(0x1234_5678_9abc_def1));
    let mut r = Rng(i.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xABCD);
    let mut v: Vec<f32> = (0..dim).map(|_| (c.gauss() + 0.5 + 0.8 * r.gauss()).max(0.0)).collect();
    normalise(&mut v);
    v
}

/// Real-shaped vector `i`: a blend of two real embeddings (weight 0.55–1 on the
/// first) plus Gaussian noise at half the components' spread, ReLU'd (Lite0's
/// pooled features are non-negative) and normalised: new "images" that live
/// where real ones do.
pub(crate) fn shaped_vector(i: u64, seeds: &Seeds) -> Vec<f32> {
    let mut r = Rng(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5EED);
    let n = seeds.db.len() as u64;
    let a = &seeds.db[(r.uniform() * n as f64) as usize % n as usize];
    let b = &seeds.db[(r.uniform() * n as f64) as usize % n as usize];
    let w = 0.55 + 0.45 * r.uniform() as f32;
    let mut v: Vec<f32> = a
        .iter()
        .zip(b)
        .map(|(x, y)| (w * x + (1.0 - w) * y + 0.5 * seeds.spread * r.gauss()).max(0.0))
        .collect();
    normalise(&mut v);
    v
}

/// A copy of `v` edited slightly (what a recompressed or resized copy does to an embedding).
pub(crate) fn edited(v: &[f32], seed: u64, spread: f32) -> Vec<f32> {
    let mut r = Rng(seed ^ 0x5151);
    let mut out: Vec<f32> = v.iter().map(|x| (x + 0.3 * spread * r.gauss()).max(0.0)).collect();
    normalise(&mut out);
    out
}

// ---------------------------------------------------------------- real embeddings cache

/// Real embeddings: indexed vectors (whole + windows) and queries (edited copies), each with its image.
pub(crate) struct Seeds {
    pub(crate) dim: usize,
    pub(crate) db: Vec<Vec<f32>>,
    pub(crate) db_owner: Vec<u32>,
    pub(crate) queries: Vec<Vec<f32>>,
    pub(crate) query_owner: Vec<u32>,
    /// Standard deviation of the components over all indexed vectors.
    pub(crate) spread: f32,
}

pub(crate) const EMB_MAGIC: &[u8; 8] = b"XZEMB01\n";

pub(crate) fn embed(out: &Path, limit: usize, dirs: &[PathBuf]) -> Result<()> {
    let fp = Fingerprinter::new_default()?;
    let (mut db, mut db_owner, mut queries, mut query_owner) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut image_no = 0u32;
    for dir in dirs {
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| p.extension().is_some_and(|x| x == "png" || x == "jpg"))
            .collect();
        let step = (files.len() / limit.max(1)).max(1);
        files = files.into_iter().step_by(step).take(limit).collect();
        for f in &files {
            let bytes = std::fs::read(f).with_context(|| f.display().to_string())?;
            let (Ok(print), Ok(decoded)) = (
                fp.fingerprint(&bytes),
                xiezhi_fingerprint::decode(&bytes, &DecodeLimits::default()),
            ) else {
                continue;
            };
            for e in std::iter::once(print.embedding.clone()).chain(print.regions.iter().map(|r| r.embedding.clone())) {
                db.push(e);
                db_owner.push(image_no);
            }
            let rgb = to_rgb_on_grey(&decoded.image);
            let (w, h) = rgb.dimensions();
            let edits = [
                image::imageops::crop_imm(&rgb, w / 5, h / 5, w * 3 / 5, h * 3 / 5).to_image(),
                image::imageops::flip_horizontal(&rgb),
                image::imageops::resize(
                    &rgb,
                    (w / 3).max(8),
                    (h / 3).max(8),
                    image::imageops::FilterType::Triangle,
                ),
            ];
            for e in fp.embedder().embed(&edits)? {
                queries.push(e);
                query_owner.push(image_no);
            }
            image_no += 1;
        }
        eprintln!("{}: {} images", dir.display(), files.len());
    }
    let dim = db.first().map_or(0, Vec::len);
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).with_context(|| out.display().to_string())?);
    w.write_all(EMB_MAGIC)?;
    for n in [dim, db.len(), queries.len()] {
        w.write_all(&(n as u64).to_le_bytes())?;
    }
    for (vs, owners) in [(&db, &db_owner), (&queries, &query_owner)] {
        for o in owners {
            w.write_all(&o.to_le_bytes())?;
        }
        for v in vs {
            for x in v {
                w.write_all(&x.to_le_bytes())?;
            }
        }
    }
    w.flush()?;
    eprintln!(
        "{image_no} images, {} vectors, {} queries -> {}",
        db.len(),
        queries.len(),
        out.display()
    );
    Ok(())
}

pub(crate) fn read_seeds(path: &Path) -> Result<Seeds> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .with_context(|| format!("{} (make it with `ann-bench embed`)", path.display()))?
        .read_to_end(&mut bytes)?;
    let Some(rest) = bytes.strip_prefix(EMB_MAGIC.as_slice()) else {
        bail!("{}: not an embedding cache", path.display());
    };
    let mut words = rest.chunks_exact(4);
    let mut u64s = rest
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as usize);
    let (dim, ndb, nq) = (
        u64s.next().unwrap_or(0),
        u64s.next().unwrap_or(0),
        u64s.next().unwrap_or(0),
    );
    words.nth(5);
    let mut take_u32 = |n: usize| -> Vec<u32> {
        (0..n)
            .filter_map(|_| words.next().map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))))
            .collect()
    };
    let db_owner = take_u32(ndb);
    let db_flat = take_u32(ndb * dim);
    let query_owner = take_u32(nq);
    let q_flat = take_u32(nq * dim);
    if q_flat.len() != nq * dim || dim == 0 {
        bail!("{}: cut short", path.display());
    }
    let vecs = |flat: Vec<u32>| -> Vec<Vec<f32>> {
        flat.chunks_exact(dim)
            .map(|c| c.iter().map(|b| f32::from_bits(*b)).collect())
            .collect()
    };
    let db = vecs(db_flat);
    let all = db.iter().flatten();
    let count = (ndb * dim) as f64;
    let mean = all.clone().map(|x| f64::from(*x)).sum::<f64>() / count;
    let spread = (all.map(|x| (f64::from(*x) - mean).powi(2)).sum::<f64>() / count).sqrt() as f32;
    Ok(Seeds {
        dim,
        db,
        db_owner,
        queries: vecs(q_flat),
        query_owner,
        spread,
    })
}

// ---------------------------------------------------------------- exact search
