//! Fingerprint references and candidates, compare every candidate with every
//! reference, and record the matches worth a human look.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;
use xiezhi_fingerprint::{
    decode_stored, decode_stored_older_still, encode_stored, Fingerprint, Fingerprinter, StoredFingerprint,
};
use xiezhi_store::{Asset, AssetOrigin, Case, MatchRecord, NewMatch};

use crate::located;
use crate::media::sniff_image;
use crate::ref_index::{self, Shortlister};
use crate::reference_cache::DEFAULT_CACHE_BYTES;
use crate::refs::{absolute, expand_paths};
use crate::{EngineError, Progress, Result};

/// Pairs scoring below this are not recorded: they are noise, not findings.
pub const RECORD_FLOOR: f64 = 0.2;

#[derive(Serialize, Debug, Default)]
pub struct ScanReport {
    pub scan_id: i64,
    pub references: usize,
    pub candidates: usize,
    pub fingerprinted: usize,
    pub from_cache: usize,
    /// Of those reused, fingerprints stored by an earlier version (formats 7 and 8, still
    /// images) brought up to date from the image's pixels without running the model.
    pub upgraded: usize,
    pub matches: usize,
    /// Reference–candidate pairs compared in full (the reference index shortlists them).
    pub compared: usize,
    /// Reference fingerprints read back from the case for those comparisons (cache misses).
    pub reference_loads: usize,
    /// Files that could not be fingerprinted: (what, reason). The scan carries on.
    pub unreadable: Vec<(String, String)>,
    /// References that show nothing (fully transparent, or one flat colour), by original
    /// path: kept, but no copy of one can be told from any other blank image.
    pub blank_references: Vec<String>,
    /// The operator stopped the scan (desktop Cancel): matches recorded so far are kept, and
    /// a new scan reuses every fingerprint already computed, so it resumes where this stopped.
    pub cancelled: bool,
    /// `scan` only: screenshots of the pages that hold a match at or above the review threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screenshots: Option<crate::screenshots::ScreenshotReport>,
}

/// How a scan or check runs.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Budget, in bytes of stored fingerprint, of the reference fingerprints kept in
    /// memory between comparisons (the rest are read back from the case on demand).
    pub reference_cache_bytes: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            reference_cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// Fingerprint bytes stored in the case, reusing a cached result for the same content.
pub(crate) fn fingerprint_blob(
    case: &mut Case,
    fp: &Fingerprinter,
    sha256: &str,
    report: &mut ScanReport,
) -> Result<std::result::Result<Fingerprint, String>> {
    let model = fp.embedder().model_id().to_string();
    match case.fingerprint(sha256, &model)? {
        Some(Err(e)) => {
            report.from_cache += 1;
            return Ok(Err(e));
        }
        Some(Ok(data)) => {
            // The sha256 check guards against a blob stored under the wrong key; another
            // format version or a damaged row is recomputed (fingerprints are derived data).
            if let Some(stored) = decode_stored(&data).ok().filter(|s| stored_sha256(s) == sha256) {
                report.from_cache += 1;
                if let StoredFingerprint::Legacy(f) = &stored {
                    // Rows of earlier versions were JSON (~200 KB): rewrite them compactly.
                    case.put_fingerprint(sha256, &model, Ok(&encode_stored(f)?))?;
                }
                return Ok(Ok(stored.into_inner()));
            }
            // Formats 7 and 8 lack only fields computed from a decode and keypoints, not
            // the model (a case of 10,000 images is updated in minutes instead of half an
            // hour); exactly the fresh fingerprint (tests/stored.rs).
            if let Some(older) = decode_stored_older_still(&data).filter(|o| o.fingerprint.sha256 == sha256) {
                let bytes = case.blobs().read_verified(sha256)?;
                if let Ok(f) = fp.complete_older_still(older, &bytes) {
                    case.put_fingerprint(sha256, &model, Ok(&encode_stored(&f)?))?;
                    report.from_cache += 1;
                    report.upgraded += 1;
                    return Ok(Ok(f));
                }
            }
        }
        None => {}
    }
    let bytes = case.blobs().read_verified(sha256)?;
    report.fingerprinted += 1;
    match fp.fingerprint(&bytes) {
        Ok(f) => {
            case.put_fingerprint(sha256, &model, Ok(&encode_stored(&f)?))?;
            Ok(Ok(f))
        }
        Err(e) => {
            let msg = e.to_string();
            case.put_fingerprint(sha256, &model, Err(&msg))?;
            Ok(Err(msg))
        }
    }
}

