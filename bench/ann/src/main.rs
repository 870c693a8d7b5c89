//! Benchmark of the reference index (`xiezhi_match::index`): build time, query
//! latency (p50/p99, one thread, projection included), file size, peak RSS and
//! recall@10 against exact cosine search over the full-dimension vectors.
//!
//! `ann-bench synthetic --n N` uses generated vectors shaped like the model's
//! (non-negative, clustered, L2-normalised); `ann-bench real DIR` embeds real
//! images (whole image and windows) and queries with edited copies of them.
//! Each run prints one Markdown table row; `bench/run` assembles bench/results/ann.md.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use xiezhi_fingerprint::{to_rgb_on_grey, DecodeLimits, Fingerprinter};
use xiezhi_match::index::{encode, Code, IndexEntry, ReferenceIndex};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generated 1280-d vectors.
    Synthetic {
        #[arg(long, default_value_t = 100_000)]
        n: usize,
        #[arg(long, default_value_t = 1280)]
        dim: usize,
        #[arg(long, default_value_t = 300)]
        queries: usize,
    },
    /// Real images from DIR (recursive): whole-image and window embeddings are
    /// indexed; queries are the embeddings of edited copies (crop, mirror, downscale).
    Real {
        dir: PathBuf,
        #[arg(long, default_value_t = 120)]
        limit: usize,
    },
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Synthetic { n, dim, queries } => synthetic(n, dim, queries),
        Cmd::Real { dir, limit } => real(&dir, limit),
    }
}

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

/// Vector `i`: a ReLU'd, normalised point around one of [`CLUSTERS`] non-negative
/// centres (pooled CNN features are non-negative and unrelated images still
/// have cosines around 0.4, which this mimics).
fn synthetic_vector(i: u64, dim: usize, noise: f32) -> Vec<f32> {
    let mut c = Rng(0xC0FFEE ^ (i % CLUSTERS).wrapping_mul(0x1234_5678_9abc_def1));
    let mut r = Rng(i.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xABCD);
    let mut v: Vec<f32> = (0..dim)
        .map(|_| (c.gauss() + 0.5 + noise * r.gauss()).max(0.0))
        .collect();
    normalise(&mut v);
    v
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Exact top-10 (by full-dimension cosine) of each query over vectors `0..n` produced by `gen`.
fn exact_top10(n: usize, queries: &[Vec<f32>], gen: &(dyn Fn(usize) -> Vec<f32> + Sync)) -> Vec<Vec<u32>> {
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get());
    let chunk = n.div_ceil(threads);
    let partial: Vec<Vec<Vec<(f32, u32)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
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
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get());
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
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

struct Measured {
    build_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    recall10: f64,
    file_mib: f64,
    load_s: f64,
}

/// Builds, saves, reloads and queries; `truth[q]` are the exact top-10 value ids of query q.
fn measure(points: Vec<Code>, values: Vec<IndexEntry>, queries: &[Vec<f32>], truth: &[Vec<u32>]) -> Result<Measured> {
    let t = Instant::now();
    let index = ReferenceIndex::from_codes("bench", "bench".into(), points, values);
    let build_s = t.elapsed().as_secs_f64();
    let file = std::env::temp_dir().join(format!("xiezhi-ann-bench-{}.xzann", std::process::id()));
    index.save(&file)?;
    let file_mib = std::fs::metadata(&file)?.len() as f64 / (1 << 20) as f64;
    drop(index);
    let t = Instant::now();
    let index = ReferenceIndex::load(&file)?;
    let load_s = t.elapsed().as_secs_f64();
    std::fs::remove_file(&file).ok();
    let mut lat = Vec::with_capacity(queries.len());
    let mut hits = 0usize;
    for (q, want) in queries.iter().zip(truth) {
        let t = Instant::now();
        let got = index.search(q, 10);
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        let got: Vec<u32> = got.iter().map(|(e, _)| e.reference as u32).collect();
        hits += want.iter().filter(|w| got.contains(w)).count();
    }
    lat.sort_by(f64::total_cmp);
    Ok(Measured {
        build_s,
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        recall10: hits as f64 / (10 * queries.len()) as f64,
        file_mib,
        load_s,
    })
}

