//! `capture.wacz` (WACZ 1.2): the WARC records behind the exhibits, copied byte for
//! byte out of the case's WARC files into one new `.warc.gz`, with a CDXJ index, a
//! pages list and a datapackage carrying the SHA-256 of each file, so ReplayWeb.page
//! (or `wacz validate`) opens it without Xiezhi.

use std::collections::BTreeSet;
use std::io::{Cursor, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::warc_record::{read_member, WarcRecord};
use crate::EvidenceError;

pub const WACZ_PATH: &str = "capture.wacz";
pub const WACZ_WARC: &str = "archive/data.warc.gz";
/// The published WACZ version (py-wacz `validate` accepts exactly this); the layout is the one
/// issue 5 describes (STORED archives, CDXJ index, pages.jsonl, datapackage + digest).
pub const WACZ_VERSION: &str = "1.1.1";

/// One record to copy: the gzip member at `offset` of the case WARC file `warc_path`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordRef {
    pub warc_path: PathBuf,
    pub offset: u64,
}

/// A page the exhibits were found on (or the exhibit image itself) for pages.jsonl.
#[derive(Clone, Debug)]
pub struct WaczPage {
    pub url: String,
    pub title: Option<String>,
    /// Capture time, RFC 3339.
    pub ts: String,
}

#[derive(Clone, Debug, Default)]
pub struct WaczSpec {
    pub records: Vec<RecordRef>,
    pub pages: Vec<WaczPage>,
}

/// Sort-friendly URL key (SURT) as pywb writes it: host labels reversed, `www.` and the
/// scheme dropped, lower-cased, query arguments sorted.
pub fn surt(raw: &str) -> String {
    let Ok(u) = url::Url::parse(raw) else {
        return raw.to_ascii_lowercase();
    };
    let host = u
        .host_str()
        .unwrap_or("")
        .trim_start_matches("www.")
        .to_ascii_lowercase();
    let mut key: String = if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        host
    } else {
        host.split('.').rev().collect::<Vec<_>>().join(",")
    };
    if let Some(p) = u.port() {
        key.push_str(&format!(":{p}"));
    }
    key.push(')');
    key.push_str(&u.path().to_ascii_lowercase());
    if let Some(q) = u.query() {
        let mut args: Vec<&str> = q.split('&').collect();
        args.sort();
        key.push('?');
        key.push_str(&args.join("&").to_ascii_lowercase());
    }
    key
}

/// `2026-03-01T10:11:12.345Z` → `20260301101112`.
fn cdx_timestamp(warc_date: &str) -> String {
    warc_date.chars().filter(char::is_ascii_digit).take(14).collect()
}

/// One CDXJ line for a record at (offset, length) of the WACZ's WARC, if it is replayable.
fn cdxj_line(rec: &WarcRecord, offset: u64, length: u64, responses: &BTreeSet<String>) -> Option<String> {
    let kind = rec.header("WARC-Type")?;
    let target = rec.header("WARC-Target-URI")?;
    // A page screenshot is a resource record with the page's own URL; indexing it under that
    // URL would shadow the page, so it is listed as `urn:view:<url>` (as Browsertrix does).
    let view;
    let url = if kind == "resource" && responses.contains(target) {
        view = format!("urn:view:{target}");
        view.as_str()
    } else {
        target
    };
    let ts = cdx_timestamp(rec.header("WARC-Date").unwrap_or(""));
    let mut fields = serde_json::Map::new();
    fields.insert("url".into(), json!(url));
    match kind {
        "response" => {
            let http = rec.http_response()?;
            let mime = http.content_type.as_deref().unwrap_or("application/octet-stream");
            fields.insert("mime".into(), json!(mime.split(';').next().unwrap_or(mime).trim()));
            fields.insert("status".into(), json!(http.status.to_string()));
        }
        "resource" => {
            let mime = rec.header("Content-Type").unwrap_or("application/octet-stream");
            fields.insert("mime".into(), json!(mime));
            fields.insert("status".into(), json!("200"));
        }
        _ => return None,
    }
    if let Some(d) = rec.header("WARC-Payload-Digest") {
        fields.insert("digest".into(), json!(d));
    }
    fields.insert("length".into(), json!(length.to_string()));
    fields.insert("offset".into(), json!(offset.to_string()));
    fields.insert("filename".into(), json!(WACZ_WARC.trim_start_matches("archive/")));
    Some(format!("{} {ts} {}", surt(url), serde_json::Value::Object(fields)))
}

