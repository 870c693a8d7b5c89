//! Xiezhi engine: runs the pipeline stages over a case.
//!
//! ```text
//!   refs ─┐
//!         ▼
//! capture ──► fingerprint ──► match ──► review ──► evidence
//!  (crawl)     (scan/check)   (scan)    (review)   (export/verify)
//! ```
//! Each stage is its own crate; this one only moves data forward between them and
//! the case store, so the CLI and the desktop app stay thin.

pub mod crawl;
pub mod demo;
pub mod export;
mod located;
pub mod media;
pub mod progress;
pub mod ref_index;
mod reference_cache;
pub mod refs;
pub mod scan;
pub mod screenshots;

pub use progress::{Progress, Silent};
pub use reference_cache::DEFAULT_CACHE_BYTES;
pub use xiezhi_capture::Scope;
pub use xiezhi_evidence::{Check, VerifyReport};
pub use xiezhi_store as store;

/// Version of the engine (and of the whole tool).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] xiezhi_store::StoreError),
    #[error(transparent)]
    Capture(#[from] xiezhi_capture::CaptureError),
    #[error(transparent)]
    Fingerprint(#[from] xiezhi_fingerprint::FingerprintError),
    #[error(transparent)]
    Evidence(#[from] xiezhi_evidence::EvidenceError),
    #[error(transparent)]
    Index(#[from] xiezhi_match::IndexError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Full-text search over the captured pages of a case.
pub fn search(case: &xiezhi_store::Case, query: &str, limit: usize) -> Result<Vec<xiezhi_capture::SearchHit>> {
    if !case.index_dir().join("meta.json").is_file() {
        return Ok(Vec::new());
    }
    Ok(xiezhi_capture::search(&case.index_dir(), query, limit)?)
}

/// Verify an evidence bundle offline.
pub fn verify(bundle: &std::path::Path, ca_pem: Option<&std::path::Path>) -> Result<VerifyReport> {
    Ok(xiezhi_evidence::verify_bundle(bundle, ca_pem)?)
}
