//! Running a crawl into a case: the capture stage records WARC and the text index;
//! this sink persists every exchange, page, asset and failure as rows and blobs.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use xiezhi_capture::{AssetCapture, CaptureSink, CrawlConfig, Exchange, PageCapture, Referrer, Scope, SinkError};
use xiezhi_store::{AssetOrigin, AssetSource, Capture, Case};

use crate::media::sniff_image;
use crate::{EngineError, Progress, Result};

/// What a user asks of a crawl.
#[derive(Clone, Debug, Serialize)]
pub struct CrawlOptions {
    pub seeds: Vec<String>,
    pub max_pages: usize,
    pub max_depth: u32,
    #[serde(serialize_with = "scope_name")]
    pub scope: Scope,
    /// Requests per second per host (0 = no delay; only sensible on your own servers).
    pub rate: f64,
    pub max_response_bytes: u64,
    pub operator: Option<String>,
}

fn scope_name<S: serde::Serializer>(s: &Scope, ser: S) -> std::result::Result<S::Ok, S::Error> {
    ser.serialize_str(match s {
        Scope::Host => "host",
        Scope::Domain => "domain",
        Scope::Prefix => "prefix",
    })
}

impl Default for CrawlOptions {
    fn default() -> Self {
        Self {
            seeds: Vec::new(),
            max_pages: 200,
            max_depth: 5,
            scope: Scope::Host,
            rate: 1.0,
            max_response_bytes: 50 * 1024 * 1024,
            operator: None,
        }
    }
}

#[derive(Serialize, Debug, Default)]
pub struct CrawlReport {
    pub crawl_id: i64,
    pub pages: u64,
    pub assets: u64,
    pub exchanges: u64,
    pub bytes: u64,
    pub failures: Vec<Failure>,
    pub warc_files: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct Failure {
    pub url: String,
    pub reason: String,
}

struct CaseSink<'a> {
    case: &'a mut Case,
    crawl_id: i64,
    progress: &'a dyn Progress,
    report: CrawlReport,
    /// Capture row ids by WARC response record id, to link assets to their exchange.
    capture_ids: std::collections::HashMap<String, i64>,
}

fn sink_err(e: impl std::fmt::Display) -> SinkError {
    SinkError(e.to_string())
}

impl CaptureSink for CaseSink<'_> {
    fn exchange(&mut self, ex: &Exchange) -> std::result::Result<(), SinkError> {
        let c = Capture {
            id: 0,
            crawl_id: self.crawl_id,
            kind: format!("{:?}", ex.kind).to_lowercase(),
            url: ex.url.clone(),
            method: ex.method.clone(),
            status: ex.status,
            content_type: ex.content_type.clone(),
            fetched_at: ex.fetched_at.clone(),
            server_ip: ex.server_ip.clone(),
            warc_file: ex.warc_file.clone(),
            warc_offset: ex.warc_offset,
            response_record_id: ex.response_record_id.clone(),
            request_record_id: ex.request_record_id.clone(),
            payload_sha256: ex.payload_sha256.clone(),
            payload_len: ex.payload_len,
            redirect_to: ex.redirect_to.clone(),
        };
        let id = self.case.record_capture(&c).map_err(sink_err)?;
        self.capture_ids.insert(ex.response_record_id.clone(), id);
        self.report.exchanges += 1;
        self.report.bytes += ex.payload_len;
        self.progress.message(&ex.url);
        Ok(())
    }

    fn page(&mut self, page: &PageCapture) -> std::result::Result<(), SinkError> {
        self.case
            .record_page(self.crawl_id, &page.url, &page.title, page.depth, page.links.len())
            .map_err(sink_err)?;
        self.report.pages += 1;
        self.progress.advance(1);
        Ok(())
    }

    fn asset(&mut self, asset: &AssetCapture) -> std::result::Result<(), SinkError> {
        let capture_id = self.capture_ids.get(&asset.exchange.response_record_id).copied();
        let sources: Vec<AssetSource> = asset
            .referrers
            .iter()
            .map(|r| AssetSource {
                page_url: r.page_url.clone(),
                element: r.element.clone(),
            })
            .collect();
        // Trust the bytes, not the Content-Type header.
        let media_type = sniff_image(&asset.bytes)
            .map(str::to_string)
            .or_else(|| asset.content_type.clone());
        self.case
            .record_asset(
                AssetOrigin::Crawl,
                &asset.url,
                &asset.bytes,
                media_type.as_deref(),
                capture_id,
                &sources,
            )
            .map_err(sink_err)?;
        self.report.assets += 1;
        self.progress.advance(1);
        Ok(())
    }

    fn asset_referrer(&mut self, asset_url: &str, referrer: &Referrer) -> std::result::Result<(), SinkError> {
        let source = AssetSource {
            page_url: referrer.page_url.clone(),
            element: referrer.element.clone(),
        };
        self.case
            .add_asset_source(AssetOrigin::Crawl, asset_url, &source)
            .map_err(sink_err)
    }

    fn progress(&mut self, p: &xiezhi_capture::Progress) {
        self.progress.message(&format!(
            "{} pages, {} images, {} bytes, {} errors, {} queued",
            p.pages, p.assets, p.bytes, p.errors, p.frontier
        ));
    }

    fn failure(&mut self, url: &str, reason: &str) -> std::result::Result<(), SinkError> {
        self.case.record_failure(self.crawl_id, url, reason).map_err(sink_err)?;
        self.report.failures.push(Failure {
            url: url.to_string(),
            reason: reason.to_string(),
        });
        Ok(())
    }
}

