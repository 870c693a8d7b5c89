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
pub mod css;
mod fetch;
mod frontier;
pub mod html;
mod index;
mod nesting;
mod robots;
mod scope;
pub mod screenshot;
mod sniff;
mod tls;
mod warcfile;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crawler::{crawl, crawl_resuming};
pub use index::{search, CjkTokenizer, SearchHit, TOKENIZER};
pub use scope::{in_scope, normalize, Scope};
pub use sniff::image_type;
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
    /// Global limit of requests in flight.
    pub concurrency: usize,
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Whole exchange, body included (a server dripping bytes hits this one).
    pub request_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Per-response body cap; a longer body is recorded truncated (`WARC-Truncated: length`).
    pub max_response_bytes: u64,
    /// Stop fetching once this many payload bytes were recorded (0 = no limit).
    pub max_total_bytes: u64,
    pub max_redirects: usize,
    /// Extra attempts after a 429/5xx response or a network error.
    pub max_retries: u32,
    /// Longest wait before a retry, whatever `Retry-After` asks for.
    pub max_retry_wait: Duration,
    /// Regular expressions; when any are given, a discovered page URL must match one.
    pub include: Vec<String>,
    /// Regular expressions; a discovered page URL matching one is not followed.
    pub exclude: Vec<String>,
    /// Fetch robots.txt per host and obey it (the default); false records that it was ignored.
    pub obey_robots: bool,
    /// Extra trusted root certificates (PEM), e.g. a test CA or a corporate proxy's CA.
    pub extra_root_pem: Option<Vec<u8>>,
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
            read_timeout: Duration::from_secs(30),
            max_response_bytes: 50 * 1024 * 1024,
            max_total_bytes: 0,
            max_redirects: 10,
            max_retries: 2,
            max_retry_wait: Duration::from_secs(30),
            include: Vec::new(),
            exclude: Vec::new(),
            obey_robots: true,
            extra_root_pem: None,
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

/// A `data:` image decoded from a page or stylesheet and written to WARC as a `resource`
/// record (`WARC-Target-URI: urn:sha256:<hex>`, `WARC-Concurrent-To` the response that carried
/// it, same `WARC-Date`). The bytes themselves arrive as an [`AssetCapture`] whose `url` is the
/// same `urn:sha256:<hex>` and whose exchange is that response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InlineResource {
    /// `urn:sha256:<hex>`.
    pub locator: String,
    /// Hex SHA-256 of the decoded bytes.
    pub sha256: String,
    /// Media type declared in the `data:` URI.
    pub media_type: String,
    /// The page or stylesheet whose response body held the `data:` URI.
    pub source_url: String,
    pub source_record_id: String,
    pub warc_file: String,
    pub warc_offset: u64,
    pub record_id: String,
    pub recorded_at: String,
}

/// Crawl counters for progress display.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub pages: usize,
    pub assets: usize,
    pub bytes: u64,
    pub errors: usize,
    /// URLs waiting to be fetched.
    pub frontier: usize,
    /// Requests in flight.
    pub in_flight: usize,
    /// Seconds since this run started.
    pub elapsed_s: f64,
    /// Pages per second over this run.
    pub pages_per_s: f64,
    /// Rough seconds left, when the page budget bounds the work.
    pub eta_s: Option<f64>,
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
    /// Requests retried after a 429/5xx or a network error.
    pub retries: usize,
    /// Responses recorded truncated (size cap, timeout or disconnect mid-body).
    pub truncated: usize,
    /// URLs refused by robots.txt.
    pub robots_disallowed: usize,
    /// Why the crawl stopped with URLs still queued (byte budget), if it did.
    pub stopped_early: Option<String>,
    /// True when this run continued an interrupted crawl.
    pub resumed: bool,
    /// What resuming cut from earlier WARC files (uncommitted records after a crash).
    pub warc_repairs: Vec<String>,
    /// Pages of earlier runs that a crash kept out of the text index, indexed on resume.
    pub reindexed: usize,
}

/// Why a URL is on the frontier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Purpose {
    /// A page to parse for links and assets (seeds, links, redirect targets of pages).
    Page,
    /// An image or other page requisite.
    Asset,
    /// A stylesheet linked or `@import`ed by a page: fetched, recorded and read for the images
    /// it draws (which become assets of the page that linked it); never parsed as a page.
    Stylesheet,
}

