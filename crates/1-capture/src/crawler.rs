//! The crawl loop. One coordinating task owns the frontier, the WARC writer, the index and
//! the sink; fetches run concurrently as tasks (bounded by `concurrency`) and hand back what
//! they received. Only the coordinator writes WARC, so an exchange's records stay adjacent in
//! one file, and a unit is committed to the sink only after its records are fsynced.

mod requisites;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use regex::Regex;
use reqwest::header::HeaderValue;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;
use url::Url;

use crate::fetch::{fetch, Attempt, Response};
use crate::frontier::{Frontier, Next};
use crate::html::{extract, Extracted};
use crate::index::PageIndex;
use crate::robots::Rules;
use crate::scope::{in_scope, normalize, resolve};
use crate::sniff::{decode_content, image_type, is_html_type, looks_like_html};
use crate::tls::{client_config, to_pem, ChainRecorder};
use crate::warcfile::{new_record_id, warc_date, warc_digest, RecordSpec, WarcOutput};
use crate::{
    AssetCapture, CaptureError, CaptureSink, CrawlConfig, CrawlSummary, Exchange, ExchangeKind, FrontierEntry,
    FrontierState, PageCapture, Progress, Purpose, Referrer, ResumeState,
};

/// Pages indexed between tantivy commits (a commit is costly; a crash loses at most these
/// pages from search, never from the case or the WARC).
const INDEX_COMMIT_EVERY: usize = 100;
/// Levels of stylesheet `@import` followed beyond the page depth limit.
const MAX_IMPORT_LEVELS: u32 = 4;

enum Job {
    Fetch(FrontierEntry),
    Robots(String),
}

/// What the body turned out to be, decided in the fetch task from the bytes.
enum Content {
    /// HTML; parsed when it was fetched as a page.
    Html(Option<Box<Extracted>>),
    Image,
    Other,
    /// The Content-Encoding could not be undone within the cap.
    Undecodable(String),
}

struct Outcome {
    job: Job,
    url: Url,
    attempt: Attempt,
    /// The body with its Content-Encoding undone, when it had one.
    decoded: Option<Vec<u8>>,
    content: Content,
}

struct Crawler<'a> {
    cfg: &'a CrawlConfig,
    seeds: Vec<Url>,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    client: reqwest::Client,
    user_agent: HeaderValue,
    chains: Arc<ChainRecorder>,
    sink: &'a mut dyn CaptureSink,
    warc: WarcOutput,
    index: PageIndex,
    frontier: Frontier,
    /// Page URLs admitted to the frontier (the `max_pages` budget; redirect targets excluded).
    pages_admitted: usize,
    referrers: HashMap<String, Vec<Referrer>>,
    /// Redirect target → the URL that redirected to it (to name redirect loops).
    redirected_from: HashMap<String, String>,
    progress: Progress,
    exchanges: usize,
    run_exchanges: usize,
    run_started: Instant,
    unindexed: usize,
    run_pages: usize,
    /// The exchange [`Crawler::record`] just reported, for the page/asset built on it.
    last_exchange: Option<Exchange>,
    summary_extra: Extra,
}

#[derive(Default)]
struct Extra {
    retries: usize,
    truncated: usize,
    robots_disallowed: usize,
    stopped_early: Option<String>,
}

/// Crawls from `config.seeds`, recording into `config.warc_dir` and `config.index_dir` and
/// reporting to `sink`. Per-URL network problems are reported to the sink and the crawl goes
/// on; only local failures (disk, index, sink) abort it.
pub async fn crawl(config: &CrawlConfig, sink: &mut dyn CaptureSink) -> Result<CrawlSummary, CaptureError> {
    crawl_resuming(config, None, sink).await
}

