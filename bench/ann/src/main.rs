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

mod backends;
mod data;

use backends::*;
use data::*;

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
        thumbnail: None,
        extra_keypoints: Vec::new(),
        chroma: None,
        box_keypoints: Vec::new(),
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
