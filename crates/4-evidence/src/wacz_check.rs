//! Verifying a bundle's `capture.wacz`: safe to open, datapackage hashes right, the WARC
//! readable, and every crawled exhibit's candidate bytes present as a response payload.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

use sha2::{Digest, Sha256};

use crate::export::safe_rel_path;
use crate::model::Manifest;
use crate::wacz::WACZ_PATH;
use crate::warc_record::{members, payload_digest_matches};

const MAX_WACZ_ENTRIES: usize = 10_000;
const MAX_WACZ_BYTES: u64 = 4 << 30;

fn sha_prefixed(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// Every problem found, each naming capture.wacz and the part at fault.
pub(crate) fn check_wacz(bytes: &[u8], manifest: &Manifest) -> Result<String, Vec<String>> {
    let fail = |m: String| vec![format!("{WACZ_PATH}: {m}")];
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| fail(format!("not a readable ZIP: {e}")))?;
    if zip.len() > MAX_WACZ_ENTRIES {
        return Err(fail(format!("{} entries (limit {MAX_WACZ_ENTRIES})", zip.len())));
    }
    // Structure first, from the central directory only.
    let mut total = 0u64;
    let mut names = Vec::new();
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(|e| fail(format!("entry #{i}: {e}")))?;
        let name = f.name().to_string();
        if f.is_dir() {
            continue;
        }
        if !safe_rel_path(&name) {
            return Err(fail(format!("{name}: unsafe path")));
        }
        total = total.saturating_add(f.size());
        if f.size() > (1 << 20) && f.size() / f.compressed_size().max(1) > 200 {
            return Err(fail(format!("{name}: suspicious compression ratio")));
        }
        names.push((i, name, f.size()));
    }
    if total > MAX_WACZ_BYTES {
        return Err(fail(format!("{total} bytes uncompressed exceeds {MAX_WACZ_BYTES}")));
    }
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (i, name, size) in names {
        let f = zip.by_index(i).map_err(|e| fail(format!("{name}: {e}")))?;
        let mut b = Vec::new();
        f.take(size + 1)
            .read_to_end(&mut b)
            .map_err(|e| fail(format!("{name}: cannot be read: {e}")))?;
        if b.len() as u64 != size {
            return Err(fail(format!("{name}: size differs from the ZIP directory")));
        }
        files.insert(name, b);
    }

    let mut problems = Vec::new();
    let Some(dp_bytes) = files.get("datapackage.json") else {
        return Err(fail("datapackage.json is missing".into()));
    };
    match files
        .get("datapackage-digest.json")
        .map(|b| serde_json::from_slice::<serde_json::Value>(b))
    {
        Some(Ok(d)) if d["hash"].as_str() == Some(sha_prefixed(dp_bytes).as_str()) => {}
        Some(Ok(_)) => problems.push("datapackage-digest.json: hash does not match datapackage.json".into()),
        Some(Err(e)) => problems.push(format!("datapackage-digest.json does not parse: {e}")),
        None => problems.push("datapackage-digest.json is missing".into()),
    }
    let dp: serde_json::Value =
        serde_json::from_slice(dp_bytes).map_err(|e| fail(format!("datapackage.json does not parse: {e}")))?;
    if dp["profile"].as_str() != Some("data-package") {
        problems.push("datapackage.json: profile is not data-package".into());
    }
    let mut listed = BTreeSet::new();
    for r in dp["resources"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let path = r["path"].as_str().unwrap_or("");
        listed.insert(path.to_string());
        match files.get(path) {
            None => problems.push(format!("datapackage.json lists {path:?}, which is missing")),
            Some(b) => {
                if r["hash"].as_str() != Some(sha_prefixed(b).as_str()) {
                    problems.push(format!("{path}: sha256 does not match datapackage.json"));
                }
                if r["bytes"].as_u64() != Some(b.len() as u64) {
                    problems.push(format!("{path}: size does not match datapackage.json"));
                }
            }
        }
    }
    for name in files.keys() {
        if name != "datapackage.json" && name != "datapackage-digest.json" && !listed.contains(name) {
            problems.push(format!("{name} is not listed in datapackage.json"));
        }
    }

    // Payloads of every response record, by URL.
    let mut payloads: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut records = 0;
    for (name, b) in files.iter().filter(|(n, _)| n.starts_with("archive/")) {
        match members(b) {
            Err(e) => problems.push(format!("{name}: {e}")),
            Ok(recs) => {
                for (off, _, rec) in recs {
                    records += 1;
                    let Some(http) = rec.http_response() else { continue };
                    if let Some(d) = rec.header("WARC-Payload-Digest") {
                        if !payload_digest_matches(d, http.body) {
                            problems.push(format!(
                                "{name}: record at offset {off}: WARC-Payload-Digest does not match its payload"
                            ));
                        }
                    }
                    if let Some(u) = rec.header("WARC-Target-URI") {
                        payloads
                            .entry(u.to_string())
                            .or_default()
                            .insert(hex::encode(Sha256::digest(http.body)));
                    }
                }
            }
        }
    }
    let mut found = 0;
    for e in &manifest.exhibits {
        let Some(url) = &e.provenance.url else { continue };
        if e.provenance.warc_file.is_none() {
            continue; // a local file checked with `xiezhi check`: nothing was captured
        }
        if payloads.get(url).is_some_and(|s| s.contains(&e.candidate.sha256)) {
            found += 1;
        } else {
            problems.push(format!(
                "exhibit {:03}: no response record for {url} with payload sha256 {}",
                e.number, e.candidate.sha256
            ));
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "{WACZ_PATH}: datapackage hashes match, {records} WARC records readable, {found} exhibit payloads found with matching digests"
        ))
    } else {
        Err(problems.into_iter().map(|p| format!("{WACZ_PATH}: {p}")).collect())
    }
}