fn stored_sha256(stored: &StoredFingerprint) -> &str {
    match stored {
        StoredFingerprint::Current(f) | StoredFingerprint::Legacy(f) => &f.sha256,
    }
}

/// Compare one candidate with the references the index shortlists and record pairs above the floor.
fn match_candidate(
    case: &mut Case,
    fp: &Fingerprinter,
    scan_id: i64,
    asset: &Asset,
    cand: &Fingerprint,
    shortlist: &mut Shortlister,
    report: &mut ScanReport,
) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    let mut compared = compare_frames(case, cand, shortlist, report)?;
    xiezhi_match::mark_rivals(&mut compared.iter_mut().map(|(_, s, _)| s).collect::<Vec<_>>());
    located::set_located_cosines(case, fp, cand, &mut compared, shortlist)?;
    for (i, signals, frame) in &compared {
        let score = xiezhi_match::score(signals) as f64;
        if score < RECORD_FLOOR {
            continue;
        }
        // Only for recorded pairs: most shortlisted pairs fall below the floor.
        let strength = xiezhi_match::strength(signals) as f64;
        // The index shortlists the nearest references, so a reference left out is not nearer.
        let standing = xiezhi_match::Standing {
            rank: 1 + compared
                .iter()
                .filter(|(_, o, _)| o.embedding_cosine > signals.embedding_cosine)
                .count(),
            references: shortlist.len(),
        };
        let mut explanation = xiezhi_match::explain_among(signals, standing);
        let mut signals = serde_json::to_value(signals).unwrap_or_default();
        if let Some(k) = frame {
            let of = format!(
                "{}{}",
                cand.animation_frames,
                if cand.animation_truncated { "+" } else { "" }
            );
            explanation = format!("In frame {k} of {of} of the animation: {explanation}");
            if let Some(o) = signals.as_object_mut() {
                o.insert("frame".into(), json!(k));
                o.insert("animation_frames".into(), json!(cand.animation_frames));
            }
        }
        ids.push(case.upsert_match(&NewMatch {
            reference_id: shortlist.reference_id(*i),
            asset_id: asset.id,
            scan_id,
            score,
            strength,
            signals: &signals,
            explanation: &explanation,
        })?);
    }
    report.reference_loads = shortlist.loads();
    Ok(ids)
}

/// Each shortlisted reference compared with every distinct frame of the candidate (one
/// for a still image), keeping its best-scoring frame: (reference position, signals, frame).
fn compare_frames(
    case: &Case,
    cand: &Fingerprint,
    shortlist: &mut Shortlister,
    report: &mut ScanReport,
) -> Result<Vec<(usize, xiezhi_match::Signals, Option<u32>)>> {
    let mut best: Vec<(usize, xiezhi_match::Signals, Option<u32>)> = Vec::new();
    for (frame, view) in cand.frame_views() {
        let chosen = shortlist.candidates(view);
        report.compared += chosen.len();
        for i in chosen {
            let signals = xiezhi_match::compare(&*shortlist.fingerprint(case, i)?, view);
            match best.iter_mut().find(|(j, ..)| *j == i) {
                Some(slot) if xiezhi_match::strength(&slot.1) >= xiezhi_match::strength(&signals) => {}
                Some(slot) => *slot = (i, signals, frame),
                None => best.push((i, signals, frame)),
            }
        }
    }
    Ok(best)
}

fn model_details(fp: &Fingerprinter) -> serde_json::Value {
    json!({"model_id": fp.embedder().model_id(), "weights_sha256": fp.embedder().weights_sha256()})
}

/// Fingerprint every captured asset and match it against the references.
pub fn scan(case: &mut Case, fp: &Fingerprinter, progress: &dyn Progress) -> Result<ScanReport> {
    scan_with(case, fp, progress, &ScanOptions::default())
}

