//! The crawl loop. One coordinating task owns the frontier, the WARC writer, the index and
//! the sink; fetches run concurrently as tasks (bounded by `concurrency`) and hand back what
//! they received, with the CPU work done (content decoding, HTML parsing, WARC records
//! digested and gzipped). Only the coordinator appends to the WARC file, so an exchange's
//! records stay adjacent in one file, and units are committed to the sink in batches, each
//! only after its records are fsynced (`recording.rs`).

mod bookkeeping;
mod content;
mod recording;
mod requisites;
mod resume;
mod setup;

use content::{body_of, inspect, Content};
use setup::{validate, warcinfo_fields};

use recording::{encode_exchange, Batch, Encoded};

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
use crate::tls::{client_config, ChainRecorder};
use crate::warcfile::{new_record_id, warc_date, warc_digest, RecordSpec, WarcOutput};
use crate::{
    AssetCapture, CaptureError, CaptureSink, CrawlConfig, CrawlSummary, Exchange, ExchangeKind, FrontierEntry,
    FrontierState, PageCapture, Progress, Purpose, Referrer, ResumeState,
};

/// Pages indexed between tantivy commits (a commit is costly). A crash loses at most these
/// from the index, never from the case or the WARC; the resumed crawl indexes them again
/// from their WARC records.
const INDEX_COMMIT_EVERY: usize = 1000;
/// Levels of stylesheet `@import` followed beyond the page depth limit.
const MAX_IMPORT_LEVELS: u32 = 4;

enum Job {
    Fetch(FrontierEntry),
    Robots(String),
}

struct Outcome {
    job: Job,
    url: Url,
    attempt: Attempt,
    /// The body with its Content-Encoding undone, when it had one.
    decoded: Option<Vec<u8>>,
    content: Content,
    /// The exchange's WARC records, when a response arrived and encoding them worked.
    encoded: Option<Encoded>,
    /// A robots.txt job: the redirect hops before `url` and the rules the fetch gave.
    robots: Option<crate::robots::RobotsFetch>,
}

struct Crawler<'a> {
    cfg: &'a CrawlConfig,
    seeds: Vec<Url>,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    client: reqwest::Client,
    user_agent: HeaderValue,
    chains: Arc<ChainRecorder>,
    /// Bounds the fetch tasks' CPU work (decoding, parsing, digests, gzip) to one job per
    /// core: more threads would not go faster, and each would keep its own malloc arena.
    cpu_slots: Arc<tokio::sync::Semaphore>,
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
    /// Units recorded since the last commit.
    batch: Batch,
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
    let mut index = PageIndex::open(&config.index_dir)?;
    let reindexed = match resume {
        Some(r) => resume::reindex_missing(&mut index, &config.warc_dir, &r.pages, config.max_response_bytes)?,
        None => 0,
    };
    let mut c = Crawler {
        cfg: config,
        seeds,
        include,
        exclude,
        client,
        user_agent,
        chains,
        cpu_slots: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )),
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
        batch: Batch::default(),
        summary_extra: Extra::default(),
    };
    // The first file opens now, so the crawl settings are on record even if nothing is fetched.
    if let Some(pos) = c.warc.prepare()? {
        c.sink.warc_opened(&pos)?;
    }
    c.load(resume)?;
    let result = c.run().await;
    // Commit what was indexed even when the crawl aborted: those pages are in the WARCs.
    let committed = c.index.commit();
    result?;
    committed?;
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
        reindexed,
    })
}

fn host_of(u: &Url) -> String {
    u.host_str().unwrap_or_default().to_string()
}

