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
    /// A ready overlay picture; None = drawn at export from the signals
    /// (`local_transform`, else `region_box`), see `overlay`.
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
    /// Where the image appeared when it was not fetched by URL but decoded from a `data:` URI
    /// ("embedded in <page> as a data: URI (element …)"); `url` is then `urn:sha256:<hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<String>,
    /// TLS server certificate of the host, when fetched over HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_sha256: Option<String>,
    /// TLS version and cipher suite of the connection, as the crawler recorded them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cipher: Option<String>,
    /// The WARC `metadata` record holding the presented chain (and how it is tied to the response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_record: Option<String>,
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
    /// SHA-256 of evidence-manifest.json (printed on the report's cover) and its tokens.
    pub evidence_manifest_sha256: String,
    pub evidence_timestamps: Vec<TimestampInfo>,
}

pub const MANIFEST_FORMAT: &str = "xiezhi-evidence-bundle/1";
pub const MANIFEST_PATH: &str = "manifest.json";
pub const SUMS_PATH: &str = "SHA256SUMS";
pub const CHAIN_PATH: &str = "timestamp/tsa-chain.pem";
pub const CUSTODY_PATH: &str = "custody.jsonl";
pub const REPORT_PATH: &str = "report.pdf";
pub const VERIFY_MD_PATH: &str = "VERIFY.md";
/// Every evidence file but the report, timestamped before the report is written so the
/// report's cover can print its hash and time.
pub const EVIDENCE_MANIFEST_PATH: &str = "evidence-manifest.json";
pub const EVIDENCE_MANIFEST_FORMAT: &str = "xiezhi-evidence-manifest/1";

/// Path of the n-th (0-based) timestamp token over evidence-manifest.json.
pub fn evidence_token_path(i: usize) -> String {
    if i == 0 {
        "timestamp/evidence-manifest.tsr".to_string()
    } else {
        format!("timestamp/evidence-manifest-{}.tsr", i + 1)
    }
}

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
    /// The first-stage manifest (and its tokens), itself listed in `files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_manifest: Option<EvidenceManifestRef>,
    pub files: Vec<ManifestFile>,
    pub exhibits: Vec<ManifestExhibit>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EvidenceManifestRef {
    pub path: String,
    pub sha256: String,
    pub tokens: Vec<String>,
}

/// evidence-manifest.json: the evidence files (all but the report and the final
/// manifest, sums and tokens) and the exhibits, timestamped first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EvidenceManifest {
    pub format: String,
    pub bundle_id: String,
    pub case_id: String,
    pub case_name: String,
    pub created_utc: String,
    pub custody_head_hash: Option<String>,
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
    /// How the overlay was drawn (exact / APPROXIMATE), or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay_note: Option<String>,
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
