//! Copy-detection benchmark harness: fingerprints the references and queries of a
//! manifest written by `prepare.py` with the real library crates, shortlists
//! references per query, compares each shortlisted pair with `xiezhi_match`, and
//! writes every pair's raw signals, calibration features and score as JSON lines.
//! Metrics (µAP, recall at precision 0.99) and the calibration fit are computed by
//! `evaluate.py` from that file, side by side with the Python peers.

mod shortlist;
mod speed;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xiezhi_match::xiezhi_fingerprint::{Fingerprint, Fingerprinter};

#[derive(Parser)]
#[command(about = "Xiezhi copy-detection benchmark harness")]
struct Args {
    /// manifest.json written by prepare.py
    #[arg(long)]
    manifest: PathBuf,
    /// Output folder (pairs.jsonl, run.json)
    #[arg(long)]
    out: PathBuf,
    /// References compared in full per query (best by embedding/region cosine, plus the best
    /// PDQ); 16 is what the engine's index gives per query vector
    #[arg(long, default_value_t = 16)]
    shortlist: usize,
    /// Images used for the throughput measurement of decode + PDQ + global embedding
    #[arg(long, default_value_t = 200)]
    speed_sample: usize,
    /// Images fingerprinted in full one after the other (the engine's per-image latency)
    #[arg(long, default_value_t = 20)]
    sequential_sample: usize,
    /// Only measure the speed (no matching)
    #[arg(long)]
    speed_only: bool,
    /// No fingerprinting: recompute the features and score of every pair already in
    /// `<out>/pairs*.jsonl` from its stored signals with this build's xiezhi_match
    /// (after a change to the score or a refit of models/calibration.json)
    #[arg(long)]
    rescore: bool,
}

#[derive(Deserialize)]
struct Manifest {
    refs: Vec<Item>,
    queries: Vec<Item>,
}

#[derive(Deserialize, Clone)]
struct Item {
    id: String,
    path: PathBuf,
    #[serde(default)]
    family: Option<String>,
    split: String,
}

#[derive(Serialize)]
struct PairRow<'a> {
    query: &'a str,
    reference: &'a str,
    signals: xiezhi_match::Signals,
    features: Vec<f32>,
    score: f32,
    /// Cosine of the global embeddings alone (the ablation).
    global_cosine: f32,
}

#[derive(Serialize)]
struct GlobalRow<'a> {
    query: &'a str,
    /// Best reference by global-embedding cosine alone over all references.
    best_global: Option<&'a str>,
    best_global_cosine: f32,
    shortlisted: usize,
}

fn fingerprint_all(fp: &Fingerprinter, items: &[Item]) -> Vec<Result<Fingerprint, String>> {
    items
        .par_iter()
        .map(|it| {
            let bytes = std::fs::read(&it.path).map_err(|e| format!("{}: {e}", it.path.display()))?;
            fp.fingerprint(&bytes)
                .map_err(|e| format!("{}: {e}", it.path.display()))
        })
        .collect()
}

/// Peak resident set size of this process in KiB (Linux VmHWM).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    serde_json::to_writer_pretty(BufWriter::new(f), value)?;
    Ok(())
}

/// Per query: one JSON line per shortlisted pair, and the global-only line.
fn match_all(
    index: &shortlist::Index,
    refs: &[(&Item, &Fingerprint)],
    queries: &[(&Item, &Fingerprint)],
    k: usize,
) -> Vec<(Vec<String>, String)> {
    queries
        .par_iter()
        .map(|(q, qf)| {
            let short = index.shortlist(qf, k);
            let (best_global, best_global_cosine) = index.best_global(qf);
            let mut lines = Vec::with_capacity(short.len());
            for &ri in &short {
                let (ritem, rf) = refs[ri];
                let signals = xiezhi_match::compare(rf, qf);
                let row = PairRow {
                    query: &q.id,
                    reference: &ritem.id,
                    features: xiezhi_match::features(&signals).to_vec(),
                    score: xiezhi_match::score(&signals),
                    global_cosine: signals.embedding_cosine,
                    signals,
                };
                lines.push(serde_json::to_string(&row).unwrap_or_default());
            }
            let g = GlobalRow {
                query: &q.id,
                best_global: best_global.map(|i| refs[i].0.id.as_str()),
                best_global_cosine,
                shortlisted: short.len(),
            };
            (lines, serde_json::to_string(&g).unwrap_or_default())
        })
        .collect()
}

fn write_rows(out: &Path, suffix: &str, rows: &[(Vec<String>, String)]) -> Result<()> {
    let mut pairs = BufWriter::new(std::fs::File::create(out.join(format!("pairs{suffix}.jsonl")))?);
    let mut globals = BufWriter::new(std::fs::File::create(out.join(format!("global{suffix}.jsonl")))?);
    for (lines, g) in rows {
        for l in lines {
            writeln!(pairs, "{l}")?;
        }
        writeln!(globals, "{g}")?;
    }
    pairs.flush()?;
    globals.flush()?;
    Ok(())
}

/// A pair row as read back by `--rescore` (only the signals matter).
#[derive(Deserialize)]
struct StoredPair {
    query: String,
    reference: String,
    signals: xiezhi_match::Signals,
}

