//! Verifying the two-stage seal: a token's line in the report, and the first-stage
//! evidence manifest against the final manifest.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::model::*;
use crate::tsa;

/// One verified token's line: what it covers, when, who signed, and the trust-anchor check.
pub(crate) fn token_detail(
    tp: &str,
    covers: &str,
    tok: &tsa::VerifiedToken,
    anchors: Option<&[Certificate]>,
    manifest: &Manifest,
) -> (bool, String) {
    let mut detail = format!(
        "{tp}: imprint = sha256({covers}), genTime {}, signer \"{}\", serial {}, policy {}; signature valid",
        tok.info.gen_time, tok.info.signer_subject, tok.info.serial, tok.info.policy_oid
    );
    let mut ok = true;
    match anchors {
        None => detail.push_str("; TSA certificate not checked against a trust anchor"),
        Some(a) => match tsa::check_anchor(&tok.chain, a) {
            Ok(s) => detail.push_str(&format!("; {s}")),
            Err(e) => {
                ok = false;
                detail = format!("{tp}: {e}");
            }
        },
    }
    if manifest.timestamp.local_test_authority {
        detail.push_str("; NOTE: issued by a local TEST authority, not a trusted TSA");
    }
    (ok, detail)
}

/// The first-stage manifest agrees with manifest.json: same bundle, same exhibits, and every
/// file it lists is in the final list with the same size and hash (so the files it vouches
/// for are the ones in the bundle).
pub(crate) fn check_evidence_manifest(
    bytes: &[u8],
    declared: &str,
    manifest: &Manifest,
) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    let sha = hex::encode(Sha256::digest(bytes));
    if sha != declared {
        problems.push(format!(
            "sha256 {sha} differs from the {declared} manifest.json records"
        ));
    }
    let em: EvidenceManifest = serde_json::from_slice(bytes).map_err(|e| vec![format!("does not parse: {e}")])?;
    if em.format != EVIDENCE_MANIFEST_FORMAT {
        problems.push(format!("unknown format {:?}", em.format));
    }
    if em.bundle_id != manifest.bundle_id || em.case_id != manifest.case_id {
        problems.push("bundle or case id differs from manifest.json".into());
    }
    if em.exhibits != manifest.exhibits {
        problems.push("its exhibits differ from manifest.json's".into());
    }
    if em.custody_head_hash != manifest.custody_head_hash {
        problems.push("its custody head differs from manifest.json's".into());
    }
    let by_path: BTreeMap<&str, &ManifestFile> = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    for f in &em.files {
        match by_path.get(f.path.as_str()) {
            Some(m) if m.sha256 == f.sha256 && m.bytes == f.bytes => {}
            Some(_) => problems.push(format!("{}: hash or size differs from manifest.json", f.path)),
            None => problems.push(format!("lists {}, which manifest.json does not", f.path)),
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "{EVIDENCE_MANIFEST_PATH}: sha256 {sha}, {} evidence files and {} exhibits, all as in manifest.json",
            em.files.len(),
            em.exhibits.len()
        ))
    } else {
        Err(problems)
    }
}
