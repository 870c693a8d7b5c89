//! The index file: writing it atomically and reading it back with every part
//! bounded by the file's size and the graph's digest checked before usearch
//! sees a byte (layout in [`ReferenceIndex::save`]).

use super::*;

impl ReferenceIndex {
    /// Writes the index to `path` atomically (temp file in the same folder, fsync, rename).
    ///
    /// Layout: `"XZANN"`, u32 version, u64 length + postcard [`IndexHeader`],
    /// u64 length + postcard table, SHA-256 of the graph bytes, u64 length + graph
    /// (usearch's serialisation). Integers little-endian.
    pub fn save(&self, path: &Path) -> Result<(), IndexError> {
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        let ser = |e: postcard::Error| IndexError::Format {
            path: path.to_path_buf(),
            reason: format!("cannot serialise: {e}"),
        };
        let header = postcard::to_stdvec(&self.header).map_err(ser)?;
        let table = postcard::to_stdvec(&self.table).map_err(ser)?;
        let mut graph = vec![0u8; self.ann.serialized_length()];
        self.ann.save_to_buffer(&mut graph).map_err(ann_err)?;
        let digest: [u8; 32] = Sha256::digest(&graph).into();

        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let tmp = path.with_extension("tmp");
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = BufWriter::new(file);
        w.write_all(MAGIC).map_err(io)?;
        w.write_all(&INDEX_FORMAT_VERSION.to_le_bytes()).map_err(io)?;
        for part in [&header, &table] {
            w.write_all(&(part.len() as u64).to_le_bytes()).map_err(io)?;
            w.write_all(part).map_err(io)?;
        }
        w.write_all(&digest).map_err(io)?;
        w.write_all(&(graph.len() as u64).to_le_bytes()).map_err(io)?;
        w.write_all(&graph).map_err(io)?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads only the header of an index file (to decide whether it is current).
    pub fn read_header(path: &Path) -> Result<IndexHeader, IndexError> {
        let mut r = FileReader::open(path)?;
        r.header()
    }

    /// Loads an index written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self, IndexError> {
        let mut r = FileReader::open(path)?;
        let header = r.header()?;
        let table: Table = r.part("vector table", MAX_TABLE_BYTES)?;
        let digest: [u8; 32] = r.array("graph digest")?;
        let graph = r.bytes("graph", u64::MAX)?;
        r.end()?;
        if <[u8; 32]>::from(Sha256::digest(&graph)) != digest {
            return Err(r.bad("graph does not match its SHA-256 (damaged file)".into()));
        }
        let meta = Index::metadata_from_buffer(&graph).map_err(|e| r.bad(format!("graph header: {e}")))?;
        if meta.dimensions != INDEX_DIM as u64 || meta.quantization != ScalarKind::I8 {
            return Err(r.bad(format!(
                "graph of {} dimensions / {:?}, this build uses {INDEX_DIM} / I8",
                meta.dimensions, meta.quantization
            )));
        }
        let ann = new_ann()?;
        ann.load_from_buffer(&graph).map_err(|e| r.bad(format!("graph: {e}")))?;
        let live: usize = table.refs.values().map(|s| s.keys.len()).sum();
        if ann.size() as u64 != header.vectors || live != ann.size() {
            return Err(r.bad(format!(
                "header says {} vectors, table {live}, graph holds {}",
                header.vectors,
                ann.size()
            )));
        }
        if table
            .refs
            .values()
            .flat_map(|s| &s.keys)
            .any(|k| *k >= table.entries.len() as u64)
        {
            return Err(r.bad("vector table refers past its end".into()));
        }
        // Searching is allowed to use this build's breadth, whatever the file says.
        ann.change_expansion_search(EXPANSION_SEARCH);
        ann.change_expansion_add(EXPANSION_ADD);
        Ok(ReferenceIndex { header, table, ann })
    }
}

/// Sequential reader of the parts of an index file, with errors naming the file.
struct FileReader {
    path: PathBuf,
    r: BufReader<std::fs::File>,
    len: u64,
    pos: u64,
}

impl FileReader {
    fn open(path: &Path) -> Result<Self, IndexError> {
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut r = FileReader {
            path: path.to_path_buf(),
            r: BufReader::with_capacity(1 << 16, file),
            len,
            pos: 0,
        };
        let magic: [u8; 5] = r.array("magic")?;
        if &magic != MAGIC {
            return Err(r.bad("not a Xiezhi index (no XZANN header)".into()));
        }
        let version = u32::from_le_bytes(r.array("format version")?);
        if version != INDEX_FORMAT_VERSION {
            return Err(r.bad(format!(
                "format version {version}, this build reads {INDEX_FORMAT_VERSION}"
            )));
        }
        Ok(r)
    }

    fn bad(&self, reason: String) -> IndexError {
        IndexError::Format {
            path: self.path.clone(),
            reason,
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], IndexError> {
        let mut buf = [0u8; N];
        self.fill(&mut buf, what)?;
        Ok(buf)
    }

    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<(), IndexError> {
        if self.len - self.pos < buf.len() as u64 {
            return Err(self.bad(format!("cut short in the {what}")));
        }
        self.r.read_exact(buf).map_err(|source| IndexError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// A length-prefixed byte string of at most `max` bytes (and never past the file's end).
    fn bytes(&mut self, what: &str, max: u64) -> Result<Vec<u8>, IndexError> {
        let n = u64::from_le_bytes(self.array(what)?);
        if n > max || n > self.len - self.pos {
            return Err(self.bad(format!("{what} of {n} bytes does not fit the file")));
        }
        let mut buf = vec![0u8; n as usize];
        self.fill(&mut buf, what)?;
        Ok(buf)
    }

    fn part<T: serde::de::DeserializeOwned>(&mut self, what: &str, max: u64) -> Result<T, IndexError> {
        let bytes = self.bytes(what, max)?;
        postcard::from_bytes(&bytes).map_err(|e| self.bad(format!("corrupt {what}: {e}")))
    }

    fn header(&mut self) -> Result<IndexHeader, IndexError> {
        let header: IndexHeader = self.part("header", MAX_HEADER_BYTES)?;
        if header.format_version != INDEX_FORMAT_VERSION {
            return Err(self.bad(format!("header says format {}", header.format_version)));
        }
        Ok(header)
    }

    fn end(&self) -> Result<(), IndexError> {
        if self.pos != self.len {
            return Err(self.bad(format!("{} unexpected bytes after the graph", self.len - self.pos)));
        }
        Ok(())
    }
}