/// [`scan`] with explicit options.
pub fn scan_with(
    case: &mut Case,
    fp: &Fingerprinter,
    progress: &dyn Progress,
    options: &ScanOptions,
) -> Result<ScanReport> {
    let mut report = ScanReport::default();
    let scan_id = case.begin_scan("scan", model_details(fp))?;
    report.scan_id = scan_id;
    let prepared = ref_index::prepare(case, fp, progress, &mut report, options.reference_cache_bytes)?;
    let assets = case.assets(Some(AssetOrigin::Crawl))?;
    report.candidates = assets.len();
    let Some(mut shortlist) = prepared else {
        return finish_cancelled_scan(case, report);
    };
    progress.phase("fingerprinting and matching captured images", Some(assets.len() as u64));
    for a in &assets {
        if progress.cancelled() {
            report.cancelled = true;
            break;
        }
        progress.message(&a.locator);
        match fingerprint_blob(case, fp, &a.sha256, &mut report)? {
            Ok(f) => report.matches += match_candidate(case, fp, scan_id, a, &f, &mut shortlist, &mut report)?.len(),
            Err(e) => report.unreadable.push((a.locator.clone(), e)),
        }
        progress.advance(1);
    }
    progress.done();
    if report.cancelled {
        return finish_cancelled_scan(case, report);
    }
    case.finish_scan(scan_id, "scan", json!({"references": report.references, "candidates": report.candidates, "matches": report.matches, "unreadable": report.unreadable.len()}))?;
    // Photograph the pages worth a look while they are (probably) still online.
    report.screenshots = Some(crate::screenshots::screenshot_matched_pages(case, progress)?);
    Ok(report)
}

/// Close a scan the operator cancelled: the custody log records how far it got; no screenshots.
fn finish_cancelled_scan(case: &mut Case, report: ScanReport) -> Result<ScanReport> {
    case.finish_scan(
        report.scan_id,
        "scan",
        json!({"references": report.references, "candidates": report.candidates, "matches": report.matches,
               "unreadable": report.unreadable.len(), "cancelled": true,
               "fingerprinted": report.fingerprinted, "from_cache": report.from_cache}),
    )?;
    Ok(report)
}

#[derive(Serialize, Debug)]
pub struct CheckReport {
    pub scan: ScanReport,
    /// The matches of the checked files, best first.
    pub matches: Vec<MatchRecord>,
}

/// Match local files/folders against the references, without crawling.
pub fn check(case: &mut Case, fp: &Fingerprinter, paths: &[PathBuf], progress: &dyn Progress) -> Result<CheckReport> {
    check_with(case, fp, paths, progress, &ScanOptions::default())
}

/// [`check`] with explicit options.
pub fn check_with(
    case: &mut Case,
    fp: &Fingerprinter,
    paths: &[PathBuf],
    progress: &dyn Progress,
    options: &ScanOptions,
) -> Result<CheckReport> {
    let files = expand_paths(paths)?;
    let mut report = ScanReport::default();
    let scan_id = case.begin_scan(
        "check",
        json!({"paths": paths.iter().map(|p| absolute(p)).collect::<Vec<_>>(), "model": model_details(fp)}),
    )?;
    report.scan_id = scan_id;
    let Some(mut shortlist) = ref_index::prepare(case, fp, progress, &mut report, options.reference_cache_bytes)?
    else {
        case.finish_scan(
            scan_id,
            "check",
            json!({"references": report.references, "cancelled": true}),
        )?;
        return Ok(CheckReport {
            scan: report,
            matches: Vec::new(),
        });
    };
    progress.phase("checking files", Some(files.len() as u64));
    let mut match_ids = Vec::new();
    for f in &files {
        let path = absolute(f);
        progress.message(&path);
        let bytes = std::fs::read(f).map_err(|source| EngineError::Io {
            path: f.clone(),
            source,
        })?;
        let Some(mt) = sniff_image(&bytes) else {
            report
                .unreadable
                .push((path, "not a PNG, JPEG, GIF, WebP, BMP, TIFF, ICO or SVG image".into()));
            progress.advance(1);
            continue;
        };
        report.candidates += 1;
        let asset = case.record_asset(AssetOrigin::Local, &path, &bytes, Some(mt), None, &[])?;
        match fingerprint_blob(case, fp, &asset.sha256, &mut report)? {
            Ok(fpr) => match_ids.extend(match_candidate(
                case,
                fp,
                scan_id,
                &asset,
                &fpr,
                &mut shortlist,
                &mut report,
            )?),
            Err(e) => report.unreadable.push((path, e)),
        }
        progress.advance(1);
    }
    progress.done();
    report.matches = match_ids.len();
    case.finish_scan(scan_id, "check", json!({"references": report.references, "candidates": report.candidates, "matches": report.matches, "unreadable": report.unreadable.len()}))?;
    let mut matches = match_ids
        .into_iter()
        .map(|id| case.match_record(id))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    matches.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    Ok(CheckReport { scan: report, matches })
}
