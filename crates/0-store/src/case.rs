//! The case: its folder, database connection and every write that must leave a
//! trace in the custody log (done in the same transaction as the row it records).

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::json;

use crate::blobs::BlobStore;
use crate::custody::{self, CustodyEntry};
use crate::rows::*;
use crate::schema::MIGRATIONS;
use crate::{now_utc, sha256_hex, StoreError, TOOL_VERSION};

pub struct Case {
    root: PathBuf,
    db_path: PathBuf,
    conn: Connection,
    blobs: BlobStore,
    info: CaseInfo,
}

/// Something `xiezhi log --check` found wrong.
#[derive(Serialize, Clone, Debug)]
pub struct IntegrityIssue {
    /// The custody sequence number or table row at fault.
    pub at: String,
    pub problem: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct IntegrityReport {
    pub ok: bool,
    pub entries: u64,
    pub head: Option<String>,
    /// The first broken custody entry, if the chain is broken.
    pub first_broken: Option<u64>,
    pub issues: Vec<IntegrityIssue>,
}

impl Case {
    /// Create a new case folder (it may exist but must not already hold a case).
    pub fn init(dir: &Path, name: &str) -> Result<Case, StoreError> {
        let db_path = dir.join("case.db");
        if db_path.exists() {
            return Err(StoreError::AlreadyACase(dir.to_path_buf()));
        }
        for sub in ["", "blobs", "warc", "index", "exports"] {
            let p = dir.join(sub);
            fs::create_dir_all(&p).map_err(|source| StoreError::Io {
                path: p.clone(),
                source,
            })?;
        }
        let conn = open_db(&db_path)?;
        let info = CaseInfo {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
            created_at: now_utc(),
            tool_version: TOOL_VERSION.to_string(),
        };
        let mut case = Case {
            root: dir.to_path_buf(),
            db_path: db_path.clone(),
            blobs: BlobStore::new(dir.join("blobs")),
            conn,
            info: info.clone(),
        };
        case.with_tx(|tx, case| {
            tx.execute(
                "INSERT INTO case_info (id, name, created_at, tool_version) VALUES (?1, ?2, ?3, ?4)",
                params![info.id, info.name, info.created_at, info.tool_version],
            )?;
            case.append_custody_tx(
                tx,
                "case.created",
                json!({"case_id": info.id, "name": info.name, "tool_version": info.tool_version}),
            )?;
            Ok(())
        })?;
        Ok(case)
    }

    pub fn open(dir: &Path) -> Result<Case, StoreError> {
        let db_path = dir.join("case.db");
        if !db_path.is_file() {
            return Err(StoreError::NotACase(dir.to_path_buf()));
        }
        let conn = open_db(&db_path)?;
        let info = conn
            .query_row("SELECT id, name, created_at, tool_version FROM case_info", [], |r| {
                Ok(CaseInfo {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                    tool_version: r.get(3)?,
                })
            })
            .map_err(|source| StoreError::Db {
                path: db_path.clone(),
                source,
            })?;
        Ok(Case {
            root: dir.to_path_buf(),
            db_path,
            blobs: BlobStore::new(dir.join("blobs")),
            conn,
            info,
        })
    }

    pub fn info(&self) -> &CaseInfo {
        &self.info
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn warc_dir(&self) -> PathBuf {
        self.root.join("warc")
    }
    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }
    pub fn exports_dir(&self) -> PathBuf {
        self.root.join("exports")
    }
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    fn db_err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Db {
            path: self.db_path.clone(),
            source,
        }
    }

