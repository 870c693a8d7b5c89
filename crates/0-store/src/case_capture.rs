//! Crawls and what they captured: exchanges, pages, failures, assets and where they appeared.

use rusqlite::{params, OptionalExtension};
use serde_json::json;

use crate::case::insert_blob;
use crate::rows::*;
use crate::{now_utc, Case, StoreError};

/// One URL of a crawl's persisted frontier (`purpose`: page|asset; `state`: queued|done|failed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrontierRow {
    pub url: String,
    pub purpose: String,
    pub depth: u32,
    pub hops: u32,
    pub state: String,
    pub attempts: u32,
    pub discovered_from: Option<String>,
    pub element: Option<String>,
}

/// A page row of a crawl unit.
#[derive(Debug, Clone, Default)]
pub struct UnitPage {
    pub url: String,
    pub title: String,
    pub depth: u32,
    pub links: usize,
}

/// A crawled asset of a crawl unit.
#[derive(Debug, Clone, Default)]
pub struct UnitAsset {
    pub locator: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub media_type: Option<String>,
    /// The response record the bytes came from (links the asset to its capture row).
    pub response_record_id: Option<String>,
    pub sources: Vec<AssetSource>,
}

/// Everything one fetch produced, committed atomically by [`Case::commit_crawl_unit`].
#[derive(Debug, Clone, Default)]
pub struct CrawlUnit {
    pub captures: Vec<Capture>,
    pub pages: Vec<UnitPage>,
    pub assets: Vec<UnitAsset>,
    pub failures: Vec<(String, String)>,
    /// (asset URL, where it was referenced).
    pub refs: Vec<(String, AssetSource)>,
    pub frontier: Vec<FrontierRow>,
    /// (WARC file, committed length).
    pub warc: Option<(String, u64)>,
    /// WARC `resource` records of `data:` images decoded from this unit's page or sheet.
    pub inline: Vec<crate::InlineRecord>,
}

impl CrawlUnit {
    pub fn is_empty(&self) -> bool {
        self.captures.is_empty()
            && self.pages.is_empty()
            && self.assets.is_empty()
            && self.failures.is_empty()
            && self.refs.is_empty()
            && self.frontier.is_empty()
            && self.warc.is_none()
            && self.inline.is_empty()
    }
}

/// Totals recorded for one crawl.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CrawlTotals {
    pub pages: u64,
    pub assets: u64,
    pub exchanges: u64,
    pub bytes: u64,
    pub failures: u64,
}

impl Case {
    // ---- crawls -----------------------------------------------------------

    pub fn begin_crawl(&mut self, seeds: &[String], settings: serde_json::Value) -> Result<i64, StoreError> {
        self.begin_crawl_with(seeds, settings, false)
    }

    /// Starts a crawl; `ignore_robots` is stored on the row and stated in the custody entry.
    pub fn begin_crawl_with(
        &mut self,
        seeds: &[String],
        settings: serde_json::Value,
        ignore_robots: bool,
    ) -> Result<i64, StoreError> {
        let now = now_utc();
        self.with_tx(|tx, case| {
            tx.execute(
                "INSERT INTO crawls (started_at, seeds, settings, ignore_robots) VALUES (?1, ?2, ?3, ?4)",
                params![
                    now,
                    serde_json::to_string(seeds).unwrap_or_default(),
                    settings.to_string(),
                    ignore_robots
                ],
            )?;
            let id = tx.last_insert_rowid();
            let robots = if ignore_robots {
                "ignored (--ignore-robots)"
            } else {
                "obeyed"
            };
            case.append_custody_tx(
                tx,
                "crawl.started",
                json!({"crawl_id": id, "seeds": seeds, "settings": settings, "robots_txt": robots}),
            )?;
            Ok(id)
        })
    }