impl Crawler<'_> {
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
                        self.unit_done()?;
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
                // Nothing in flight: make everything durable before waiting or finishing.
                self.flush()?;
                match wake {
                    Some(t) => {
                        tokio::time::sleep_until(t.into()).await;
                        continue;
                    }
                    None => break,
                }
            }
            // Take every fetch that already finished before deciding to wait.
            if let Some(joined) = tasks.try_join_next() {
                self.joined(joined)?;
                continue;
            }
            let far = Instant::now() + Duration::from_secs(3600);
            let flush_due = self.flush_due();
            if flush_due.is_some_and(|t| t <= Instant::now()) {
                // Idle with an open batch that has waited long enough: commit it now.
                self.flush()?;
                continue;
            }
            let until = [wake, flush_due].into_iter().flatten().min().unwrap_or(far);
            tokio::select! {
                joined = tasks.join_next() => {
                    if let Some(joined) = joined {
                        self.joined(joined)?;
                    }
                }
                _ = tokio::time::sleep_until(until.into()) => {}
            }
        }
        Ok(())
    }

    fn joined(&mut self, joined: Result<Outcome, tokio::task::JoinError>) -> Result<(), CaptureError> {
        match joined {
            Ok(outcome) => self.handle(outcome),
            Err(e) => Err(CaptureError::Client(format!("fetch task failed: {e}"))),
        }
    }

    fn spawn(&mut self, tasks: &mut JoinSet<Outcome>, job: Job, url: Url) {
        let client = self.client.clone();
        let ua = self.user_agent.clone();
        let cap = self.cfg.max_response_bytes;
        let is_page = matches!(&job, Job::Fetch(e) if e.purpose == Purpose::Page);
        let warcinfo_id = self.warc.warcinfo_id().to_string();
        let cpu_slots = self.cpu_slots.clone();
        let chains = self.chains.clone();
        let probe_timeout = self.cfg.connect_timeout;
        tasks.spawn(async move {
            let (url, attempt, robots) = match &job {
                Job::Robots(_) => {
                    let (u, a, r) = crate::robots::fetch_robots(&client, &url, &ua, cap).await;
                    (u, a, Some(r))
                }
                Job::Fetch(_) => (url.clone(), fetch(&client, &url, &ua, cap).await, None),
            };
            let ip = attempt.response.as_ref().ok().and_then(|r| r.server_ip.clone());
            chains.probe(&url, ip.as_deref(), probe_timeout).await;
            let fetched_at = attempt.fetched_at.clone();
            let task_url = url.clone();
            // The CPU work runs off the async threads and in parallel across fetches.
            // Never closed, so acquiring only waits; without a permit the work still runs.
            let _permit = cpu_slots.acquire_owned().await.ok();
            let work = tokio::task::spawn_blocking(move || {
                let url = task_url;
                let (decoded, content) = match &attempt.response {
                    Ok(r) if (200..300).contains(&r.status) && r.truncated.is_none() => inspect(&url, r, cap, is_page),
                    _ => (None, Content::Other),
                };
                let encoded = match &attempt.response {
                    // On failure the coordinator encodes again and reports the error.
                    Ok(r) => encode_exchange(&url, &attempt, r, &warcinfo_id).ok(),
                    Err(_) => None,
                };
                (attempt, decoded, content, encoded)
            });
            let (attempt, decoded, content, encoded) = match work.await {
                Ok(done) => done,
                Err(e) => (
                    Attempt {
                        request_block: Vec::new(),
                        fetched_at,
                        response: Err(format!("processing the response failed: {e}")),
                    },
                    None,
                    Content::Other,
                    None,
                ),
            };
            Outcome {
                job,
                url,
                attempt,
                decoded,
                content,
                encoded,
                robots,
            }
        });
        self.progress.in_flight = tasks.len();
    }

    fn handle(&mut self, o: Outcome) -> Result<(), CaptureError> {
        match o.job {
            Job::Robots(host) => {
                let rules = match (o.robots, &o.attempt.response) {
                    (Some(fetched), _) => {
                        // Each redirect hop is its own recorded exchange.
                        for (hop_url, hop) in fetched.hops {
                            if let Ok(resp) = &hop.response {
                                let to = resp.location.as_deref().and_then(|l| resolve(&hop_url, l));
                                let to = to.map(|u| u.to_string());
                                self.record(&hop_url, &hop, resp, None, ExchangeKind::Other, to)?;
                                self.unit_done()?;
                            }
                        }
                        fetched.rules
                    }
                    (None, Ok(r)) => Rules::from_response(r.status, &r.body),
                    (None, Err(why)) => Rules::unreachable(why),
                };
                if let Some(why) = rules.unavailable() {
                    self.fail(o.url.as_str(), why)?;
                }
                if let Ok(resp) = &o.attempt.response {
                    self.record(&o.url, &o.attempt, resp, o.encoded, ExchangeKind::Other, None)?;
                    self.unit_done()?;
                }
                self.frontier.set_robots(&host, rules);
                Ok(())
            }
            Job::Fetch(entry) => self.handle_fetch(entry, o.url, o.attempt, o.decoded, o.content, o.encoded),
        }
    }

    fn handle_fetch(
        &mut self,
        mut entry: FrontierEntry,
        url: Url,
        attempt: Attempt,
        decoded: Option<Vec<u8>>,
        content: Content,
        encoded: Option<Encoded>,
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
                    self.unit_done()?;
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
                    self.unit_done()?;
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
        self.record(
            &url,
            &attempt,
            resp,
            encoded,
            kind,
            redirect_to.as_ref().map(Url::to_string),
        )?;
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
            self.unit_done()?;
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
                    changed.extend(self.stylesheet(&entry, &url, &css, exchange_id)?);
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
        self.unit_done()?;
        self.after_unit();
        if self.cfg.max_total_bytes > 0 && self.progress.bytes >= self.cfg.max_total_bytes {
            self.summary_extra.stopped_early = Some(format!(
                "byte budget reached ({} of {} bytes recorded)",
                self.progress.bytes, self.cfg.max_total_bytes
            ));
        }
        Ok(())
    }

    fn fail(&mut self, url: &str, reason: &str) -> Result<(), CaptureError> {
        self.progress.errors += 1;
        self.sink.failure(url, reason)?;
        Ok(())
    }
}
