//! The crawl loop: BFS frontier, manual redirects, capped streaming reads, WARC recording.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE, LOCATION, USER_AGENT};
use sha2::{Digest, Sha256};
use url::Url;

use crate::html::extract;
use crate::index::PageIndex;
use crate::scope::{host_key, in_scope, normalize};
use crate::warcfile::{new_record_id, warc_date, warc_digest, RecordSpec, WarcOutput};
use crate::{
    AssetCapture, CaptureError, CaptureSink, CrawlConfig, CrawlSummary, Exchange, ExchangeKind, PageCapture, Progress,
    Referrer,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Page,
    Asset,
}

/// Final (non-redirect) response of a redirect chain.
struct Fetched {
    url: Url,
    content_type: Option<String>,
    body: Vec<u8>,
    exchange: Exchange,
}

struct Crawler<'a> {
    cfg: &'a CrawlConfig,
    seeds: Vec<Url>,
    client: reqwest::Client,
    sink: &'a mut dyn CaptureSink,
    warc: WarcOutput,
    index: PageIndex,
    /// URLs already requested (any hop, any purpose) — nothing is fetched twice.
    fetched: HashSet<Url>,
    /// URLs ever put on the frontier.
    queued: HashSet<Url>,
    frontier: VecDeque<(Url, u32)>,
    last_request: HashMap<String, Instant>,
    referrers: HashMap<Url, Vec<Referrer>>,
    progress: Progress,
    exchanges: usize,
}