    /// The latest unfinished crawl with exactly these seeds and settings (a crawl that was
    /// interrupted and that the same command should continue).
    pub fn unfinished_crawl(&self, seeds: &[String], settings: &serde_json::Value) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT id FROM crawls WHERE finished_at IS NULL AND seeds = ?1 AND settings = ?2 ORDER BY id DESC LIMIT 1",
                params![serde_json::to_string(seeds).unwrap_or_default(), settings.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db_err())
    }

    /// Notes in the custody log that an interrupted crawl continues (`details` says where it
    /// stood); what resuming cut from the WARC files goes into the `crawl.finished` summary.
    pub fn resume_crawl(&mut self, crawl_id: i64, details: serde_json::Value) -> Result<(), StoreError> {
        self.with_tx(|tx, case| {
            case.append_custody_tx(tx, "crawl.resumed", json!({"crawl_id": crawl_id, "state": details}))?;
            Ok(())
        })
    }

    /// The operator paused the crawl (desktop Cancel): it stays unfinished, its frontier
    /// stays queued, and the same seeds and settings resume it; the custody log records
    /// where it stood (`summary`).
    pub fn pause_crawl(&mut self, crawl_id: i64, summary: serde_json::Value) -> Result<(), StoreError> {
        self.with_tx(|tx, case| {
            case.append_custody_tx(tx, "crawl.paused", json!({"crawl_id": crawl_id, "summary": summary}))?;
            Ok(())
        })
    }

    /// The persisted frontier of a crawl.
    pub fn crawl_frontier(&self, crawl_id: i64) -> Result<Vec<FrontierRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT url, purpose, depth, hops, state, attempts, discovered_from, element
                 FROM crawl_frontier WHERE crawl_id = ?1 ORDER BY rowid",
            )
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([crawl_id], |r| {
                Ok(FrontierRow {
                    url: r.get(0)?,
                    purpose: r.get(1)?,
                    depth: r.get(2)?,
                    hops: r.get(3)?,
                    state: r.get(4)?,
                    attempts: r.get(5)?,
                    discovered_from: r.get(6)?,
                    element: r.get(7)?,
                })
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    /// (url, fetched_at, WARC file, response record offset) of every page a crawl captured,
    /// in capture order (a resumed crawl checks them against the text index).
    pub fn crawl_page_captures(&self, crawl_id: i64) -> Result<Vec<(String, String, String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT url, fetched_at, warc_file, warc_offset FROM captures
                 WHERE crawl_id = ?1 AND kind = 'page' ORDER BY id",
            )
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([crawl_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? as u64))
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    /// (file, committed length) of every WARC file of a crawl.
    pub fn crawl_warc_files(&self, crawl_id: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT file, committed_len FROM crawl_warc_files WHERE crawl_id = ?1 ORDER BY file")
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([crawl_id], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    /// Records a WARC file the crawl opened (its warcinfo record is durable).
    pub fn record_warc_file(&mut self, crawl_id: i64, file: &str, len: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO crawl_warc_files (crawl_id, file, committed_len) VALUES (?1, ?2, ?3)
                 ON CONFLICT (crawl_id, file) DO UPDATE SET committed_len = excluded.committed_len",
                params![crawl_id, file, len as i64],
            )
            .map_err(self.db_err())?;
        Ok(())
    }

    /// Totals recorded so far for a crawl (to continue counting after a resume).
    pub fn crawl_totals(&self, crawl_id: i64) -> Result<CrawlTotals, StoreError> {
        let q = |sql: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(sql, [crawl_id], |r| r.get(0))
                .map_err(self.db_err())
        };
        Ok(CrawlTotals {
            pages: q("SELECT COUNT(*) FROM pages WHERE crawl_id = ?1")? as u64,
            assets: q("SELECT COUNT(*) FROM assets a JOIN captures c ON c.id = a.capture_id WHERE c.crawl_id = ?1")?
                as u64,
            exchanges: q("SELECT COUNT(*) FROM captures WHERE crawl_id = ?1")? as u64,
            bytes: q("SELECT COALESCE(SUM(payload_len), 0) FROM captures WHERE crawl_id = ?1")? as u64,
            failures: q("SELECT COUNT(*) FROM failures WHERE crawl_id = ?1")? as u64,
        })
    }

    /// Persists everything one fetch (or a batch of fetches) produced in ONE transaction (captures, page, asset,
    /// failures, references, frontier changes, committed WARC length), so that a crash leaves
    /// either all of it or none; the asset's bytes go to the blob store first (idempotent).
    pub fn commit_crawl_unit(&mut self, crawl_id: i64, unit: &CrawlUnit) -> Result<(), StoreError> {
        put_blobs_durably(self.blobs(), &unit.assets)?;
        let now = now_utc();
        self.with_tx(|tx, _| {
            let mut capture_ids: std::collections::HashMap<&str, i64> = Default::default();
            for c in &unit.captures {
                tx.prepare_cached(
                    "INSERT INTO captures (crawl_id, kind, url, method, status, content_type, fetched_at, server_ip, warc_file, warc_offset,
                     response_record_id, request_record_id, payload_sha256, payload_len, redirect_to)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")?.execute(params![
                        crawl_id, c.kind, c.url, c.method, c.status, c.content_type, c.fetched_at, c.server_ip, c.warc_file,
                        c.warc_offset as i64, c.response_record_id, c.request_record_id, c.payload_sha256, c.payload_len as i64, c.redirect_to
                    ])?;
                capture_ids.insert(c.response_record_id.as_str(), tx.last_insert_rowid());
            }
            for p in &unit.pages {
                tx.prepare_cached(
                    "INSERT INTO pages (crawl_id, url, title, depth, links, captured_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(params![crawl_id, p.url, p.title, p.depth, p.links as i64, now])?;
            }
            for (url, reason) in &unit.failures {
                tx.prepare_cached(
                    "INSERT INTO failures (crawl_id, url, reason, at) VALUES (?1, ?2, ?3, ?4)")?.execute(params![crawl_id, url, reason, now])?;
            }
            for (asset_url, s) in &unit.refs {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO crawl_asset_refs (crawl_id, asset_url, page_url, element) VALUES (?1, ?2, ?3, ?4)")?.execute(params![crawl_id, asset_url, s.page_url, s.element])?;
                // An asset already stored (this crawl or an earlier one) gains the new place.
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO asset_sources (asset_id, page_url, element)
                     SELECT id, ?2, ?3 FROM assets WHERE origin = 'crawl' AND locator = ?1")?.execute(params![asset_url, s.page_url, s.element])?;
            }
            for a in &unit.assets {
                insert_blob(tx, &a.sha256, a.bytes.len() as u64, a.media_type.as_deref(), &now)?;
                let capture_id = a.response_record_id.as_deref().and_then(|id| capture_ids.get(id).copied());
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO assets (origin, locator, sha256, media_type, capture_id, first_seen) VALUES ('crawl', ?1, ?2, ?3, ?4, ?5)")?.execute(params![a.locator, a.sha256, a.media_type, capture_id, now])?;
                let id: i64 = tx
                    .prepare_cached("SELECT id FROM assets WHERE origin = 'crawl' AND locator = ?1 AND sha256 = ?2")?
                    .query_row(params![a.locator, a.sha256], |r| r.get(0))?;
                for s in &a.sources {
                    tx.prepare_cached("INSERT OR IGNORE INTO asset_sources (asset_id, page_url, element) VALUES (?1, ?2, ?3)")?.execute(params![id, s.page_url, s.element])?;
                }
                // Every place this crawl saw it referenced, including before a resume.
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO asset_sources (asset_id, page_url, element)
                     SELECT ?1, page_url, element FROM crawl_asset_refs WHERE crawl_id = ?2 AND asset_url = ?3")?.execute(params![id, crawl_id, a.locator])?;
            }
            for f in &unit.frontier {
                tx.prepare_cached(
                    "INSERT INTO crawl_frontier (crawl_id, url, purpose, depth, hops, state, attempts, discovered_from, element)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (crawl_id, url) DO UPDATE SET state = excluded.state, attempts = excluded.attempts")?.execute(params![crawl_id, f.url, f.purpose, f.depth, f.hops, f.state, f.attempts, f.discovered_from, f.element])?;
            }
            crate::case_inline_assets::insert_inline_tx(tx, crawl_id, &unit.inline)?;
            if let Some((file, len)) = &unit.warc {
                tx.prepare_cached(
                    "INSERT INTO crawl_warc_files (crawl_id, file, committed_len) VALUES (?1, ?2, ?3)
                     ON CONFLICT (crawl_id, file) DO UPDATE SET committed_len = MAX(committed_len, excluded.committed_len)")?.execute(params![crawl_id, file, *len as i64])?;
            }
            Ok(())
        })
    }

    pub fn finish_crawl(&mut self, crawl_id: i64, summary: serde_json::Value) -> Result<(), StoreError> {
        let now = now_utc();
        self.with_tx(|tx, case| {
            tx.execute(
                "UPDATE crawls SET finished_at = ?1, summary = ?2 WHERE id = ?3",
                params![now, summary.to_string(), crawl_id],
            )?;
            case.append_custody_tx(tx, "crawl.finished", json!({"crawl_id": crawl_id, "summary": summary}))?;
            Ok(())
        })
    }

    pub fn crawls(&self) -> Result<Vec<CrawlRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, started_at, finished_at, seeds, settings, summary, ignore_robots FROM crawls ORDER BY id",
            )
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([], |r| {
                let seeds: String = r.get(3)?;
                let settings: String = r.get(4)?;
                let summary: Option<String> = r.get(5)?;
                Ok(CrawlRow {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    finished_at: r.get(2)?,
                    seeds: serde_json::from_str(&seeds).unwrap_or_default(),
                    settings: serde_json::from_str(&settings).unwrap_or_default(),
                    summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
                    ignore_robots: r.get(6)?,
                })
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }
}

/// Fsyncs run on this many threads at once: the disk handles concurrent flushes far better
/// than one after the other (measured on this machine's virtio disk: 300 small files, 1.4 s
/// one by one, 0.14 s on 8 threads).
const SYNC_THREADS: usize = 8;

/// On Linux a batch of blobs is made durable with two `syncfs` calls (data, then names)
/// instead of one fsync per file and per directory: the crawl writes thousands of small
/// images, and one flush of the file system costs about what a handful of fsyncs do.
const WHOLE_FS_SYNC: bool = cfg!(target_os = "linux");

#[cfg(target_os = "linux")]
fn sync_filesystem(inside: &std::path::Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: inside.to_path_buf(),
        source,
    };
    let dir = std::fs::File::open(inside).map_err(io)?;
    rustix::fs::syncfs(&dir).map_err(|e| io(e.into()))
}

