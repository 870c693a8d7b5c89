//! Offline bundle verification. Reads the ZIP defensively (it may come from
//! anyone) and reports every check, naming the file at fault.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::export::{safe_rel_path, sha256sums};
use crate::model::*;
use crate::tsa::{self, TimestampInfo};
use crate::verify_stage1::{check_evidence_manifest, token_detail};
use crate::wacz::WACZ_PATH;
use crate::wacz_check::check_wacz;
use crate::zip_section::open_entry;
use crate::EvidenceError;

/// Zip-bomb and resource limits.
pub const MAX_ENTRIES: usize = 100_000;
pub const MAX_TOTAL_BYTES: u64 = 4 << 30;
/// Entries larger than this must not expand more than MAX_RATIO times.
const RATIO_MIN_BYTES: u64 = 1 << 20;
const MAX_RATIO: u64 = 200;
/// Metadata files are held in memory; exhibits and captures (capture.wacz) are streamed.
const MAX_META_BYTES: u64 = 256 << 20;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub checks: Vec<Check>,
    /// SHA-256 of manifest.json, when it could be read.
    pub manifest_sha256: Option<String>,
    pub timestamps: Vec<TimestampInfo>,
    /// SHA-256 of evidence-manifest.json (the value on the report's cover) and its tokens.
    #[serde(default)]
    pub evidence_manifest_sha256: Option<String>,
    #[serde(default)]
    pub evidence_timestamps: Vec<TimestampInfo>,
}

impl VerifyReport {
    fn push(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_string(),
            ok,
            detail: detail.into(),
        });
    }
    fn done(mut self) -> Self {
        self.ok = !self.checks.is_empty() && self.checks.iter().all(|c| c.ok);
        self
    }
}

struct Entry {
    size: u64,
    sha256: Option<String>,
    /// Content for metadata files; None for streamed ones.
    bytes: Option<Vec<u8>>,
    error: Option<String>,
}

fn is_meta(p: &str) -> bool {
    p == MANIFEST_PATH
        || p == SUMS_PATH
        || p == CUSTODY_PATH
        || p == EVIDENCE_MANIFEST_PATH
        || p.starts_with("timestamp/")
}

