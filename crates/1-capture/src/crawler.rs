//! The crawl loop. One coordinating task owns the frontier and the WARC writer; fetches run
//! concurrently as tasks (bounded by `concurrency`) and hand back what they received, with
//! the CPU work done (content decoding, HTML parsing, WARC records digested and gzipped).
//! Only the coordinator appends to the WARC file, so an exchange's records stay adjacent in
//! one file. What it learns goes, in order, to the recording thread (`committer.rs`), which
//! reports it to the sink and commits it in batches, each only after its records are
//! fsynced (`recording.rs`), then feeds the full-text index.

mod bookkeeping;
mod committer;
mod content;
mod outcome;
mod recording;
mod requisites;
mod resume;
mod setup;

use content::{body_of, inspect, Content};
use setup::{validate, warcinfo_fields};

use committer::{Committer, Event, Outbox, Shared};
use recording::{encode_exchange, Batch, Encoded};

use std::collections::{HashMap, HashSet};
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

/// Levels of stylesheet `@import` followed beyond the page depth limit.
const MAX_IMPORT_LEVELS: u32 = 4;
/// The sink hears of progress at most this often (and once at the end).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

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
    /// The sink and the index, behind the recording thread.
    out: Outbox<'a>,
    warc: WarcOutput,
    frontier: Frontier,
    /// Page URLs admitted to the frontier (the `max_pages` budget; redirect targets excluded).
    pages_admitted: usize,
    /// Referrers of assets not fetched yet (an asset's row takes them when it is recorded;
    /// later ones go to the sink one by one), so this holds the queue's assets, not the crawl's.
    referrers: HashMap<String, Vec<Referrer>>,
    /// `data:` images already written this run (SHA-256), so each gets one record.
    inline_kept: HashSet<[u8; 32]>,
    /// Redirect target → the URL that redirected to it (to name redirect loops).
    redirected_from: HashMap<String, String>,
    progress: Progress,
    exchanges: usize,
    run_exchanges: usize,
    run_started: Instant,
    run_pages: usize,
    /// When the sink last heard of progress (it hears at most every [`PROGRESS_EVERY`]).
    progress_sent: Option<Instant>,
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
pub async fn crawl_resuming<'a>(
    config: &'a CrawlConfig,
    resume: Option<&'a ResumeState>,
    sink: &'a mut dyn CaptureSink,
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
    let committer = Committer::new(sink, index);
    let new_crawler = |out: Outbox<'a>| Crawler {
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
        out,
        warc,
        frontier: Frontier::new(config.rate_per_host, config.obey_robots),
        pages_admitted: 0,
        referrers: HashMap::new(),
        inline_kept: HashSet::new(),
        redirected_from: HashMap::new(),
        progress: resume.map(|r| r.progress.clone()).unwrap_or_default(),
        exchanges: resume.map(|r| r.exchanges).unwrap_or(0),
        run_exchanges: 0,
        run_started: Instant::now(),
        run_pages: 0,
        progress_sent: None,
        last_exchange: None,
        batch: Batch::default(),
        summary_extra: Extra::default(),
    };
    let runtime = tokio::runtime::Handle::try_current()
        .ok()
        .filter(|h| h.runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread);
    let mut c;
    match runtime {
        // The recording thread borrows the sink, so it lives in a scope that ends with the
        // crawl; the coordinator runs inside it on this thread (block_in_place hands this
        // worker's other tasks to the rest of the runtime meanwhile).
        Some(handle) => {
            let (tx, rx) = std::sync::mpsc::channel();
            let shared = Arc::new(Shared::default());
            c = new_crawler(Outbox::Thread {
                tx: Some(tx),
                shared: shared.clone(),
            });
            tokio::task::block_in_place(|| {
                std::thread::scope(|s| {
                    let recorder = std::thread::Builder::new()
                        .name("xiezhi-recorder".into())
                        .spawn_scoped(s, move || committer.run(rx, &shared))
                        .map_err(|e| CaptureError::Warc(format!("cannot start the recording thread: {e}")))?;
                    let ran = handle.block_on(c.drive(resume));
                    c.out.close();
                    let recorded = recorder
                        .join()
                        .unwrap_or_else(|_| Err(CaptureError::Warc("the recording thread panicked".into())));
                    // The recorder's own error explains a coordinator stopped by it.
                    recorded.and(ran)
                })
            })?;
        }
        None => {
            c = new_crawler(Outbox::Inline(Box::new(committer)));
            let ran = c.drive(resume).await;
            // Commit what was indexed even when the crawl aborted: those pages are in the WARCs.
            let indexed = match &mut c.out {
                Outbox::Inline(committer) => committer.finish(),
                Outbox::Thread { .. } => Ok(()),
            };
            ran?;
            indexed?;
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
        reindexed,
    })
}

fn host_of(u: &Url) -> String {
    u.host_str().unwrap_or_default().to_string()
}

impl Crawler<'_> {
    /// The crawl proper: the first WARC file, the frontier, then the loop.
    async fn drive(&mut self, resume: Option<&ResumeState>) -> Result<(), CaptureError> {
        // The first file opens now, so the crawl settings are on record even if nothing is fetched.
        if let Some(pos) = self.warc.prepare()? {
            self.out.send(Event::WarcOpened(pos))?;
        }
        self.load(resume)?;
        self.run().await
    }

    async fn run(&mut self) -> Result<(), CaptureError> {
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        loop {
            if self.summary_extra.stopped_early.is_none() && self.out.cancelled() {
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
                        self.referrers.remove(&e.url);
                        self.out.send(Event::Frontier(vec![e]))?;
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
        self.send_progress()
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

    fn fail(&mut self, url: &str, reason: &str) -> Result<(), CaptureError> {
        self.progress.errors += 1;
        self.out.send(Event::Failure(url.to_string(), reason.to_string()))?;
        Ok(())
    }
}