fn synthetic(n: usize, dim: usize, nq: usize) -> Result<()> {
    let gen = move |i: usize| synthetic_vector(i as u64, dim, 0.8);
    // Queries: near-copies of indexed vectors (the use case) and fresh points of the same clusters.
    let queries: Vec<Vec<f32>> = (0..nq)
        .map(|q| {
            let src = (q as u64).wrapping_mul(2_654_435_761) % n as u64;
            if q % 2 == 0 {
                let mut v = synthetic_vector(src, dim, 0.8);
                let mut r = Rng(q as u64 ^ 0x5151);
                v.iter_mut().for_each(|x| *x = (*x + 0.01 * r.gauss()).max(0.0));
                normalise(&mut v);
                v
            } else {
                synthetic_vector(u64::MAX - q as u64, dim, 0.8)
            }
        })
        .collect();
    let t = Instant::now();
    let truth = exact_top10(n, &queries, &gen);
    let exact_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let points = encode_all(n, &gen);
    let encode_s = t.elapsed().as_secs_f64();
    let values = (0..n as i64)
        .map(|i| IndexEntry {
            reference: i,
            region: None,
        })
        .collect();
    let m = measure(points, values, &queries, &truth)?;
    println!(
        "| synthetic {dim}-d | {n} | {nq} | {:.1} s (+ {:.1} s projection) | {:.3} | {:.3} | {:.3} | {:.0} MiB ({:.1} s) | {:.0} MiB | exact search {:.1} s |",
        m.build_s, encode_s, m.p50_ms, m.p99_ms, m.recall10, m.file_mib, m.load_s, peak_rss_mib(), exact_s
    );
    Ok(())
}

fn real(dir: &std::path::Path, limit: usize) -> Result<()> {
    let fp = Fingerprinter::new_default()?;
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "png" || x == "jpg"))
        .collect();
    // Spread the sample over the whole folder.
    let step = (files.len() / limit.max(1)).max(1);
    files = files.into_iter().step_by(step).take(limit).collect();
    let mut db: Vec<Vec<f32>> = Vec::new();
    let mut owner: Vec<usize> = Vec::new();
    let mut queries = Vec::new();
    let mut query_owner = Vec::new();
    for (k, f) in files.iter().enumerate() {
        let bytes = std::fs::read(f).with_context(|| f.display().to_string())?;
        let Ok(print) = fp.fingerprint(&bytes) else { continue };
        let Ok(decoded) = xiezhi_fingerprint::decode(&bytes, &DecodeLimits::default()) else {
            continue;
        };
        for e in std::iter::once(print.embedding.clone()).chain(print.regions.iter().map(|r| r.embedding.clone())) {
            db.push(e);
            owner.push(k);
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
            query_owner.push(k);
        }
    }
    let truth = exact_top10(db.len(), &queries, &|i| db[i].clone());
    // How often the exact search and the index put a vector of the edited image's original first.
    let exact_top1 = truth
        .iter()
        .zip(&query_owner)
        .filter(|(t, o)| t.first().is_some_and(|&i| owner[i as usize] == **o))
        .count();
    let points = db.iter().map(|v| encode(v).expect("non-zero")).collect();
    let values = (0..db.len() as i64)
        .map(|i| IndexEntry {
            reference: i,
            region: None,
        })
        .collect();
    let index_top1 = {
        let idx = ReferenceIndex::from_codes(
            "bench",
            "bench".into(),
            db.iter().map(|v| encode(v).expect("v")).collect(),
            (0..db.len() as i64)
                .map(|i| IndexEntry {
                    reference: i,
                    region: None,
                })
                .collect(),
        );
        queries
            .iter()
            .zip(&query_owner)
            .filter(|(q, o)| {
                idx.search(q, 1)
                    .first()
                    .is_some_and(|(e, _)| owner[e.reference as usize] == **o)
            })
            .count()
    };
    let m = measure(points, values, &queries, &truth)?;
    println!(
        "| real ({} images of {}, whole + windows) | {} | {} | {:.2} s | {:.3} | {:.3} | {:.3} | {:.1} MiB ({:.2} s) | {:.0} MiB | original ranked first: exact {}/{}, index {}/{} |",
        files.len(),
        dir.display(),
        db.len(),
        queries.len(),
        m.build_s,
        m.p50_ms,
        m.p99_ms,
        m.recall10,
        m.file_mib,
        m.load_s,
        peak_rss_mib(),
        exact_top1,
        queries.len(),
        index_top1,
        queries.len()
    );
    Ok(())
}