/// Crawls from `config.seeds`, recording into `config.warc_dir` and `config.index_dir` and
/// reporting to `sink`. Per-URL network problems are reported to the sink and the crawl goes
/// on; only local failures (disk, index, sink) abort it.
pub async fn crawl(config: &CrawlConfig, sink: &mut dyn CaptureSink) -> Result<CrawlSummary, CaptureError> {
    validate(config)?;
    let started = Utc::now();
    let seeds: Vec<Url> = config.seeds.iter().filter_map(normalize).collect();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .tls_info(true)
        .no_proxy()
        .build()
        .map_err(|e| CaptureError::Client(error_chain(&e)))?;
    let warc = WarcOutput::new(
        &config.warc_dir,
        &config.warc_prefix,
        &started,
        config.max_warc_bytes,
        warcinfo_fields(config, &seeds),
    )?;
    let index = PageIndex::open(&config.index_dir)?;
    let mut c = Crawler {
        cfg: config,
        frontier: seeds.iter().map(|u| (u.clone(), 0)).collect(),
        queued: seeds.iter().cloned().collect(),
        seeds,
        client,
        sink,
        warc,
        index,
        fetched: HashSet::new(),
        last_request: HashMap::new(),
        referrers: HashMap::new(),
        progress: Progress::default(),
        exchanges: 0,
    };
    let result = c.run().await;
    // Commit what was indexed even when the crawl aborted: those pages are in the WARCs.
    let committed = c.index.commit();
    result?;
    committed?;
    if c.warc.files().is_empty() {
        // Always leave a (warcinfo-only) file so the crawl settings are on record.
        c.warc.prepare()?;
    }
    Ok(CrawlSummary {
        pages: c.progress.pages,
        assets: c.progress.assets,
        exchanges: c.exchanges,
        bytes: c.progress.bytes,
        errors: c.progress.errors,
        warc_files: c.warc.files().to_vec(),
        started_at: warc_date(&started),
        finished_at: warc_date(&Utc::now()),
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
    add("robots", "not consulted");
    add("seeds", &seeds.iter().map(Url::as_str).collect::<Vec<_>>().join(" "));
    add(
        "description",
        &format!(
            "scope={:?} max_pages={} max_depth={} rate_per_host={} concurrency={} \
             connect_timeout_ms={} request_timeout_ms={} max_response_bytes={} max_redirects={}",
            c.scope,
            c.max_pages,
            c.max_depth,
            c.rate_per_host,
            c.concurrency,
            c.connect_timeout.as_millis(),
            c.request_timeout.as_millis(),
            c.max_response_bytes,
            c.max_redirects
        ),
    );
    add(
        "x-xiezhi-http-fidelity",
        "status line and headers reconstructed from the parsed response (names lower-cased); \
         body bytes as received after transfer decoding",
    );
    f
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        let msg = inner.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = inner.source();
    }
    s
}

fn is_html(ct: Option<&str>) -> bool {
    ct.map(|c| c.trim().to_ascii_lowercase())
        .is_some_and(|c| c.starts_with("text/html") || c.starts_with("application/xhtml+xml"))
}

impl Crawler<'_> {
    async fn run(&mut self) -> Result<(), CaptureError> {
        let mut budget = self.cfg.max_pages;
        while budget > 0 {
            let Some((url, depth)) = self.frontier.pop_front() else {
                break;
            };
            if self.fetched.contains(&url) {
                continue;
            }
            budget -= 1;
            self.progress.frontier = self.frontier.len();
            let Some(f) = self.fetch_chain(url, Purpose::Page).await? else {
                continue;
            };
            if f.exchange.kind == ExchangeKind::Page {
                self.handle_page(f, depth).await?;
            }
        }
        Ok(())
    }

    async fn handle_page(&mut self, f: Fetched, depth: u32) -> Result<(), CaptureError> {
        let body = String::from_utf8_lossy(&f.body);
        let ex = extract(&f.url, &body);
        let page = PageCapture {
            url: f.url.to_string(),
            title: ex.title,
            text: ex.text,
            links: ex.links.iter().map(Url::to_string).collect(),
            images: ex.images.iter().map(|(u, _)| u.to_string()).collect(),
            alt_texts: ex.alt_texts,
            depth,
            exchange: f.exchange,
        };
        self.sink.page(&page)?;
        self.index.add(
            &page.url,
            &page.title,
            &page.text,
            &page.alt_texts,
            &page.exchange.fetched_at,
        )?;
        self.progress.pages += 1;
        self.sink.progress(&self.progress);

        if depth < self.cfg.max_depth {
            for link in ex.links {
                if in_scope(self.cfg.scope, &self.seeds, &link) && self.queued.insert(link.clone()) {
                    self.frontier.push_back((link, depth + 1));
                }
            }
        }
        self.progress.frontier = self.frontier.len();

        for (img, element) in ex.images {
            let r = Referrer {
                page_url: page.url.clone(),
                element: element.to_string(),
            };
            let refs = self.referrers.entry(img.clone()).or_default();
            if refs.contains(&r) {
                continue;
            }
            refs.push(r.clone());
            if self.fetched.contains(&img) {
                self.sink.asset_referrer(img.as_str(), &r)?;
                continue;
            }
            if let Some(a) = self.fetch_chain(img.clone(), Purpose::Asset).await? {
                if a.exchange.kind == ExchangeKind::Asset {
                    let asset = AssetCapture {
                        url: img.to_string(),
                        sha256: a.exchange.payload_sha256.clone(),
                        content_type: a.content_type,
                        referrers: self.referrers.get(&img).cloned().unwrap_or_default(),
                        bytes: a.body,
                        exchange: a.exchange,
                    };
                    self.sink.asset(&asset)?;
                    self.progress.assets += 1;
                    self.sink.progress(&self.progress);
                }
            }
        }
        Ok(())
    }

    async fn fail(&mut self, url: &Url, reason: &str) -> Result<(), CaptureError> {
        self.progress.errors += 1;
        self.sink.failure(url.as_str(), reason)?;
        self.sink.progress(&self.progress);
        Ok(())
    }

    /// Waits until `1/rate_per_host` has passed since the last request to this host.
    async fn polite_wait(&mut self, url: &Url) {
        let key = host_key(url);
        if self.cfg.rate_per_host > 0.0 {
            if let Some(last) = self.last_request.get(&key) {
                let gap = Duration::from_secs_f64(1.0 / self.cfg.rate_per_host);
                let ready = *last + gap;
                let now = Instant::now();
                if ready > now {
                    tokio::time::sleep(ready - now).await;
                }
            }
        }
        self.last_request.insert(key, Instant::now());
    }

    /// Fetches `url`, following redirects by hand so that every hop is its own recorded
    /// exchange. Returns the final response, or `None` when the chain ended in a failure
    /// (already reported), left scope, or reached an already fetched URL.
    async fn fetch_chain(&mut self, start: Url, purpose: Purpose) -> Result<Option<Fetched>, CaptureError> {
        let mut url = start;
        let mut hops = 0usize;
        loop {
            self.fetched.insert(url.clone());
            let Some(f) = self.fetch_one(&url, purpose).await? else {
                return Ok(None);
            };
            let Some(next) = f.exchange.redirect_to.clone() else {
                return Ok(Some(f));
            };
            hops += 1;
            if hops > self.cfg.max_redirects {
                let reason = format!("too many redirects (more than {})", self.cfg.max_redirects);
                self.fail(&url, &reason).await?;
                return Ok(None);
            }
            let Ok(next) = Url::parse(&next) else {
                return Ok(None);
            };
            // Pages may only redirect within scope; images may live anywhere (CDNs).
            if purpose == Purpose::Page && !in_scope(self.cfg.scope, &self.seeds, &next) {
                return Ok(None);
            }
            if self.fetched.contains(&next) {
                return Ok(None);
            }
            url = next;
        }
    }

    /// One request/response, recorded in WARC and reported as an exchange. `None` means a
    /// failure that was reported to the sink (nothing recorded).
    async fn fetch_one(&mut self, url: &Url, purpose: Purpose) -> Result<Option<Fetched>, CaptureError> {
        let ua = match HeaderValue::from_str(&self.cfg.user_agent) {
            Ok(v) => v,
            Err(_) => return Err(CaptureError::Config("user_agent is not a valid header".into())),
        };
        let req = match self
            .client
            .get(url.clone())
            .header(USER_AGENT, ua)
            .header(ACCEPT, HeaderValue::from_static("*/*"))
            // We record bytes as transmitted and do not decode content codings.
            .header(ACCEPT_ENCODING, HeaderValue::from_static("identity"))
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                self.fail(url, &format!("invalid request: {}", error_chain(&e))).await?;
                return Ok(None);
            }
        };
        let request_block = request_bytes(&req);

        self.polite_wait(url).await;
        let fetched_at = warc_date(&Utc::now());
        let mut resp = match self.client.execute(req).await {
            Ok(r) => r,
            Err(e) => {
                let reason = if e.is_timeout() {
                    format!("timeout: {}", error_chain(&e))
                } else if e.is_connect() {
                    format!("connect failed: {}", error_chain(&e))
                } else {
                    format!("request failed: {}", error_chain(&e))
                };
                self.fail(url, &reason).await?;
                return Ok(None);
            }
        };
        let cap = self.cfg.max_response_bytes;
        let too_large = format!("response larger than {cap} bytes");
        if resp.content_length().is_some_and(|n| n > cap) {
            self.fail(url, &too_large).await?;
            return Ok(None);
        }
        let mut body: Vec<u8> = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > cap {
                        self.fail(url, &too_large).await?;
                        return Ok(None);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let what = if e.is_timeout() { "timeout" } else { "body read failed" };
                    self.fail(url, &format!("{what}: {}", error_chain(&e))).await?;
                    return Ok(None);
                }
            }
        }

        let status = resp.status();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let redirect_to = if status.is_redirection() {
            resp.headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| crate::scope::resolve(url, loc))
                .map(|u| u.to_string())
        } else {
            None
        };
        let server_ip = resp.remote_addr().map(|a| a.ip().to_string());
        let cert = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|t| t.peer_certificate().map(<[u8]>::to_vec));
        let response_block = response_bytes(&resp, &body);

        let kind = if redirect_to.is_some() || !status.is_success() {
            ExchangeKind::Other
        } else {
            match purpose {
                Purpose::Page if is_html(content_type.as_deref()) => ExchangeKind::Page,
                Purpose::Page => ExchangeKind::Other,
                Purpose::Asset => ExchangeKind::Asset,
            }
        };

        // Record: request, response, optional certificate metadata; one fsync.
        self.warc.prepare()?;
        let req_id = new_record_id();
        let resp_id = new_record_id();
        let mut common = vec![("WARC-Target-URI", url.to_string())];
        if let Some(ip) = &server_ip {
            common.push(("WARC-IP-Address", ip.clone()));
        }
        let mut req_extra = common.clone();
        req_extra.push(("WARC-Concurrent-To", resp_id.clone()));
        self.warc.write(&RecordSpec {
            warc_type: "request",
            record_id: &req_id,
            date: &fetched_at,
            content_type: "application/http; msgtype=request",
            extra: req_extra,
            block: &request_block,
        })?;
        let mut resp_extra = common.clone();
        resp_extra.push(("WARC-Concurrent-To", req_id.clone()));
        resp_extra.push(("WARC-Payload-Digest", warc_digest(&body)));
        let written = self.warc.write(&RecordSpec {
            warc_type: "response",
            record_id: &resp_id,
            date: &fetched_at,
            content_type: "application/http; msgtype=response",
            extra: resp_extra,
            block: &response_block,
        })?;
        if let Some(der) = cert {
            let mut extra = common;
            extra.push(("WARC-Refers-To", resp_id.clone()));
            self.warc.write(&RecordSpec {
                warc_type: "metadata",
                record_id: &new_record_id(),
                date: &fetched_at,
                // The peer's leaf certificate, DER, as presented in the TLS handshake.
                content_type: "application/pkix-cert",
                extra,
                block: &der,
            })?;
        }
        self.warc.sync()?;

        let exchange = Exchange {
            url: url.to_string(),
            method: "GET".to_string(),
            status: status.as_u16(),
            content_type: content_type.clone(),
            fetched_at,
            server_ip,
            warc_file: written.file_name,
            warc_offset: written.offset,
            response_record_id: resp_id,
            request_record_id: req_id,
            payload_sha256: hex::encode(Sha256::digest(&body)),
            payload_len: body.len() as u64,
            redirect_to,
            kind,
        };
        self.exchanges += 1;
        self.progress.bytes += body.len() as u64;
        self.sink.exchange(&exchange)?;
        Ok(Some(Fetched {
            url: url.clone(),
            content_type,
            body,
            exchange,
        }))
    }
}

/// The request as sent, rebuilt: request line, Host, then the headers we set (hyper adds no
/// others to a body-less HTTP/1.1 GET).
fn request_bytes(req: &reqwest::Request) -> Vec<u8> {
    let u = req.url();
    let mut target = u.path().to_string();
    if let Some(q) = u.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_string(),
    };
    let mut out = format!("{} {target} HTTP/1.1\r\nhost: {host}\r\n", req.method()).into_bytes();
    for (name, value) in req.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Status line + headers as received (reconstructed) + body bytes.
fn response_bytes(resp: &reqwest::Response, body: &[u8]) -> Vec<u8> {
    let status = resp.status();
    let mut out = format!(
        "{:?} {} {}\r\n",
        resp.version(),
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in resp.headers() {
        // The body we hold is already de-chunked; keep the fact but not the instruction.
        let name = if name == reqwest::header::TRANSFER_ENCODING {
            "x-xiezhi-original-transfer-encoding"
        } else {
            name.as_str()
        };
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}
