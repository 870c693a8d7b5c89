//! Images that pages carried inline as `data:` URIs. The decoded bytes are an asset like any
//! other (blob + `assets` row with locator `urn:sha256:<hex>`, linked to the capture of the
//! response that carried them, plus where they appeared); this module keeps the WARC
//! `resource` record the crawler wrote for them, so the evidence stage can point at
//! recorded bytes and at the page response they were decoded from.

use rusqlite::params;

use crate::{Case, StoreError};

/// One `resource` record holding a decoded `data:` image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InlineRecord {
    /// Hex SHA-256 of the decoded bytes (the record's payload).
    pub sha256: String,
    /// Media type declared in the `data:` URI (the record's Content-Type).
    pub media_type: String,
    /// The page or stylesheet whose response body held the `data:` URI.
    pub source_url: String,
    /// WARC-Record-ID of that response record.
    pub source_record_id: String,
    pub warc_file: String,
    /// Offset of the resource record's gzip member.
    pub warc_offset: u64,
    pub record_id: String,
    /// WARC-Date of the record: the capture time of the response that carried the bytes.
    pub recorded_at: String,
}

/// Inserts the inline records of one crawl unit, inside the unit's transaction (so a crash
/// keeps both the asset and its record, or neither).
pub(crate) fn insert_inline_tx(
    tx: &rusqlite::Transaction,
    crawl_id: i64,
    records: &[InlineRecord],
) -> Result<(), rusqlite::Error> {
    for r in records {
        tx.execute(
            "INSERT OR IGNORE INTO inline_assets (crawl_id, sha256, media_type, source_url, source_record_id,
             warc_file, warc_offset, record_id, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                crawl_id,
                r.sha256,
                r.media_type,
                r.source_url,
                r.source_record_id,
                r.warc_file,
                r.warc_offset as i64,
                r.record_id,
                r.recorded_at
            ],
        )?;
    }
    Ok(())
}

impl Case {
    /// Every `resource` record holding the inline image with these bytes, oldest first.
    pub fn inline_records(&self, sha256: &str) -> Result<Vec<InlineRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT sha256, media_type, source_url, source_record_id, warc_file, warc_offset, record_id, recorded_at
                 FROM inline_assets WHERE sha256 = ?1 ORDER BY rowid",
            )
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([sha256], |r| {
                Ok(InlineRecord {
                    sha256: r.get(0)?,
                    media_type: r.get(1)?,
                    source_url: r.get(2)?,
                    source_record_id: r.get(3)?,
                    warc_file: r.get(4)?,
                    warc_offset: r.get::<_, i64>(5)?.max(0) as u64,
                    record_id: r.get(6)?,
                    recorded_at: r.get(7)?,
                })
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }
}

#[cfg(test)]
mod tests {
    use super::InlineRecord;
    use crate::{AssetOrigin, AssetSource, Capture, Case, CrawlUnit, UnitAsset};

    /// A page's `data:` image committed in the page's unit: a blob, an asset linked to the
    /// page's capture with where it appeared, and its resource record, all in one transaction.
    #[test]
    fn inline_image_lands_with_its_page_unit() {
        let dir = tempfile::tempdir().unwrap();
        let mut case = Case::init(dir.path(), "inline").unwrap();
        let crawl = case
            .begin_crawl(&["http://127.0.0.1/".into()], serde_json::json!({}))
            .unwrap();
        let bytes = b"\x89PNG\r\n\x1a\ninline".to_vec();
        let sha = crate::sha256_hex(&bytes);
        let page = Capture {
            id: 0,
            crawl_id: crawl,
            kind: "page".into(),
            url: "http://127.0.0.1/".into(),
            method: "GET".into(),
            status: 200,
            content_type: Some("text/html".into()),
            fetched_at: "2026-01-01T00:00:00.000Z".into(),
            server_ip: Some("127.0.0.1".into()),
            warc_file: "x.warc.gz".into(),
            warc_offset: 100,
            response_record_id: "<urn:uuid:page>".into(),
            request_record_id: "<urn:uuid:req>".into(),
            payload_sha256: "00".repeat(32),
            payload_len: 10,
            redirect_to: None,
        };
        let record = InlineRecord {
            sha256: sha.clone(),
            media_type: "image/png".into(),
            source_url: page.url.clone(),
            source_record_id: page.response_record_id.clone(),
            warc_file: "x.warc.gz".into(),
            warc_offset: 900,
            record_id: "<urn:uuid:res>".into(),
            recorded_at: page.fetched_at.clone(),
        };
        let unit = CrawlUnit {
            captures: vec![page.clone()],
            assets: vec![UnitAsset {
                locator: format!("urn:sha256:{sha}"),
                bytes: bytes.clone(),
                sha256: sha.clone(),
                media_type: Some("image/png".into()),
                response_record_id: Some(page.response_record_id.clone()),
                sources: vec![AssetSource {
                    page_url: page.url.clone(),
                    element: "img[src]".into(),
                }],
            }],
            inline: vec![record.clone()],
            ..Default::default()
        };
        case.commit_crawl_unit(crawl, &unit).unwrap();

        assert_eq!(case.inline_records(&sha).unwrap(), vec![record]);
        assert!(case.inline_records(&"11".repeat(32)).unwrap().is_empty());
        let assets = case.assets(Some(AssetOrigin::Crawl)).unwrap();
        assert_eq!(assets.len(), 1);
        assert_eq!(assets[0].locator, format!("urn:sha256:{sha}"));
        let capture = case.capture(assets[0].capture_id.unwrap()).unwrap().unwrap();
        assert_eq!(capture.response_record_id, "<urn:uuid:page>");
        assert_eq!(case.blobs().read_verified(&sha).unwrap(), bytes);
        assert_eq!(case.asset_sources(assets[0].id).unwrap()[0].element, "img[src]");
    }
}