    /// Run `f` in one transaction: either every row and custody entry lands, or none.
    fn with_tx<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction, &Case) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(self.db_err())?;
        let out = f(&tx, self).map_err(self.db_err())?;
        tx.commit().map_err(self.db_err())?;
        Ok(out)
    }

    fn append_custody_tx(
        &self,
        tx: &rusqlite::Transaction,
        event: &str,
        details: serde_json::Value,
    ) -> Result<CustodyEntry, rusqlite::Error> {
        let prev = last_custody(tx)?;
        let entry = custody::next_entry(prev.as_ref(), now_utc(), event, details);
        tx.execute(
            "INSERT INTO custody (seq, at, event, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                entry.seq as i64,
                entry.at,
                entry.event,
                entry.details.to_string(),
                entry.prev_hash,
                entry.hash
            ],
        )?;
        Ok(entry)
    }

    /// Append an event that has no row of its own (crawl started, scan finished…).
    pub fn log_event(&mut self, event: &str, details: serde_json::Value) -> Result<CustodyEntry, StoreError> {
        self.with_tx(|tx, case| case.append_custody_tx(tx, event, details))
    }

    pub fn custody(&self) -> Result<Vec<CustodyEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, event, details, prev_hash, hash FROM custody ORDER BY seq")
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([], |r| {
                let details: String = r.get(3)?;
                Ok(CustodyEntry {
                    seq: r.get::<_, i64>(0)? as u64,
                    at: r.get(1)?,
                    event: r.get(2)?,
                    // An unparsable details column is kept as a string so the hash check flags it.
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
                    prev_hash: r.get(4)?,
                    hash: r.get(5)?,
                })
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    // ---- references -------------------------------------------------------

    /// Store a reference file's bytes and record it (once per distinct content).
    pub fn add_reference(
        &mut self,
        original_path: &str,
        bytes: &[u8],
        media_type: Option<&str>,
    ) -> Result<AddedReference, StoreError> {
        let sha = sha256_hex(bytes);
        if let Some(existing) = self.reference_by_sha(&sha)? {
            return Ok(AddedReference {
                reference: existing,
                new: false,
            });
        }
        self.blobs.put(bytes)?;
        let now = now_utc();
        let size = bytes.len() as u64;
        let id = self.with_tx(|tx, case| {
            insert_blob(tx, &sha, size, media_type, &now)?;
            let entry = case.append_custody_tx(tx, "reference.added", json!({"path": original_path, "sha256": sha, "size": size, "media_type": media_type}))?;
            tx.execute(
                "INSERT INTO refs (original_path, sha256, size, media_type, added_at, custody_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![original_path, sha, size as i64, media_type, now, entry.seq as i64],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(AddedReference {
            reference: Reference {
                id,
                original_path: original_path.to_string(),
                sha256: sha,
                size,
                media_type: media_type.map(str::to_string),
                added_at: now,
            },
            new: true,
        })
    }

    fn reference_by_sha(&self, sha: &str) -> Result<Option<Reference>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, original_path, sha256, size, media_type, added_at FROM refs WHERE sha256 = ?1",
                [sha],
                reference_from_row,
            )
            .optional()
            .map_err(self.db_err())
    }

    pub fn references(&self) -> Result<Vec<Reference>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, original_path, sha256, size, media_type, added_at FROM refs ORDER BY id")
            .map_err(self.db_err())?;
        let rows = stmt.query_map([], reference_from_row).map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    // ---- crawls -----------------------------------------------------------

    pub fn begin_crawl(&mut self, seeds: &[String], settings: serde_json::Value) -> Result<i64, StoreError> {
        let now = now_utc();
        self.with_tx(|tx, case| {
            tx.execute(
                "INSERT INTO crawls (started_at, seeds, settings) VALUES (?1, ?2, ?3)",
                params![
                    now,
                    serde_json::to_string(seeds).unwrap_or_default(),
                    settings.to_string()
                ],
            )?;
            let id = tx.last_insert_rowid();
            case.append_custody_tx(
                tx,
                "crawl.started",
                json!({"crawl_id": id, "seeds": seeds, "settings": settings}),
            )?;
            Ok(id)
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
            .prepare("SELECT id, started_at, finished_at, seeds, settings, summary FROM crawls ORDER BY id")
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
                })
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    /// Record one HTTP exchange; returns its row id.
    pub fn record_capture(&mut self, c: &Capture) -> Result<i64, StoreError> {
        self.with_tx(|tx, _| {
            tx.execute(
                "INSERT INTO captures (crawl_id, kind, url, method, status, content_type, fetched_at, server_ip, warc_file, warc_offset,
                 response_record_id, request_record_id, payload_sha256, payload_len, redirect_to)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    c.crawl_id, c.kind, c.url, c.method, c.status, c.content_type, c.fetched_at, c.server_ip, c.warc_file,
                    c.warc_offset as i64, c.response_record_id, c.request_record_id, c.payload_sha256, c.payload_len as i64, c.redirect_to
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    pub fn capture(&self, id: i64) -> Result<Option<Capture>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {CAPTURE_COLS} FROM captures WHERE id = ?1"),
                [id],
                capture_from_row,
            )
            .optional()
            .map_err(self.db_err())
    }

    /// The latest capture of a URL (used to link assets to their exchange).
    pub fn latest_capture_of(&self, url: &str) -> Result<Option<Capture>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {CAPTURE_COLS} FROM captures WHERE url = ?1 ORDER BY id DESC LIMIT 1"),
                [url],
                capture_from_row,
            )
            .optional()
            .map_err(self.db_err())
    }

    pub fn record_page(
        &mut self,
        crawl_id: i64,
        url: &str,
        title: &str,
        depth: u32,
        links: usize,
    ) -> Result<(), StoreError> {
        let now = now_utc();
        self.conn
            .execute(
                "INSERT INTO pages (crawl_id, url, title, depth, links, captured_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![crawl_id, url, title, depth, links as i64, now],
            )
            .map_err(self.db_err())?;
        Ok(())
    }

    pub fn record_failure(&mut self, crawl_id: i64, url: &str, reason: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO failures (crawl_id, url, reason, at) VALUES (?1, ?2, ?3, ?4)",
                params![crawl_id, url, reason, now_utc()],
            )
            .map_err(self.db_err())?;
        Ok(())
    }

    /// (url, reason) of every failed fetch of a crawl.
    pub fn failures(&self, crawl_id: i64) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT url, reason FROM failures WHERE crawl_id = ?1 ORDER BY id")
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([crawl_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    // ---- assets -----------------------------------------------------------

    /// Store an asset's bytes and record it; the same (origin, locator, bytes) is one asset.
    pub fn record_asset(
        &mut self,
        origin: AssetOrigin,
        locator: &str,
        bytes: &[u8],
        media_type: Option<&str>,
        capture_id: Option<i64>,
        sources: &[AssetSource],
    ) -> Result<Asset, StoreError> {
        let sha = self.blobs.put(bytes)?;
        let now = now_utc();
        let size = bytes.len() as u64;
        let id = self.with_tx(|tx, _| {
            insert_blob(tx, &sha, size, media_type, &now)?;
            tx.execute(
                "INSERT OR IGNORE INTO assets (origin, locator, sha256, media_type, capture_id, first_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![origin.as_str(), locator, sha, media_type, capture_id, now],
            )?;
            let id: i64 = tx.query_row(
                "SELECT id FROM assets WHERE origin = ?1 AND locator = ?2 AND sha256 = ?3",
                params![origin.as_str(), locator, sha],
                |r| r.get(0),
            )?;
            for s in sources {
                tx.execute("INSERT OR IGNORE INTO asset_sources (asset_id, page_url, element) VALUES (?1, ?2, ?3)", params![id, s.page_url, s.element])?;
            }
            Ok(id)
        })?;
        self.asset(id)?
            .ok_or_else(|| StoreError::Invalid(format!("asset {id} vanished")))
    }

    /// Another page/element that referenced an already recorded asset (all its versions).
    pub fn add_asset_source(
        &mut self,
        origin: AssetOrigin,
        locator: &str,
        source: &AssetSource,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO asset_sources (asset_id, page_url, element)
                 SELECT id, ?3, ?4 FROM assets WHERE origin = ?1 AND locator = ?2",
                params![origin.as_str(), locator, source.page_url, source.element],
            )
            .map_err(self.db_err())?;
        Ok(())
    }

    pub fn asset(&self, id: i64) -> Result<Option<Asset>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {ASSET_COLS} FROM assets WHERE id = ?1"),
                [id],
                asset_from_row,
            )
            .optional()
            .map_err(self.db_err())
    }

    pub fn assets(&self, origin: Option<AssetOrigin>) -> Result<Vec<Asset>, StoreError> {
        let (sql, arg) = match &origin {
            Some(o) => (
                format!("SELECT {ASSET_COLS} FROM assets WHERE origin = ?1 ORDER BY id"),
                Some(o.as_str()),
            ),
            None => (format!("SELECT {ASSET_COLS} FROM assets ORDER BY id"), None),
        };
        let mut stmt = self.conn.prepare(&sql).map_err(self.db_err())?;
        let rows = match arg {
            Some(a) => stmt.query_map([a], asset_from_row),
            None => stmt.query_map([], asset_from_row),
        }
        .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    pub fn asset_sources(&self, asset_id: i64) -> Result<Vec<AssetSource>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT page_url, element FROM asset_sources WHERE asset_id = ?1 ORDER BY page_url, element")
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([asset_id], |r| {
                Ok(AssetSource {
                    page_url: r.get(0)?,
                    element: r.get(1)?,
                })
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    // ---- fingerprints -----------------------------------------------------

    /// A cached fingerprint (opaque bytes owned by the fingerprint stage) or the error it gave.
    pub fn fingerprint(&self, sha256: &str, model_id: &str) -> Result<Option<Result<Vec<u8>, String>>, StoreError> {
        self.conn
            .query_row(
                "SELECT data, error FROM fingerprints WHERE sha256 = ?1 AND model_id = ?2",
                params![sha256, model_id],
                |r| {
                    let data: Option<Vec<u8>> = r.get(0)?;
                    let error: Option<String> = r.get(1)?;
                    Ok(match (data, error) {
                        (Some(d), None) => Ok(d),
                        (_, Some(e)) => Err(e),
                        (None, None) => Err("empty fingerprint row".to_string()),
                    })
                },
            )
            .optional()
            .map_err(self.db_err())
    }

    pub fn put_fingerprint(
        &mut self,
        sha256: &str,
        model_id: &str,
        result: Result<&[u8], &str>,
    ) -> Result<(), StoreError> {
        let (data, error) = match result {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e)),
        };
        self.conn
            .execute(
                "INSERT OR REPLACE INTO fingerprints (sha256, model_id, computed_at, data, error) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![sha256, model_id, now_utc(), data, error],
            )
            .map_err(self.db_err())?;
        Ok(())
    }

    // ---- scans and matches ------------------------------------------------

    pub fn begin_scan(&mut self, kind: &str, details: serde_json::Value) -> Result<i64, StoreError> {
        let now = now_utc();
        self.with_tx(|tx, case| {
            tx.execute(
                "INSERT INTO scans (kind, started_at) VALUES (?1, ?2)",
                params![kind, now],
            )?;
            let id = tx.last_insert_rowid();
            case.append_custody_tx(
                tx,
                &format!("{kind}.started"),
                json!({"scan_id": id, "details": details}),
            )?;
            Ok(id)
        })
    }

    pub fn finish_scan(&mut self, scan_id: i64, kind: &str, summary: serde_json::Value) -> Result<(), StoreError> {
        let now = now_utc();
        self.with_tx(|tx, case| {
            tx.execute(
                "UPDATE scans SET finished_at = ?1, summary = ?2 WHERE id = ?3",
                params![now, summary.to_string(), scan_id],
            )?;
            case.append_custody_tx(
                tx,
                &format!("{kind}.finished"),
                json!({"scan_id": scan_id, "summary": summary}),
            )?;
            Ok(())
        })
    }

    /// Insert or refresh the match between a reference and an asset; the id is stable.
    pub fn upsert_match(
        &mut self,
        reference_id: i64,
        asset_id: i64,
        scan_id: i64,
        score: f64,
        signals: &serde_json::Value,
        explanation: &str,
    ) -> Result<i64, StoreError> {
        let now = now_utc();
        self.with_tx(|tx, _| {
            tx.execute(
                "INSERT INTO matches (reference_id, asset_id, scan_id, score, signals, explanation, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (reference_id, asset_id) DO UPDATE SET scan_id = excluded.scan_id, score = excluded.score,
                 signals = excluded.signals, explanation = excluded.explanation, updated_at = excluded.updated_at",
                params![reference_id, asset_id, scan_id, score, signals.to_string(), explanation, now],
            )?;
            tx.query_row("SELECT id FROM matches WHERE reference_id = ?1 AND asset_id = ?2", params![reference_id, asset_id], |r| r.get(0))
        })
    }

    /// Matches with score ≥ `min_score`, best first (ties by id).
    pub fn matches(&self, min_score: f64) -> Result<Vec<MatchRecord>, StoreError> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM matches WHERE score >= ?1 ORDER BY score DESC, id")
                .map_err(self.db_err())?;
            let rows = stmt.query_map([min_score], |r| r.get(0)).map_err(self.db_err())?;
            rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())?
        };
        ids.into_iter().map(|id| self.match_record(id)).collect()
    }

    pub fn match_record(&self, id: i64) -> Result<MatchRecord, StoreError> {
        let (reference_id, asset_id, score, signals, explanation, updated_at): (i64, i64, f64, String, String, String) =
            self.conn
                .query_row(
                    "SELECT reference_id, asset_id, score, signals, explanation, updated_at FROM matches WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )
                .optional()
                .map_err(self.db_err())?
                .ok_or(StoreError::NoSuchMatch(id))?;
        let reference = self
            .conn
            .query_row(
                "SELECT id, original_path, sha256, size, media_type, added_at FROM refs WHERE id = ?1",
                [reference_id],
                reference_from_row,
            )
            .map_err(self.db_err())?;
        let asset = self
            .asset(asset_id)?
            .ok_or_else(|| StoreError::Invalid(format!("match {id} points at missing asset {asset_id}")))?;
        let capture = match asset.capture_id {
            Some(c) => self.capture(c)?,
            None => None,
        };
        Ok(MatchRecord {
            id,
            score,
            signals: serde_json::from_str(&signals).unwrap_or_default(),
            explanation,
            updated_at,
            sources: self.asset_sources(asset_id)?,
            reference,
            asset,
            capture,
            review: self.latest_review(id)?,
        })
    }

    // ---- reviews ----------------------------------------------------------

    pub fn review(
        &mut self,
        match_id: i64,
        decision: Decision,
        note: Option<&str>,
        reviewer: Option<&str>,
    ) -> Result<Review, StoreError> {
        // Fail with a clear error before writing anything.
        self.match_record(match_id)?;
        let now = now_utc();
        let id = self.with_tx(|tx, case| {
            let entry = case.append_custody_tx(tx, "review.decision", json!({"match_id": match_id, "decision": decision.as_str(), "note": note, "reviewer": reviewer}))?;
            tx.execute(
                "INSERT INTO reviews (match_id, decision, note, reviewer, decided_at, custody_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![match_id, decision.as_str(), note, reviewer, now, entry.seq as i64],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(Review {
            id,
            match_id,
            decision,
            note: note.map(str::to_string),
            reviewer: reviewer.map(str::to_string),
            decided_at: now,
        })
    }

    fn latest_review(&self, match_id: i64) -> Result<Option<Review>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, match_id, decision, note, reviewer, decided_at FROM reviews WHERE match_id = ?1 ORDER BY id DESC LIMIT 1",
                [match_id],
                review_from_row,
            )
            .optional()
            .map_err(self.db_err())
    }

    // ---- exports ----------------------------------------------------------

    pub fn record_export(
        &mut self,
        path: &str,
        bundle_id: &str,
        bundle_sha256: &str,
        manifest_sha256: &str,
        extra: serde_json::Value,
    ) -> Result<ExportRow, StoreError> {
        let now = now_utc();
        let id = self.with_tx(|tx, case| {
            let entry = case.append_custody_tx(
                tx,
                "export.created",
                json!({"path": path, "bundle_id": bundle_id, "bundle_sha256": bundle_sha256, "manifest_sha256": manifest_sha256, "details": extra}),
            )?;
            tx.execute(
                "INSERT INTO exports (path, bundle_id, bundle_sha256, manifest_sha256, created_at, custody_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![path, bundle_id, bundle_sha256, manifest_sha256, now, entry.seq as i64],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(ExportRow {
            id,
            path: path.to_string(),
            bundle_id: bundle_id.to_string(),
            bundle_sha256: bundle_sha256.to_string(),
            manifest_sha256: manifest_sha256.to_string(),
            created_at: now,
        })
    }

    pub fn counts(&self) -> Result<CaseCounts, StoreError> {
        let c = |sql: &str| -> Result<u64, StoreError> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|v| v as u64)
                .map_err(self.db_err())
        };
        Ok(CaseCounts {
            references: c("SELECT COUNT(*) FROM refs")?,
            crawls: c("SELECT COUNT(*) FROM crawls")?,
            captures: c("SELECT COUNT(*) FROM captures")?,
            pages: c("SELECT COUNT(*) FROM pages")?,
            assets: c("SELECT COUNT(*) FROM assets")?,
            failures: c("SELECT COUNT(*) FROM failures")?,
            matches: c("SELECT COUNT(*) FROM matches")?,
            confirmed: c("SELECT COUNT(*) FROM reviews r WHERE decision = 'confirmed' AND id = (SELECT MAX(id) FROM reviews WHERE match_id = r.match_id)")?,
            rejected: c("SELECT COUNT(*) FROM reviews r WHERE decision = 'rejected' AND id = (SELECT MAX(id) FROM reviews WHERE match_id = r.match_id)")?,
            exports: c("SELECT COUNT(*) FROM exports")?,
            custody_entries: c("SELECT COUNT(*) FROM custody")?,
        })
    }

    // ---- integrity --------------------------------------------------------

    /// Verify the custody chain, then that every reference, review and export row
    /// still says what its custody entry recorded, and that reference blobs are intact.
    pub fn check_integrity(&self) -> Result<IntegrityReport, StoreError> {
        let entries = self.custody()?;
        let mut issues = Vec::new();
        let mut first_broken = None;
        if let Err(b) = custody::verify_chain(&entries) {
            first_broken = Some(b.seq);
            issues.push(IntegrityIssue {
                at: format!("custody entry {}", b.seq),
                problem: b.reason,
            });
        }
        let by_seq = |seq: i64| entries.iter().find(|e| e.seq as i64 == seq);
        let mut expect =
            |table: &str, id: i64, seq: i64, event: &str, fields: &[(&str, serde_json::Value)]| match by_seq(seq) {
                None => issues.push(IntegrityIssue {
                    at: format!("{table} row {id}"),
                    problem: format!("points at custody entry {seq}, which does not exist"),
                }),
                Some(e) if e.event != event => issues.push(IntegrityIssue {
                    at: format!("{table} row {id}"),
                    problem: format!("custody entry {seq} is a {} event, not {event}", e.event),
                }),
                Some(e) => {
                    for (k, v) in fields {
                        let logged = e.details.get(*k).cloned().unwrap_or(serde_json::Value::Null);
                        if &logged != v {
                            issues.push(IntegrityIssue {
                                at: format!("{table} row {id}"),
                                problem: format!("{k} is {v} but custody entry {seq} recorded {logged}"),
                            });
                        }
                    }
                }
            };
        for (table, event, columns) in VOUCHED_ROWS {
            let names: Vec<&str> = columns.iter().map(|(col, _)| *col).collect();
            let sql = format!("SELECT id, custody_seq, {} FROM {table} ORDER BY id", names.join(", "));
            let mut stmt = self.conn.prepare(&sql).map_err(self.db_err())?;
            let rows = stmt
                .query_map([], |r| {
                    let values = (0..columns.len())
                        .map(|i| r.get_ref(i + 2).map(sql_to_json))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, values))
                })
                .map_err(self.db_err())?;
            for row in rows {
                let (id, seq, values) = row.map_err(self.db_err())?;
                let fields: Vec<(&str, serde_json::Value)> = columns.iter().map(|(_, key)| *key).zip(values).collect();
                expect(table, id, seq, event, &fields);
            }
        }
        for r in self.references()? {
            if let Err(e) = self.blobs.read_verified(&r.sha256) {
                issues.push(IntegrityIssue {
                    at: format!("refs row {}", r.id),
                    problem: e.to_string(),
                });
            }
        }
        Ok(IntegrityReport {
            ok: issues.is_empty(),
            entries: entries.len() as u64,
            head: entries.last().map(|e| e.hash.clone()),
            first_broken,
            issues,
        })
    }
}

