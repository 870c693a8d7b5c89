//! Xiezhi case store: the folder every pipeline stage reads from and writes to.
//!
//! ```text
//! <case>/case.db     SQLite (WAL, foreign keys, versioned migrations)
//! <case>/blobs/      content-addressed by SHA-256 (blobs/ab/abcdef…)
//! <case>/warc/       WARC 1.1 captures
//! <case>/index/      full-text index of captured pages
//! <case>/exports/    evidence bundles
//! ```

pub mod blobs;
mod case;
mod case_capture;
mod case_findings;
mod case_inline_assets;
mod case_records;
mod case_screenshots;
pub mod custody;
mod integrity;
mod mapping;
mod rows;
mod schema;

pub use case::Case;
pub use case_capture::{CrawlTotals, CrawlUnit, FrontierRow, UnitAsset, UnitPage};
pub use case_inline_assets::InlineRecord;
pub use case_screenshots::{ReferenceTimestamp, Screenshot};
pub use integrity::{IntegrityIssue, IntegrityReport};
pub use rows::*;

/// Version written into the case and every custody entry's context.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("case database {path}: {source}")]
    Db {
        path: std::path::PathBuf,
        source: rusqlite::Error,
    },
    #[error("{0} is not a Xiezhi case (no case.db); create one with `xiezhi case init`")]
    NotACase(std::path::PathBuf),
    #[error("{0} already holds a case")]
    AlreadyACase(std::path::PathBuf),
    #[error("case database {path} has schema version {found}, newer than this Xiezhi understands ({supported}); upgrade Xiezhi")]
    SchemaTooNew {
        path: std::path::PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("no match with id {0}")]
    NoSuchMatch(i64),
    #[error("blob {0} is missing from the case")]
    MissingBlob(String),
    #[error("blob {sha256} is corrupt: its bytes hash to {actual}")]
    CorruptBlob { sha256: String, actual: String },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Current UTC time as RFC 3339 with milliseconds, e.g. `2026-11-23T11:21:00.123Z`.
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