/// Like [`crawl`], continuing an interrupted crawl when `resume` is given: its WARC files are
/// cut back to their committed length, done URLs are not fetched again, and queued ones are.
pub async fn crawl_resuming(
    config: &CrawlConfig,
    resume: Option<&ResumeState>,
    sink: &mut dyn CaptureSink,
) -> Result<CrawlSummary, CaptureError> {
    validate(config)?;
    let started = Utc::now();
    let seeds: Vec<Url> = config.seeds.iter().filter_map(normalize).collect();
    let compile = |pats: &[String], what: &str| -> Result<Vec<Regex>, CaptureError> {
        pats.iter()
            .map(|p| Regex::new(p).map_err(|e| CaptureError::Config(format!("{what} pattern {p:?}: {e}"))))
            .collect()
    };
    let include = compile(&config.include, "include")?;
    let exclude = compile(&config.exclude, "exclude")?;
    let (tls, chains) = client_config(config.extra_root_pem.as_deref())?;
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .timeout(config.request_timeout)
        .tls_info(true)
        .no_proxy()
        .build()
        .map_err(|e| CaptureError::Client(crate::fetch::error_chain(&e)))?;
    let user_agent = HeaderValue::from_str(&config.user_agent)
        .map_err(|_| CaptureError::Config("user_agent is not a valid header".into()))?;
    let mut warc = WarcOutput::new(
        &config.warc_dir,
        &config.warc_prefix,
        &started,
        config.max_warc_bytes,
        warcinfo_fields(config, &seeds),
    )?;
    let warc_repairs = match resume {
        Some(r) => warc.restore(&r.warc_files)?,
        None => Vec::new(),
    };
    let index = PageIndex::open(&config.index_dir)?;
    let mut c = Crawler {
        cfg: config,
        seeds,
        include,
        exclude,
        client,
        user_agent,
        chains,
        sink,
        warc,
        index,
        frontier: Frontier::new(config.rate_per_host, config.obey_robots),
        pages_admitted: 0,
        referrers: HashMap::new(),
        redirected_from: HashMap::new(),
        progress: resume.map(|r| r.progress.clone()).unwrap_or_default(),
        exchanges: resume.map(|r| r.exchanges).unwrap_or(0),
        run_exchanges: 0,
        run_started: Instant::now(),
        unindexed: 0,
        run_pages: 0,
        last_exchange: None,
        summary_extra: Extra::default(),
    };
    c.load(resume)?;
    let result = c.run().await;
    // Commit what was indexed even when the crawl aborted: those pages are in the WARCs.
    let committed = c.index.commit();
    result?;
    committed?;
    if c.warc.files().is_empty() {
        // Always leave a (warcinfo-only) file so the crawl settings are on record.
        if let Some(pos) = c.warc.prepare()? {
            c.sink.warc_opened(&pos)?;
        }
    }
    let extra = std::mem::take(&mut c.summary_extra);
    Ok(CrawlSummary {
        pages: c.progress.pages,
        assets: c.progress.assets,
        exchanges: c.exchanges,
        bytes: c.progress.bytes,
        errors: c.progress.errors,
        warc_files: c.warc.files().to_vec(),
        started_at: warc_date(&started),
        finished_at: warc_date(&Utc::now()),
        retries: extra.retries,
        truncated: extra.truncated,
        robots_disallowed: extra.robots_disallowed,
        stopped_early: extra.stopped_early,
        resumed: resume.is_some(),
        warc_repairs,
    })
}

fn validate(c: &CrawlConfig) -> Result<(), CaptureError> {
    let bad = |m: &str| Err(CaptureError::Config(m.to_string()));
    if c.seeds.iter().filter_map(normalize).next().is_none() {
        return bad("no http(s) seed URL");
    }
    if c.concurrency == 0 {
        return bad("concurrency must be at least 1");
    }
    if !(c.rate_per_host.is_finite() && c.rate_per_host >= 0.0) {
        return bad("rate_per_host must be a finite number >= 0");
    }
    if c.warc_prefix.is_empty() || c.warc_prefix.contains(['/', '\\']) {
        return bad("warc_prefix must be a non-empty file-name part");
    }
    if c.max_response_bytes == 0 {
        return bad("max_response_bytes must be > 0");
    }
    Ok(())
}