/// Rows the custody log vouches for.
/// (table, custody event, [(column, key in the entry's details)])
type VouchedRow = (&'static str, &'static str, &'static [(&'static str, &'static str)]);
const VOUCHED_ROWS: &[VouchedRow] = &[
    (
        "refs",
        "reference.added",
        &[("original_path", "path"), ("sha256", "sha256"), ("size", "size")],
    ),
    (
        "reviews",
        "review.decision",
        &[("match_id", "match_id"), ("decision", "decision"), ("note", "note")],
    ),
    (
        "exports",
        "export.created",
        &[
            ("bundle_sha256", "bundle_sha256"),
            ("manifest_sha256", "manifest_sha256"),
        ],
    ),
];

fn sql_to_json(v: rusqlite::types::ValueRef) -> serde_json::Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => json!(hex::encode(b)),
    }
}

fn open_db(path: &Path) -> Result<Connection, StoreError> {
    let err = |source| StoreError::Db {
        path: path.to_path_buf(),
        source,
    };
    let mut conn = Connection::open(path).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::Db {
        path: path.to_path_buf(),
        source,
    };
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    let supported = MIGRATIONS.len() as i64;
    if version > supported {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found: version,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

fn last_custody(tx: &rusqlite::Transaction) -> Result<Option<CustodyEntry>, rusqlite::Error> {
    tx.query_row(
        "SELECT seq, at, event, details, prev_hash, hash FROM custody ORDER BY seq DESC LIMIT 1",
        [],
        |r| {
            let details: String = r.get(3)?;
            Ok(CustodyEntry {
                seq: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                event: r.get(2)?,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
                prev_hash: r.get(4)?,
                hash: r.get(5)?,
            })
        },
    )
    .optional()
}

fn insert_blob(
    tx: &rusqlite::Transaction,
    sha: &str,
    size: u64,
    media_type: Option<&str>,
    now: &str,
) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT OR IGNORE INTO blobs (sha256, size, media_type, stored_at) VALUES (?1, ?2, ?3, ?4)",
        params![sha, size as i64, media_type, now],
    )?;
    Ok(())
}

