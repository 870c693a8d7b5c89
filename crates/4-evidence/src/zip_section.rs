//! Reading one entry of a bundle as a seekable file without holding it in memory: a
//! section of the bundle file for STORED entries, else a temporary inflated copy.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::wacz::WACZ_PATH;

/// A seekable reader over one entry of the bundle: a section of the bundle file when the
/// entry is STORED (as export writes capture.wacz), else a temporary file it is inflated to.
pub(crate) fn open_entry(
    path: &Path,
    zip: &mut zip::ZipArchive<File>,
    i: usize,
) -> Result<Box<dyn ReadSeek>, Vec<String>> {
    let fail = |m: String| vec![format!("{WACZ_PATH}: {m}")];
    let raw = zip.by_index_raw(i).map_err(|e| fail(e.to_string()))?;
    if raw.compression() == zip::CompressionMethod::Stored {
        let (start, len) = (raw.data_start(), raw.size());
        drop(raw);
        let mut f = File::open(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        f.seek(SeekFrom::Start(start)).map_err(|e| fail(e.to_string()))?;
        return Ok(Box::new(Section { f, start, len, pos: 0 }));
    }
    drop(raw);
    let mut tmp = tempfile::tempfile().map_err(|e| fail(format!("temporary file: {e}")))?;
    let entry = zip.by_index(i).map_err(|e| fail(e.to_string()))?;
    let size = entry.size();
    std::io::copy(&mut entry.take(size), &mut tmp).map_err(|e| fail(format!("cannot be inflated: {e}")))?;
    tmp.seek(SeekFrom::Start(0)).map_err(|e| fail(e.to_string()))?;
    Ok(Box::new(tmp))
}

pub(crate) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Bytes `start..start + len` of a file, as a file of their own.
struct Section {
    f: File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let want = (buf.len() as u64).min(left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let k = self.f.read(&mut buf[..want])?;
        self.pos += k as u64;
        Ok(k)
    }
}

impl Seek for Section {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(p) = target else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start",
            ));
        };
        self.f.seek(SeekFrom::Start(self.start + p))?;
        self.pos = p;
        Ok(p)
    }
}
