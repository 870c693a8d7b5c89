//! Benchmark of the reference index (`xiezhi_match::index`) and of the HNSW crates
//! it was chosen from: build time, query latency (p50/p99, one thread, projection
//! included), file size, load time, peak RSS and recall@10 against exact cosine
//! search over the full 1280-d f32 vectors.
//!
//! All backends index the same codes (`xiezhi_match::index::encode`: fixed
//! projection to 256-d, i8), so the comparison is between graph libraries:
//! - `usearch`: the shipped `ReferenceIndex` (usearch, M=16, ef 128/96);
//! - `instant`: `instant-distance` as shipped before (M=32, ef 100/64);
//! - `hnsw_rs`: `hnsw_rs` with parallel insertion (M=16, ef 128/96).
//!
//! Data: `embed` writes real Lite0 embeddings (whole image + windows, and edited
//! copies as queries) to a cache file; `synthetic --data real-shaped` mixes and
//! perturbs those real vectors into N; `--data random` is the clustered random
//! worst case; `real` queries the real vectors with the edited copies.
//! `refs build|query` measures the engine's index for R references of 15 vectors.
//! Each run prints one Markdown table row; `bench/ann/run.sh` assembles bench/results/ann.md.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use xiezhi_fingerprint::{to_rgb_on_grey, DecodeLimits, Fingerprint, Fingerprinter, RegionEmbedding};
use xiezhi_match::index::{encode, Code, IndexEntry, ReferenceIndex};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum Backend {
    Usearch,
    Instant,
    HnswRs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum Data {
    Random,
    RealShaped,
}

#[derive(Subcommand)]
enum Cmd {
    /// Embeds real images (recursive, png/jpg) and writes the vectors to OUT.
    Embed {
        #[arg(long)]
        out: PathBuf,
        /// Images taken per folder, spread over it.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        dirs: Vec<PathBuf>,
    },
    /// N generated vectors.
    Synthetic {
        #[arg(long)]
        backend: Backend,
        #[arg(long, value_enum)]
        data: Data,
        #[arg(long)]
        n: usize,
        #[arg(long, default_value_t = 300)]
        queries: usize,
        /// Embedding cache from `embed` (needed for real-shaped data).
        #[arg(long)]
        seeds: Option<PathBuf>,
    },
    /// The real vectors of an `embed` file, queried with their edited copies.
    Real {
        #[arg(long)]
        backend: Backend,
        file: PathBuf,
        #[arg(long)]
        label: String,
    },
    /// The engine's index for R references (whole image + 14 windows each, real-shaped).
    Refs {
        #[command(subcommand)]
        step: RefsStep,
    },
}

#[derive(Subcommand)]
enum RefsStep {
    /// Builds from synthetic fingerprints (made and dropped in batches) and saves to OUT.
    Build {
        #[arg(long)]
        refs: usize,
        #[arg(long)]
        seeds: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Loads FILE and shortlists Q synthetic candidates (15 queries each), as a scan does.
    Query {
        file: PathBuf,
        #[arg(long)]
        seeds: PathBuf,
        #[arg(long, default_value_t = 100)]
        candidates: usize,
    },
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Embed { out, limit, dirs } => embed(&out, limit, &dirs),
        Cmd::Synthetic {
            backend,
            data,
            n,
            queries,
            seeds,
        } => synthetic(backend, data, n, queries, seeds.as_deref()),
        Cmd::Real { backend, file, label } => real(backend, &file, &label),
        Cmd::Refs { step } => match step {
            RefsStep::Build { refs, seeds, out } => refs_build(refs, &seeds, &out),
            RefsStep::Query {
                file,
                seeds,
                candidates,
            } => refs_query(&file, &seeds, candidates),
        },
    }
}

// ---------------------------------------------------------------- generators

/// Deterministic generator (SplitMix64 + Box–Muller).
struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f32 {
        let (u1, u2) = (self.uniform().max(1e-300), self.uniform());
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
}

const CLUSTERS: u64 = 2000;

/// Clustered random vector `i`: a ReLU'd, normalised point around one of [`CLUSTERS`]
/// non-negative random centres (the worst case: no structure for the graph to use).
fn random_vector(i: u64, dim: usize) -> Vec<f32> {
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
fn shaped_vector(i: u64, seeds: &Seeds) -> Vec<f32> {
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
fn edited(v: &[f32], seed: u64, spread: f32) -> Vec<f32> {
    let mut r = Rng(seed ^ 0x5151);
    let mut out: Vec<f32> = v.iter().map(|x| (x + 0.3 * spread * r.gauss()).max(0.0)).collect();
    normalise(&mut out);
    out
}

// ---------------------------------------------------------------- real embeddings cache

/// Real embeddings: indexed vectors (whole + windows) and queries (edited copies), each with its image.
struct Seeds {
    dim: usize,
    db: Vec<Vec<f32>>,
    db_owner: Vec<u32>,
    queries: Vec<Vec<f32>>,
    query_owner: Vec<u32>,
    /// Standard deviation of the components over all indexed vectors.
    spread: f32,
}

const EMB_MAGIC: &[u8; 8] = b"XZEMB01\n";

fn embed(out: &Path, limit: usize, dirs: &[PathBuf]) -> Result<()> {
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

fn read_seeds(path: &Path) -> Result<Seeds> {
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

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |p| p.get())
}

/// Exact top-10 (by full-dimension cosine) of each query over vectors `0..n` produced by `gen`.
fn exact_top10(n: usize, queries: &[Vec<f32>], gen: &(dyn Fn(usize) -> Vec<f32> + Sync)) -> Vec<Vec<u32>> {
    let chunk = n.div_ceil(threads());
    let partial: Vec<Vec<Vec<(f32, u32)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads())
            .map(|t| {
                s.spawn(move || {
                    let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(11); queries.len()];
                    for i in t * chunk..((t + 1) * chunk).min(n) {
                        let v = gen(i);
                        for (q, b) in queries.iter().zip(best.iter_mut()) {
                            let d = dot(q, &v);
                            if b.len() < 10 || d > b[b.len() - 1].0 {
                                b.push((d, i as u32));
                                b.sort_by(|x, y| y.0.total_cmp(&x.0));
                                b.truncate(10);
                            }
                        }
                    }
                    best
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).collect()
    });
    (0..queries.len())
        .map(|q| {
            let mut all: Vec<(f32, u32)> = partial.iter().flat_map(|p| p[q].iter().copied()).collect();
            all.sort_by(|x, y| y.0.total_cmp(&x.0));
            all.into_iter().take(10).map(|(_, i)| i).collect()
        })
        .collect()
}

fn encode_all(n: usize, gen: &(dyn Fn(usize) -> Vec<f32> + Sync)) -> Vec<Code> {
    let chunk = n.div_ceil(threads());
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads())
            .map(|t| {
                s.spawn(move || {
                    (t * chunk..((t + 1) * chunk).min(n))
                        .map(|i| encode(&gen(i)).expect("non-zero"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker")).collect()
    })
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---------------------------------------------------------------- backends

/// An index under test: key i for `codes[i]`.
trait Ann {
    fn search(&self, code: &Code, k: usize) -> Vec<u64>;
}

struct Usearch(ReferenceIndex);
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
struct I8Point(Vec<i8>);
impl instant_distance::Point for I8Point {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - cos_i8(&self.0, &other.0)
    }
}

fn cos_i8(a: &[i8], b: &[i8]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0i32, 0i32, 0i32);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (i32::from(*x), i32::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab as f32 / ((aa as f32).sqrt() * (bb as f32).sqrt()).max(f32::MIN_POSITIVE)
}

struct InstantDistance(instant_distance::HnswMap<I8Point, u64>);
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
struct CosI8;
impl hnsw_rs::prelude::Distance<i8> for CosI8 {
    fn eval(&self, a: &[i8], b: &[i8]) -> f32 {
        (1.0 - cos_i8(a, b)).max(0.0)
    }
}

struct HnswRs(hnsw_rs::hnsw::Hnsw<'static, i8, CosI8>);
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

struct Built {
    ann: Box<dyn Ann>,
    build_s: f64,
    file_mib: f64,
    load_s: f64,
}

/// Builds, saves, drops, reloads (the measured load) and returns the loaded index.
fn build(backend: Backend, codes: Vec<Code>) -> Result<Built> {
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

struct Measured {
    p50_ms: f64,
    p99_ms: f64,
    recall10: f64,
}

/// Single-thread queries (projection included); recall@10 against `truth`.
fn query(ann: &dyn Ann, queries: &[Vec<f32>], truth: &[Vec<u32>]) -> Measured {
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

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Usearch => "usearch 2.26 (shipped)",
        Backend::Instant => "instant-distance 0.6",
        Backend::HnswRs => "hnsw_rs 0.3.5",
    }
}

// ---------------------------------------------------------------- runs

fn synthetic(backend: Backend, data: Data, n: usize, nq: usize, seeds: Option<&Path>) -> Result<()> {
    let seeds = match data {
        Data::RealShaped => Some(read_seeds(seeds.context("--seeds is needed for real-shaped data")?)?),
        Data::Random => None,
    };
    let dim = seeds.as_ref().map_or(1280, |s| s.dim);
    let spread = seeds.as_ref().map_or(0.02, |s| s.spread);
    let gen = |i: usize| match &seeds {
        Some(s) => shaped_vector(i as u64, s),
        None => random_vector(i as u64, dim),
    };
    // Queries: edited copies of indexed vectors (the use case) and fresh vectors of the same kind.
    let queries: Vec<Vec<f32>> = (0..nq)
        .map(|q| {
            if q % 2 == 0 {
                let src = (q as u64).wrapping_mul(2_654_435_761) % n as u64;
                edited(&gen(src as usize), q as u64, spread)
            } else {
                gen(usize::MAX / 2 - q)
            }
        })
        .collect();
    let t = Instant::now();
    let truth = cached_truth(data, n, &queries, &gen)?;
    let exact_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let codes = encode_all(n, &gen);
    let encode_s = t.elapsed().as_secs_f64();
    let load_before = load_average();
    let b = build(backend, codes)?;
    let m = query(b.ann.as_ref(), &queries, &truth);
    let what = match data {
        Data::Random => "random clustered",
        Data::RealShaped => "real-shaped",
    };
    println!(
        "| {} | {what} | {n} | {nq} | {:.1} s | {:.3} | {:.3} | {:.3} | {:.0} MiB | {:.2} s | {:.0} MiB | load avg {load_before} → {}; projection {:.1} s; exact search {:.1} s |",
        backend_name(backend),
        b.build_s,
        m.p50_ms,
        m.p99_ms,
        m.recall10,
        b.file_mib,
        b.load_s,
        peak_rss_mib(),
        load_average(),
        encode_s,
        exact_s
    );
    Ok(())
}

/// Exact answers are the same for every backend: computed once per data set, size and query count.
fn cached_truth(
    data: Data,
    n: usize,
    queries: &[Vec<f32>],
    gen: &(dyn Fn(usize) -> Vec<f32> + Sync),
) -> Result<Vec<Vec<u32>>> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("xiezhi/ann-truth");
    std::fs::create_dir_all(&cache)?;
    let file = cache.join(format!("{data:?}-{n}-{}-v1.bin", queries.len()));
    if let Ok(bytes) = std::fs::read(&file) {
        if bytes.len() == queries.len() * 40 {
            return Ok(bytes
                .chunks_exact(40)
                .map(|q| {
                    q.chunks_exact(4)
                        .map(|c| u32::from_le_bytes(c.try_into().expect("4")))
                        .collect()
                })
                .collect());
        }
    }
    let truth = exact_top10(n, queries, gen);
    let bytes: Vec<u8> = truth
        .iter()
        .flat_map(|t| (0..10).map(|i| t.get(i).copied().unwrap_or(u32::MAX)))
        .flat_map(u32::to_le_bytes)
        .collect();
    std::fs::write(&file, bytes)?;
    Ok(truth)
}

fn real(backend: Backend, file: &Path, label: &str) -> Result<()> {
    let s = read_seeds(file)?;
    let truth = exact_top10(s.db.len(), &s.queries, &|i| s.db[i].clone());
    // How often the exact search and the index put a vector of the edited image's original first.
    let exact_top1 = truth
        .iter()
        .zip(&s.query_owner)
        .filter(|(t, o)| t.first().is_some_and(|&i| s.db_owner[i as usize] == **o))
        .count();
    let codes = s.db.iter().map(|v| encode(v).expect("non-zero")).collect();
    let b = build(backend, codes)?;
    let index_top1 = s
        .queries
        .iter()
        .zip(&s.query_owner)
        .filter(|(q, o)| {
            encode(q)
                .and_then(|c| b.ann.search(&c, 1).first().copied())
                .is_some_and(|k| s.db_owner[k as usize] == **o)
        })
        .count();
    let m = query(b.ann.as_ref(), &s.queries, &truth);
    let images = s.db_owner.last().map_or(0, |o| o + 1);
    println!(
        "| {} | real: {label} ({images} images, whole + windows) | {} | {} | {:.2} s | {:.3} | {:.3} | {:.3} | {:.1} MiB | {:.2} s | {:.0} MiB | original ranked first: exact {exact_top1}/{nq}, index {index_top1}/{nq} |",
        backend_name(backend),
        s.db.len(),
        s.queries.len(),
        b.build_s,
        m.p50_ms,
        m.p99_ms,
        m.recall10,
        b.file_mib,
        b.load_s,
        peak_rss_mib(),
        nq = s.queries.len(),
    );
    Ok(())
}

/// Synthetic reference `r`: 15 real-shaped embeddings (whole image + 14 windows, like
/// `xiezhi_fingerprint::regions::windows`), the other fields small.
fn synthetic_fingerprint(r: u64, seeds: &Seeds) -> Fingerprint {
    let whole = shaped_vector(r * 15, seeds);
    let regions = (1..15)
        .map(|w| RegionEmbedding {
            x: 0,
            y: 0,
            w: 1,
            h: 1,
            embedding: shaped_vector(r * 15 + w, seeds),
        })
        .collect();
    Fingerprint {
        sha256: format!("{r:064x}"),
        pixel_sha256: format!("{r:064x}"),
        width: 1,
        height: 1,
        media_type: "image/png".into(),
        pdq: "0".repeat(64),
        pdq_quality: 100,
        pdq_variants: Vec::new(),
        model_id: "bench".into(),
        embedding: whole,
        regions,
        local: Default::default(),
        animation_frames: 0,
        animation_truncated: false,
        frames: Vec::new(),
    }
}

fn refs_build(refs: usize, seeds: &Path, out: &Path) -> Result<()> {
    let seeds = read_seeds(seeds)?;
    let t = Instant::now();
    let mut index = ReferenceIndex::empty("bench", "bench".into())?;
    const BATCH: usize = 2000;
    for start in (0..refs).step_by(BATCH) {
        let batch: Vec<Fingerprint> = (start..(start + BATCH).min(refs))
            .map(|r| synthetic_fingerprint(r as u64, &seeds))
            .collect();
        index.add(batch.iter().enumerate().map(|(i, f)| ((start + i) as i64, f)))?;
    }
    let build_s = t.elapsed().as_secs_f64();
    index.save(out)?;
    println!(
        "| build | {refs} | {} | {build_s:.0} s (incl. making the fingerprints) | {:.0} MiB | {:.0} MiB | load avg {} |",
        index.len(),
        std::fs::metadata(out)?.len() as f64 / (1 << 20) as f64,
        peak_rss_mib(),
        load_average()
    );
    Ok(())
}

fn refs_query(file: &Path, seeds: &Path, candidates: usize) -> Result<()> {
    let seeds = read_seeds(seeds)?;
    let t = Instant::now();
    let index = ReferenceIndex::load(file)?;
    let load_s = t.elapsed().as_secs_f64();
    let mut lat = Vec::new();
    let mut found = 0;
    let refs = (index.len() / 15).max(1) as u64;
    for c in 0..candidates as u64 {
        // Half edited copies of references, half new images.
        let mut cand = synthetic_fingerprint(if c % 2 == 0 { c * 7919 % refs } else { 10_000_000 + c }, &seeds);
        cand.embedding = edited(&cand.embedding, c, seeds.spread);
        let t = Instant::now();
        let shortlist = index.shortlist(&cand, 16);
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        if c % 2 == 0 && shortlist.contains(&((c * 7919 % refs) as i64)) {
            found += 1;
        }
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "| load + shortlist | {} vectors | load {load_s:.2} s; shortlist (15 queries × k=16) p50 {:.1} ms, p99 {:.1} ms; edited copies shortlisted {found}/{} | | {:.0} MiB | load avg {} |",
        index.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        candidates.div_ceil(2),
        peak_rss_mib(),
        load_average()
    );
    Ok(())
}