const CAPTURE_COLS: &str = "id, crawl_id, kind, url, method, status, content_type, fetched_at, server_ip, warc_file, warc_offset, response_record_id, request_record_id, payload_sha256, payload_len, redirect_to";
const ASSET_COLS: &str = "id, origin, locator, sha256, media_type, capture_id, first_seen";

fn reference_from_row(r: &Row) -> Result<Reference, rusqlite::Error> {
    Ok(Reference {
        id: r.get(0)?,
        original_path: r.get(1)?,
        sha256: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        media_type: r.get(4)?,
        added_at: r.get(5)?,
    })
}

fn capture_from_row(r: &Row) -> Result<Capture, rusqlite::Error> {
    Ok(Capture {
        id: r.get(0)?,
        crawl_id: r.get(1)?,
        kind: r.get(2)?,
        url: r.get(3)?,
        method: r.get(4)?,
        status: r.get(5)?,
        content_type: r.get(6)?,
        fetched_at: r.get(7)?,
        server_ip: r.get(8)?,
        warc_file: r.get(9)?,
        warc_offset: r.get::<_, i64>(10)? as u64,
        response_record_id: r.get(11)?,
        request_record_id: r.get(12)?,
        payload_sha256: r.get(13)?,
        payload_len: r.get::<_, i64>(14)? as u64,
        redirect_to: r.get(15)?,
    })
}

fn asset_from_row(r: &Row) -> Result<Asset, rusqlite::Error> {
    let origin: String = r.get(1)?;
    Ok(Asset {
        id: r.get(0)?,
        origin: if origin == "local" {
            AssetOrigin::Local
        } else {
            AssetOrigin::Crawl
        },
        locator: r.get(2)?,
        sha256: r.get(3)?,
        media_type: r.get(4)?,
        capture_id: r.get(5)?,
        first_seen: r.get(6)?,
    })
}

fn review_from_row(r: &Row) -> Result<Review, rusqlite::Error> {
    let d: String = r.get(2)?;
    Ok(Review {
        id: r.get(0)?,
        match_id: r.get(1)?,
        decision: Decision::parse(&d).unwrap_or(Decision::Rejected),
        note: r.get(3)?,
        reviewer: r.get(4)?,
        decided_at: r.get(5)?,
    })
}
