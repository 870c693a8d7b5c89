//! What crawls captured, one row at a time: exchanges, pages, failures, assets and where
//! they appeared (the crawl lifecycle and batched commits are in `case_capture`).

use rusqlite::{params, OptionalExtension};

use crate::case::insert_blob;
use crate::mapping::*;
use crate::rows::*;
use crate::{now_utc, Case, StoreError};

impl Case {
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
        let sha = self.blobs().put(bytes)?;
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
}
