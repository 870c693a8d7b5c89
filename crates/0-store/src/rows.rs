//! Plain data read from and written to the case database.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct CaseInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub tool_version: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Reference {
    pub id: i64,
    pub original_path: String,
    pub sha256: String,
    pub size: u64,
    pub media_type: Option<String>,
    pub added_at: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct AddedReference {
    pub reference: Reference,
    /// False when identical bytes were already a reference (nothing was added).
    pub new: bool,
}

/// A match as a scan found it, for [`crate::Case::upsert_match`].
#[derive(Clone, Debug)]
pub struct NewMatch<'a> {
    pub reference_id: i64,
    pub asset_id: i64,
    pub scan_id: i64,
    /// The score in 0..=1 that is shown.
    pub score: f64,
    /// What orders matches of equal score: the scorer's unrounded measure (the score is a
    /// sigmoid that rounds to exactly 1.0 for all strong matches), `+inf` allowed.
    pub strength: f64,
    pub signals: &'a serde_json::Value,
    pub explanation: &'a str,
}

/// One recorded HTTP exchange (its request and response records sit in `warc_file`).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Capture {
    pub id: i64,
    pub crawl_id: i64,
    pub kind: String,
    pub url: String,
    pub method: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub fetched_at: String,
    pub server_ip: Option<String>,
    pub warc_file: String,
    pub warc_offset: u64,
    pub response_record_id: String,
    pub request_record_id: String,
    pub payload_sha256: String,
    pub payload_len: u64,
    pub redirect_to: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AssetOrigin {
    /// Fetched by a crawl; `locator` is its URL.
    Crawl,
    /// A local file given to `xiezhi check`; `locator` is its absolute path.
    Local,
}

impl AssetOrigin {
    pub fn as_str(&self) -> &'static str {
        match self {
            AssetOrigin::Crawl => "crawl",
            AssetOrigin::Local => "local",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Asset {
    pub id: i64,
    pub origin: AssetOrigin,
    pub locator: String,
    pub sha256: String,
    pub media_type: Option<String>,
    pub capture_id: Option<i64>,
    pub first_seen: String,
}

/// Where a crawled asset appeared: the page and the element that referenced it.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct AssetSource {
    pub page_url: String,
    pub element: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Confirmed,
    Rejected,
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Confirmed => "confirmed",
            Decision::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confirmed" => Some(Decision::Confirmed),
            "rejected" => Some(Decision::Rejected),
            _ => None,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Review {
    pub id: i64,
    pub match_id: i64,
    pub decision: Decision,
    pub note: Option<String>,
    pub reviewer: Option<String>,
    pub decided_at: String,
}

/// A ranked match with everything needed to show or export it.
#[derive(Serialize, Clone, Debug)]
pub struct MatchRecord {
    pub id: i64,
    pub score: f64,
    pub signals: serde_json::Value,
    pub explanation: String,
    pub updated_at: String,
    pub reference: Reference,
    pub asset: Asset,
    pub sources: Vec<AssetSource>,
    pub capture: Option<Capture>,
    /// The latest review decision, if any.
    pub review: Option<Review>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct CrawlRow {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub seeds: serde_json::Value,
    pub settings: serde_json::Value,
    pub summary: Option<serde_json::Value>,
    /// True when the operator told the crawler to ignore robots.txt (`--ignore-robots`).
    #[serde(default)]
    pub ignore_robots: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ExportRow {
    pub id: i64,
    pub path: String,
    pub bundle_id: String,
    pub bundle_sha256: String,
    pub manifest_sha256: String,
    pub created_at: String,
}

/// Counts for dashboards and summaries.
#[derive(Serialize, Clone, Debug, Default)]
pub struct CaseCounts {
    pub references: u64,
    pub crawls: u64,
    pub captures: u64,
    pub pages: u64,
    pub assets: u64,
    pub failures: u64,
    pub matches: u64,
    pub confirmed: u64,
    pub rejected: u64,
    pub exports: u64,
    pub custody_entries: u64,
}
