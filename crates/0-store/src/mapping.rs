//! Row ↔ struct mapping for the case database.

use rusqlite::Row;

use crate::rows::*;

pub(crate) const CAPTURE_COLS: &str = "id, crawl_id, kind, url, method, status, content_type, fetched_at, server_ip, warc_file, warc_offset, response_record_id, request_record_id, payload_sha256, payload_len, redirect_to";
pub(crate) const ASSET_COLS: &str = "id, origin, locator, sha256, media_type, capture_id, first_seen";

pub(crate) fn reference_from_row(r: &Row) -> Result<Reference, rusqlite::Error> {
    Ok(Reference {
        id: r.get(0)?,
        original_path: r.get(1)?,
        sha256: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        media_type: r.get(4)?,
        added_at: r.get(5)?,
    })
}

pub(crate) fn capture_from_row(r: &Row) -> Result<Capture, rusqlite::Error> {
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

pub(crate) fn asset_from_row(r: &Row) -> Result<Asset, rusqlite::Error> {
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

pub(crate) fn review_from_row(r: &Row) -> Result<Review, rusqlite::Error> {
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