/// Where a frontier URL stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FrontierState {
    Queued,
    Done,
    Failed,
}

/// One URL of the crawl frontier; the engine persists these so a crawl can resume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrontierEntry {
    /// Normalised URL, unique within a crawl.
    pub url: String,
    pub purpose: Purpose,
    /// Link depth from a seed.
    pub depth: u32,
    /// Redirect hops that led here (0 unless a redirect target).
    pub hops: u32,
    pub state: FrontierState,
    /// Requests made for this URL so far (retries included).
    pub attempts: u32,
    /// The page (or redirecting URL) that led here; `None` for seeds.
    pub discovered_from: Option<String>,
    /// The element of `discovered_from` that referenced it (`a[href]`, `img[src]`, `redirect`).
    pub element: Option<String>,
}

/// The committed length of a WARC file: everything before it is durable and in the case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WarcPosition {
    pub file: String,
    pub len: u64,
}

/// What an interrupted crawl left behind, loaded by the engine from the case.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResumeState {
    pub frontier: Vec<FrontierEntry>,
    /// The committed length of every WARC file the crawl wrote; longer files are cut back.
    pub warc_files: Vec<WarcPosition>,
    /// Counters of the earlier runs (pages, assets, bytes, errors).
    pub progress: Progress,
    pub exchanges: usize,
    /// Pages the earlier runs committed; those the text index lacks are indexed again.
    pub pages: Vec<CapturedPage>,
}

/// A page in the case, and where its response record is (to index it again after a crash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CapturedPage {
    pub url: String,
    /// The exchange's `WARC-Date`: the index holds this capture when its `captured_at` matches.
    pub fetched_at: String,
    pub warc_file: String,
    /// Offset of the response record's gzip member.
    pub warc_offset: u64,
}

/// An error the engine returns when it cannot persist what was captured; aborts the crawl,
/// because evidence that is in the WARC but not in the case would be silently lost.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Receiver of capture events, called in order from one thread: the crawl's recording
/// thread (beside the fetches), or the crawl task itself on a current-thread runtime.
///
/// Events come in units, one per fetched URL: an exchange, the page/asset/failure it gave,
/// referrers and frontier changes, then [`CaptureSink::commit`]. A sink that persists must
/// make each unit durable atomically at `commit` so that a crash never leaves half a unit.
pub trait CaptureSink: Send {
    /// Every HTTP exchange recorded in WARC (page, asset, redirect hop, 4xx/5xx), called
    /// after its records are written and fsynced.
    fn exchange(&mut self, ex: &Exchange) -> Result<(), SinkError>;
    /// A parsed HTML page (after its exchange).
    fn page(&mut self, page: &PageCapture) -> Result<(), SinkError>;
    /// An image fetched and recorded, with the referrers seen so far.
    fn asset(&mut self, asset: &AssetCapture) -> Result<(), SinkError>;
    /// A page referenced an asset (called for every page→asset reference; the asset may be
    /// fetched before, after, or — when the fetch fails — never).
    fn asset_referrer(&mut self, _asset_url: &str, _referrer: &Referrer) -> Result<(), SinkError> {
        Ok(())
    }
    /// The WARC `resource` record of a `data:` image (after its [`CaptureSink::asset`]).
    fn inline_resource(&mut self, _r: &InlineResource) -> Result<(), SinkError> {
        Ok(())
    }
    /// A URL that failed (DNS, connect, timeout, too large, too many redirects…).
    fn failure(&mut self, url: &str, reason: &str) -> Result<(), SinkError>;
    /// Progress counters, for progress bars.
    fn progress(&mut self, _p: &Progress) {}
    /// URLs added to the frontier, or whose state or attempts changed.
    fn frontier(&mut self, _entries: &[FrontierEntry]) -> Result<(), SinkError> {
        Ok(())
    }
    /// True once the operator asked to stop: the crawl stops dispatching, finishes what is in
    /// flight, and reports `stopped_early`.
    fn cancelled(&self) -> bool {
        false
    }
    /// A new WARC file was opened (its warcinfo record is durable).
    fn warc_opened(&mut self, _at: &WarcPosition) -> Result<(), SinkError> {
        Ok(())
    }
    /// End of a unit: everything reported since the previous commit must now become durable
    /// together. `warc` is the WARC file and length up to which records are fsynced.
    fn commit(&mut self, _warc: Option<&WarcPosition>) -> Result<(), SinkError> {
        Ok(())
    }
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
