//! Throughput of the fast path every image goes through: decode + PDQ + global
//! embedding, images spread over the rayon pool (one thread per core).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use xiezhi_match::xiezhi_fingerprint::Fingerprinter;

#[derive(Serialize)]
pub struct Quick {
    pub images: usize,
    pub failed: usize,
    pub seconds: f64,
    /// `None` (null in run.json, "–" in the report) for an empty sample
    /// (`--speed-sample 0`, a diagnostic run): nothing was measured.
    pub images_per_s: Option<f64>,
    pub threads: usize,
}

fn rate(images: usize, seconds: f64) -> Option<f64> {
    (images > 0).then(|| images as f64 / seconds.max(1e-9))
}

pub fn measure_quick(fp: &Fingerprinter, paths: &[PathBuf]) -> Result<Quick> {
    // Read first: the figure is about the computation, not the disk cache.
    let files: Vec<Vec<u8>> = paths.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let t = Instant::now();
    let failed = files.par_iter().filter(|b| fp.quick(b).is_err()).count();
    let seconds = t.elapsed().as_secs_f64();
    Ok(Quick {
        images: files.len(),
        failed,
        seconds,
        images_per_s: rate(files.len(), seconds),
        threads: rayon::current_num_threads(),
    })
}

/// The full fingerprint (10 embeddings, keypoints…) of one image after the
/// other, as the engine's scan runs it: the per-image latency a user waits for.
pub fn measure_full_sequential(fp: &Fingerprinter, paths: &[PathBuf]) -> Result<Quick> {
    let files: Vec<Vec<u8>> = paths.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let t = Instant::now();
    let failed = files.iter().filter(|b| fp.fingerprint(b).is_err()).count();
    let seconds = t.elapsed().as_secs_f64();
    Ok(Quick {
        images: files.len(),
        failed,
        seconds,
        images_per_s: rate(files.len(), seconds),
        threads: rayon::current_num_threads(),
    })
}
