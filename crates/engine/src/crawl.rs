//! Running a crawl into a case: the capture stage records WARC and the text index;
//! this sink persists every exchange, page, asset, failure and frontier change as rows and
//! blobs, one transaction per fetched URL. The same command run again after an interruption
//! (crash, `kill -9`, power loss) continues the unfinished crawl with the same settings.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use xiezhi_capture::{
    AssetCapture, CaptureSink, CapturedPage, CrawlConfig, Exchange, FrontierEntry, FrontierState, InlineResource,
    PageCapture, Purpose, Referrer, ResumeState, Scope, SinkError, WarcPosition,
};
use xiezhi_store::{AssetSource, Capture, Case, CrawlUnit, FrontierRow, InlineRecord, UnitAsset, UnitPage};

use crate::media::sniff_image;
use crate::{EngineError, Progress, Result};

/// What a user asks of a crawl. The whole struct is the crawl's settings: an unfinished
/// crawl with the same seeds and settings is resumed rather than started again (the desktop
/// app reads them back from the crawl row to resume a paused crawl).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CrawlOptions {
    pub seeds: Vec<String>,
    pub max_pages: usize,
    pub max_depth: u32,
    #[serde(serialize_with = "scope_name", deserialize_with = "scope_from_name")]
    pub scope: Scope,
    /// Requests per second per host (0 = no delay; only sensible on your own servers).
    pub rate: f64,
    /// Requests in flight at once, all hosts together.
    pub concurrency: usize,
    /// Per-response body cap; longer bodies are recorded truncated and reported.
    pub max_response_bytes: u64,
    /// Stop once this many payload bytes were recorded (0 = no limit).
    pub max_total_bytes: u64,
    /// Regular expressions a discovered page URL must match (any of them), if given.
    pub include: Vec<String>,
    /// Regular expressions of page URLs not to follow.
    pub exclude: Vec<String>,
    pub ignore_robots: bool,
    /// Extra trusted root CA (PEM file): a test CA or a corporate TLS proxy.
    pub ca_cert: Option<PathBuf>,
    pub connect_timeout_s: u64,
    /// Whole exchange, body included.
    pub timeout_s: u64,
    /// Longest silence while reading a response.
    pub read_timeout_s: u64,
    pub max_redirects: usize,
    pub max_retries: u32,
    pub max_retry_wait_s: u64,
    pub operator: Option<String>,
}

fn scope_name<S: serde::Serializer>(s: &Scope, ser: S) -> std::result::Result<S::Ok, S::Error> {
    ser.serialize_str(match s {
        Scope::Host => "host",
        Scope::Domain => "domain",
        Scope::Prefix => "prefix",
    })
}

fn scope_from_name<'de, D: serde::Deserializer<'de>>(de: D) -> std::result::Result<Scope, D::Error> {
    match <String as serde::Deserialize>::deserialize(de)?.as_str() {
        "host" => Ok(Scope::Host),
        "domain" => Ok(Scope::Domain),
        "prefix" => Ok(Scope::Prefix),
        other => Err(serde::de::Error::custom(format!("unknown scope {other:?}"))),
    }
}

impl Default for CrawlOptions {
    fn default() -> Self {
        Self {
            seeds: Vec::new(),
            max_pages: 200,
            max_depth: 5,
            scope: Scope::Host,
            rate: 1.0,
            concurrency: 4,
            max_response_bytes: 50 * 1024 * 1024,
            max_total_bytes: 0,
            include: Vec::new(),
            exclude: Vec::new(),
            ignore_robots: false,
            ca_cert: None,
            connect_timeout_s: 10,
            timeout_s: 60,
            read_timeout_s: 30,
            max_redirects: 10,
            max_retries: 2,
            max_retry_wait_s: 30,
            operator: None,
        }
    }
}