fn sha256_prefixed(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// Build the WACZ in memory (it holds only the exhibits' records).
pub fn build_wacz(spec: &WaczSpec, created: DateTime<Utc>, title: &str) -> Result<Vec<u8>, EvidenceError> {
    let mut warc = Vec::new();
    let mut cdx = Vec::new();
    let unique: BTreeSet<&RecordRef> = spec.records.iter().collect();
    let mut copied = Vec::new();
    for r in unique {
        let (raw, record) = read_member(&r.warc_path, r.offset)?;
        let rec = WarcRecord::parse(&record)
            .map_err(|e| EvidenceError::Capture(format!("{} at offset {}: {e}", r.warc_path.display(), r.offset)))?;
        copied.push((raw, rec));
    }
    let responses: BTreeSet<String> = copied
        .iter()
        .filter(|(_, r)| r.header("WARC-Type") == Some("response"))
        .filter_map(|(_, r)| r.header("WARC-Target-URI").map(str::to_string))
        .collect();
    for (raw, rec) in copied {
        let offset = warc.len() as u64;
        warc.extend_from_slice(&raw);
        if let Some(line) = cdxj_line(&rec, offset, raw.len() as u64, &responses) {
            cdx.push(line);
        }
    }
    cdx.sort();
    let mut index = cdx.join("\n");
    if !index.is_empty() {
        index.push('\n');
    }

    let mut pages = String::from("{\"format\":\"json-pages-1.0\",\"id\":\"pages\",\"title\":\"All Pages\"}\n");
    let mut seen = BTreeSet::new();
    for (i, p) in spec.pages.iter().enumerate() {
        if !seen.insert(p.url.clone()) {
            continue;
        }
        let mut o = json!({"id": format!("page-{}", i + 1), "url": p.url, "ts": p.ts});
        if let Some(t) = &p.title {
            o["title"] = json!(t);
        }
        pages.push_str(&o.to_string());
        pages.push('\n');
    }

    let files: [(&str, &[u8]); 3] = [
        (WACZ_WARC, &warc),
        ("indexes/index.cdxj", index.as_bytes()),
        ("pages/pages.jsonl", pages.as_bytes()),
    ];
    let created = created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let resources: Vec<serde_json::Value> = files
        .iter()
        .map(|(path, b)| {
            json!({
                "name": path.rsplit('/').next().unwrap_or(path),
                "path": path,
                "hash": sha256_prefixed(b),
                "bytes": b.len(),
            })
        })
        .collect();
    let datapackage = serde_json::to_vec_pretty(&json!({
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title,
        "created": created,
        "modified": created,
        "software": format!("Xiezhi {}", env!("CARGO_PKG_VERSION")),
        "mainPageUrl": spec.pages.first().map(|p| p.url.clone()),
        "mainPageDate": spec.pages.first().map(|p| p.ts.clone()),
        "resources": resources,
    }))?;
    let digest = serde_json::to_vec_pretty(&json!({
        "path": "datapackage.json",
        "hash": sha256_prefixed(&datapackage),
    }))?;

    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let zerr = |source| EvidenceError::Zip {
        path: PathBuf::from(crate::wacz::WACZ_PATH),
        source,
    };
    let mut put = |path: &str, bytes: &[u8], method: CompressionMethod| -> Result<(), EvidenceError> {
        let opts = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(bytes.len() as u64 >= u32::MAX as u64);
        zip.start_file(path, opts).map_err(zerr)?;
        zip.write_all(bytes).map_err(|e| EvidenceError::io(WACZ_PATH, e))
    };
    // The spec requires the WARCs STORED so a replayer can seek into them by offset.
    for (path, bytes) in files {
        let m = if path.ends_with(".warc.gz") {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        put(path, bytes, m)?;
    }
    put("datapackage.json", &datapackage, CompressionMethod::Deflated)?;
    put("datapackage-digest.json", &digest, CompressionMethod::Deflated)?;
    Ok(zip.finish().map_err(zerr)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::surt;

    #[test]
    fn surt_keys() {
        assert_eq!(
            surt("https://www.Example.com/A/b.png?z=1&a=2"),
            "com,example)/a/b.png?a=2&z=1"
        );
        assert_eq!(surt("http://127.0.0.1:8080/x"), "127.0.0.1:8080)/x");
    }
}
