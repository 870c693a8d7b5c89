//! Reading WARC records: one gzip member at an offset of a case's WARC file (copied
//! out byte for byte), and the members of a WARC inside a bundle's WACZ.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::bufread::GzDecoder;

use crate::EvidenceError;

/// A record larger than this is refused (the crawler caps responses far below it).
pub(crate) const MAX_RECORD_BYTES: u64 = 512 << 20;

/// A parsed WARC record: its named fields and its block.
pub(crate) struct WarcRecord {
    pub headers: Vec<(String, String)>,
    pub block: Vec<u8>,
}

/// The HTTP response inside a `response` record.
pub(crate) struct HttpResponse<'a> {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: &'a [u8],
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl WarcRecord {
    pub(crate) fn parse(bytes: &[u8]) -> Result<WarcRecord, String> {
        if !bytes.starts_with(b"WARC/1.") {
            return Err("does not start with a WARC/1.x version line".into());
        }
        let end = find(bytes, b"\r\n\r\n").ok_or("header block is not terminated")?;
        let head = std::str::from_utf8(&bytes[..end]).map_err(|_| "header block is not UTF-8")?;
        let headers: Vec<(String, String)> = head
            .split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .and_then(|(_, v)| v.parse().ok())
            .ok_or("no valid Content-Length")?;
        let start = end + 4;
        if bytes.len() < start + len + 4 || &bytes[start + len..start + len + 4] != b"\r\n\r\n" {
            return Err(format!("block is not {len} bytes followed by CRLF CRLF"));
        }
        Ok(WarcRecord {
            headers,
            block: bytes[start..start + len].to_vec(),
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The HTTP status, content type and body of a `response` record.
    pub(crate) fn http_response(&self) -> Option<HttpResponse<'_>> {
        if self.header("WARC-Type") != Some("response") {
            return None;
        }
        let end = find(&self.block, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&self.block[..end]);
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let content_type = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.trim().to_string());
        Some(HttpResponse {
            status,
            content_type,
            body: &self.block[end + 4..],
        })
    }
}

/// Does a `WARC-Payload-Digest` value (`sha256:` or `sha1:`, base32 or hex) describe `payload`?
pub(crate) fn payload_digest_matches(value: &str, payload: &[u8]) -> bool {
    use sha2::Digest;
    let Some((alg, enc)) = value.split_once(':') else {
        return false;
    };
    let want = match alg.to_ascii_lowercase().as_str() {
        "sha256" => sha2::Sha256::digest(payload).to_vec(),
        "sha1" => sha1::Sha1::digest(payload).to_vec(),
        _ => return false,
    };
    let got = data_encoding::BASE32
        .decode(enc.as_bytes())
        .or_else(|_| data_encoding::BASE32_NOPAD.decode(enc.as_bytes()))
        .or_else(|_| hex::decode(enc));
    got.is_ok_and(|g| g == want)
}

/// Copy the gzip member starting at `offset` of `path`: its exact compressed bytes and
/// the record it holds.
pub(crate) fn read_member(path: &Path, offset: u64) -> Result<(Vec<u8>, Vec<u8>), EvidenceError> {
    let bad = |why: String| EvidenceError::Capture(format!("{} at offset {offset}: {why}", path.display()));
    let mut f = File::open(path).map_err(|e| EvidenceError::io(path, e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| EvidenceError::io(path, e))?;
    let mut reader = BufReader::new(f);
    let mut record = Vec::new();
    {
        let mut dec = GzDecoder::new(&mut reader).take(MAX_RECORD_BYTES + 1);
        dec.read_to_end(&mut record)
            .map_err(|e| bad(format!("not a gzip member: {e}")))?;
    }
    if record.len() as u64 > MAX_RECORD_BYTES {
        return Err(bad("record is too large".into()));
    }
    let end = reader.stream_position().map_err(|e| EvidenceError::io(path, e))?;
    let mut f = reader.into_inner();
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| EvidenceError::io(path, e))?;
    let mut raw = vec![0u8; (end - offset) as usize];
    f.read_exact(&mut raw).map_err(|e| EvidenceError::io(path, e))?;
    WarcRecord::parse(&record).map_err(bad)?;
    Ok((raw, record))
}

/// Calls `each(offset, record)` for every gzip member of a `.warc.gz` read as a stream
/// (offsets are positions in that stream); one record is held in memory at a time.
pub(crate) fn for_each_member<R: std::io::BufRead>(
    mut reader: R,
    mut each: impl FnMut(u64, WarcRecord),
) -> Result<(), String> {
    let mut offset: u64 = 0;
    loop {
        if reader
            .fill_buf()
            .map_err(|e| format!("at offset {offset}: {e}"))?
            .is_empty()
        {
            return Ok(());
        }
        let mut counted = Counted {
            inner: &mut reader,
            n: 0,
        };
        let mut record = Vec::new();
        GzDecoder::new(&mut counted)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut record)
            .map_err(|e| format!("member at offset {offset}: {e}"))?;
        if record.len() as u64 > MAX_RECORD_BYTES {
            return Err(format!("member at offset {offset} is too large"));
        }
        let len = counted.n;
        let rec = WarcRecord::parse(&record).map_err(|e| format!("record at offset {offset}: {e}"))?;
        each(offset, rec);
        offset += len;
    }
}

/// A `BufRead` that counts the bytes consumed from it.
struct Counted<'a, R> {
    inner: &'a mut R,
    n: u64,
}

impl<R: std::io::BufRead> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for Counted<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.n += amt as u64;
        self.inner.consume(amt);
    }
}

/// The block of the record in the gzip member at `offset` of `path` (a screenshot's PNG).
pub fn read_record_block(path: &Path, offset: u64) -> Result<Vec<u8>, EvidenceError> {
    let (_, record) = read_member(path, offset)?;
    let rec = WarcRecord::parse(&record)
        .map_err(|e| EvidenceError::Capture(format!("{} at offset {offset}: {e}", path.display())))?;
    Ok(rec.block)
}

/// The offset of the `metadata` record the crawler wrote right after the `resource` record
/// at `offset` (a decoded `data:` image) describing it, if that is what follows: the record
/// must refer to `resource_id`. Anything else (end of file, another record) gives `None`.
pub fn metadata_after(path: &Path, offset: u64, resource_id: &str) -> Result<Option<u64>, EvidenceError> {
    let (raw, _) = read_member(path, offset)?;
    let next = offset + raw.len() as u64;
    let Ok((_, record)) = read_member(path, next) else {
        return Ok(None);
    };
    let Ok(rec) = WarcRecord::parse(&record) else {
        return Ok(None);
    };
    let about = rec.header("WARC-Type") == Some("metadata") && rec.header("WARC-Refers-To") == Some(resource_id);
    Ok(about.then_some(next))
}
