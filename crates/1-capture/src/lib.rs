//! Xiezhi capture stage: a scoped, polite crawler that records every HTTP exchange in
//! WARC 1.1 files, indexes page text with tantivy, and streams what it captured to a
//! [`CaptureSink`] implemented by the engine. It knows nothing about the case database.
//!
//! Fidelity note: reqwest/hyper parse the response before we see it, so the response
//! record's status line and header block are *reconstructed* (`HTTP/1.1 200 OK` + headers in
//! received order, names lower-cased); the body bytes are exactly as received after
//! transfer decoding. A de-chunked body keeps its header as
//! `x-xiezhi-original-transfer-encoding: chunked` so WARC readers do not try to de-chunk it
//! again. The request record is rebuilt from the request we built (request line, `Host`, and
//! the headers we set).

mod crawler;
mod html;
mod index;
mod scope;
mod warcfile;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crawler::crawl;
pub use index::{search, CjkTokenizer, SearchHit, TOKENIZER};
pub use scope::{in_scope, normalize, Scope};
pub use warcfile::{base32, warc_digest};

/// What to crawl and where to record it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CrawlConfig {
    pub seeds: Vec<url::Url>,
    /// Budget of frontier URLs fetched (seeds and links, not images).
    pub max_pages: usize,
    /// Link depth from a seed (seeds are depth 0).
    pub max_depth: u32,
    pub scope: Scope,
    /// Requests per second per host; 0 = no delay.
    pub rate_per_host: f64,
    /// Global limit of requests in flight. The current crawler is sequential (effectively 1);
    /// the value is validated and kept for the concurrent crawler.
    pub concurrency: usize,
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Whole exchange, body included.
    pub request_timeout: Duration,
    pub max_response_bytes: u64,
    pub max_redirects: usize,
    pub case_id: String,
    pub operator: Option<String>,
    pub warc_dir: PathBuf,
    pub index_dir: PathBuf,
    /// File names are `<prefix>-<yyyymmddhhmmssmmm>-00001.warc.gz`.
    pub warc_prefix: String,
    /// Start a new file once the current one reaches this size (0 = never rotate).
    pub max_warc_bytes: u64,
}

impl CrawlConfig {
    /// Sensible defaults for everything but the seeds, case and output folders.
    pub fn new(seeds: Vec<url::Url>, case_id: &str, warc_dir: &Path, index_dir: &Path) -> Self {
        Self {
            seeds,
            max_pages: 1000,
            max_depth: 3,
            scope: Scope::Host,
            rate_per_host: 1.0,
            concurrency: 4,
            user_agent: format!("Xiezhi/{} (evidence capture)", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_response_bytes: 50 * 1024 * 1024,
            max_redirects: 10,
            case_id: case_id.to_string(),
            operator: None,
            warc_dir: warc_dir.to_path_buf(),
            index_dir: index_dir.to_path_buf(),
            warc_prefix: "xiezhi".to_string(),
            max_warc_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// Why an exchange was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExchangeKind {
    /// A successful HTML page from the frontier.
    Page,
    /// A successful image fetch.
    Asset,
    /// Redirect hops, error statuses, non-HTML frontier responses.
    Other,
}

/// One HTTP request/response pair, already durable in a WARC file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Exchange {
    pub url: String,
    pub method: String,
    pub status: u16,
    pub content_type: Option<String>,
    /// RFC 3339 UTC with milliseconds; the same value as the records' `WARC-Date`.
    pub fetched_at: String,
    pub server_ip: Option<String>,
    /// File name within `warc_dir`.
    pub warc_file: String,
    /// Byte offset of the response record's gzip member.
    pub warc_offset: u64,
    pub response_record_id: String,
    pub request_record_id: String,
    /// Hex SHA-256 of the payload (the body).
    pub payload_sha256: String,
    pub payload_len: u64,
    /// Normalised `Location` target for 3xx responses.
    pub redirect_to: Option<String>,
    pub kind: ExchangeKind,
}

/// A parsed HTML page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageCapture {
    /// The URL that returned the HTML (after redirects).
    pub url: String,
    pub title: String,
    /// Visible text (no script/style), whitespace-collapsed.
    pub text: String,
    /// All http(s) `<a href>` targets, normalised, in or out of scope.
    pub links: Vec<String>,
    /// `<img src>` targets, normalised.
    pub images: Vec<String>,
    pub alt_texts: Vec<String>,
    pub depth: u32,
    pub exchange: Exchange,
}

/// A page element that referenced an asset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Referrer {
    pub page_url: String,
    /// e.g. `img[src]`.
    pub element: String,
}

/// An image fetched and recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AssetCapture {
    /// The URL as referenced by pages (the exchange's URL differs after redirects).
    pub url: String,
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
    pub content_type: Option<String>,
    /// Every referrer seen up to the fetch; later ones arrive via
    /// [`CaptureSink::asset_referrer`].
    pub referrers: Vec<Referrer>,
    pub exchange: Exchange,
}

/// Crawl counters for progress display.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub pages: usize,
    pub assets: usize,
    pub bytes: u64,
    pub errors: usize,
    pub frontier: usize,
}

/// Totals of a finished crawl.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CrawlSummary {
    pub pages: usize,
    pub assets: usize,
    pub exchanges: usize,
    /// Payload bytes recorded.
    pub bytes: u64,
    /// Failures reported to the sink.
    pub errors: usize,
    pub warc_files: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
}

/// An error the engine returns when it cannot persist what was captured; aborts the crawl,
/// because evidence that is in the WARC but not in the case would be silently lost.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Receiver of capture events, called in order, from the crawl task.
pub trait CaptureSink: Send {
    /// Every HTTP exchange recorded in WARC (page, asset, redirect hop, 4xx/5xx), called
    /// after its records are written and fsynced.
    fn exchange(&mut self, ex: &Exchange) -> Result<(), SinkError>;
    /// A parsed HTML page (after its exchange).
    fn page(&mut self, page: &PageCapture) -> Result<(), SinkError>;
    /// An image fetched and recorded, with the referrers seen so far.
    fn asset(&mut self, asset: &AssetCapture) -> Result<(), SinkError>;
    /// A page referenced an asset that was already fetched (assets are fetched once).
    fn asset_referrer(&mut self, _asset_url: &str, _referrer: &Referrer) -> Result<(), SinkError> {
        Ok(())
    }
    /// A URL that failed (DNS, connect, timeout, too large, too many redirects…).
    fn failure(&mut self, url: &str, reason: &str) -> Result<(), SinkError>;
    /// Progress counters, for progress bars.
    fn progress(&mut self, _p: &Progress) {}
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("invalid crawl configuration: {0}")]
    Config(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("WARC writing failed: {0}")]
    Warc(String),
    #[error("full-text index error: {0}")]
    Index(String),
    #[error("HTTP client setup failed: {0}")]
    Client(String),
    #[error("capture sink failed: {0}")]
    Sink(#[from] SinkError),
}

impl CaptureError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        CaptureError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<tantivy::TantivyError> for CaptureError {
    fn from(e: tantivy::TantivyError) -> Self {
        CaptureError::Index(e.to_string())
    }
}
