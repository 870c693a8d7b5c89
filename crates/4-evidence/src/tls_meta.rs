//! The TLS facts of a captured exchange, read back from the crawler's WARC `metadata`
//! record: `key: value` lines (server-name, tls-version, tls-cipher-suite…) and then the
//! peer certificate chain in PEM, leaf first. The leaf is parsed with `x509-cert` for the
//! report's subject, issuer and SHA-256 fingerprint. The parser reads any `key: value`
//! line it knows and ignores the rest, so fields added later do not break it.
//!
//! A metadata record is written right after the response of the connection's first
//! exchange (`WARC-Concurrent-To` names that response). A later exchange over the same
//! kept-alive connection has none of its own; its facts come from the last handshake with
//! the same host earlier in the same WARC file, and the report says so.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use der::Encode;
use flate2::bufread::GzDecoder;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::wacz::RecordRef;
use crate::warc_record::{read_member, WarcRecord, MAX_RECORD_BYTES};
use crate::EvidenceError;

/// What the report prints about the connection an image was fetched over.
#[derive(Clone, Debug, PartialEq)]
pub struct TlsFacts {
    pub subject: String,
    pub issuer: String,
    /// SHA-256 of the leaf certificate's DER, as `openssl x509 -fingerprint -sha256` prints it.
    pub sha256: String,
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub server_name: Option<String>,
    /// The metadata record, and how it is tied to the response.
    pub record: RecordRef,
    pub record_id: String,
    pub tie: String,
}

/// A TLS metadata record found in a WARC file.
#[derive(Clone, Debug)]
struct Meta {
    offset: u64,
    record_id: String,
    concurrent_to: Option<String>,
    server_name: Option<String>,
    block: Vec<u8>,
}

fn is_tls_meta(rec: &WarcRecord) -> bool {
    rec.header("WARC-Type") == Some("metadata") && rec.block.windows(11).any(|w| w == b"-----BEGIN ")
}

fn field(block: &str, key: &str) -> Option<String> {
    block
        .lines()
        .take_while(|l| !l.starts_with("-----BEGIN"))
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim().to_string())
        // "not reported" / "not observed (…)": the crawler could not tell.
        .filter(|v| !v.is_empty() && !v.to_ascii_lowercase().starts_with("not "))
}

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parse a metadata block: the leaf's names and fingerprint plus the connection fields.
fn parse(m: &Meta, warc_path: &Path, tie: String) -> Result<TlsFacts, String> {
    let text = String::from_utf8_lossy(&m.block);
    let start = text.find("-----BEGIN").ok_or("no PEM certificate in the record")?;
    let chain = Certificate::load_pem_chain(text[start..].as_bytes()).map_err(|e| format!("certificate chain: {e}"))?;
    let leaf = chain.first().ok_or("empty certificate chain")?;
    let der = leaf.to_der().map_err(|e| format!("leaf certificate: {e}"))?;
    Ok(TlsFacts {
        subject: leaf.tbs_certificate.subject.to_string(),
        issuer: leaf.tbs_certificate.issuer.to_string(),
        sha256: fingerprint(&der),
        version: field(&text, "tls-version"),
        // Say where a cipher suite came from when the crawler says (e.g. a probe handshake).
        cipher: field(&text, "tls-cipher-suite").map(|c| match field(&text, "tls-cipher-suite-source") {
            Some(src) => format!("{c} ({src})"),
            None => c,
        }),
        server_name: field(&text, "server-name"),
        record: RecordRef {
            warc_path: warc_path.to_path_buf(),
            offset: m.offset,
        },
        record_id: m.record_id.clone(),
        tie,
    })
}

fn meta_of(offset: u64, rec: WarcRecord) -> Meta {
    let text = String::from_utf8_lossy(&rec.block).into_owned();
    Meta {
        offset,
        record_id: rec.header("WARC-Record-ID").unwrap_or("").to_string(),
        concurrent_to: rec.header("WARC-Concurrent-To").map(str::to_string),
        server_name: field(&text, "server-name"),
        block: rec.block,
    }
}

