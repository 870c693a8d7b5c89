//! Verifying a bundle's `capture.wacz`: safe to open, datapackage hashes right, the WARC
//! readable, and every crawled exhibit's candidate bytes present as a response payload (or,
//! for an image decoded from a `data:` URI, as a `resource` record for `urn:sha256:<hex>`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Read, Seek};

use sha2::{Digest, Sha256};

use crate::export::safe_rel_path;
use crate::model::Manifest;
use crate::wacz::WACZ_PATH;
use crate::warc_record::{for_each_member, payload_digest_matches, WarcRecord};

const MAX_WACZ_ENTRIES: usize = 10_000;
const MAX_WACZ_BYTES: u64 = 4 << 30;
/// Index, pages and datapackage files are read into memory; WARCs are streamed.
const MAX_SMALL_FILE: u64 = 256 << 20;

/// Hashes and counts what is read through it.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
    n: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.sha.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
}

fn sha_prefixed(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// Every problem found, each naming capture.wacz and the part at fault. `wacz` reads the
/// WACZ itself (a section of the bundle file, or a temporary copy): nothing but its small
/// files is held in memory, so its size is bounded only by the archive limits.
pub(crate) fn check_wacz<R: Read + Seek>(wacz: R, manifest: &Manifest) -> Result<String, Vec<String>> {
    let fail = |m: String| vec![format!("{WACZ_PATH}: {m}")];
    let mut zip = zip::ZipArchive::new(wacz).map_err(|e| fail(format!("not a readable ZIP: {e}")))?;
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
    // (sha256:…, bytes) of every file, WARCs included.
    let mut hashes: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut payloads: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut records = 0;
    for (i, name, size) in names {
        let f = zip.by_index(i).map_err(|e| fail(format!("{name}: {e}")))?;
        let mut h = Hashing {
            inner: f.take(size + 1),
            sha: Sha256::new(),
            n: 0,
        };
        if name.starts_with("archive/") {
            // Payloads of every response record, by URL, read as the WARC streams past.
            let mut reader = BufReader::with_capacity(1 << 16, &mut h);
            let walked = for_each_member(&mut reader, |off, rec| {
                records += 1;
                note_payload(&name, off, &rec, &mut payloads, &mut problems);
            });
            if let Err(e) = walked {
                problems.push(format!("{name}: {e}"));
            }
            // Whatever follows a broken member still counts towards the file's hash.
            std::io::copy(&mut reader, &mut std::io::sink())
                .map_err(|e| fail(format!("{name}: cannot be read: {e}")))?;
        } else {
            if size > MAX_SMALL_FILE {
                return Err(fail(format!(
                    "{name}: {size} bytes is too large for an index or metadata file"
                )));
            }
            let mut b = Vec::new();
            h.read_to_end(&mut b)
                .map_err(|e| fail(format!("{name}: cannot be read: {e}")))?;
            files.insert(name.clone(), b);
        }
        if h.n != size {
            return Err(fail(format!("{name}: size differs from the ZIP directory")));
        }
        hashes.insert(name, (format!("sha256:{}", hex::encode(h.sha.finalize())), h.n));
    }

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
        match hashes.get(path) {
            None => problems.push(format!("datapackage.json lists {path:?}, which is missing")),
            Some((sha, n)) => {
                if r["hash"].as_str() != Some(sha.as_str()) {
                    problems.push(format!("{path}: sha256 does not match datapackage.json"));
                }
                if r["bytes"].as_u64() != Some(*n) {
                    problems.push(format!("{path}: size does not match datapackage.json"));
                }
            }
        }
    }
    for name in hashes.keys() {
        if name != "datapackage.json" && name != "datapackage-digest.json" && !listed.contains(name) {
            problems.push(format!("{name} is not listed in datapackage.json"));
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
                "exhibit {:03}: no response or data: resource record for {url} with payload sha256 {}",
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

/// Checks a response record's payload digest and remembers its payload hash by URL. A
/// `resource` record for `urn:sha256:<hex>` (an image decoded from a `data:` URI) counts
/// too: its payload is the whole block, which must hash to the URN's own digest.
fn note_payload(
    name: &str,
    off: u64,
    rec: &WarcRecord,
    payloads: &mut BTreeMap<String, BTreeSet<String>>,
    problems: &mut Vec<String>,
) {
    let target = rec.header("WARC-Target-URI");
    let inline_hex = target.and_then(|u| u.strip_prefix("urn:sha256:"));
    let payload = match (rec.http_response(), inline_hex) {
        (Some(http), _) => http.body,
        (None, Some(hex)) if rec.header("WARC-Type") == Some("resource") => {
            if hex::encode(Sha256::digest(&rec.block)) != hex.to_ascii_lowercase() {
                problems.push(format!(
                    "{name}: record at offset {off}: block does not hash to its target urn:sha256:{hex}"
                ));
            }
            &rec.block
        }
        _ => return,
    };
    match rec.header("WARC-Payload-Digest") {
        Some(d) if !payload_digest_matches(d, payload) => problems.push(format!(
            "{name}: record at offset {off}: WARC-Payload-Digest does not match its payload"
        )),
        // The crawler always writes one for decoded images; a resource without it is not ours.
        None if inline_hex.is_some() && rec.http_response().is_none() => problems.push(format!(
            "{name}: record at offset {off}: resource record has no WARC-Payload-Digest"
        )),
        _ => {}
    }
    if let Some(u) = target {
        payloads
            .entry(u.to_string())
            .or_default()
            .insert(hex::encode(Sha256::digest(payload)));
    }
}
