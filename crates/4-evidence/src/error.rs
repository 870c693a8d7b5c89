use std::path::PathBuf;

/// Everything that can go wrong while exporting or verifying a bundle.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("zip archive {path}: {source}")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("timestamp request to {url} failed: {reason}")]
    TsaRequest { url: String, reason: String },
    #[error("timestamp token invalid: {0}")]
    Timestamp(String),
    #[error("exhibit {number}: {reason}")]
    Exhibit { number: u32, reason: String },
    #[error("capture: {0}")]
    Capture(String),
    #[error("custody log: {0}")]
    Custody(String),
    #[error("PDF report: {0}")]
    Pdf(String),
    #[error("trust anchor {path}: {reason}")]
    TrustAnchor { path: PathBuf, reason: String },
    #[error("export cancelled by the operator; the partial bundle was removed")]
    Cancelled,
    #[error("invalid bundle spec: {0}")]
    Spec(String),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl EvidenceError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EvidenceError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<der::Error> for EvidenceError {
    fn from(e: der::Error) -> Self {
        EvidenceError::Timestamp(format!("DER: {e}"))
    }
}
