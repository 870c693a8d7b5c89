//! Copy-detection benchmark harness: fingerprints the references and queries of a
//! manifest written by `prepare.py` with the real library crates, shortlists
//! references per query, compares each shortlisted pair with `xiezhi_match`, and
//! writes every pair's raw signals, calibration features and score as JSON lines.
//! Metrics (µAP, recall at precision 0.99) and the calibration fit are computed by
//! `evaluate.py` from that file, side by side with the Python peers.

mod fp_cache;
mod shortlist;

use xiezhi_match::{SHORTLIST_KEYPOINT_REFERENCES, SHORTLIST_PDQ_DISTANCE};
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
    /// Nearest distinct references per query vector (whole image and each window) compared
    /// in full, besides those near by PDQ and those with the most keypoint votes; the
    /// default is the engine's
    #[arg(long, default_value_t = xiezhi_match::SHORTLIST_NEIGHBOURS_PER_VECTOR)]
    shortlist: usize,
    /// References with the most keypoint votes compared in full; the default is the engine's
    #[arg(long, default_value_t = SHORTLIST_KEYPOINT_REFERENCES)]
    keypoint_references: usize,
    /// Images used for the throughput measurement of decode + PDQ + global embedding
    #[arg(long, default_value_t = 200)]
    speed_sample: usize,
    /// Images fingerprinted in full one after the other (the engine's per-image latency,
    /// and the full-fingerprint rate when the cache spares most of the fingerprinting)
    #[arg(long, default_value_t = 100)]
    sequential_sample: usize,
    /// Only measure the speed (no matching)
    #[arg(long)]
    speed_only: bool,
    /// No fingerprinting: recompute the features and score of every pair already in
    /// `<out>/pairs.jsonl` from its stored signals with this build's xiezhi_match
    /// (after a change to the score or a refit of models/calibration.json)
    #[arg(long)]
    rescore: bool,
    /// Folder of cached full fingerprints (keyed by image SHA-256, format version,
    /// keypoint extractor and weights); none when absent
    #[arg(long)]
    fp_cache: Option<PathBuf>,
    /// Diagnosis only: also compare every edited copy with its true reference, so the
    /// losses of the shortlist and of the comparison can be told apart (the results
    /// of such a run are not the benchmark's)
    #[arg(long)]
    oracle: bool,
    /// Diagnosis only: per edit family, how often each shortlist strategy holds the
    /// true reference and how many references it proposes (no comparison is run)
    #[arg(long)]
    shortlist_stats: bool,
    /// No shortlist or comparison: set `located_cosine` on every pair already in
    /// `<out>/pairs.jsonl` (the candidate embedded where keypoints placed the reference,
    /// as a full run does) and rescore them; for pairs written by a build without it
    #[arg(long)]
    locate: bool,
    /// Only the eval split's queries: every figure evaluate.py reports, in half the time
    /// (its `--no-fit` is then required, as the fit needs the train split). Every query is
    /// matched against every reference on its own, so the eval figures are the full run's.
    #[arg(long)]
    eval_only: bool,
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
    /// The reference an edited copy was made from (none for a distractor).
    #[serde(default)]
    reference: Option<String>,
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

/// Images computed in a run below which its own rate is not reported (too few to say).
const MIN_IMAGES_FOR_A_RATE: usize = 500;