#[derive(Serialize, Debug, Default)]
pub struct CrawlReport {
    pub crawl_id: i64,
    /// Totals of the crawl (all runs, when it was resumed).
    pub pages: u64,
    pub assets: u64,
    pub exchanges: u64,
    pub bytes: u64,
    pub failures: Vec<Failure>,
    pub warc_files: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    /// True when this run continued an interrupted crawl.
    pub resumed: bool,
    /// "obeyed" or "ignored".
    pub robots_txt: String,
    pub robots_disallowed: u64,
    pub retries: u64,
    /// Responses recorded truncated (size cap, timeout or disconnect mid-body).
    pub truncated: u64,
    /// Why the crawl stopped with URLs still queued (byte budget, cancelled), if it did.
    pub stopped_early: Option<String>,
    /// The operator paused it: unfinished, frontier kept; the same settings resume it.
    pub paused: bool,
    /// What resuming cut from the end of earlier WARC files (records never committed).
    pub warc_repairs: Vec<String>,
    /// Pages of the interrupted runs that were in the case but not yet in the full-text index,
    /// indexed again from their WARC records on resume.
    pub pages_reindexed: u64,
    /// This run: wall time and pages per second.
    pub elapsed_s: f64,
    pub pages_per_s: f64,
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
    unit: CrawlUnit,
}

fn sink_err(e: impl std::fmt::Display) -> SinkError {
    SinkError(e.to_string())
}

fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::Page => "page",
        Purpose::Asset => "asset",
        Purpose::Stylesheet => "stylesheet",
    }
}

fn state_name(s: FrontierState) -> &'static str {
    match s {
        FrontierState::Queued => "queued",
        FrontierState::Done => "done",
        FrontierState::Failed => "failed",
    }
}

fn entry_from_row(r: FrontierRow) -> Result<FrontierEntry> {
    let purpose = match r.purpose.as_str() {
        "page" => Purpose::Page,
        "asset" => Purpose::Asset,
        "stylesheet" => Purpose::Stylesheet,
        other => {
            return Err(EngineError::Invalid(format!(
                "frontier row {}: unknown purpose {other:?}",
                r.url
            )))
        }
    };
    let state = match r.state.as_str() {
        "queued" => FrontierState::Queued,
        "done" => FrontierState::Done,
        "failed" => FrontierState::Failed,
        other => {
            return Err(EngineError::Invalid(format!(
                "frontier row {}: unknown state {other:?}",
                r.url
            )))
        }
    };
    Ok(FrontierEntry {
        url: r.url,
        purpose,
        depth: r.depth,
        hops: r.hops,
        state,
        attempts: r.attempts,
        discovered_from: r.discovered_from,
        element: r.element,
    })
}