/// Crawl the seeds into the case. Everything captured before an error stays recorded.
pub async fn crawl(case: &mut Case, opts: &CrawlOptions, progress: &dyn Progress) -> Result<CrawlReport> {
    let mut seeds = Vec::new();
    for s in &opts.seeds {
        let u = url::Url::parse(s).map_err(|e| EngineError::Invalid(format!("{s}: not a valid URL ({e})")))?;
        if u.scheme() != "http" && u.scheme() != "https" {
            return Err(EngineError::Invalid(format!(
                "{s}: only http and https URLs can be crawled"
            )));
        }
        seeds.push(u);
    }
    if seeds.is_empty() {
        return Err(EngineError::Invalid("no URL to crawl".into()));
    }
    let settings = serde_json::to_value(opts).unwrap_or_default();
    let crawl_id = case.begin_crawl(&opts.seeds, settings)?;
    let config = CrawlConfig {
        seeds,
        max_pages: opts.max_pages,
        max_depth: opts.max_depth,
        scope: opts.scope,
        rate_per_host: opts.rate,
        concurrency: 4,
        user_agent: format!(
            "Xiezhi/{} (evidence capture; +https://example.invalid/xiezhi)",
            crate::VERSION
        ),
        connect_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(60),
        max_response_bytes: opts.max_response_bytes,
        max_redirects: 10,
        case_id: case.info().id.clone(),
        operator: opts.operator.clone(),
        warc_dir: case.warc_dir(),
        index_dir: case.index_dir(),
        warc_prefix: format!("xiezhi-crawl{crawl_id:04}"),
        max_warc_bytes: 1024 * 1024 * 1024,
    };
    progress.phase("crawling", None);
    let mut sink = CaseSink {
        case,
        crawl_id,
        progress,
        report: CrawlReport {
            crawl_id,
            ..Default::default()
        },
        capture_ids: Default::default(),
    };
    let outcome = xiezhi_capture::crawl(&config, &mut sink).await;
    progress.done();
    let mut report = std::mem::take(&mut sink.report);
    let (summary, result) = match outcome {
        Ok(s) => {
            report.warc_files = s.warc_files.clone();
            report.started_at = s.started_at.clone();
            report.finished_at = s.finished_at.clone();
            (
                json!({"pages": report.pages, "assets": report.assets, "exchanges": report.exchanges, "bytes": report.bytes, "failures": report.failures.len(), "warc_files": report.warc_files}),
                Ok(()),
            )
        }
        Err(e) => (
            json!({"pages": report.pages, "assets": report.assets, "exchanges": report.exchanges, "error": e.to_string()}),
            Err(e),
        ),
    };
    case.finish_crawl(crawl_id, summary)?;
    result?;
    Ok(report)
}
