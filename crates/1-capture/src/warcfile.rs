//! WARC 1.1 output: one gzip member per record, fsync per batch of exchanges, rotation.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use warc::{RawRecordHeader, WarcHeader, WarcWriter};

use crate::{CaptureError, WarcPosition};

/// RFC 4648 base32 (upper case, padded), as used by warcio/Heritrix for `sha256:` digests.
pub fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < symbols {
                let idx = ((bits >> (35 - i * 5)) & 0x1f) as usize;
                out.push(ALPHABET[idx] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `sha256:<BASE32>` digest label as written in WARC headers.
pub fn warc_digest(data: &[u8]) -> String {
    format!("sha256:{}", base32(&Sha256::digest(data)))
}

/// WARC-Date with millisecond precision (WARC 1.1 allows sub-second precision).
pub fn warc_date(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn new_record_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

/// One record to write. Header names are kept in their canonical case via
/// `WarcHeader::Unknown` (the crate's known variants print lower-case names).
pub struct RecordSpec<'a> {
    pub warc_type: &'a str,
    pub record_id: &'a str,
    pub date: &'a str,
    pub content_type: &'a str,
    pub extra: Vec<(&'static str, String)>,
    /// The block, in parts written back to back (e.g. HTTP head, then body).
    pub block: &'a [&'a [u8]],
}

/// Where a record landed.
#[derive(Debug, Clone)]
pub struct Written {
    pub file_name: String,
    pub offset: u64,
}

/// Gzip level of each record's member. Level 1 (the fastest deflate) keeps the writer off the
/// critical path; images, most of the bytes, do not compress anyway. Any level is valid gzip.
pub(crate) const GZIP_LEVEL: u32 = 1;

/// One record as a complete gzip member, ready to append to any file whose warcinfo record
/// is `warcinfo_id` (`None` for the warcinfo record itself). Pure, so the fetch tasks can
/// build their records in parallel and the single writer only appends bytes.
pub fn encode_record(spec: &RecordSpec<'_>, warcinfo_id: Option<&str>) -> Result<Vec<u8>, CaptureError> {
    encode_record_at(spec, warcinfo_id, GZIP_LEVEL)
}

/// [`encode_record`] at a given gzip level: 0 stores the block in the member uncompressed,
/// for payloads that are compressed already (PNG, JPEG…), where deflating costs CPU and
/// saves nothing.
pub fn encode_record_at(spec: &RecordSpec<'_>, warcinfo_id: Option<&str>, level: u32) -> Result<Vec<u8>, CaptureError> {
    let block_len: usize = spec.block.iter().map(|b| b.len()).sum();
    let mut digest = Sha256::new();
    for part in spec.block {
        digest.update(part);
    }
    let mut headers: HashMap<WarcHeader, Vec<u8>> = HashMap::new();
    let mut put = |k: &str, v: &str| {
        headers.insert(WarcHeader::Unknown(k.to_string()), v.as_bytes().to_vec());
    };
    put("WARC-Type", spec.warc_type);
    put("WARC-Record-ID", spec.record_id);
    put("WARC-Date", spec.date);
    put("Content-Type", spec.content_type);
    put("Content-Length", &block_len.to_string());
    put("WARC-Block-Digest", &format!("sha256:{}", base32(&digest.finalize())));
    if let Some(id) = warcinfo_id {
        put("WARC-Warcinfo-ID", id);
    }
    for (k, v) in &spec.extra {
        put(k, v);
    }
    // The header block goes through the warc crate; the block parts are streamed into the
    // same gzip member after it, so a large body is never copied into one buffer.
    let mut head = Vec::with_capacity(1024);
    WarcWriter::new(&mut head)
        .write_raw(
            RawRecordHeader {
                version: "1.1".to_string(),
                headers,
            },
            &[],
        )
        .map_err(|e| CaptureError::Warc(e.to_string()))?;
    // write_raw with an empty block wrote: headers, CRLF, (no block), CRLF CRLF.
    let Some(head) = head.strip_suffix(b"\r\n\r\n") else {
        return Err(CaptureError::Warc("unexpected WARC header serialisation".into()));
    };
    let mut gz = WholeWrites(GzEncoder::new(
        Vec::with_capacity(block_len / 2 + 1024),
        Compression::new(level),
    ));
    let io = |e: std::io::Error| CaptureError::Warc(e.to_string());
    gz.write_all(head).map_err(io)?;
    for part in spec.block {
        gz.write_all(part).map_err(io)?;
    }
    gz.write_all(b"\r\n\r\n").map_err(io)?;
    gz.0.finish().map_err(io)
}

pub struct WarcOutput {
    dir: PathBuf,
    prefix: String,
    stamp: String,
    max_bytes: u64,
    seq: u32,
    file: Option<(File, String, u64)>,
    warcinfo_id: String,
    warcinfo_fields: String,
    files: Vec<String>,
    /// Bytes were appended since the last fsync.
    unsynced: bool,
}

/// `write` that always takes the whole buffer: the `warc` crate's writer calls `write`
/// (not `write_all`), which a compressing writer may accept only in part.
struct WholeWrites<W: Write>(W);

impl<W: Write> Write for WholeWrites<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl WarcOutput {
    pub fn new(
        dir: &Path,
        prefix: &str,
        started: &DateTime<Utc>,
        max_bytes: u64,
        warcinfo_fields: String,
    ) -> Result<Self, CaptureError> {
        std::fs::create_dir_all(dir).map_err(|e| CaptureError::io(dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            stamp: started.format("%Y%m%d%H%M%S%3f").to_string(),
            max_bytes,
            seq: 0,
            file: None,
            warcinfo_id: String::new(),
            warcinfo_fields,
            files: Vec::new(),
            unsynced: false,
        })
    }

    /// Before resuming: cuts every earlier file of this crawl back to its committed length
    /// (dropping records written after the last commit, including a partial gzip member) and
    /// removes files of this crawl that never got a commit. The resumed run writes new files.
    /// Returns what was cut, one line per file, for the custody log.
    pub fn restore(&mut self, committed: &[WarcPosition]) -> Result<Vec<String>, CaptureError> {
        let mut notes = Vec::new();
        let entries = std::fs::read_dir(&self.dir).map_err(|e| CaptureError::io(&self.dir, e))?;
        let mut names: Vec<String> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CaptureError::io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{}-", self.prefix)) && name.ends_with(".warc.gz") {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            let path = self.dir.join(&name);
            let size = std::fs::metadata(&path).map_err(|e| CaptureError::io(&path, e))?.len();
            match committed.iter().find(|p| p.file == name) {
                Some(p) if size > p.len => {
                    let f = OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(|e| CaptureError::io(&path, e))?;
                    f.set_len(p.len).map_err(|e| CaptureError::io(&path, e))?;
                    f.sync_all().map_err(|e| CaptureError::io(&path, e))?;
                    notes.push(format!(
                        "{name}: cut {} uncommitted bytes after offset {}",
                        size - p.len,
                        p.len
                    ));
                    self.files.push(name);
                }
                Some(p) if size < p.len => {
                    return Err(CaptureError::Warc(format!(
                        "{name} is {size} bytes but {} bytes of it were committed: the file was damaged",
                        p.len
                    )));
                }
                Some(_) => self.files.push(name),
                None => {
                    std::fs::remove_file(&path).map_err(|e| CaptureError::io(&path, e))?;
                    notes.push(format!("{name}: removed (no record of it was ever committed)"));
                }
            }
        }
        Ok(notes)
    }

    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Where the current file ends.
    pub fn position(&self) -> Option<WarcPosition> {
        self.file.as_ref().map(|(_, name, len)| WarcPosition {
            file: name.clone(),
            len: *len,
        })
    }

    /// Ensures an open file with room, rotating when the current one has reached
    /// `max_warc_bytes`. Called before each exchange so an exchange's records share a file.
    /// Returns the new file's position when it opened one.
    pub fn prepare(&mut self) -> Result<Option<WarcPosition>, CaptureError> {
        if self.needs_rotation() {
            // Whatever the closing file holds must be durable before it is left behind.
            self.sync()?;
            self.open_next()?;
            return Ok(self.position());
        }
        Ok(None)
    }

    fn open_next(&mut self) -> Result<(), CaptureError> {
        self.seq += 1;
        let name = format!("{}-{}-{:05}.warc.gz", self.prefix, self.stamp, self.seq);
        let path = self.dir.join(&name);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| CaptureError::io(&path, e))?;
        self.file = Some((file, name.clone(), 0));
        self.files.push(name.clone());
        self.warcinfo_id = new_record_id();
        let date = warc_date(&Utc::now());
        let block = self.warcinfo_fields.clone().into_bytes();
        let id = self.warcinfo_id.clone();
        self.write(&RecordSpec {
            warc_type: "warcinfo",
            record_id: &id,
            date: &date,
            content_type: "application/warc-fields",
            extra: vec![("WARC-Filename", name)],
            block: &[&block],
        })?;
        self.sync()
    }

    /// The `WARC-Record-ID` of the current file's warcinfo record (records built elsewhere
    /// with [`encode_record`] must name the file they end up in).
    pub fn warcinfo_id(&self) -> &str {
        &self.warcinfo_id
    }

    /// True when the next record would go to a new file (none open, or the current one full).
    pub fn needs_rotation(&self) -> bool {
        match &self.file {
            None => true,
            Some((_, _, len)) => self.max_bytes > 0 && *len >= self.max_bytes,
        }
    }

    /// Appends one record as its own gzip member; returns the member's offset.
    pub fn write(&mut self, spec: &RecordSpec<'_>) -> Result<Written, CaptureError> {
        let warcinfo_id = (spec.warc_type != "warcinfo").then_some(self.warcinfo_id.as_str());
        let member = encode_record(spec, warcinfo_id)?;
        self.append(&member)
    }

    /// Appends a complete gzip member made by [`encode_record`]; returns its offset.
    pub fn append(&mut self, member: &[u8]) -> Result<Written, CaptureError> {
        let Some((file, name, len)) = self.file.as_mut() else {
            return Err(CaptureError::Warc("no WARC file open".into()));
        };
        let offset = *len;
        // One write_all of a complete member: a crash leaves at most a truncated last member,
        // never a member that mixes two records.
        file.write_all(member)
            .map_err(|e| CaptureError::io(&self.dir.join(&*name), e))?;
        *len += member.len() as u64;
        self.unsynced = true;
        Ok(Written {
            file_name: name.clone(),
            offset,
        })
    }

    /// fsync the current file (once per batch of exchanges, before the sink commits them).
    /// Earlier files were synced before the rotation that closed them.
    pub fn sync(&mut self) -> Result<(), CaptureError> {
        if let (true, Some((file, name, _))) = (self.unsynced, self.file.as_mut()) {
            file.sync_data()
                .map_err(|e| CaptureError::io(&self.dir.join(&*name), e))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// For an fsync elsewhere (the recording thread): a handle on the current file and its
    /// path when it has bytes not yet synced, which then count as synced. Appends made after
    /// this are not covered by that fsync, only by the next one.
    pub fn sync_handle(&mut self) -> Result<Option<(File, String)>, CaptureError> {
        match (self.unsynced, self.file.as_ref()) {
            (true, Some((file, name, _))) => {
                let path = self.dir.join(name);
                let handle = file.try_clone().map_err(|e| CaptureError::io(&path, e))?;
                self.unsynced = false;
                Ok(Some((handle, path.to_string_lossy().into_owned())))
            }
            _ => Ok(None),
        }
    }
}

/// The block of the record whose gzip member starts at `offset` in `path`, read back (at
/// most `max` bytes of member): how a resumed crawl re-reads a page it must index again.
pub fn read_block(path: &Path, offset: u64, max: u64) -> Result<Vec<u8>, CaptureError> {
    use std::io::{BufReader, Read, Seek, SeekFrom};
    let io = |e| CaptureError::io(path, e);
    let mut f = File::open(path).map_err(io)?;
    f.seek(SeekFrom::Start(offset)).map_err(io)?;
    // GzDecoder stops at the end of the first member: this record.
    let mut member = Vec::new();
    flate2::read::GzDecoder::new(BufReader::new(f))
        .take(max)
        .read_to_end(&mut member)
        .map_err(io)?;
    let bad = |what: &str| CaptureError::Warc(format!("{} at offset {offset}: {what}", path.display()));
    let end = find(&member, b"\r\n\r\n").ok_or_else(|| bad("no end of the WARC headers"))?;
    let head = std::str::from_utf8(&member[..end]).map_err(|_| bad("WARC headers are not UTF-8"))?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .ok_or_else(|| bad("no Content-Length"))?;
    let start = end + 4;
    member
        .get(start..start.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| bad("the record is shorter than its Content-Length"))
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_rfc4648_vectors() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY======");
        assert_eq!(base32(b"fo"), "MZXQ====");
        assert_eq!(base32(b"foo"), "MZXW6===");
        assert_eq!(base32(b"foob"), "MZXW6YQ=");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI======");
    }
}