/// Finds TLS metadata for responses, scanning each WARC file at most once.
#[derive(Default)]
pub struct TlsLookup {
    scanned: HashMap<PathBuf, Vec<Meta>>,
}

/// Records right after a response that may hold its own handshake (request, metadata…).
const LOOK_AHEAD: usize = 4;

impl TlsLookup {
    /// The TLS facts for the response record `response_id` at `offset` of `warc_path`,
    /// fetched from `host`. `Ok(None)`: no handshake of that host is recorded before it.
    pub fn for_response(
        &mut self,
        warc_path: &Path,
        offset: u64,
        response_id: &str,
        host: &str,
    ) -> Result<Option<TlsFacts>, EvidenceError> {
        let bad = |why: String| EvidenceError::Capture(format!("{}: TLS metadata: {why}", warc_path.display()));
        // Fast path: the record written right after this response.
        let (raw, _) = read_member(warc_path, offset)?;
        let mut at = offset + raw.len() as u64;
        let len = std::fs::metadata(warc_path)
            .map_err(|e| EvidenceError::io(warc_path, e))?
            .len();
        for _ in 0..LOOK_AHEAD {
            if at >= len {
                break;
            }
            let (raw, record) = read_member(warc_path, at)?;
            let rec = WarcRecord::parse(&record).map_err(bad)?;
            if is_tls_meta(&rec) && rec.header("WARC-Concurrent-To") == Some(response_id) {
                let tie = "WARC-Concurrent-To this response (the handshake of its own connection)".to_string();
                return parse(&meta_of(at, rec), warc_path, tie).map(Some).map_err(bad);
            }
            if rec.header("WARC-Type") == Some("response") {
                break;
            }
            at += raw.len() as u64;
        }
        // Kept-alive connection: the last handshake with this host before the response.
        if !self.scanned.contains_key(warc_path) {
            let metas = scan(warc_path)?;
            self.scanned.insert(warc_path.to_path_buf(), metas);
        }
        let metas = &self.scanned[warc_path];
        let last = metas
            .iter()
            .filter(|m| m.offset < offset && m.server_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(host)))
            .max_by_key(|m| m.offset);
        match last {
            None => Ok(None),
            Some(m) => {
                let tie = format!(
                    "the last TLS handshake with {host} before this response, recorded with {} (the connection was kept alive and reused)",
                    m.concurrent_to.as_deref().unwrap_or("an earlier response")
                );
                parse(m, warc_path, tie).map(Some).map_err(bad)
            }
        }
    }
}

/// Every TLS metadata record of a `.warc.gz`, streamed member by member.
fn scan(path: &Path) -> Result<Vec<Meta>, EvidenceError> {
    let bad = |why: String| EvidenceError::Capture(format!("{}: {why}", path.display()));
    let f = File::open(path).map_err(|e| EvidenceError::io(path, e))?;
    let len = f.metadata().map_err(|e| EvidenceError::io(path, e))?.len();
    let mut reader = BufReader::new(f);
    let mut out = Vec::new();
    loop {
        let offset = reader.stream_position().map_err(|e| EvidenceError::io(path, e))?;
        if offset >= len {
            break;
        }
        let mut record = Vec::new();
        GzDecoder::new(&mut reader)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut record)
            .map_err(|e| bad(format!("member at offset {offset}: {e}")))?;
        if record.len() as u64 > MAX_RECORD_BYTES {
            return Err(bad(format!("member at offset {offset} is too large")));
        }
        let rec = WarcRecord::parse(&record).map_err(|e| bad(format!("record at offset {offset}: {e}")))?;
        if is_tls_meta(&rec) {
            out.push(meta_of(offset, rec));
        }
    }
    Ok(out)
}