/// Fingerprints of `items` (from the cache when it has them), how many were computed,
/// and the seconds spent computing them summed over the worker threads.
fn fingerprint_all(
    fp: &Fingerprinter,
    cache: Option<&fp_cache::FpCache>,
    items: &[Item],
) -> (Vec<Result<Fingerprint, String>>, usize, f64) {
    let computed = std::sync::atomic::AtomicUsize::new(0);
    let busy_ns = std::sync::atomic::AtomicU64::new(0);
    let fps = items
        .par_iter()
        .map(|it| {
            let bytes = std::fs::read(&it.path).map_err(|e| format!("{}: {e}", it.path.display()))?;
            if let Some(f) = cache.and_then(|c| c.get(fp, &bytes)) {
                return Ok(f);
            }
            computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let t = Instant::now();
            let f = fp.fingerprint(&bytes);
            busy_ns.fetch_add(t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
            let f = f.map_err(|e| format!("{}: {e}", it.path.display()))?;
            if let Some(c) = cache {
                c.put(&bytes, &f);
            }
            Ok(f)
        })
        .collect();
    (fps, computed.into_inner(), busy_ns.into_inner() as f64 / 1e9)
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

/// Sets [`xiezhi_match::Signals::located_cosine`] on each comparison whose verified
/// geometry places its reference in a part of the candidate at `path` (decoded again,
/// the boxes embedded in one batch). A candidate that no longer decodes keeps `None`.
fn locate(fp: &Fingerprinter, path: &Path, compared: &mut [(&Fingerprint, &mut xiezhi_match::Signals)]) {
    // Only a verified geometry places a reference: most candidates need no decode.
    if !compared
        .iter()
        .any(|(_, s)| s.local_inliers > xiezhi_match::LOCAL_INLIERS_NONE)
    {
        return;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let Ok(decoded) = xiezhi_fingerprint::decode(&bytes, fp.limits()) else {
        return;
    };
    // A model failure leaves the pairs without the signal, as an undecodable file does.
    let _ = xiezhi_match::set_located_cosines(fp, &decoded.image, compared);
}

/// Per query: one JSON line per shortlisted pair, and the global-only line.
fn match_all(
    fp: &Fingerprinter,
    index: &shortlist::Index,
    refs: &[(&Item, &Fingerprint)],
    queries: &[(&Item, &Fingerprint)],
    k: usize,
    votes: usize,
    oracle: bool,
) -> Vec<(Vec<String>, String)> {
    let done = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    queries
        .par_iter()
        .map(|(q, qf)| {
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n.is_multiple_of(1000) {
                eprintln!(
                    "  matched {n}/{} queries ({:.0} s)",
                    queries.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            let mut short = index.shortlist(qf, k, SHORTLIST_PDQ_DISTANCE, votes);
            if oracle {
                let truth = q.reference.as_deref();
                if let Some(i) = refs.iter().position(|(r, _)| Some(r.id.as_str()) == truth) {
                    if !short.contains(&i) {
                        short.push(i);
                    }
                }
            }
            let (best_global, best_global_cosine) = index.best_global(qf);
            let mut compared: Vec<_> = short.iter().map(|&ri| xiezhi_match::compare(refs[ri].1, qf)).collect();
            xiezhi_match::mark_rivals(&mut compared.iter_mut().collect::<Vec<_>>());
            let mut placed: Vec<_> = short.iter().map(|&ri| refs[ri].1).zip(compared.iter_mut()).collect();
            locate(fp, &q.path, &mut placed);
            let mut lines = Vec::with_capacity(short.len());
            for (&ri, signals) in short.iter().zip(compared) {
                let ritem = refs[ri].0;
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

/// Per family: how often the true reference is in the embedding part of the shortlist,
/// in the keypoint-vote part, and in the whole, and how many references each proposes.
fn shortlist_stats(
    index: &shortlist::Index,
    refs: &[(&Item, &Fingerprint)],
    queries: &[(&Item, &Fingerprint)],
    k: usize,
    votes: usize,
) {
    type Row = (String, [bool; 3], [usize; 3]);
    let rows: Vec<Row> = queries
        .par_iter()
        .map(|(q, qf)| {
            let truth = refs
                .iter()
                .position(|(r, _)| Some(r.id.as_str()) == q.reference.as_deref());
            let embedding = index.per_vector(qf, k);
            let voted = index.by_votes(qf, votes);
            // The whole shortlist as `Index::shortlist` composes it, from the same parts.
            let whole = shortlist::union(&[
                embedding.clone(),
                index.pdq_near(qf, SHORTLIST_PDQ_DISTANCE),
                voted.clone(),
            ]);
            let parts = [embedding, voted, whole];
            let has = |s: &[usize]| truth.is_some_and(|t| s.contains(&t));
            (
                q.family.clone().unwrap_or_else(|| "distractor".into()),
                [has(&parts[0]), has(&parts[1]), has(&parts[2])],
                [parts[0].len(), parts[1].len(), parts[2].len()],
            )
        })
        .collect();
    let mut fams: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    fams.sort();
    fams.dedup();
    println!("family\tqueries\tin embedding part\tin keypoint votes\tin shortlist\tmean sizes (embedding, votes, all)");
    for f in fams {
        let rs: Vec<&Row> = rows.iter().filter(|r| r.0 == f).collect();
        let n = rs.len() as f64;
        let rec: Vec<String> = (0..3)
            .map(|j| format!("{:.3}", rs.iter().filter(|r| r.1[j]).count() as f64 / n))
            .collect();
        let size: Vec<String> = (0..3)
            .map(|j| format!("{:.1}", rs.iter().map(|r| r.2[j]).sum::<usize>() as f64 / n))
            .collect();
        println!("{f}\t{}\t{}\t{}", rs.len(), rec.join("\t"), size.join(" "));
    }
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

/// The pairs of a run's `pairs.jsonl`, in file order (a query's pairs together).
fn read_pairs(path: &Path) -> Result<Vec<StoredPair>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let p: StoredPair = serde_json::from_str(line).with_context(|| format!("{} line {}", path.display(), i + 1))?;
        pairs.push(p);
    }
    Ok(pairs)
}

/// Rewrites `path` with `pairs`, each with this build's features and score; how many.
fn write_scored_pairs(path: &Path, pairs: &[StoredPair]) -> Result<usize> {
    let mut lines = Vec::with_capacity(pairs.len());
    for p in pairs {
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
    std::fs::rename(&tmp, path)?;
    Ok(lines.len())
}

/// Rewrites `pairs.jsonl` in `out` with this build's features and score.
fn rescore(out: &Path) -> Result<()> {
    {
        let path = out.join("pairs.jsonl");
        let mut pairs = read_pairs(&path)?;
        // A query's pairs are written together; its rivals are counted among them.
        for group in pairs.chunk_by_mut(|a, b| a.query == b.query) {
            xiezhi_match::mark_rivals(&mut group.iter_mut().map(|p| &mut p.signals).collect::<Vec<_>>());
        }
        let n = write_scored_pairs(&path, &pairs)?;
        eprintln!("rescored {n} pairs in {}", path.display());
    }
    // Say so in run.json: the fingerprints and signals are older than the scores.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    note_in_run(out, "rescored_at_unix", serde_json::json!(now))
}

/// Sets `key` in `<out>/run.json` (when the run wrote one) to what a later pass did.
fn note_in_run(out: &Path, key: &str, value: serde_json::Value) -> Result<()> {
    let run_path = out.join("run.json");
    if let Ok(text) = std::fs::read_to_string(&run_path) {
        let mut run: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", run_path.display()))?;
        run[key] = value;
        write_json(&run_path, &run)?;
    }
    Ok(())
}

/// `--locate`: [`locate`] on every pair of `<out>/pairs.jsonl`, each query's pairs
/// together as a run compares them, then rescored (see [`rescore`]).
fn locate_pairs(out: &Path, fp: &Fingerprinter, refs: &[(&Item, &Fingerprint)], queries: &[Item]) -> Result<()> {
    let path = out.join("pairs.jsonl");
    let mut pairs = read_pairs(&path)?;
    let ref_of: std::collections::HashMap<&str, &Fingerprint> = refs.iter().map(|(r, f)| (r.id.as_str(), *f)).collect();
    let path_of: std::collections::HashMap<&str, &Path> =
        queries.iter().map(|q| (q.id.as_str(), q.path.as_path())).collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let mut groups: Vec<&mut [StoredPair]> = pairs.chunk_by_mut(|a, b| a.query == b.query).collect();
    groups.par_iter_mut().try_for_each(|group| -> Result<()> {
        let query = group[0].query.clone();
        let qpath = path_of
            .get(query.as_str())
            .with_context(|| format!("query {query} of pairs.jsonl is not in the manifest"))?;
        let mut placed = Vec::with_capacity(group.len());
        for p in group.iter_mut() {
            let r = ref_of
                .get(p.reference.as_str())
                .with_context(|| format!("reference {} of pairs.jsonl has no fingerprint", p.reference))?;
            placed.push((*r, &mut p.signals));
        }
        locate(fp, qpath, &mut placed);
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if n.is_multiple_of(1000) {
            eprintln!("  located {n} queries ({:.0} s)", started.elapsed().as_secs_f64());
        }
        Ok(())
    })?;
    let n = write_scored_pairs(&path, &pairs)?;
    eprintln!("located {n} pairs in {}", path.display());
    // Say so in run.json: its matching time is the run's, without this pass.
    note_in_run(
        out,
        "located_afterwards_seconds",
        serde_json::json!(started.elapsed().as_secs_f64()),
    )
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.rescore {
        return rescore(&args.out);
    }
    let mut manifest: Manifest = serde_json::from_slice(
        &std::fs::read(&args.manifest).with_context(|| format!("reading {}", args.manifest.display()))?,
    )
    .with_context(|| format!("parsing {}", args.manifest.display()))?;
    if args.eval_only {
        manifest.queries.retain(|q| q.split == "eval");
        anyhow::ensure!(
            !manifest.queries.is_empty(),
            "no query of the eval split in the manifest"
        );
    }
    std::fs::create_dir_all(&args.out)?;
    let fp = Fingerprinter::new_default().context("loading the embedded model")?;
    let cache = match &args.fp_cache {
        Some(dir) => Some(
            fp_cache::FpCache::open(dir, &fp)
                .with_context(|| format!("opening the fingerprint cache {}", dir.display()))?,
        ),
        None => None,
    };
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
    match quick.images_per_s {
        Some(r) => eprintln!("  {r:.1} images/s"),
        None => eprintln!("  not measured (empty sample)"),
    }
    let sequential = speed::measure_full_sequential(&fp, &sample[..sample.len().min(args.sequential_sample)])?;
    match sequential.images_per_s {
        Some(r) => eprintln!("full fingerprint one image at a time: {:.2} s/image", 1.0 / r),
        None => eprintln!("full fingerprint one image at a time: not measured (empty sample)"),
    }
    if args.speed_only {
        write_json(
            &args.out.join("speed.json"),
            &serde_json::json!({"quick": quick, "full_sequential": sequential}),
        )?;
        return Ok(());
    }

    eprintln!("fingerprinting {} references", manifest.refs.len());
    let t = Instant::now();
    let (ref_fps, ref_computed, ref_busy) = fingerprint_all(&fp, cache.as_ref(), &manifest.refs);
    let ref_secs = t.elapsed().as_secs_f64();
    eprintln!("fingerprinting {} queries", manifest.queries.len());
    let t = Instant::now();
    let (query_fps, query_computed, query_busy) = fingerprint_all(&fp, cache.as_ref(), &manifest.queries);
    let query_secs = t.elapsed().as_secs_f64();
    // The rate counts only images fingerprinted in this run. With a (nearly) warm cache
    // there are too few, and the rate of the run that filled it may be of another build
    // (the cache survives changes that do not touch the fingerprint's content) or of a
    // busier machine: this run's one-image-at-a-time sample, the engine's way, stands in.
    let computed = ref_computed + query_computed;
    // Per image computed, with all threads at work (reading cached ones is not counted).
    let (full_rate, rate_source) = if computed >= MIN_IMAGES_FOR_A_RATE {
        (
            Some(computed as f64 * threads as f64 / (ref_busy + query_busy).max(1e-9)),
            "this run's fingerprinting",
        )
    } else if sequential.images_per_s.is_some() {
        (sequential.images_per_s, "this run's one-image-at-a-time sample")
    } else {
        // Empty in run.json: the report then names no source for its "–".
        (None, "")
    };
    match full_rate {
        Some(r) => eprintln!("  full fingerprints: {r:.2} images/s ({computed} computed, rate from {rate_source})"),
        None => {
            eprintln!("  full fingerprints: rate not measured ({computed} computed, empty one-image-at-a-time sample)")
        }
    }

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

    if args.shortlist_stats {
        shortlist_stats(&index, &refs, &queries, args.shortlist, args.keypoint_references);
        return Ok(());
    }
    if args.locate {
        return locate_pairs(&args.out, &fp, &refs, &manifest.queries);
    }
    eprintln!("matching {} queries against {} references", queries.len(), refs.len());
    let t = Instant::now();
    let rows = match_all(
        &fp,
        &index,
        &refs,
        &queries,
        args.shortlist,
        args.keypoint_references,
        args.oracle,
    );
    let match_secs = t.elapsed().as_secs_f64();

    for (q, r) in manifest.queries.iter().zip(&query_fps) {
        if let Err(e) = r {
            unreadable.push(format!("{} ({}): {e}", q.id, q.family.as_deref().unwrap_or("-")));
        }
    }

    write_rows(&args.out, "", &rows)?;

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
        "full_fingerprints_computed": computed,
        "full_fingerprint_rate_from": rate_source,
        "full_fingerprint_seconds": ref_secs + query_secs,
        "match_seconds": match_secs,
        "shortlist": args.shortlist,
        "keypoint_references": args.keypoint_references,
        "oracle": args.oracle,
        "eval_only": args.eval_only,
        "peak_rss_kib": peak_rss_kib(),
        "unreadable": unreadable,
        "score_method": "score = xiezhi_match::score (the calibrated ranking score); evaluate.py refits/applies models/calibration.json to the features",
    });
    write_json(&args.out.join("run.json"), &run)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
