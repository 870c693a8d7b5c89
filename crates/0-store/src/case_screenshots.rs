//! Page screenshots (taken by the crawler, stored as WARC resource records) and the
//! case's timestamp authority with the tokens taken over the reference manifest.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{now_utc, Case, StoreError};

/// A full-page screenshot of `url`; its PNG bytes are the WARC record at
/// (`warc_file`, `warc_offset`) in the case's `warc/` folder.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Screenshot {
    pub id: i64,
    pub url: String,
    pub taken_at: String,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub warc_file: String,
    pub warc_offset: u64,
}

/// An RFC 3161 token over the case's reference manifest, taken at `refs add`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReferenceTimestamp {
    pub id: i64,
    pub created_at: String,
    /// The JSON document that was timestamped (references and their SHA-256).
    pub manifest: String,
    pub manifest_sha256: String,
    pub tsa_url: String,
    /// DER TimeStampResp.
    #[serde(skip)]
    pub token: Vec<u8>,
    pub gen_time: String,
}

fn screenshot_from_row(r: &rusqlite::Row) -> rusqlite::Result<Screenshot> {
    Ok(Screenshot {
        id: r.get(0)?,
        url: r.get(1)?,
        taken_at: r.get(2)?,
        sha256: r.get(3)?,
        width: r.get::<_, i64>(4)?.clamp(0, u32::MAX as i64) as u32,
        height: r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32,
        warc_file: r.get(6)?,
        warc_offset: r.get::<_, i64>(7)?.max(0) as u64,
    })
}

impl Case {
    /// Record a screenshot already written to a WARC file; returns its row id.
    #[allow(clippy::too_many_arguments)]
    pub fn add_screenshot(
        &mut self,
        url: &str,
        taken_at: &str,
        sha256: &str,
        width: u32,
        height: u32,
        warc_file: &str,
        warc_offset: u64,
    ) -> Result<i64, StoreError> {
        self.with_tx(|tx, case| {
            tx.execute(
                "INSERT INTO screenshots (url, taken_at, sha256, width, height, warc_file, warc_offset)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![url, taken_at, sha256, width, height, warc_file, warc_offset as i64],
            )?;
            let id = tx.last_insert_rowid();
            case.append_custody_tx(
                tx,
                "screenshot.taken",
                json!({"id": id, "url": url, "sha256": sha256, "warc_file": warc_file, "warc_offset": warc_offset}),
            )?;
            Ok(id)
        })
    }

    /// The latest screenshot of the page at `url`, if one was taken.
    pub fn screenshot_for_page(&self, url: &str) -> Result<Option<Screenshot>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, url, taken_at, sha256, width, height, warc_file, warc_offset FROM screenshots
                 WHERE url = ?1 ORDER BY taken_at DESC, id DESC LIMIT 1",
                [url],
                screenshot_from_row,
            )
            .optional()
            .map_err(self.db_err())
    }

    /// The timestamp authority `refs add` uses, if one is configured.
    pub fn tsa_url(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT tsa_url FROM case_info", [], |r| r.get(0))
            .map_err(self.db_err())
    }

    /// Configure (or, with `None`, remove) the case's timestamp authority.
    pub fn set_tsa_url(&mut self, url: Option<&str>) -> Result<(), StoreError> {
        self.with_tx(|tx, case| {
            tx.execute("UPDATE case_info SET tsa_url = ?1", params![url])?;
            case.append_custody_tx(tx, "case.tsa_set", json!({"tsa_url": url}))?;
            Ok(())
        })
    }

    /// Record a verified token over the reference manifest.
    pub fn add_reference_timestamp(
        &mut self,
        manifest: &str,
        manifest_sha256: &str,
        tsa_url: &str,
        token: &[u8],
        gen_time: &str,
    ) -> Result<ReferenceTimestamp, StoreError> {
        let now = now_utc();
        let id = self.with_tx(|tx, case| {
            let entry = case.append_custody_tx(
                tx,
                "references.timestamped",
                json!({"manifest_sha256": manifest_sha256, "tsa_url": tsa_url, "gen_time": gen_time,
                       "token_sha256": crate::sha256_hex(token)}),
            )?;
            tx.execute(
                "INSERT INTO reference_timestamps (created_at, manifest, manifest_sha256, tsa_url, token, gen_time, custody_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![now, manifest, manifest_sha256, tsa_url, token, gen_time, entry.seq as i64],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(ReferenceTimestamp {
            id,
            created_at: now,
            manifest: manifest.to_string(),
            manifest_sha256: manifest_sha256.to_string(),
            tsa_url: tsa_url.to_string(),
            token: token.to_vec(),
            gen_time: gen_time.to_string(),
        })
    }

    /// Every reference-manifest timestamp, oldest first.
    pub fn reference_timestamps(&self) -> Result<Vec<ReferenceTimestamp>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, created_at, manifest, manifest_sha256, tsa_url, token, gen_time
                 FROM reference_timestamps ORDER BY id",
            )
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ReferenceTimestamp {
                    id: r.get(0)?,
                    created_at: r.get(1)?,
                    manifest: r.get(2)?,
                    manifest_sha256: r.get(3)?,
                    tsa_url: r.get(4)?,
                    token: r.get(5)?,
                    gen_time: r.get(6)?,
                })
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }
}

#[cfg(test)]
mod tests {
    use crate::Case;

    #[test]
    fn screenshots_and_tsa_setting_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut case = Case::init(dir.path(), "shots").unwrap();
        assert_eq!(case.screenshot_for_page("http://127.0.0.1/a").unwrap(), None);
        let sha = "ab".repeat(32);
        case.add_screenshot(
            "http://127.0.0.1/a",
            "2026-01-01T00:00:00.000Z",
            &sha,
            800,
            600,
            "x.warc.gz",
            0,
        )
        .unwrap();
        let id = case
            .add_screenshot(
                "http://127.0.0.1/a",
                "2026-01-02T00:00:00.000Z",
                &sha,
                1024,
                768,
                "x.warc.gz",
                99,
            )
            .unwrap();
        let s = case.screenshot_for_page("http://127.0.0.1/a").unwrap().unwrap();
        assert_eq!((s.id, s.width, s.height, s.warc_offset), (id, 1024, 768, 99));
        assert_eq!(case.screenshot_for_page("http://127.0.0.1/b").unwrap(), None);

        assert_eq!(case.tsa_url().unwrap(), None);
        case.set_tsa_url(Some("http://127.0.0.1:1/tsa")).unwrap();
        drop(case);
        let mut case = Case::open(dir.path()).unwrap();
        assert_eq!(case.tsa_url().unwrap().as_deref(), Some("http://127.0.0.1:1/tsa"));
        let t = case
            .add_reference_timestamp(
                "{}",
                &"cd".repeat(32),
                "http://127.0.0.1:1/tsa",
                b"der",
                "2026-01-01T00:00:00Z",
            )
            .unwrap();
        assert_eq!(case.reference_timestamps().unwrap()[0].token, b"der".to_vec());
        assert_eq!(t.gen_time, "2026-01-01T00:00:00Z");
        let events: Vec<String> = case.custody().unwrap().into_iter().map(|e| e.event).collect();
        assert!(events.contains(&"screenshot.taken".to_string()));
        assert!(events.contains(&"references.timestamped".to_string()));
        assert!(xiezhi_store_chain_ok(&case));
    }

    fn xiezhi_store_chain_ok(case: &Case) -> bool {
        crate::custody::verify_chain(&case.custody().unwrap()).is_ok()
    }
}
