//! Plain data going into an export, and the manifest coming out of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use xiezhi_store::custody::CustodyEntry;

use crate::tsa::TimestampInfo;
use crate::wacz::WaczSpec;

/// Everything needed to export one bundle; the engine fills it from the case.
#[derive(Clone, Debug)]
pub struct BundleSpec {
    pub bundle_id: uuid::Uuid,
    pub case_id: String,
    pub case_name: String,
    pub tool_version: String,
    pub model_id: String,
    pub model_weights_sha256: String,
    /// Human-readable description of the scoring method.
    pub method: String,
    pub created_at: DateTime<Utc>,
    pub exhibits: Vec<Exhibit>,
    pub custody: Vec<CustodyEntry>,
    /// The WARC records behind the exhibits (and their pages and screenshots), for capture.wacz.
    pub wacz: WaczSpec,
    pub tsa_urls: Vec<String>,
    /// The TSA is a local test authority: the report says so plainly.
    pub tsa_is_local_test: bool,
    /// Cover-page and layout facts that are not evidence themselves.
    pub report: ReportOptions,
}

/// What the report shows besides the exhibits; all optional.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    pub client: Option<String>,
    pub investigator: Option<String>,
    /// Bates prefix; the empty string means "derive from the case name".
    pub bates_prefix: String,
    /// Label language(s): "en", "zh" or "en+zh".
    pub lang: String,
    /// A crawl behind these exhibits ignored robots.txt (shown on the cover).
    pub ignore_robots: bool,
    /// RFC 3161 tokens over the reference manifest taken at `refs add`.
    pub reference_timestamps: Vec<ReferenceStamp>,
    /// Measured error rates of the scoring method (from the calibration benchmark), as text.
    pub error_rates: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ReferenceStamp {
    pub gen_time: String,
    pub tsa_url: String,
    pub manifest_sha256: String,
    pub references: usize,
}

#[derive(Clone, Debug)]
pub struct Exhibit {
    pub number: u32,
    pub match_id: String,
    /// 0..=1
    pub score: f64,
    pub explanation: String,
    pub signals: serde_json::Value,
    pub decision: Option<String>,
    pub note: Option<String>,
    pub reference: ExhibitFile,
    pub candidate: ExhibitFile,
    pub provenance: Provenance,
    /// PNG screenshot of the page the candidate was found on, when one was taken.
    pub screenshot: Option<ExhibitFile>,
    /// A picture showing where the reference lies in the candidate (optional).
    pub overlay: Option<ExhibitFile>,
}

/// Where and how a candidate was obtained; shared by the exhibit and its manifest entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    pub url: Option<String>,
    pub page_url: Option<String>,
    pub local_path: Option<String>,
    pub captured_at: Option<String>,
    pub http_status: Option<u16>,
    pub server_ip: Option<String>,
    pub warc_file: Option<String>,
    pub warc_record_id: Option<String>,
    /// The element the image came from on `page_url` (`img[src]`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    /// TLS server certificate of the host, when fetched over HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_sha256: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ExhibitFile {
    pub original_name: String,
    /// Declared hex SHA-256; export refuses bytes that do not match it.
    pub sha256: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportSummary {
    /// SHA-256 of the finished ZIP file.
    pub bundle_sha256: String,
    /// SHA-256 of manifest.json (what the timestamps cover).
    pub manifest_sha256: String,
    /// Number of files in the ZIP.
    pub files: usize,
    pub timestamps: Vec<TimestampInfo>,
}

pub const MANIFEST_FORMAT: &str = "xiezhi-evidence-bundle/1";
pub const MANIFEST_PATH: &str = "manifest.json";
pub const SUMS_PATH: &str = "SHA256SUMS";
pub const CHAIN_PATH: &str = "timestamp/tsa-chain.pem";
pub const CUSTODY_PATH: &str = "custody.jsonl";
pub const REPORT_PATH: &str = "report.pdf";
pub const VERIFY_MD_PATH: &str = "VERIFY.md";

/// Path of the n-th (0-based) timestamp token.
pub fn token_path(i: usize) -> String {
    if i == 0 {
        "timestamp/manifest.tsr".to_string()
    } else {
        format!("timestamp/manifest-{}.tsr", i + 1)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub bundle_id: String,
    pub case_id: String,
    pub case_name: String,
    pub tool_version: String,
    pub model_id: String,
    pub model_weights_sha256: String,
    pub created_utc: String,
    pub custody_head_hash: Option<String>,
    pub custody_entries: u64,
    pub timestamp: TimestampPlan,
    pub files: Vec<ManifestFile>,
    pub exhibits: Vec<ManifestExhibit>,
}

/// Written before the tokens exist, so verify knows which ones must be there.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TimestampPlan {
    pub tokens: Vec<String>,
    pub tsa_urls: Vec<String>,
    pub local_test_authority: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ManifestFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ManifestExhibit {
    pub number: u32,
    pub match_id: String,
    pub score: f64,
    pub decision: Option<String>,
    pub reference: ManifestExhibitFile,
    pub candidate: ManifestExhibitFile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<ManifestExhibitFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<ManifestExhibitFile>,
    #[serde(flatten)]
    pub provenance: Provenance,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ManifestExhibitFile {
    pub path: String,
    pub original_name: String,
    pub media_type: String,
    pub sha256: String,
}