/// warcinfo block (application/warc-fields): who, what software, which settings.
fn warcinfo_fields(c: &CrawlConfig, seeds: &[Url]) -> String {
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let mut f = String::new();
    let mut add = |k: &str, v: &str| {
        let _ = write!(f, "{k}: {}\r\n", one_line(v));
    };
    add("software", &format!("Xiezhi {}", env!("CARGO_PKG_VERSION")));
    add("format", "WARC File Format 1.1");
    add(
        "conformsTo",
        "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
    );
    add("isPartOf", &c.case_id);
    if let Some(op) = &c.operator {
        add("operator", op);
    }
    add("http-header-user-agent", &c.user_agent);
    add("robots", if c.obey_robots { "obey" } else { "ignore" });
    add("seeds", &seeds.iter().map(Url::as_str).collect::<Vec<_>>().join(" "));
    add(
        "description",
        &format!(
            "scope={:?} max_pages={} max_depth={} rate_per_host={} concurrency={} \
             connect_timeout_ms={} request_timeout_ms={} read_timeout_ms={} max_response_bytes={} \
             max_total_bytes={} max_redirects={} max_retries={} include={:?} exclude={:?}",
            c.scope,
            c.max_pages,
            c.max_depth,
            c.rate_per_host,
            c.concurrency,
            c.connect_timeout.as_millis(),
            c.request_timeout.as_millis(),
            c.read_timeout.as_millis(),
            c.max_response_bytes,
            c.max_total_bytes,
            c.max_redirects,
            c.max_retries,
            c.include,
            c.exclude
        ),
    );
    add(
        "x-xiezhi-http-fidelity",
        "status line and headers reconstructed from the parsed response (names lower-cased); \
         body bytes as received after transfer decoding",
    );
    f
}

fn host_of(u: &Url) -> String {
    u.host_str().unwrap_or_default().to_string()
}