#[cfg(not(target_os = "linux"))]
fn sync_filesystem(_inside: &std::path::Path) -> Result<(), StoreError> {
    Ok(())
}

/// Stores the assets' bytes as blobs, all durable before this returns: every new blob is
/// written to a temporary file, verified against its hash and fsynced (in parallel), then
/// renamed into place, and each directory that gained a name is fsynced. A crash never leaves
/// a partial blob under its hash, and the rows that name these blobs are written afterwards.
fn put_blobs_durably(store: &crate::blobs::BlobStore, assets: &[UnitAsset]) -> Result<(), StoreError> {
    use std::io::Write;
    let io = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    let mut seen = std::collections::HashSet::new();
    let new: Vec<&UnitAsset> = assets
        .iter()
        .filter(|a| seen.insert(a.sha256.as_str()) && !store.contains(&a.sha256))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    // Without an fsync per file there is nothing to overlap: one writer, no extra threads
    // (each would keep a malloc arena of its own).
    let chunk = if WHOLE_FS_SYNC {
        new.len()
    } else {
        new.len().div_ceil(SYNC_THREADS)
    };
    let staged: Vec<Result<Vec<(std::path::PathBuf, std::path::PathBuf)>, StoreError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = new
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut done = Vec::with_capacity(part.len());
                    for a in part {
                        let sha = crate::sha256_hex(&a.bytes);
                        if sha != a.sha256 {
                            return Err(StoreError::Invalid(format!(
                                "asset {}: bytes do not hash to {}",
                                a.locator, a.sha256
                            )));
                        }
                        let dest = store.path(&sha);
                        let dir = dest.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
                        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
                        let tmp = dir.join(format!(".{sha}.{}.tmp", std::process::id()));
                        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
                        f.write_all(&a.bytes).map_err(io(&tmp))?;
                        if !WHOLE_FS_SYNC {
                            f.sync_all().map_err(io(&tmp))?;
                        }
                        done.push((tmp, dest));
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(StoreError::Invalid("a blob writer thread panicked".into())))
            })
            .collect()
    });
    let staged: Vec<_> = staged.into_iter().collect::<Result<_, _>>()?;
    if WHOLE_FS_SYNC {
        // Every staged file's bytes durable at once, before any takes its name; then the
        // names, with the second flush.
        let staged: Vec<_> = staged.into_iter().flatten().collect();
        let Some(anchor) = staged
            .first()
            .and_then(|(_, dest)| dest.parent().map(std::path::Path::to_path_buf))
        else {
            return Ok(());
        };
        sync_filesystem(&anchor)?;
        for (tmp, dest) in staged {
            std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
        }
        return sync_filesystem(&anchor);
    }
    let mut dirs = std::collections::BTreeSet::new();
    for part in staged {
        for (tmp, dest) in part {
            std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
            if let Some(d) = dest.parent() {
                dirs.insert(d.to_path_buf());
            }
        }
    }
    // Make the renames durable.
    let dirs: Vec<_> = dirs.into_iter().collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = dirs
            .chunks(dirs.len().div_ceil(SYNC_THREADS))
            .map(|part| {
                scope.spawn(move || -> Result<(), StoreError> {
                    for d in part {
                        std::fs::File::open(d).and_then(|f| f.sync_all()).map_err(io(d))?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(StoreError::Invalid("a directory sync thread panicked".into())))
        })
    })
}
