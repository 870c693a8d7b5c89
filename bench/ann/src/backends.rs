//! The HNSW backends compared on the same i8 codes, and the timing of builds and queries.

use super::*;

/// An index under test: key i for `codes[i]`.
pub(crate) trait Ann {
    fn search(&self, code: &Code, k: usize) -> Vec<u64>;
}

pub(crate) struct Usearch(pub(crate) ReferenceIndex);
impl Ann for Usearch {
    fn search(&self, code: &Code, k: usize) -> Vec<u64> {
        self.0
            .search_code(code, k)
            .into_iter()
            .map(|(e, _)| e.reference as u64)
            .collect()
    }
}

/// The previous implementation's point type: i8 codes, cosine distance.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct I8Point(pub(crate) Vec<i8>);
impl instant_distance::Point for I8Point {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - cos_i8(&self.0, &other.0)
    }
}

pub(crate) fn cos_i8(a: &[i8], b: &[i8]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0i32, 0i32, 0i32);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (i32::from(*x), i32::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab as f32 / ((aa as f32).sqrt() * (bb as f32).sqrt()).max(f32::MIN_POSITIVE)
}

pub(crate) struct InstantDistance(pub(crate) instant_distance::HnswMap<I8Point, u64>);
impl Ann for InstantDistance {
    fn search(&self, code: &Code, k: usize) -> Vec<u64> {
        let mut s = instant_distance::Search::default();
        self.0
            .search(&I8Point(code.as_slice().to_vec()), &mut s)
            .take(k)
            .map(|i| *i.value)
            .collect()
    }
}

#[derive(Default, Clone, Copy)]
pub(crate) struct CosI8;
impl hnsw_rs::prelude::Distance<i8> for CosI8 {
    fn eval(&self, a: &[i8], b: &[i8]) -> f32 {
        (1.0 - cos_i8(a, b)).max(0.0)
    }
}

pub(crate) struct HnswRs(pub(crate) hnsw_rs::hnsw::Hnsw<'static, i8, CosI8>);
impl Ann for HnswRs {
    fn search(&self, code: &Code, k: usize) -> Vec<u64> {
        self.0
            .search(code.as_slice(), k, 96)
            .into_iter()
            .map(|n| n.d_id as u64)
            .collect()
    }
}

/// Reloads a saved index (timed as the load).
type Loader = Box<dyn Fn() -> Result<Box<dyn Ann>>>;

pub(crate) struct Built {
    pub(crate) ann: Box<dyn Ann>,
    pub(crate) build_s: f64,
    pub(crate) file_mib: f64,
    pub(crate) load_s: f64,
}

/// Builds, saves, drops, reloads (the measured load) and returns the loaded index.
pub(crate) fn build(backend: Backend, codes: Vec<Code>) -> Result<Built> {
    let dir = std::env::temp_dir().join(format!("xiezhi-ann-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let n = codes.len();
    let t = Instant::now();
    let (build_s, file, ann): (f64, PathBuf, Loader) = match backend {
        Backend::Usearch => {
            let entries = (0..n as i64)
                .map(|i| IndexEntry {
                    reference: i,
                    region: None,
                })
                .collect();
            let index = ReferenceIndex::from_codes("bench", "bench".into(), codes, entries)?;
            let build_s = t.elapsed().as_secs_f64();
            let file = dir.join("index.xzann");
            index.save(&file)?;
            let f = file.clone();
            (
                build_s,
                file,
                Box::new(move || Ok(Box::new(Usearch(ReferenceIndex::load(&f)?)) as Box<dyn Ann>)),
            )
        }
        Backend::Instant => {
            let points: Vec<I8Point> = codes.into_iter().map(|c| I8Point(c.as_slice().to_vec())).collect();
            let map = instant_distance::Builder::default()
                .ef_construction(100)
                .ef_search(64)
                .seed(1)
                .build(points, (0..n as u64).collect());
            let build_s = t.elapsed().as_secs_f64();
            let file = dir.join("index.postcard");
            std::fs::write(&file, postcard::to_stdvec(&map)?)?;
            let f = file.clone();
            (
                build_s,
                file,
                Box::new(move || {
                    let map = postcard::from_bytes(&std::fs::read(&f)?)?;
                    Ok(Box::new(InstantDistance(map)) as Box<dyn Ann>)
                }),
            )
        }
        Backend::HnswRs => {
            use hnsw_rs::prelude::AnnT;
            let hnsw = hnsw_rs::hnsw::Hnsw::<i8, CosI8>::new(16, n, 16, 128, CosI8);
            let data: Vec<(&[i8], usize)> = codes.iter().enumerate().map(|(i, c)| (c.as_slice(), i)).collect();
            hnsw.parallel_insert_slice(&data);
            let build_s = t.elapsed().as_secs_f64();
            let base = hnsw.file_dump(&dir, "index").map_err(|e| anyhow::anyhow!("{e}"))?;
            let d = dir.clone();
            let b = base.clone();
            (
                build_s,
                dir.join(format!("{base}.hnsw.graph")),
                Box::new(move || {
                    // The reloaded graph borrows its loader: leaked here, as a long-lived index would be.
                    let io: &'static mut hnsw_rs::hnswio::HnswIo =
                        Box::leak(Box::new(hnsw_rs::hnswio::HnswIo::new(&d, &b)));
                    let mut h = io.load_hnsw_with_dist(CosI8).map_err(|e| anyhow::anyhow!("{e}"))?;
                    h.set_searching_mode(true);
                    Ok(Box::new(HnswRs(h)) as Box<dyn Ann>)
                }),
            )
        }
    };
    let mut file_bytes = std::fs::metadata(&file)?.len();
    if backend == Backend::HnswRs {
        let data = file.with_extension("data");
        file_bytes += std::fs::metadata(&data)
            .with_context(|| data.display().to_string())?
            .len();
    }
    let t = Instant::now();
    let loaded = ann()?;
    let load_s = t.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&dir).ok();
    Ok(Built {
        ann: loaded,
        build_s,
        file_mib: file_bytes as f64 / (1 << 20) as f64,
        load_s,
    })
}

pub(crate) struct Measured {
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) recall10: f64,
}

/// Single-thread queries (projection included); recall@10 against `truth`.
pub(crate) fn query(ann: &dyn Ann, queries: &[Vec<f32>], truth: &[Vec<u32>]) -> Measured {
    let mut lat = Vec::with_capacity(queries.len());
    let mut hits = 0usize;
    for (q, want) in queries.iter().zip(truth) {
        let t = Instant::now();
        let got = encode(q).map(|c| ann.search(&c, 10)).unwrap_or_default();
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        hits += want.iter().filter(|w| got.contains(&u64::from(**w))).count();
    }
    lat.sort_by(f64::total_cmp);
    Measured {
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        recall10: hits as f64 / (10 * queries.len()) as f64,
    }
}

pub(crate) fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Usearch => "usearch 2.26 (shipped)",
        Backend::Instant => "instant-distance 0.6",
        Backend::HnswRs => "hnsw_rs 0.3.5",
    }
}

// ---------------------------------------------------------------- runs