impl Crawler<'_> {
    /// Fills the frontier: the seeds of a new crawl, or what an interrupted one left.
    fn load(&mut self, resume: Option<&ResumeState>) -> Result<(), CaptureError> {
        // A crawl interrupted before its seeds were committed has an empty frontier: seed it.
        match resume.filter(|r| !r.frontier.is_empty()) {
            Some(r) => {
                for e in &r.frontier {
                    if e.purpose == Purpose::Page && e.hops == 0 {
                        self.pages_admitted += 1;
                    }
                    if let (Some(from), Some(el)) = (&e.discovered_from, &e.element) {
                        if e.purpose == Purpose::Asset && el != "redirect" {
                            self.referrers.entry(e.url.clone()).or_default().push(Referrer {
                                page_url: from.clone(),
                                element: el.clone(),
                            });
                        }
                    }
                    if let (Some(from), Some("redirect")) = (&e.discovered_from, e.element.as_deref()) {
                        self.redirected_from.insert(e.url.clone(), from.clone());
                    }
                    if e.state == FrontierState::Queued {
                        self.frontier.push(e.clone());
                    } else {
                        self.frontier.mark_seen(&e.url);
                    }
                }
            }
            None => {
                let mut added = Vec::new();
                for seed in self.seeds.clone() {
                    let e = FrontierEntry {
                        url: seed.to_string(),
                        purpose: Purpose::Page,
                        depth: 0,
                        hops: 0,
                        state: FrontierState::Queued,
                        attempts: 0,
                        discovered_from: None,
                        element: None,
                    };
                    if self.frontier.push(e.clone()) {
                        self.pages_admitted += 1;
                        added.push(e);
                    }
                }
                self.sink.frontier(&added)?;
                self.sink.commit(None)?;
            }
        }
        self.progress.frontier = self.frontier.len();
        Ok(())
    }

    async fn run(&mut self) -> Result<(), CaptureError> {
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        loop {
            if self.summary_extra.stopped_early.is_none() && self.sink.cancelled() {
                self.summary_extra.stopped_early = Some("cancelled by the operator".into());
            }
            while tasks.len() < self.cfg.concurrency && self.summary_extra.stopped_early.is_none() {
                match self.frontier.next(Instant::now()) {
                    Some(Next::Fetch(e, url)) => self.spawn(&mut tasks, Job::Fetch(e), url),
                    Some(Next::Robots(host, url)) => self.spawn(&mut tasks, Job::Robots(host), url),
                    Some(Next::Refused(mut e, why)) => {
                        self.summary_extra.robots_disallowed += 1;
                        self.fail(&e.url, &why)?;
                        e.state = FrontierState::Failed;
                        self.sink.frontier(&[e])?;
                        self.sink.commit(None)?;
                    }
                    None => break,
                }
            }
            let wake = if self.summary_extra.stopped_early.is_some() {
                None
            } else {
                self.frontier.next_wake()
            };
            if tasks.is_empty() {
                match wake {
                    Some(t) => {
                        tokio::time::sleep_until(t.into()).await;
                        continue;
                    }
                    None => break,
                }
            }
            let far = Instant::now() + Duration::from_secs(3600);
            tokio::select! {
                joined = tasks.join_next() => {
                    match joined {
                        Some(Ok(outcome)) => self.handle(outcome)?,
                        Some(Err(e)) => return Err(CaptureError::Client(format!("fetch task failed: {e}"))),
                        None => {}
                    }
                }
                _ = tokio::time::sleep_until(wake.unwrap_or(far).into()) => {}
            }
        }
        Ok(())
    }

    fn spawn(&mut self, tasks: &mut JoinSet<Outcome>, job: Job, url: Url) {
        let client = self.client.clone();
        let ua = self.user_agent.clone();
        let cap = self.cfg.max_response_bytes;
        let is_page = matches!(&job, Job::Fetch(e) if e.purpose == Purpose::Page);
        tasks.spawn(async move {
            let attempt = fetch(&client, &url, &ua, cap).await;
            let (decoded, content) = match &attempt.response {
                Ok(r) if (200..300).contains(&r.status) && r.truncated.is_none() => {
                    inspect(&url, r, cap, is_page).await
                }
                _ => (None, Content::Other),
            };
            Outcome {
                job,
                url,
                attempt,
                decoded,
                content,
            }
        });
        self.progress.in_flight = tasks.len();
    }

    fn handle(&mut self, o: Outcome) -> Result<(), CaptureError> {
        match o.job {
            Job::Robots(host) => {
                let rules = match &o.attempt.response {
                    Ok(r) => Rules::from_response(r.status, &r.body),
                    Err(why) => Rules::unreachable(why),
                };
                if let Ok(resp) = &o.attempt.response {
                    let pos = self.record(&o.url, &o.attempt, resp, ExchangeKind::Other, None)?;
                    self.sink.commit(Some(&pos))?;
                }
                self.frontier.set_robots(&host, rules);
                Ok(())
            }
            Job::Fetch(entry) => self.handle_fetch(entry, o.url, o.attempt, o.decoded, o.content),
        }
    }

    fn retry_wait(&self, attempts: u32, asked: Option<Duration>) -> Duration {
        let backoff = Duration::from_millis(500u64.saturating_mul(1 << attempts.min(10)));
        asked.unwrap_or(backoff).min(self.cfg.max_retry_wait)
    }

    fn handle_fetch(
        &mut self,
        mut entry: FrontierEntry,
        url: Url,
        attempt: Attempt,
        decoded: Option<Vec<u8>>,
        content: Content,
    ) -> Result<(), CaptureError> {
        entry.attempts += 1;
        let may_retry = entry.attempts <= self.cfg.max_retries;
        let resp = match &attempt.response {
            Ok(r) => r,
            Err(why) => {
                if may_retry {
                    self.summary_extra.retries += 1;
                    let at = Instant::now() + self.retry_wait(entry.attempts, None);
                    self.sink.frontier(std::slice::from_ref(&entry))?;
                    self.sink.commit(None)?;
                    self.frontier.retry_at(entry, at);
                } else {
                    let why = if entry.attempts > 1 {
                        format!("{why} (after {} attempts)", entry.attempts)
                    } else {
                        why.clone()
                    };
                    self.fail(&entry.url, &why)?;
                    entry.state = FrontierState::Failed;
                    self.sink.frontier(&[entry])?;
                    self.sink.commit(None)?;
                }
                self.after_unit();
                return Ok(());
            }
        };
        let status = resp.status;
        let redirect_to = if (300..400).contains(&status) {
            resp.location.as_deref().and_then(|loc| resolve(&url, loc))
        } else {
            None
        };
        let kind = match (&content, entry.purpose) {
            _ if redirect_to.is_some() || !(200..300).contains(&status) || resp.truncated.is_some() => {
                ExchangeKind::Other
            }
            (Content::Html(_), Purpose::Page) => ExchangeKind::Page,
            (Content::Image, _) => ExchangeKind::Asset,
            (Content::Html(_) | Content::Other, Purpose::Asset) if looks_like_html(body_of(resp, &decoded)) => {
                ExchangeKind::Other
            }
            (Content::Other, Purpose::Asset) => ExchangeKind::Asset,
            _ => ExchangeKind::Other,
        };
        let pos = self.record(&url, &attempt, resp, kind, redirect_to.as_ref().map(Url::to_string))?;
        let exchange_id = self.last_exchange.take();
        let mut changed: Vec<FrontierEntry> = Vec::new();
        entry.state = FrontierState::Done;

        if let Some((_, why)) = &resp.truncated {
            self.summary_extra.truncated += 1;
            self.fail(&entry.url, &format!("{why} (recorded truncated)"))?;
            entry.state = FrontierState::Failed;
        } else if (status == 429 || (500..600).contains(&status)) && may_retry {
            self.summary_extra.retries += 1;
            let at = Instant::now() + self.retry_wait(entry.attempts, resp.retry_after);
            entry.state = FrontierState::Queued;
            self.sink.frontier(std::slice::from_ref(&entry))?;
            self.sink.commit(Some(&pos))?;
            self.frontier.retry_at(entry, at);
            self.after_unit();
            return Ok(());
        } else if let Some(next) = redirect_to {
            if entry.hops as usize >= self.cfg.max_redirects {
                let reason = format!("too many redirects (more than {})", self.cfg.max_redirects);
                self.fail(&entry.url, &reason)?;
                entry.state = FrontierState::Failed;
            } else if entry.purpose == Purpose::Page && !in_scope(self.cfg.scope, &self.seeds, &next) {
                // Pages may only redirect within scope; assets may live anywhere (CDNs).
            } else if let Some(chain) = self.redirect_loop(&entry.url, next.as_str()) {
                self.fail(&entry.url, &format!("redirect loop: {chain}"))?;
                entry.state = FrontierState::Failed;
            } else {
                let target = FrontierEntry {
                    url: next.to_string(),
                    purpose: entry.purpose,
                    depth: entry.depth,
                    hops: entry.hops + 1,
                    state: FrontierState::Queued,
                    attempts: 0,
                    discovered_from: Some(entry.url.clone()),
                    element: Some("redirect".into()),
                };
                if self.frontier.push(target.clone()) {
                    self.redirected_from.insert(target.url.clone(), entry.url.clone());
                    // Who referenced the asset also referenced where it moved.
                    for r in self.referrers.get(&entry.url).cloned().unwrap_or_default() {
                        self.note_referrer(&target.url, r)?;
                    }
                    changed.push(target);
                }
            }
        } else if status >= 400 {
            let reason = format!(
                "HTTP {status} {}",
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("")
            );
            self.fail(&entry.url, reason.trim_end())?;
            entry.state = FrontierState::Failed;
        } else {
            match (kind, content) {
                (_, Content::Undecodable(why)) => {
                    self.fail(&entry.url, &why)?;
                    entry.state = FrontierState::Failed;
                }
                (ExchangeKind::Page, Content::Html(Some(ex))) => {
                    changed.extend(self.page(&entry, &url, *ex, exchange_id)?);
                }
                (ExchangeKind::Asset, _) => {
                    if entry.purpose == Purpose::Page {
                        // A link that turned out to be an image: it is an asset of the page that linked it.
                        if let (Some(from), Some(el)) = (&entry.discovered_from, &entry.element) {
                            let r = Referrer {
                                page_url: from.clone(),
                                element: el.clone(),
                            };
                            self.note_referrer(&entry.url, r)?;
                        }
                    }
                    let bytes = decoded.unwrap_or_else(|| resp.body.clone());
                    self.asset(&entry, bytes, resp.content_type.clone(), exchange_id)?;
                }
                (ExchangeKind::Other, Content::Other) if entry.purpose == Purpose::Stylesheet => {
                    let css = String::from_utf8_lossy(body_of(resp, &decoded)).into_owned();
                    changed.extend(self.stylesheet(&entry, &url, &css)?);
                }
                (ExchangeKind::Other, _) if entry.purpose == Purpose::Asset => {
                    let why = format!(
                        "not an image: the body is HTML (Content-Type said {})",
                        resp.content_type.as_deref().unwrap_or("nothing")
                    );
                    self.fail(&entry.url, &why)?;
                    entry.state = FrontierState::Failed;
                }
                _ => {}
            }
        }
        changed.insert(0, entry);
        self.sink.frontier(&changed)?;
        self.sink.commit(Some(&pos))?;
        self.after_unit();
        if self.cfg.max_total_bytes > 0 && self.progress.bytes >= self.cfg.max_total_bytes {
            self.summary_extra.stopped_early = Some(format!(
                "byte budget reached ({} of {} bytes recorded)",
                self.progress.bytes, self.cfg.max_total_bytes
            ));
        }
        Ok(())
    }

    /// When `target` is `from` or one of the URLs whose redirects led to `from`, the chain
    /// `target → … → from → target` as text.
    fn redirect_loop(&self, from: &str, target: &str) -> Option<String> {
        let mut chain = vec![from.to_string()];
        let mut cur = from;
        while cur != target {
            cur = self.redirected_from.get(cur)?;
            chain.push(cur.to_string());
            if chain.len() > self.cfg.max_redirects + 2 {
                return None;
            }
        }
        chain.reverse();
        chain.push(target.to_string());
        Some(chain.join(" → "))
    }

    /// Progress after each unit.
    fn after_unit(&mut self) {
        let elapsed = self.run_started.elapsed().as_secs_f64();
        self.progress.frontier = self.frontier.len();
        self.progress.elapsed_s = elapsed;
        self.progress.pages_per_s = if elapsed > 0.0 {
            self.run_pages as f64 / elapsed
        } else {
            0.0
        };
        let per_s = if elapsed > 0.0 {
            self.run_exchanges as f64 / elapsed
        } else {
            0.0
        };
        self.progress.eta_s = (per_s > 0.0).then(|| self.frontier.len() as f64 / per_s);
        self.sink.progress(&self.progress);
    }

    fn fail(&mut self, url: &str, reason: &str) -> Result<(), CaptureError> {
        self.progress.errors += 1;
        self.sink.failure(url, reason)?;
        Ok(())
    }

    /// Writes request, response (and TLS metadata) records, fsyncs, and reports the exchange.
    /// Returns the committed WARC position.
    fn record(
        &mut self,
        url: &Url,
        attempt: &Attempt,
        resp: &Response,
        kind: ExchangeKind,
        redirect_to: Option<String>,
    ) -> Result<crate::WarcPosition, CaptureError> {
        if let Some(pos) = self.warc.prepare()? {
            self.sink.warc_opened(&pos)?;
        }
        let req_id = new_record_id();
        let resp_id = new_record_id();
        let date = attempt.fetched_at.clone();
        let mut common = vec![("WARC-Target-URI", url.to_string())];
        if let Some(ip) = &resp.server_ip {
            common.push(("WARC-IP-Address", ip.clone()));
        }
        let mut req_extra = common.clone();
        req_extra.push(("WARC-Concurrent-To", resp_id.clone()));
        self.warc.write(&RecordSpec {
            warc_type: "request",
            record_id: &req_id,
            date: &date,
            content_type: "application/http; msgtype=request",
            extra: req_extra,
            block: &[&attempt.request_block],
        })?;
        let mut resp_extra = common.clone();
        resp_extra.push(("WARC-Concurrent-To", req_id.clone()));
        resp_extra.push(("WARC-Payload-Digest", warc_digest(&resp.body)));
        if let Some((t, _)) = &resp.truncated {
            resp_extra.push(("WARC-Truncated", t.warc_value().to_string()));
        }
        let written = self.warc.write(&RecordSpec {
            warc_type: "response",
            record_id: &resp_id,
            date: &date,
            content_type: "application/http; msgtype=response",
            extra: resp_extra,
            block: &[&resp.head, &resp.body],
        })?;
        if url.scheme() == "https" {
            for hs in self.chains.take(&host_of(url)) {
                let mut block = String::new();
                let _ = write!(block, "server-name: {}\r\n", hs.server_name);
                if let Some(ip) = &resp.server_ip {
                    let _ = write!(block, "ip-address: {ip}\r\n");
                }
                let version = resp.tls_version.as_deref().unwrap_or("not reported");
                let _ = write!(block, "tls-version: {version}\r\n");
                let _ = write!(block, "tls-cipher-suite: not reported by the HTTP client (reqwest)\r\n");
                let _ = write!(
                    block,
                    "certificate-verification: passed (webpki roots + configured extra roots)\r\n"
                );
                let _ = write!(block, "peer-certificate-chain-length: {}\r\n", hs.chain.len());
                let _ = write!(block, "peer-certificate-chain:\r\n");
                block.push_str(&to_pem(&hs.chain)?);
                let mut extra = common.clone();
                extra.push(("WARC-Concurrent-To", resp_id.clone()));
                self.warc.write(&RecordSpec {
                    warc_type: "metadata",
                    record_id: &new_record_id(),
                    date: &date,
                    // The chain as presented in the handshake, leaf first, PEM.
                    content_type: "text/plain; charset=utf-8",
                    extra,
                    block: &[block.as_bytes()],
                })?;
            }
        }
        self.warc.sync()?;
        let pos = self
            .warc
            .position()
            .ok_or_else(|| CaptureError::Warc("no WARC file open".into()))?;
        let exchange = Exchange {
            url: url.to_string(),
            method: "GET".to_string(),
            status: resp.status,
            content_type: resp.content_type.clone(),
            fetched_at: date,
            server_ip: resp.server_ip.clone(),
            warc_file: written.file_name,
            warc_offset: written.offset,
            response_record_id: resp_id,
            request_record_id: req_id,
            payload_sha256: hex::encode(Sha256::digest(&resp.body)),
            payload_len: resp.body.len() as u64,
            redirect_to,
            kind,
        };
        self.exchanges += 1;
        self.run_exchanges += 1;
        self.progress.bytes += resp.body.len() as u64;
        self.sink.exchange(&exchange)?;
        self.last_exchange = Some(exchange);
        Ok(pos)
    }
}

