//! Bundle export: one ZIP holding the report, originals, custody log,
//! captures, manifest, SHA256SUMS and RFC 3161 tokens over the manifest.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Timelike};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use rayon::prelude::*;

use crate::model::*;
use crate::overlay::{overlay_for, OverlayOutcome};
use crate::pdf::{self, ReportContext};
use crate::tsa::{self, TimestampInfo};
use crate::wacz::{build_wacz, WACZ_PATH};
use crate::EvidenceError;

/// A relative, portable path: forward slashes, no `..`, no empty or `.`
/// components, no drive letters or backslashes, no control characters.
pub(crate) fn safe_rel_path(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 1024
        && !p.starts_with('/')
        && !p.contains('\\')
        && !p.contains(':')
        && !p.chars().any(char::is_control)
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// File extension for an exhibit: from the media type, else the original name.
fn extension(f: &ExhibitFile) -> String {
    let by_type = match f.media_type.to_ascii_lowercase().as_str() {
        "image/png" => Some("png"),
        "image/jpeg" | "image/jpg" => Some("jpg"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        "image/bmp" => Some("bmp"),
        "image/tiff" => Some("tif"),
        "image/x-icon" | "image/vnd.microsoft.icon" => Some("ico"),
        "image/svg+xml" => Some("svg"),
        _ => None,
    };
    if let Some(e) = by_type {
        return e.to_string();
    }
    Path::new(&f.original_name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| !e.is_empty() && e.len() <= 5 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_else(|| "bin".to_string())
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Already-compressed formats are stored, not deflated again.
fn method_for(path: &str) -> CompressionMethod {
    let lower = path.to_ascii_lowercase();
    // The report's streams are compressed already: deflating it again cost most of the export time.
    let stored = [
        ".png", ".jpg", ".jpeg", ".gif", ".webp", ".gz", ".zip", ".tsr", ".wacz", ".pdf",
    ];
    if stored.iter().any(|e| lower.ends_with(e)) {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    }
}

struct Bundle {
    zip: ZipWriter<File>,
    tmp: PathBuf,
    time: zip::DateTime,
    files: Vec<ManifestFile>,
    count: usize,
}

impl Bundle {
    fn options(&self, path: &str, size: u64) -> SimpleFileOptions {
        SimpleFileOptions::default()
            .compression_method(method_for(path))
            .last_modified_time(self.time)
            .unix_permissions(0o644)
            .large_file(size >= u32::MAX as u64)
    }

    fn start(&mut self, path: &str, size: u64) -> Result<(), EvidenceError> {
        let opts = self.options(path, size);
        self.count += 1;
        self.zip.start_file(path, opts).map_err(|source| EvidenceError::Zip {
            path: self.tmp.clone(),
            source,
        })
    }

    /// Add bytes not listed in the manifest (manifest itself, sums, tokens).
    fn add_raw(&mut self, path: &str, bytes: &[u8]) -> Result<(), EvidenceError> {
        self.start(path, bytes.len() as u64)?;
        self.zip.write_all(bytes).map_err(|e| EvidenceError::io(&self.tmp, e))
    }

    /// Add bytes and record them for the manifest.
    fn add(&mut self, path: &str, bytes: &[u8]) -> Result<String, EvidenceError> {
        self.add_raw(path, bytes)?;
        let sha = sha256_hex(bytes);
        self.files.push(ManifestFile {
            path: path.to_string(),
            bytes: bytes.len() as u64,
            sha256: sha.clone(),
        });
        Ok(sha)
    }
}

/// Removes the temporary file unless the export completed.
struct TempGuard(Option<PathBuf>);
impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn validate(spec: &BundleSpec) -> Result<(), EvidenceError> {
    let mut numbers = BTreeSet::new();
    for e in &spec.exhibits {
        if !numbers.insert(e.number) {
            return Err(EvidenceError::Spec(format!("exhibit number {} used twice", e.number)));
        }
        if e.number == 0 || e.number > 999_999 {
            return Err(EvidenceError::Spec(format!("exhibit number {} out of range", e.number)));
        }
        if !(0.0..=1.0).contains(&e.score) {
            return Err(EvidenceError::Exhibit {
                number: e.number,
                reason: format!("score {} is outside 0..1", e.score),
            });
        }
        let mut files = vec![("reference", &e.reference), ("candidate", &e.candidate)];
        files.extend(e.screenshot.iter().map(|f| ("screenshot", f)));
        files.extend(e.overlay.iter().map(|f| ("overlay", f)));
        for (which, f) in files {
            let actual = sha256_hex(&f.bytes);
            if !actual.eq_ignore_ascii_case(&f.sha256) {
                return Err(EvidenceError::Exhibit {
                    number: e.number,
                    reason: format!("{which} bytes hash to {actual}, but the case records {}", f.sha256),
                });
            }
        }
    }
    // A broken chain would be exported as if it were evidence; refuse.
    xiezhi_store::custody::verify_chain(&spec.custody).map_err(|e| EvidenceError::Custody(e.to_string()))?;
    for r in &spec.wacz.records {
        if !r.warc_path.is_file() {
            return Err(EvidenceError::Spec(format!(
                "capture file {} does not exist",
                r.warc_path.display()
            )));
        }
    }
    if spec.tsa_urls.len() > 9 {
        return Err(EvidenceError::Spec("at most 9 TSA URLs".into()));
    }
    Ok(())
}

fn verify_md(spec: &BundleSpec) -> String {
    let mut s = String::new();
    let created = spec.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    s.push_str("# Verifying this Xiezhi evidence bundle\n\n");
    s.push_str(&format!(
        "Bundle `{}` for case \"{}\" (`{}`), exported {} by Xiezhi {}.\n\n",
        spec.bundle_id, spec.case_name, spec.case_id, created, spec.tool_version
    ));
    s.push_str(
        "The bundle is sealed in two stages.\n\n\
         1. `evidence-manifest.json` lists every evidence file (exhibits, overlays, screenshots,\n\
            `capture.wacz`, `custody.jsonl`, this file) with its size and SHA-256, and the exhibits.\n\
            It was timestamped (`timestamp/evidence-manifest.tsr`) BEFORE the report was written,\n\
            so `report.pdf` prints its SHA-256 and that timestamp's time on the cover.\n\
         2. `manifest.json` lists every file including `report.pdf`, `evidence-manifest.json`\n\
            and its tokens (not itself, `SHA256SUMS` or `timestamp/manifest*.tsr`), and is\n\
            timestamped last (`timestamp/manifest.tsr`). `SHA256SUMS` repeats its hashes and\n\
            adds `manifest.json`'s.\n\n",
    );
    s.push_str("## 1. Unpack\n\n```sh\nunzip bundle.zip -d bundle\ncd bundle\n```\n\n");
    s.push_str(
        "## 2. Check every file\n\n```sh\nsha256sum -c SHA256SUMS\n\
         sha256sum evidence-manifest.json   # equals \"Evidence manifest SHA-256\" on the report's cover\n\
         jq -r '.files[] | \"\\(.sha256)  \\(.path)\"' evidence-manifest.json | sha256sum -c\n```\n\n\
         Every line must end in `OK`. The `jq` line checks the evidence files against the first-stage\n\
         manifest itself.\n\n",
    );
    if spec.tsa_urls.is_empty() {
        s.push_str("## 3. Timestamps\n\nNo timestamp was requested for this bundle.\n\n");
    } else {
        s.push_str("## 3. Check the timestamps\n\n```sh\n");
        for i in 0..spec.tsa_urls.len() {
            s.push_str(&format!(
                "openssl ts -verify -data evidence-manifest.json -in {} -CAfile tsa-root.pem\n",
                evidence_token_path(i)
            ));
            s.push_str(&format!(
                "openssl ts -verify -data manifest.json -in {} -CAfile tsa-root.pem\n",
                token_path(i)
            ));
        }
        s.push_str("```\n\nExpected output: `Verification: OK` for each. The first token dates the evidence\nfiles (its time is the one on the report's cover); the second dates the finished bundle,\nreport included. `tsa-root.pem` is the root certificate of the timestamp authority,\nobtained from the authority itself: `timestamp/tsa-chain.pem` was copied out of the tokens\nand proves nothing on its own. If the authority uses an intermediate certificate, add\n`-untrusted timestamp/tsa-chain.pem`. To read a token's time and authority:\n`openssl ts -reply -in timestamp/evidence-manifest.tsr -text`.\n\n");
        s.push_str("Timestamp authorities used:\n\n");
        for u in &spec.tsa_urls {
            s.push_str(&format!("- {u}\n"));
        }
        s.push('\n');
        if spec.tsa_is_local_test {
            s.push_str("**WARNING:** this timestamp comes from a local TEST authority on the exporting\nmachine (its root is named \"NOT TRUSTED\"). It is not a trusted third-party timestamp\nand proves nothing about time to anyone else.\n\n");
        }
    }
    if !spec.wacz.records.is_empty() {
        s.push_str(
            "## 4. The web captures\n\n`capture.wacz` holds the WARC records behind every exhibit (WACZ 1.2).\n\
             Open it in ReplayWeb.page, or check it with standard tools:\n\n```sh\n\
             mkdir wacz && cd wacz && unzip ../capture.wacz\n\
             sha256sum datapackage.json   # equals the hash in datapackage-digest.json\n\
             warcio check archive/data.warc.gz && warcio index archive/data.warc.gz\n\
             wacz validate -f ../capture.wacz   # pip install wacz\n```\n\n\
             Each exhibit's candidate image is the payload of a `response` record in\n\
             `archive/data.warc.gz` whose `WARC-Payload-Digest` matches its bytes.\n\n",
        );
    }
    s.push_str(
        "## 5. All checks at once\n\n```sh\nxiezhi verify bundle.zip --tsa-ca tsa-root.pem\n```\n\n\
         This also re-checks the chain-of-custody log (`custody.jsonl`) against the head hash\n\
         in `manifest.json` and reports any missing, altered or extra file by name.\n",
    );
    s
}

/// Export `spec` as an evidence bundle at `out_zip` (written atomically).
pub async fn export_bundle(spec: &BundleSpec, out_zip: &Path) -> Result<ExportSummary, EvidenceError> {
    export_bundle_cancellable(spec, out_zip, &|| false).await
}

/// Path in the bundle of an exhibit's file.
fn exhibit_path(e: &Exhibit, f: &ExhibitFile, name: &str) -> String {
    format!("exhibits/{:03}/{name}.{}", e.number, extension(f))
}

fn manifest_file(e: &Exhibit, f: &ExhibitFile, name: &str) -> ManifestExhibitFile {
    ManifestExhibitFile {
        path: exhibit_path(e, f, name),
        original_name: f.original_name.clone(),
        media_type: f.media_type.clone(),
        sha256: sha256_hex(&f.bytes),
    }
}

/// Runs `work` unless the operator cancels first. A timestamp authority may take up to its
/// 60 s timeout to answer; waiting that long after Cancel was pressed would be rude.
async fn unless_cancelled<T>(
    work: impl std::future::Future<Output = Result<T, EvidenceError>>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<T, EvidenceError> {
    let watch = async {
        while !cancelled() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        r = work => r,
        () = watch => Err(EvidenceError::Cancelled),
    }
}

/// Tokens from every TSA over `digest`, and the certificates they carried.
async fn stamp(
    urls: &[String],
    digest: &[u8; 32],
    certs: &mut Vec<Certificate>,
) -> Result<Vec<(Vec<u8>, TimestampInfo)>, EvidenceError> {
    let mut out = Vec::new();
    for url in urls {
        let (der, token) = tsa::request_timestamp_verified(url, digest).await?;
        for c in token.chain {
            if !certs.contains(&c) {
                certs.push(c);
            }
        }
        out.push((der, token.info));
    }
    Ok(out)
}

/// Like [`export_bundle`], but stops between steps once `cancelled()` is true, removing
/// the partial file and returning [`EvidenceError::Cancelled`].
///
/// Two stages, so the report can print what vouches for it: every evidence file except
/// the report is listed in evidence-manifest.json, which is timestamped first; the report
/// prints that manifest's SHA-256 and token times on its cover; then manifest.json lists
/// everything (report, evidence manifest and its tokens included) and is timestamped too.
pub async fn export_bundle_cancellable(
    spec: &BundleSpec,
    out_zip: &Path,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<ExportSummary, EvidenceError> {
    let check = || {
        if cancelled() {
            Err(EvidenceError::Cancelled)
        } else {
            Ok(())
        }
    };
    validate(spec)?;
    let dir = match out_zip.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = out_zip
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| EvidenceError::Spec(format!("bad output path {}", out_zip.display())))?;
    let tmp = dir.join(format!(".{file_name}.{}.tmp", uuid::Uuid::new_v4()));
    let file = File::create(&tmp).map_err(|e| EvidenceError::io(&tmp, e))?;
    let mut guard = TempGuard(Some(tmp.clone()));

    let c = spec.created_at;
    // ZIP timestamps cannot predate 1980; clamp instead of failing.
    let time = zip::DateTime::from_date_and_time(
        c.year().clamp(1980, 2107) as u16,
        c.month() as u8,
        c.day() as u8,
        c.hour() as u8,
        c.minute() as u8,
        c.second().min(59) as u8,
    )
    .unwrap_or_default();
    let mut b = Bundle {
        zip: ZipWriter::new(file),
        tmp: tmp.clone(),
        time,
        files: Vec::new(),
        count: 0,
    };

    // Overlays are the costly part (decode, warp, encode): one exhibit per core.
    let overlays: Vec<OverlayOutcome> = spec.exhibits.par_iter().map(overlay_for).collect();
    check()?;

    let mut exhibit_files = Vec::new();
    let mut m_exhibits = Vec::new();
    let mut overlay_paths = Vec::new();
    for (e, ov) in spec.exhibits.iter().zip(&overlays) {
        let reference = manifest_file(e, &e.reference, "reference");
        let candidate = manifest_file(e, &e.candidate, "candidate");
        let overlay = ov.file.as_ref().map(|f| manifest_file(e, f, "overlay"));
        overlay_paths.push(overlay.as_ref().map(|o| o.path.clone()));
        exhibit_files.push((
            reference.path.clone(),
            candidate.path.clone(),
            reference.sha256.clone(),
            candidate.sha256.clone(),
        ));
        m_exhibits.push(ManifestExhibit {
            number: e.number,
            match_id: e.match_id.clone(),
            score: e.score,
            decision: e.decision.clone(),
            reference,
            candidate,
            screenshot: e.screenshot.as_ref().map(|f| manifest_file(e, f, "screenshot")),
            overlay,
            overlay_note: Some(ov.note.clone()),
            provenance: e.provenance.clone(),
        });
    }
    let custody_head = spec.custody.last().map(|e| e.hash.clone());

    // Everything but the report is known first, so the report can list it with its hashes.
    let mut others: Vec<(String, std::borrow::Cow<'_, [u8]>)> = Vec::new();
    for ((e, m), ov) in spec.exhibits.iter().zip(&m_exhibits).zip(&overlays) {
        others.push((m.reference.path.clone(), e.reference.bytes.as_slice().into()));
        others.push((m.candidate.path.clone(), e.candidate.bytes.as_slice().into()));
        if let (Some(f), Some(mf)) = (&e.screenshot, &m.screenshot) {
            others.push((mf.path.clone(), f.bytes.as_slice().into()));
        }
        if let (Some(f), Some(mf)) = (&ov.file, &m.overlay) {
            others.push((mf.path.clone(), f.bytes.as_slice().into()));
        }
    }
    others.push((
        CUSTODY_PATH.to_string(),
        xiezhi_store::custody::to_jsonl(&spec.custody).into(),
    ));
    if !spec.wacz.records.is_empty() {
        let wacz = build_wacz(&spec.wacz, spec.created_at, &spec.case_name)?;
        others.push((WACZ_PATH.to_string(), wacz.into()));
    }
    others.push((VERIFY_MD_PATH.to_string(), verify_md(spec).into_bytes().into()));
    check()?;
    let listed: Vec<ManifestFile> = others
        .par_iter()
        .map(|(p, b)| ManifestFile {
            path: p.clone(),
            bytes: b.len() as u64,
            sha256: sha256_hex(b),
        })
        .collect();

    // Stage 1: the evidence manifest, timestamped before the report is written.
    let created_utc = spec.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let evidence = EvidenceManifest {
        format: EVIDENCE_MANIFEST_FORMAT.to_string(),
        bundle_id: spec.bundle_id.to_string(),
        case_id: spec.case_id.clone(),
        case_name: spec.case_name.clone(),
        created_utc: created_utc.clone(),
        custody_head_hash: custody_head.clone(),
        files: listed.clone(),
        exhibits: m_exhibits.clone(),
    };
    let mut evidence_bytes = serde_json::to_vec_pretty(&evidence)?;
    evidence_bytes.push(b'\n');
    let evidence_digest: [u8; 32] = Sha256::digest(&evidence_bytes).into();
    let mut certs: Vec<Certificate> = Vec::new();
    let evidence_tokens = unless_cancelled(stamp(&spec.tsa_urls, &evidence_digest, &mut certs), cancelled).await?;
    let evidence_infos: Vec<TimestampInfo> = evidence_tokens.iter().map(|(_, i)| i.clone()).collect();
    check()?;

    let files_for_report: Vec<(String, u64, String)> = listed
        .iter()
        .map(|f| (f.path.clone(), f.bytes, f.sha256.clone()))
        .collect();
    let evidence_sha = hex::encode(evidence_digest);
    let report = pdf::render(
        spec,
        &ReportContext {
            exhibit_files: &exhibit_files,
            custody_head: custody_head.as_deref(),
            files: &files_for_report,
            evidence_manifest_sha256: &evidence_sha,
            evidence_timestamps: &evidence_infos,
            overlays: &overlays,
            overlay_paths: &overlay_paths,
        },
    )?;
    check()?;
    b.add(REPORT_PATH, &report)?;
    for ((path, bytes), f) in others.iter().zip(&listed) {
        b.add_raw(path, bytes)?;
        b.files.push(f.clone());
    }
    b.add(EVIDENCE_MANIFEST_PATH, &evidence_bytes)?;
    let mut evidence_token_paths = Vec::new();
    for (i, (der, _)) in evidence_tokens.iter().enumerate() {
        b.add(&evidence_token_path(i), der)?;
        evidence_token_paths.push(evidence_token_path(i));
    }
    check()?;

    // Stage 2: the manifest of everything, and its own tokens.
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        bundle_id: spec.bundle_id.to_string(),
        case_id: spec.case_id.clone(),
        case_name: spec.case_name.clone(),
        tool_version: spec.tool_version.clone(),
        model_id: spec.model_id.clone(),
        model_weights_sha256: spec.model_weights_sha256.clone(),
        created_utc,
        custody_head_hash: custody_head,
        custody_entries: spec.custody.len() as u64,
        timestamp: TimestampPlan {
            tokens: (0..spec.tsa_urls.len()).map(token_path).collect(),
            tsa_urls: spec.tsa_urls.clone(),
            local_test_authority: spec.tsa_is_local_test,
        },
        evidence_manifest: Some(EvidenceManifestRef {
            path: EVIDENCE_MANIFEST_PATH.to_string(),
            sha256: evidence_sha.clone(),
            tokens: evidence_token_paths,
        }),
        files: b.files.clone(),
        exhibits: m_exhibits,
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    manifest_bytes.push(b'\n');
    let manifest_digest: [u8; 32] = Sha256::digest(&manifest_bytes).into();
    b.add_raw(MANIFEST_PATH, &manifest_bytes)?;
    b.add_raw(SUMS_PATH, sha256sums(&manifest.files, &manifest_bytes).as_bytes())?;

    let tokens = unless_cancelled(stamp(&spec.tsa_urls, &manifest_digest, &mut certs), cancelled).await?;
    let mut timestamps = Vec::new();
    for (i, (der, info)) in tokens.into_iter().enumerate() {
        b.add_raw(&token_path(i), &der)?;
        timestamps.push(info);
    }
    if !spec.tsa_urls.is_empty() {
        b.add_raw(CHAIN_PATH, tsa::chain_pem(&certs)?.as_bytes())?;
    }
    check()?;

    let files = b.count;
    let file = b.zip.finish().map_err(|source| EvidenceError::Zip {
        path: tmp.clone(),
        source,
    })?;
    file.sync_all().map_err(|e| EvidenceError::io(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, out_zip).map_err(|e| EvidenceError::io(out_zip, e))?;
    guard.0 = None;
    // Make the rename itself durable.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }

    let bundle_sha256 = hash_file(out_zip)?;
    Ok(ExportSummary {
        bundle_sha256,
        manifest_sha256: hex::encode(manifest_digest),
        files,
        timestamps,
        evidence_manifest_sha256: evidence_sha,
        evidence_timestamps: evidence_infos,
    })
}

/// `sha256sum -c` format over the manifest's files plus manifest.json, sorted by path.
pub(crate) fn sha256sums(files: &[ManifestFile], manifest_bytes: &[u8]) -> String {
    let mut lines: Vec<(String, String)> = files.iter().map(|f| (f.path.clone(), f.sha256.clone())).collect();
    lines.push((MANIFEST_PATH.to_string(), sha256_hex(manifest_bytes)));
    lines.sort();
    lines.into_iter().map(|(p, h)| format!("{h}  {p}\n")).collect()
}

pub(crate) fn hash_file(p: &Path) -> Result<String, EvidenceError> {
    let mut f = File::open(p).map_err(|e| EvidenceError::io(p, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| EvidenceError::io(p, e))?;
    Ok(hex::encode(h.finalize()))
}
