//! What the pipeline found and decided: fingerprints, scans, matches, reviews, exports.

use rusqlite::{params, OptionalExtension};
use serde_json::json;

use crate::mapping::*;
use crate::rows::*;
use crate::{now_utc, Case, StoreError};

impl Case {
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
    pub fn upsert_match(&mut self, m: &NewMatch) -> Result<i64, StoreError> {
        let now = now_utc();
        self.with_tx(|tx, _| {
            tx.execute(
                "INSERT INTO matches (reference_id, asset_id, scan_id, score, strength, signals, explanation, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (reference_id, asset_id) DO UPDATE SET scan_id = excluded.scan_id, score = excluded.score,
                 strength = excluded.strength, signals = excluded.signals, explanation = excluded.explanation, updated_at = excluded.updated_at",
                params![
                    m.reference_id,
                    m.asset_id,
                    m.scan_id,
                    m.score,
                    m.strength,
                    m.signals.to_string(),
                    m.explanation,
                    now
                ],
            )?;
            tx.query_row(
                "SELECT id FROM matches WHERE reference_id = ?1 AND asset_id = ?2",
                params![m.reference_id, m.asset_id],
                |r| r.get(0),
            )
        })
    }

    /// Matches with score ≥ `min_score`, best first: by score, equal scores by strength
    /// (rows of scans before the strength was stored come after their equals), then by id.
    pub fn matches(&self, min_score: f64) -> Result<Vec<MatchRecord>, StoreError> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM matches WHERE score >= ?1 ORDER BY score DESC, strength DESC, id")
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
}
