//! Loading the client's reference material into a case.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::Digest;
use xiezhi_store::{Case, Reference};

use crate::media::sniff_image;
use crate::{EngineError, Progress, Result};

#[derive(Serialize, Debug, Default)]
pub struct RefsAdded {
    /// Newly added references.
    pub added: Vec<Reference>,
    /// Files whose exact bytes were already a reference: (path, existing reference id).
    pub duplicates: Vec<(String, i64)>,
    /// Files that are not images Xiezhi can read: (path, reason).
    pub skipped: Vec<(String, String)>,
}

/// Every regular file under the given files/folders, recursively, in a stable order.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| EngineError::Io {
            path: p.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .follow_links(false)
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub fn absolute(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Add files and folders (recursively) as references; non-images are skipped with a reason.
pub fn add_references(case: &mut Case, paths: &[PathBuf], progress: &dyn Progress) -> Result<RefsAdded> {
    let files = expand_paths(paths)?;
    progress.phase("adding references", Some(files.len() as u64));
    let mut report = RefsAdded::default();
    for f in files {
        // A large folder can take minutes: stop on Cancel; what was added stays added.
        if progress.cancelled() {
            break;
        }
        progress.message(&f.to_string_lossy());
        let bytes = std::fs::read(&f).map_err(|source| EngineError::Io {
            path: f.clone(),
            source,
        })?;
        let path = absolute(&f);
        match sniff_image(&bytes) {
            None => report
                .skipped
                .push((path, "not a PNG, JPEG, GIF, WebP, BMP, TIFF or ICO image".into())),
            Some(mt) => {
                let r = case.add_reference(&path, &bytes, Some(mt))?;
                if r.new {
                    report.added.push(r.reference);
                } else {
                    report.duplicates.push((path, r.reference.id));
                }
            }
        }
        progress.advance(1);
    }
    progress.done();
    Ok(report)
}

/// The document timestamped at `refs add`: every reference with its SHA-256, in id order.
pub fn reference_manifest(case: &Case) -> Result<String> {
    let refs = case.references()?;
    let doc = serde_json::json!({
        "format": "xiezhi-reference-manifest/1",
        "case_id": case.info().id,
        "case_name": case.info().name,
        "created_utc": xiezhi_store::now_utc(),
        "references": refs.iter().map(|r| serde_json::json!({
            "id": r.id, "sha256": r.sha256, "size": r.size, "original_path": r.original_path, "added_at": r.added_at,
        })).collect::<Vec<_>>(),
    });
    Ok(serde_json::to_string_pretty(&doc).map_err(|e| EngineError::Invalid(e.to_string()))? + "\n")
}

/// When the case has a timestamp authority configured, timestamp the reference manifest
/// (proof the client held this material no later than the token's time) and record the
/// token in the case. Returns None when no TSA is configured.
pub async fn timestamp_references(case: &mut Case) -> Result<Option<xiezhi_store::ReferenceTimestamp>> {
    let Some(url) = case.tsa_url()? else {
        return Ok(None);
    };
    let manifest = reference_manifest(case)?;
    let digest: [u8; 32] = sha2::Sha256::digest(manifest.as_bytes()).into();
    let (token, verified) = xiezhi_evidence::tsa::request_timestamp_verified(&url, &digest).await?;
    let t = case.add_reference_timestamp(&manifest, &hex::encode(digest), &url, &token, &verified.info.gen_time)?;
    Ok(Some(t))
}