/// Rewrites `pairs*.jsonl` in `out` with this build's features and score.
fn rescore(out: &Path) -> Result<()> {
    for suffix in ["", "-w60"] {
        let path = out.join(format!("pairs{suffix}.jsonl"));
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut lines = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let p: StoredPair =
                serde_json::from_str(line).with_context(|| format!("{} line {}", path.display(), i + 1))?;
            let row = PairRow {
                query: &p.query,
                reference: &p.reference,
                features: xiezhi_match::features(&p.signals).to_vec(),
                score: xiezhi_match::score(&p.signals),
                global_cosine: p.signals.embedding_cosine,
                signals: p.signals.clone(),
            };
            lines.push(serde_json::to_string(&row)?);
        }
        let tmp = path.with_extension("jsonl.tmp");
        std::fs::write(&tmp, lines.join("\n") + "\n").with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path)?;
        eprintln!("rescored {} pairs in {}", lines.len(), path.display());
    }
    // Say so in run.json: the fingerprints and signals are older than the scores.
    let run_path = out.join("run.json");
    if let Ok(text) = std::fs::read_to_string(&run_path) {
        let mut run: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", run_path.display()))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        run["rescored_at_unix"] = serde_json::json!(now);
        write_json(&run_path, &run)?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.rescore {
        return rescore(&args.out);
    }
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(&args.manifest).with_context(|| format!("reading {}", args.manifest.display()))?,
    )
    .with_context(|| format!("parsing {}", args.manifest.display()))?;
    std::fs::create_dir_all(&args.out)?;
    let fp = Fingerprinter::new_default().context("loading the embedded model")?;
    let threads = rayon::current_num_threads();

    let sample: Vec<PathBuf> = manifest
        .queries
        .iter()
        .chain(&manifest.refs)
        .take(args.speed_sample)
        .map(|i| i.path.clone())
        .collect();
    eprintln!("speed: decode + PDQ + global embedding on {} images", sample.len());
    let quick = speed::measure_quick(&fp, &sample)?;
    eprintln!("  {:.1} images/s", quick.images_per_s);
    let sequential = speed::measure_full_sequential(&fp, &sample[..sample.len().min(args.sequential_sample)])?;
    eprintln!(
        "full fingerprint one image at a time: {:.2} s/image",
        1.0 / sequential.images_per_s.max(1e-9)
    );
    if args.speed_only {
        write_json(
            &args.out.join("speed.json"),
            &serde_json::json!({"quick": quick, "full_sequential": sequential}),
        )?;
        return Ok(());
    }

    eprintln!("fingerprinting {} references", manifest.refs.len());
    let t = Instant::now();
    let ref_fps = fingerprint_all(&fp, &manifest.refs);
    let ref_secs = t.elapsed().as_secs_f64();
    eprintln!("fingerprinting {} queries", manifest.queries.len());
    let t = Instant::now();
    let query_fps = fingerprint_all(&fp, &manifest.queries);
    let query_secs = t.elapsed().as_secs_f64();
    let full_images = manifest.refs.len() + manifest.queries.len();
    let full_rate = full_images as f64 / (ref_secs + query_secs);
    eprintln!("  full fingerprints: {full_rate:.2} images/s");

    let mut unreadable = Vec::new();
    let mut refs: Vec<(&Item, &Fingerprint)> = Vec::new();
    for (it, r) in manifest.refs.iter().zip(&ref_fps) {
        match r {
            Ok(f) => refs.push((it, f)),
            Err(e) => unreadable.push(e.clone()),
        }
    }
    let index = shortlist::Index::new(refs.iter().map(|(_, f)| *f).collect());
    let queries: Vec<(&Item, &Fingerprint)> = manifest
        .queries
        .iter()
        .zip(&query_fps)
        .filter_map(|(q, r)| r.as_ref().ok().map(|f| (q, f)))
        .collect();

    eprintln!("matching {} queries against {} references", queries.len(), refs.len());
    let t = Instant::now();
    let rows = match_all(&index, &refs, &queries, args.shortlist);
    let match_secs = t.elapsed().as_secs_f64();

    // Ablation: only the first 5 of the 9 windows at 60 % (corners and centre, see
    // xiezhi_fingerprint::windows), to see what the 4 edge-middle windows add.
    let w60 = |f: &Fingerprint| {
        let mut f = f.clone();
        f.regions.truncate(5);
        f
    };
    let refs60: Vec<Fingerprint> = refs.iter().map(|(_, f)| w60(f)).collect();
    let queries60: Vec<Fingerprint> = queries.iter().map(|(_, f)| w60(f)).collect();
    let refs60: Vec<(&Item, &Fingerprint)> = refs.iter().map(|(i, _)| *i).zip(&refs60).collect();
    let queries60: Vec<(&Item, &Fingerprint)> = queries.iter().map(|(i, _)| *i).zip(&queries60).collect();
    let index60 = shortlist::Index::new(refs60.iter().map(|(_, f)| *f).collect());
    let rows60 = match_all(&index60, &refs60, &queries60, args.shortlist);
    for (q, r) in manifest.queries.iter().zip(&query_fps) {
        if let Err(e) = r {
            unreadable.push(format!("{} ({}): {e}", q.id, q.family.as_deref().unwrap_or("-")));
        }
    }

    write_rows(&args.out, "", &rows)?;
    write_rows(&args.out, "-w60", &rows60)?;

    let splits = |items: &[Item], s: &str| items.iter().filter(|i| i.split == s).count();
    let run = serde_json::json!({
        "threads": threads,
        "references": manifest.refs.len(),
        "queries": manifest.queries.len(),
        "references_train": splits(&manifest.refs, "train"),
        "references_eval": splits(&manifest.refs, "eval"),
        "quick": quick,
        "full_sequential": sequential,
        "full_fingerprint_images_per_s": full_rate,
        "full_fingerprint_seconds": ref_secs + query_secs,
        "match_seconds": match_secs,
        "shortlist": args.shortlist,
        "peak_rss_kib": peak_rss_kib(),
        "unreadable": unreadable,
        "score_method": "score = xiezhi_match::score (the calibrated ranking score); evaluate.py refits/applies models/calibration.json to the features",
    });
    write_json(&args.out.join("run.json"), &run)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