impl CaptureSink for CaseSink<'_> {
    fn exchange(&mut self, ex: &Exchange) -> std::result::Result<(), SinkError> {
        self.unit.captures.push(Capture {
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
        });
        self.progress.message(&ex.url);
        Ok(())
    }

    fn page(&mut self, page: &PageCapture) -> std::result::Result<(), SinkError> {
        self.unit.pages.push(UnitPage {
            url: page.url.clone(),
            title: page.title.clone(),
            depth: page.depth,
            links: page.links.len(),
        });
        Ok(())
    }

    fn asset(&mut self, asset: &AssetCapture) -> std::result::Result<(), SinkError> {
        // Trust the bytes, not the Content-Type header.
        let media_type = sniff_image(&asset.bytes)
            .map(str::to_string)
            .or_else(|| asset.content_type.clone());
        self.unit.assets.push(UnitAsset {
            locator: asset.url.clone(),
            bytes: asset.bytes.clone(),
            sha256: asset.sha256.clone(),
            media_type,
            response_record_id: Some(asset.exchange.response_record_id.clone()),
            sources: asset
                .referrers
                .iter()
                .map(|r| AssetSource {
                    page_url: r.page_url.clone(),
                    element: r.element.clone(),
                })
                .collect(),
        });
        Ok(())
    }

    fn asset_referrer(&mut self, asset_url: &str, referrer: &Referrer) -> std::result::Result<(), SinkError> {
        self.unit.refs.push((
            asset_url.to_string(),
            AssetSource {
                page_url: referrer.page_url.clone(),
                element: referrer.element.clone(),
            },
        ));
        Ok(())
    }

    fn inline_resource(&mut self, r: &InlineResource) -> std::result::Result<(), SinkError> {
        self.unit.inline.push(InlineRecord {
            sha256: r.sha256.clone(),
            media_type: r.media_type.clone(),
            source_url: r.source_url.clone(),
            source_record_id: r.source_record_id.clone(),
            warc_file: r.warc_file.clone(),
            warc_offset: r.warc_offset,
            record_id: r.record_id.clone(),
            recorded_at: r.recorded_at.clone(),
        });
        Ok(())
    }

    fn failure(&mut self, url: &str, reason: &str) -> std::result::Result<(), SinkError> {
        self.unit.failures.push((url.to_string(), reason.to_string()));
        Ok(())
    }

    fn frontier(&mut self, entries: &[FrontierEntry]) -> std::result::Result<(), SinkError> {
        self.unit.frontier.extend(entries.iter().map(|e| FrontierRow {
            url: e.url.clone(),
            purpose: purpose_name(e.purpose).to_string(),
            depth: e.depth,
            hops: e.hops,
            state: state_name(e.state).to_string(),
            attempts: e.attempts,
            discovered_from: e.discovered_from.clone(),
            element: e.element.clone(),
        }));
        Ok(())
    }

    fn warc_opened(&mut self, at: &WarcPosition) -> std::result::Result<(), SinkError> {
        self.case
            .record_warc_file(self.crawl_id, &at.file, at.len)
            .map_err(sink_err)
    }

    fn commit(&mut self, warc: Option<&WarcPosition>) -> std::result::Result<(), SinkError> {
        self.unit.warc = warc.map(|w| (w.file.clone(), w.len));
        let unit = std::mem::take(&mut self.unit);
        if unit.is_empty() {
            return Ok(());
        }
        self.case.commit_crawl_unit(self.crawl_id, &unit).map_err(sink_err)?;
        // Count only what is durable.
        self.report.exchanges += unit.captures.len() as u64;
        self.report.bytes += unit.captures.iter().map(|c| c.payload_len).sum::<u64>();
        self.report.pages += unit.pages.len() as u64;
        self.report.assets += unit.assets.len() as u64;
        self.progress.advance((unit.pages.len() + unit.assets.len()) as u64);
        self.report
            .failures
            .extend(unit.failures.into_iter().map(|(url, reason)| Failure { url, reason }));
        Ok(())
    }

    fn progress(&mut self, p: &xiezhi_capture::Progress) {
        let eta = match p.eta_s {
            Some(s) if p.frontier > 0 => format!(", ETA {}s", s.ceil() as u64),
            _ => String::new(),
        };
        self.progress.message(&format!(
            "{} pages, {} images, {} bytes, {} errors, {} queued, {} in flight, {:.1} pages/s{eta}",
            p.pages, p.assets, p.bytes, p.errors, p.frontier, p.in_flight, p.pages_per_s
        ));
    }

    fn cancelled(&self) -> bool {
        self.progress.cancelled()
    }
}