/// Verify the bundle at `path`. `ca_pem`: trust anchor(s) for the TSA.
/// Returns Err only when the inputs cannot be opened at all; anything wrong
/// with the bundle itself is a failed check in the report.
pub fn verify_bundle(path: &Path, ca_pem: Option<&Path>) -> Result<VerifyReport, EvidenceError> {
    let anchors: Option<Vec<Certificate>> = match ca_pem {
        None => None,
        Some(p) => {
            let pem = std::fs::read(p).map_err(|e| EvidenceError::io(p, e))?;
            let certs = Certificate::load_pem_chain(&pem).map_err(|e| EvidenceError::TrustAnchor {
                path: p.to_path_buf(),
                reason: e.to_string(),
            })?;
            if certs.is_empty() {
                return Err(EvidenceError::TrustAnchor {
                    path: p.to_path_buf(),
                    reason: "no certificates in file".into(),
                });
            }
            Some(certs)
        }
    };
    let file = File::open(path).map_err(|e| EvidenceError::io(path, e))?;
    let mut r = VerifyReport {
        ok: false,
        checks: Vec::new(),
        manifest_sha256: None,
        timestamps: Vec::new(),
        evidence_manifest_sha256: None,
        evidence_timestamps: Vec::new(),
    };
    let bundle_name = path.display().to_string();
    let mut zip = match zip::ZipArchive::new(file) {
        Ok(z) => z,
        Err(e) => {
            r.push("archive", false, format!("{bundle_name}: not a readable ZIP: {e}"));
            return Ok(r.done());
        }
    };

    // Pass 1: structure only (central directory), nothing decompressed.
    let mut problems = Vec::new();
    if zip.len() > MAX_ENTRIES {
        problems.push(format!("{} entries (limit {MAX_ENTRIES})", zip.len()));
    }
    let mut names: Vec<(usize, String, u64)> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut total: u64 = 0;
    for i in 0..zip.len().min(MAX_ENTRIES + 1) {
        let f = match zip.by_index_raw(i) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("entry #{i}: {e}"));
                continue;
            }
        };
        let name = match std::str::from_utf8(f.name_raw()) {
            Ok(n) => n.to_string(),
            Err(_) => {
                problems.push(format!("entry #{i}: name is not UTF-8"));
                continue;
            }
        };
        if f.is_dir() {
            let trimmed = name.trim_end_matches('/');
            if !safe_rel_path(trimmed) {
                problems.push(format!("{name}: unsafe directory path"));
            }
            continue;
        }
        if !safe_rel_path(&name) {
            problems.push(format!("{name}: unsafe path (absolute, `..`, or odd characters)"));
            continue;
        }
        if !seen.insert(name.clone()) {
            problems.push(format!("{name}: appears twice in the archive"));
            continue;
        }
        let (size, csize) = (f.size(), f.compressed_size());
        total = total.saturating_add(size);
        if size > RATIO_MIN_BYTES && size / csize.max(1) > MAX_RATIO {
            problems.push(format!(
                "{name}: compression ratio {}:1 is suspicious",
                size / csize.max(1)
            ));
        }
        names.push((i, name, size));
    }
    if total > MAX_TOTAL_BYTES {
        problems.push(format!("total uncompressed size {total} exceeds {MAX_TOTAL_BYTES}"));
    }
    if !problems.is_empty() {
        r.push("archive safety", false, problems.join("; "));
        return Ok(r.done());
    }
    r.push(
        "archive safety",
        true,
        format!("{} files, {total} bytes, all paths relative", names.len()),
    );

    // Pass 2: stream every entry, never reading past its declared size.
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let wacz_index = names.iter().find(|(_, n, _)| n == WACZ_PATH).map(|(i, _, _)| *i);
    for (i, name, size) in names {
        let mut e = Entry {
            size,
            sha256: None,
            bytes: None,
            error: None,
        };
        let keep = is_meta(&name);
        if keep && size > MAX_META_BYTES {
            e.error = Some(format!("{size} bytes is too large for a metadata file"));
            entries.insert(name, e);
            continue;
        }
        match zip.by_index(i) {
            Err(err) => e.error = Some(err.to_string()),
            Ok(f) => {
                let mut h = Sha256::new();
                let mut kept = Vec::new();
                let mut n: u64 = 0;
                let mut limited = f.take(size.saturating_add(1));
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    match limited.read(&mut buf) {
                        Ok(0) => break,
                        Ok(k) => {
                            h.update(&buf[..k]);
                            if keep {
                                kept.extend_from_slice(&buf[..k]);
                            }
                            n += k as u64;
                        }
                        Err(err) => {
                            e.error = Some(format!("cannot be read: {err}"));
                            break;
                        }
                    }
                }
                if e.error.is_none() && n != size {
                    e.error = Some(format!("holds {n} bytes but the ZIP declares {size}"));
                }
                e.sha256 = Some(hex::encode(h.finalize()));
                if keep {
                    e.bytes = Some(kept);
                }
            }
        }
        entries.insert(name, e);
    }
    let unreadable: Vec<String> = entries
        .iter()
        .filter_map(|(n, e)| e.error.as_ref().map(|err| format!("{n}: {err}")))
        .collect();
    r.push(
        "archive entries readable",
        unreadable.is_empty(),
        if unreadable.is_empty() {
            "every entry decompresses with a valid CRC".to_string()
        } else {
            unreadable.join("; ")
        },
    );

    // Manifest.
    let manifest_bytes = match entries.get(MANIFEST_PATH).and_then(|e| e.bytes.clone()) {
        Some(b) => b,
        None => {
            r.push("manifest", false, format!("{MANIFEST_PATH} is missing"));
            return Ok(r.done());
        }
    };
    let manifest_digest: [u8; 32] = Sha256::digest(&manifest_bytes).into();
    r.manifest_sha256 = Some(hex::encode(manifest_digest));
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            r.push("manifest", false, format!("{MANIFEST_PATH} does not parse: {e}"));
            return Ok(r.done());
        }
    };
    let mut bad_listing = Vec::new();
    if manifest.format != MANIFEST_FORMAT {
        bad_listing.push(format!("unknown format {:?}", manifest.format));
    }
    let mut listed = BTreeSet::new();
    let stage1_tokens: BTreeSet<&str> = manifest
        .evidence_manifest
        .iter()
        .flat_map(|m| m.tokens.iter().map(String::as_str))
        .collect();
    for f in &manifest.files {
        let reserved = f.path == MANIFEST_PATH
            || f.path == SUMS_PATH
            || (f.path.starts_with("timestamp/") && !stage1_tokens.contains(f.path.as_str()));
        if !safe_rel_path(&f.path) || reserved {
            bad_listing.push(format!("lists a reserved or unsafe path {:?}", f.path));
        }
        if !listed.insert(f.path.clone()) {
            bad_listing.push(format!("lists {} twice", f.path));
        }
    }
    r.push(
        "manifest",
        bad_listing.is_empty(),
        if bad_listing.is_empty() {
            format!(
                "{MANIFEST_PATH} parses: bundle {}, case \"{}\", {} files, {} exhibits, sha256 {}",
                manifest.bundle_id,
                manifest.case_name,
                manifest.files.len(),
                manifest.exhibits.len(),
                hex::encode(manifest_digest)
            )
        } else {
            format!("{MANIFEST_PATH}: {}", bad_listing.join("; "))
        },
    );

    // Files against the manifest.
    let mut bad = Vec::new();
    for f in &manifest.files {
        match entries.get(&f.path) {
            None => bad.push(format!("{}: missing from the bundle", f.path)),
            Some(e) if e.size != f.bytes => {
                bad.push(format!("{}: {} bytes, manifest says {}", f.path, e.size, f.bytes))
            }
            Some(e) if e.sha256.as_deref() != Some(f.sha256.as_str()) => bad.push(format!(
                "{}: sha256 {} does not match manifest {}",
                f.path,
                e.sha256.as_deref().unwrap_or("?"),
                f.sha256
            )),
            Some(_) => {}
        }
    }
    r.push(
        "files match manifest",
        bad.is_empty(),
        if bad.is_empty() {
            format!(
                "all {} listed files present with matching size and sha256",
                manifest.files.len()
            )
        } else {
            bad.join("; ")
        },
    );

    // Nothing unlisted.
    let mut allowed: BTreeSet<String> = listed.clone();
    allowed.insert(MANIFEST_PATH.into());
    allowed.insert(SUMS_PATH.into());
    for t in &manifest.timestamp.tokens {
        allowed.insert(t.clone());
    }
    if !manifest.timestamp.tokens.is_empty() {
        allowed.insert(CHAIN_PATH.into());
    }
    let extra: Vec<&String> = entries.keys().filter(|k| !allowed.contains(*k)).collect();
    r.push(
        "no extra files",
        extra.is_empty(),
        if extra.is_empty() {
            "every file is accounted for".to_string()
        } else {
            format!(
                "not listed in manifest.json: {}",
                extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )
        },
    );

    // SHA256SUMS must be exactly what the manifest implies, and match the files.
    match entries.get(SUMS_PATH).and_then(|e| e.bytes.as_ref()) {
        None => r.push("SHA256SUMS", false, format!("{SUMS_PATH} is missing")),
        Some(sums) => {
            let expected = sha256sums(&manifest.files, &manifest_bytes);
            if sums.as_slice() == expected.as_bytes() {
                r.push(
                    "SHA256SUMS",
                    true,
                    format!("{SUMS_PATH} matches manifest.json and the files"),
                );
            } else {
                let mut diffs = Vec::new();
                let text = String::from_utf8_lossy(sums);
                let exp: BTreeMap<&str, &str> = expected
                    .lines()
                    .filter_map(|l| l.split_once("  ").map(|(h, p)| (p, h)))
                    .collect();
                let mut got_paths = BTreeSet::new();
                for (n, line) in text.lines().enumerate() {
                    match line.split_once("  ") {
                        Some((h, p)) => {
                            got_paths.insert(p.to_string());
                            match exp.get(p) {
                                Some(e) if *e == h => {}
                                Some(_) => {
                                    diffs.push(format!("{SUMS_PATH} line {}: hash for {p} differs from {p}", n + 1))
                                }
                                None => diffs.push(format!("{SUMS_PATH} line {}: unexpected path {p:?}", n + 1)),
                            }
                        }
                        None => diffs.push(format!("{SUMS_PATH} line {}: malformed", n + 1)),
                    }
                }
                for p in exp.keys() {
                    if !got_paths.contains(*p) {
                        diffs.push(format!("{SUMS_PATH}: no line for {p}"));
                    }
                }
                if diffs.is_empty() {
                    diffs.push(format!("{SUMS_PATH} is not in canonical form"));
                }
                r.push("SHA256SUMS", false, diffs.join("; "));
            }
        }
    }

    // Exhibits refer to files the manifest actually lists, with the same hashes.
    let by_path: BTreeMap<&str, &ManifestFile> = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut ex_bad = Vec::new();
    for e in &manifest.exhibits {
        for f in [
            Some(&e.reference),
            Some(&e.candidate),
            e.screenshot.as_ref(),
            e.overlay.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            match by_path.get(f.path.as_str()) {
                Some(m) if m.sha256 == f.sha256 => {}
                Some(_) => ex_bad.push(format!(
                    "exhibit {}: {} hash disagrees with the file list",
                    e.number, f.path
                )),
                None => ex_bad.push(format!("exhibit {}: {} not in the file list", e.number, f.path)),
            }
        }
    }
    r.push(
        "exhibits",
        ex_bad.is_empty(),
        if ex_bad.is_empty() {
            format!("{} exhibits consistent with the file list", manifest.exhibits.len())
        } else {
            format!("{MANIFEST_PATH}: {}", ex_bad.join("; "))
        },
    );

    // Web captures: the WACZ is checked on its own terms, and against the exhibits.
    let crawled = manifest.exhibits.iter().any(|e| e.provenance.warc_file.is_some());
    match wacz_index {
        Some(i) if entries.get(WACZ_PATH).is_some_and(|e| e.error.is_none()) => {
            let checked = open_entry(path, &mut zip, i).and_then(|f| check_wacz(f, &manifest));
            match checked {
                Ok(detail) => r.push("web captures (WACZ)", true, detail),
                Err(problems) => r.push("web captures (WACZ)", false, problems.join("; ")),
            }
        }
        Some(_) => r.push(
            "web captures (WACZ)",
            false,
            format!("{WACZ_PATH} cannot be read (see archive entries)"),
        ),
        None if crawled => r.push(
            "web captures (WACZ)",
            false,
            format!("{WACZ_PATH} is missing but exhibits were captured from the web"),
        ),
        None => r.push("web captures (WACZ)", true, "no web captures (local files only)"),
    }

    // Custody log.
    match entries.get(CUSTODY_PATH).and_then(|e| e.bytes.as_ref()) {
        None => r.push("custody chain", false, format!("{CUSTODY_PATH} is missing")),
        Some(b) => match xiezhi_store::custody::parse_jsonl(b) {
            Err(e) => r.push("custody chain", false, format!("{CUSTODY_PATH}: {e}")),
            Ok(log) => match xiezhi_store::custody::verify_chain(&log) {
                Err(e) => r.push("custody chain", false, format!("{CUSTODY_PATH}: chain broken at {e}")),
                Ok(()) => {
                    let head = log.last().map(|e| e.hash.clone());
                    if head != manifest.custody_head_hash || log.len() as u64 != manifest.custody_entries {
                        r.push(
                            "custody chain",
                            false,
                            format!(
                                "{CUSTODY_PATH}: head {} ({} entries) but manifest.json records {} ({} entries)",
                                head.as_deref().unwrap_or("none"),
                                log.len(),
                                manifest.custody_head_hash.as_deref().unwrap_or("none"),
                                manifest.custody_entries
                            ),
                        );
                    } else {
                        r.push(
                            "custody chain",
                            true,
                            format!(
                                "{CUSTODY_PATH}: {} entries, chain intact, head {} matches manifest.json",
                                log.len(),
                                head.as_deref().unwrap_or("none")
                            ),
                        );
                    }
                }
            },
        },
    }

    // First stage: the evidence manifest the report's cover prints, and its tokens.
    let mut certs: Vec<Certificate> = Vec::new();
    let mut stage1_tokens_ok = true;
    if let Some(em) = &manifest.evidence_manifest {
        let name = "evidence manifest";
        match entries.get(&em.path).and_then(|e| e.bytes.as_ref()) {
            None => r.push(name, false, format!("{} is missing", em.path)),
            Some(b) => {
                let digest: [u8; 32] = Sha256::digest(b).into();
                r.evidence_manifest_sha256 = Some(hex::encode(digest));
                match check_evidence_manifest(b, &em.sha256, &manifest) {
                    Ok(detail) => r.push(name, true, detail),
                    Err(problems) => r.push(name, false, format!("{}: {}", em.path, problems.join("; "))),
                }
                for tp in &em.tokens {
                    let check = format!("timestamp {tp}");
                    let Some(der) = entries.get(tp).and_then(|e| e.bytes.as_ref()) else {
                        r.push(&check, false, format!("{tp} is missing"));
                        stage1_tokens_ok = false;
                        continue;
                    };
                    match tsa::verify_token(der, &digest, None) {
                        Err(e) => {
                            stage1_tokens_ok = false;
                            r.push(&check, false, format!("{tp}: {e}"));
                        }
                        Ok(tok) => {
                            let (ok, detail) = token_detail(tp, &em.path, &tok, anchors.as_deref(), &manifest);
                            r.push(&check, ok, detail);
                            for c in tok.chain {
                                if !certs.contains(&c) {
                                    certs.push(c);
                                }
                            }
                            r.evidence_timestamps.push(tok.info);
                        }
                    }
                }
            }
        }
    }

    // Timestamps.
    if manifest.timestamp.tokens.is_empty() {
        r.push(
            "timestamp",
            true,
            "no timestamp was requested for this bundle (nothing attests its time)",
        );
    }
    let mut tokens_ok = stage1_tokens_ok;
    for tp in &manifest.timestamp.tokens {
        let name = format!("timestamp {tp}");
        let Some(der) = entries.get(tp).and_then(|e| e.bytes.as_ref()) else {
            r.push(&name, false, format!("{tp} is missing"));
            tokens_ok = false;
            continue;
        };
        match tsa::verify_token(der, &manifest_digest, None) {
            Err(e) => {
                tokens_ok = false;
                r.push(&name, false, format!("{tp}: {e}"));
            }
            Ok(tok) => {
                let (ok, detail) = token_detail(tp, MANIFEST_PATH, &tok, anchors.as_deref(), &manifest);
                r.push(&name, ok, detail);
                for c in tok.chain {
                    if !certs.contains(&c) {
                        certs.push(c);
                    }
                }
                r.timestamps.push(tok.info);
            }
        }
    }
    if !manifest.timestamp.tokens.is_empty() {
        match entries.get(CHAIN_PATH).and_then(|e| e.bytes.as_ref()) {
            None => r.push(CHAIN_PATH, false, format!("{CHAIN_PATH} is missing")),
            Some(b) if tokens_ok => {
                let expected = tsa::chain_pem(&certs)?;
                let ok = b.as_slice() == expected.as_bytes();
                r.push(
                    CHAIN_PATH,
                    ok,
                    if ok {
                        format!("{CHAIN_PATH} matches the certificates in the tokens")
                    } else {
                        format!("{CHAIN_PATH} differs from the certificates in the tokens")
                    },
                );
            }
            Some(_) => r.push(
                CHAIN_PATH,
                false,
                format!("{CHAIN_PATH} not checked: a timestamp token is invalid"),
            ),
        }
    }
    Ok(r.done())
}