fn body_of<'a>(resp: &'a Response, decoded: &'a Option<Vec<u8>>) -> &'a [u8] {
    decoded.as_deref().unwrap_or(&resp.body)
}

/// Undoes the content coding (bounded) and decides what the body is; parses HTML off the
/// async threads.
async fn inspect(url: &Url, r: &Response, cap: u64, is_page: bool) -> (Option<Vec<u8>>, Content) {
    let decoded = match decode_content(&r.body, r.content_encoding.as_deref(), cap) {
        Ok(std::borrow::Cow::Borrowed(_)) => None,
        Ok(std::borrow::Cow::Owned(v)) => Some(v),
        Err(why) => return (None, Content::Undecodable(why)),
    };
    let body = decoded.as_deref().unwrap_or(&r.body);
    if image_type(body).is_some() {
        return (decoded, Content::Image);
    }
    let html = looks_like_html(body) || (is_html_type(r.content_type.as_deref()) && !is_binary(body));
    if !html || !is_page {
        return (decoded, if html { Content::Html(None) } else { Content::Other });
    }
    let text = String::from_utf8_lossy(body).into_owned();
    let page_url = url.clone();
    let parse = move || extract(&page_url, &crate::nesting::bound_nesting(&text));
    match tokio::task::spawn_blocking(parse).await {
        Ok(ex) => (decoded, Content::Html(Some(Box::new(ex)))),
        Err(e) => (decoded, Content::Undecodable(format!("HTML parsing failed: {e}"))),
    }
}

/// NUL bytes in the first KiB: not text whatever the header says.
fn is_binary(body: &[u8]) -> bool {
    body[..body.len().min(1024)].contains(&0)
}