fn read_ca(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>> {
    match path {
        None => Ok(None),
        Some(p) => std::fs::read(p).map(Some).map_err(|source| EngineError::Io {
            path: p.clone(),
            source,
        }),
    }
}

/// Crawl the seeds into the case, or continue the unfinished crawl with the same seeds and
/// settings. Everything captured before an error stays recorded.
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
    if opts.concurrency == 0 {
        return Err(EngineError::Invalid("concurrency must be at least 1".into()));
    }
    let extra_root_pem = read_ca(&opts.ca_cert)?;
    let settings = serde_json::to_value(opts).unwrap_or_default();
    let (crawl_id, resume) = match case.unfinished_crawl(&opts.seeds, &settings)? {
        Some(id) => {
            let frontier = case
                .crawl_frontier(id)?
                .into_iter()
                .map(entry_from_row)
                .collect::<Result<Vec<_>>>()?;
            let totals = case.crawl_totals(id)?;
            let queued = frontier.iter().filter(|e| e.state == FrontierState::Queued).count();
            let state = ResumeState {
                frontier,
                warc_files: case
                    .crawl_warc_files(id)?
                    .into_iter()
                    .map(|(file, len)| WarcPosition { file, len })
                    .collect(),
                progress: xiezhi_capture::Progress {
                    pages: totals.pages as usize,
                    assets: totals.assets as usize,
                    bytes: totals.bytes,
                    errors: totals.failures as usize,
                    ..Default::default()
                },
                exchanges: totals.exchanges as usize,
                pages: case
                    .crawl_page_captures(id)?
                    .into_iter()
                    .map(|(url, fetched_at, warc_file, warc_offset)| CapturedPage {
                        url,
                        fetched_at,
                        warc_file,
                        warc_offset,
                    })
                    .collect(),
            };
            case.resume_crawl(id, json!({"queued": queued, "totals": totals}))?;
            (id, Some(state))
        }
        None => (case.begin_crawl_with(&opts.seeds, settings, opts.ignore_robots)?, None),
    };
    let config = CrawlConfig {
        seeds,
        max_pages: opts.max_pages,
        max_depth: opts.max_depth,
        scope: opts.scope,
        rate_per_host: opts.rate,
        concurrency: opts.concurrency,
        user_agent: format!(
            "Xiezhi/{} (evidence capture; +https://example.invalid/xiezhi)",
            crate::VERSION
        ),
        connect_timeout: Duration::from_secs(opts.connect_timeout_s),
        request_timeout: Duration::from_secs(opts.timeout_s),
        read_timeout: Duration::from_secs(opts.read_timeout_s),
        max_response_bytes: opts.max_response_bytes,
        max_total_bytes: opts.max_total_bytes,
        max_redirects: opts.max_redirects,
        max_retries: opts.max_retries,
        max_retry_wait: Duration::from_secs(opts.max_retry_wait_s),
        include: opts.include.clone(),
        exclude: opts.exclude.clone(),
        obey_robots: !opts.ignore_robots,
        extra_root_pem,
        case_id: case.info().id.clone(),
        operator: opts.operator.clone(),
        warc_dir: case.warc_dir(),
        index_dir: case.index_dir(),
        warc_prefix: format!("xiezhi-crawl{crawl_id:04}"),
        max_warc_bytes: 1024 * 1024 * 1024,
    };
    let mut report = CrawlReport {
        crawl_id,
        resumed: resume.is_some(),
        robots_txt: if opts.ignore_robots { "ignored" } else { "obeyed" }.to_string(),
        ..Default::default()
    };
    if resume.is_some() {
        let t = case.crawl_totals(crawl_id)?;
        report.pages = t.pages;
        report.assets = t.assets;
        report.exchanges = t.exchanges;
        report.bytes = t.bytes;
        report.failures = case
            .failures(crawl_id)?
            .into_iter()
            .map(|(url, reason)| Failure { url, reason })
            .collect();
    }
    progress.phase("crawling", None);
    let run_started = std::time::Instant::now();
    let mut sink = CaseSink {
        case,
        crawl_id,
        progress,
        report,
        unit: CrawlUnit::default(),
    };
    let outcome = xiezhi_capture::crawl_resuming(&config, resume.as_ref(), &mut sink).await;
    progress.done();
    let mut report = std::mem::take(&mut sink.report);
    report.elapsed_s = run_started.elapsed().as_secs_f64();
    let (summary, result) = match outcome {
        Ok(s) => {
            report.warc_files = s.warc_files.clone();
            report.started_at = s.started_at.clone();
            report.finished_at = s.finished_at.clone();
            report.retries = s.retries as u64;
            report.truncated = s.truncated as u64;
            report.robots_disallowed = s.robots_disallowed as u64;
            report.stopped_early = s.stopped_early.clone();
            report.warc_repairs = s.warc_repairs.clone();
            report.pages_reindexed = s.reindexed as u64;
            report.pages_per_s = if report.elapsed_s > 0.0 {
                s.pages.saturating_sub(resume.as_ref().map_or(0, |r| r.progress.pages)) as f64 / report.elapsed_s
            } else {
                0.0
            };
            (
                json!({"pages": report.pages, "assets": report.assets, "exchanges": report.exchanges, "bytes": report.bytes,
                       "failures": report.failures.len(), "warc_files": report.warc_files, "robots_txt": report.robots_txt,
                       "resumed": report.resumed, "stopped_early": report.stopped_early, "warc_repairs": report.warc_repairs,
                       "pages_reindexed": report.pages_reindexed}),
                Ok(()),
            )
        }
        Err(e) => (
            json!({"pages": report.pages, "assets": report.assets, "exchanges": report.exchanges, "error": e.to_string()}),
            Err(e),
        ),
    };
    // Cancel pauses: the crawl stays unfinished with its frontier kept, so running it again
    // with the same settings continues it (a crawl that ran out of URLs first just finishes).
    let paused = result.is_ok() && report.stopped_early.is_some() && progress.cancelled();
    report.paused = paused;
    if paused {
        case.pause_crawl(crawl_id, summary)?;
    } else {
        case.finish_crawl(crawl_id, summary)?;
    }
    result?;
    Ok(report)
}
