//! End-to-end crawl of real HTTP servers on 127.0.0.1 (axum), checked against the sink
//! events, the WARC files (warc crate + warcio) and the full-text index.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use sha2::{Digest, Sha256};
use xiezhi_capture::{
    base32, crawl, search, AssetCapture, CaptureSink, CrawlConfig, Exchange, ExchangeKind, PageCapture, Progress,
    Referrer, Scope, SinkError,
};

const CAT_PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake cat image bytes";
const DRAGON_PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake dragon image bytes";
const PANDA_PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake panda image bytes";
const MAX_BYTES: u64 = 100_000;
const RATE: f64 = 20.0; // 50 ms between requests to one host

#[derive(Default)]
struct Site {
    /// (path, arrival time) of every request.
    log: Mutex<Vec<(String, Instant)>>,
    /// Base URL of the second (image) server, set after it is bound.
    cdn: Mutex<String>,
}

fn html(body: String) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(body))
        .expect("response")
}

fn redirect(code: StatusCode, to: &str) -> Response {
    Response::builder()
        .status(code)
        .header(header::LOCATION, to)
        .body(Body::empty())
        .expect("response")
}

fn bytes(ct: &str, b: &'static [u8]) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(b))
        .expect("response")
}

async fn site(State(st): State<Arc<Site>>, uri: Uri) -> Response {
    let path = uri.path().to_string();
    st.log.lock().expect("log").push((path.clone(), Instant::now()));
    let cdn = st.cdn.lock().expect("cdn").clone();
    match path.as_str() {
        "/" => html(format!(
            r#"<!doctype html><html><head><title>Xiezhi Test Home</title>
            <style>body {{ color: red }}</style></head><body>
            <h1>Welcome</h1><p>The gallery of painted dragons and other artwork.</p>
            <script>var secretScriptWord = 1;</script>
            <a href="/about">About</a> <a href="/zh">中文</a> <a href="/about#team">About again</a>
            <a href="/redirect/1">Moved</a> <a href="/missing">Missing</a>
            <a href="/big">Big</a> <a href="/bigstream">Big stream</a> <a href="/hop/0">Loop</a>
            <a href="/stream">Streamed</a>
            <a href="http://example.invalid/offsite">Elsewhere</a>
            <img src="/img/cat.png" alt="A sleeping cat">
            <img src="{cdn}/img/dragon.png" alt="Red dragon">
            </body></html>"#
        )),
        "/about" => html(format!(
            r#"<html><head><title>About us</title></head><body><p>About the studio.</p>
            <a href="/">Home</a><img src="/img/cat.png"><img src="{cdn}/img/dragon.png"></body></html>"#
        )),
        "/zh" => html(format!(
            r#"<html><head><title>中文页面</title></head><body>
            <p>这是一幅受版权保护的水墨画作品，未经许可不得转载。</p>
            <img src="{cdn}/img/panda.png" alt="熊猫吃竹子"></body></html>"#
        )),
        "/redirect/1" => redirect(StatusCode::FOUND, "/redirect/2"),
        "/redirect/2" => redirect(StatusCode::MOVED_PERMANENTLY, "/final"),
        "/final" => html(
            r#"<html><head><title>Final</title></head><body>Final destination after redirects.
            <a href="/d2">deeper</a></body></html>"#
                .to_string(),
        ),
        "/d2" => html(r#"<html><body>Depth two <a href="/d3">d3</a></body></html>"#.into()),
        "/d3" => html(r#"<html><body>Depth three <a href="/d4">d4</a></body></html>"#.into()),
        "/d4" => html("<html><body>Too deep</body></html>".into()),
        "/big" => Response::builder()
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(vec![b'x'; 2 * MAX_BYTES as usize]))
            .expect("response"),
        "/bigstream" => {
            // No Content-Length: the cap must be enforced while streaming.
            let chunks = (0..30).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 10_000]));
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html")
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .expect("response")
        }
        "/stream" => {
            // Chunked transfer encoding, within the cap.
            let parts = ["<html><body>Streamed ", "page about ", "lanterns</body></html>"];
            let chunks = parts.map(|p| Ok::<_, std::io::Error>(p.as_bytes().to_vec()));
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html")
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .expect("response")
        }
        "/img/cat.png" => bytes("image/png", CAT_PNG),
        p if p.starts_with("/hop/") => {
            let n: u32 = p[5..].parse().unwrap_or(0);
            redirect(StatusCode::FOUND, &format!("/hop/{}", n + 1))
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("not found"))
            .expect("response"),
    }
}

async fn cdn(State(st): State<Arc<Site>>, uri: Uri) -> Response {
    st.log
        .lock()
        .expect("log")
        .push((uri.path().to_string(), Instant::now()));
    match uri.path() {
        "/img/dragon.png" => bytes("image/png", DRAGON_PNG),
        "/img/panda.png" => bytes("image/png", PANDA_PNG),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::empty())
            .expect("response"),
    }
}

async fn serve(
    handler: fn(State<Arc<Site>>, Uri) -> futures_util::future::BoxFuture<'static, Response>,
    st: Arc<Site>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().fallback(handler).with_state(st);
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    format!("http://{addr}")
}

fn site_h(s: State<Arc<Site>>, u: Uri) -> futures_util::future::BoxFuture<'static, Response> {
    Box::pin(site(s, u))
}
fn cdn_h(s: State<Arc<Site>>, u: Uri) -> futures_util::future::BoxFuture<'static, Response> {
    Box::pin(cdn(s, u))
}

#[derive(Default)]
struct TestSink {
    exchanges: Vec<Exchange>,
    pages: Vec<PageCapture>,
    assets: Vec<AssetCapture>,
    late_referrers: Vec<(String, Referrer)>,
    failures: Vec<(String, String)>,
    progress_calls: usize,
}

impl CaptureSink for TestSink {
    fn exchange(&mut self, ex: &Exchange) -> Result<(), SinkError> {
        self.exchanges.push(ex.clone());
        Ok(())
    }
    fn page(&mut self, page: &PageCapture) -> Result<(), SinkError> {
        self.pages.push(page.clone());
        Ok(())
    }
    fn asset(&mut self, asset: &AssetCapture) -> Result<(), SinkError> {
        self.assets.push(asset.clone());
        Ok(())
    }
    fn asset_referrer(&mut self, asset_url: &str, r: &Referrer) -> Result<(), SinkError> {
        self.late_referrers.push((asset_url.to_string(), r.clone()));
        Ok(())
    }
    fn failure(&mut self, url: &str, reason: &str) -> Result<(), SinkError> {
        self.failures.push((url.to_string(), reason.to_string()));
        Ok(())
    }
    fn progress(&mut self, _p: &Progress) {
        self.progress_calls += 1;
    }
}

/// All records of a multi-member .warc.gz, read with the `warc` crate.
fn read_warc(path: &Path) -> Vec<(BTreeMap<String, String>, Vec<u8>)> {
    let file = std::fs::File::open(path).expect("open warc");
    let gz = flate2::read::MultiGzDecoder::new(BufReader::new(file));
    warc::WarcReader::new(BufReader::new(gz))
        .iter_raw_records()
        .map(|r| {
            let (h, body) = r.expect("warc record parses");
            assert_eq!(h.version, "1.1");
            let headers = h
                .headers
                .iter()
                .map(|(k, v)| (k.to_string().to_lowercase(), String::from_utf8_lossy(v).into_owned()))
                .collect();
            (headers, body)
        })
        .collect()
}

/// The single record in the gzip member at `offset`.
fn record_at(path: &Path, offset: u64) -> BTreeMap<String, String> {
    let mut file = std::fs::File::open(path).expect("open warc");
    file.seek(SeekFrom::Start(offset)).expect("seek");
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut plain)
        .expect("one gzip member");
    let mut recs = warc::WarcReader::new(&plain[..]).iter_raw_records();
    let (h, _) = recs.next().expect("a record").expect("parses");
    assert!(recs.next().is_none(), "one record per gzip member");
    h.headers
        .iter()
        .map(|(k, v)| (k.to_string().to_lowercase(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

fn warcio(args: &[&str]) -> std::process::Output {
    let run = |args: &[&str]| {
        Command::new("python3")
            .arg("-c")
            .arg("import sys; from warcio.cli import main; main(sys.argv[1:])")
            .args(args)
            .output()
            .expect("python3 must be installed to validate WARC output")
    };
    let probe = Command::new("python3")
        .args(["-c", "import warcio"])
        .status()
        .expect("python3 must be installed to validate WARC output");
    if !probe.success() {
        let pip = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "warcio"])
            .status()
            .expect("python3 -m pip");
        assert!(
            pip.success(),
            "warcio is required for WARC validation and `python3 -m pip install warcio` failed"
        );
    }
    run(args)
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawls_records_indexes_a_site() {
    let site_state = Arc::new(Site::default());
    let cdn_state = Arc::new(Site::default());
    let base = serve(site_h, site_state.clone()).await;
    let cdn_base = serve(cdn_h, cdn_state.clone()).await;
    *site_state.cdn.lock().expect("cdn") = cdn_base.clone();

    let dir = tempfile::tempdir().expect("tempdir");
    let warc_dir = dir.path().join("warc");
    let index_dir = dir.path().join("index");
    let seed = url::Url::parse(&format!("{base}/")).expect("seed");
    let mut cfg = CrawlConfig::new(vec![seed], "case-42", &warc_dir, &index_dir);
    cfg.max_pages = 50;
    cfg.max_depth = 3;
    cfg.scope = Scope::Host;
    cfg.rate_per_host = RATE;
    cfg.max_response_bytes = MAX_BYTES;
    cfg.max_redirects = 5;
    cfg.operator = Some("Test Operator".into());
    cfg.warc_prefix = "test".into();
    cfg.max_warc_bytes = 3_000; // forces rotation
    cfg.request_timeout = Duration::from_secs(10);

    let mut sink = TestSink::default();
    let summary = crawl(&cfg, &mut sink).await.expect("crawl");

    // --- pages & scope -------------------------------------------------------------
    let page = |path: &str| format!("{base}{path}");
    let page_urls: BTreeSet<String> = sink.pages.iter().map(|p| p.url.clone()).collect();
    for p in ["/", "/about", "/zh", "/final", "/d2", "/d3"] {
        assert!(page_urls.contains(&page(p)), "missing page {p}: {page_urls:?}");
    }
    assert!(!page_urls.contains(&page("/d4")), "max_depth exceeded");
    assert_eq!(page_urls.len(), sink.pages.len(), "a page was fetched twice");
    assert_eq!(summary.pages, sink.pages.len());
    let home = sink.pages.iter().find(|p| p.url == page("/")).expect("home");
    assert_eq!(home.title, "Xiezhi Test Home");
    assert!(home.text.contains("painted dragons"));
    assert!(!home.text.contains("secretScriptWord") && !home.text.contains("color: red"));
    assert!(home.links.contains(&"http://example.invalid/offsite".to_string()));
    assert!(home.alt_texts.contains(&"A sleeping cat".to_string()));
    assert_eq!(home.exchange.kind, ExchangeKind::Page);
    let all_urls = sink
        .exchanges
        .iter()
        .map(|e| e.url.as_str())
        .chain(sink.failures.iter().map(|f| f.0.as_str()));
    for u in all_urls {
        assert!(!u.contains("example.invalid"), "fetched off-site {u}");
    }
    let log: Vec<String> = site_state
        .log
        .lock()
        .expect("log")
        .iter()
        .map(|l| l.0.clone())
        .collect();
    assert!(!log.contains(&"/d4".to_string()));
    assert_eq!(log.iter().filter(|p| *p == "/about").count(), 1, "fragment de-dup");

    // --- exchanges: redirects, 404 ------------------------------------------------------
    let ex = |path: &str| {
        sink.exchanges
            .iter()
            .find(|e| e.url == page(path))
            .unwrap_or_else(|| panic!("no exchange for {path}"))
    };
    assert_eq!(ex("/redirect/1").status, 302);
    assert_eq!(
        ex("/redirect/1").redirect_to.as_deref(),
        Some(page("/redirect/2").as_str())
    );
    assert_eq!(ex("/redirect/2").status, 301);
    assert_eq!(ex("/redirect/2").kind, ExchangeKind::Other);
    assert_eq!(ex("/final").status, 200);
    assert_eq!(ex("/missing").status, 404);
    assert_eq!(ex("/missing").kind, ExchangeKind::Other);
    assert!(sink
        .exchanges
        .iter()
        .all(|e| e.server_ip.as_deref() == Some("127.0.0.1")));

    // --- failures ----------------------------------------------------------------------
    let reason = |path: &str| {
        sink.failures
            .iter()
            .find(|f| f.0 == page(path))
            .map(|f| f.1.clone())
            .unwrap_or_else(|| panic!("no failure for {path}: {:?}", sink.failures))
    };
    let too_large = format!("response larger than {MAX_BYTES} bytes (recorded truncated)");
    assert_eq!(reason("/big"), too_large);
    assert_eq!(reason("/bigstream"), too_large);
    assert!(reason("/hop/5").contains("too many redirects"), "{:?}", sink.failures);
    assert_eq!(reason("/missing"), "HTTP 404 Not Found");
    assert_eq!(sink.failures.len(), 4, "{:?}", sink.failures);
    assert_eq!(summary.errors, 4);
    assert_eq!(summary.truncated, 2);
    // A capped body is kept, truncated at the cap, and says so in WARC.
    for path in ["/big", "/bigstream"] {
        assert_eq!(ex(path).payload_len, MAX_BYTES, "{path}");
        let at = record_at(&warc_dir.join(&ex(path).warc_file), ex(path).warc_offset);
        assert_eq!(at["warc-truncated"], "length", "{path}");
    }
    // robots.txt was asked for on both hosts (404 there: everything allowed) and recorded.
    assert_eq!(ex("/robots.txt").status, 404);
    assert!(sink.exchanges.iter().any(|e| e.url == format!("{cdn_base}/robots.txt")));
    assert!(!log.contains(&"/hop/6".to_string()));

    // --- assets & referrers -----------------------------------------------------------
    let cat_url = page("/img/cat.png");
    let dragon_url = format!("{cdn_base}/img/dragon.png");
    let panda_url = format!("{cdn_base}/img/panda.png");
    assert_eq!(
        sink.assets.len(),
        3,
        "{:?}",
        sink.assets.iter().map(|a| &a.url).collect::<Vec<_>>()
    );
    for (u, b) in [(&cat_url, CAT_PNG), (&dragon_url, DRAGON_PNG), (&panda_url, PANDA_PNG)] {
        let a = sink.assets.iter().find(|a| &a.url == u).expect("asset");
        assert_eq!(a.bytes, b);
        assert_eq!(a.sha256, sha256_hex(b));
        assert_eq!(a.content_type.as_deref(), Some("image/png"));
        assert_eq!(a.exchange.kind, ExchangeKind::Asset);
        let mut refs: BTreeSet<String> = a.referrers.iter().map(|r| r.page_url.clone()).collect();
        refs.extend(
            sink.late_referrers
                .iter()
                .filter(|(x, _)| x == u)
                .map(|(_, r)| r.page_url.clone()),
        );
        let expected: BTreeSet<String> = if u == &panda_url {
            [page("/zh")].into()
        } else {
            [page("/"), page("/about")].into()
        };
        assert_eq!(refs, expected, "referrers of {u}");
        assert!(a.referrers.iter().all(|r| r.element == "img[src]"));
    }
    let cdn_log = cdn_state.log.lock().expect("log").clone();
    assert_eq!(
        cdn_log.iter().filter(|l| l.0 == "/img/dragon.png").count(),
        1,
        "asset fetched once"
    );

    // --- politeness --------------------------------------------------------------------
    let times: Vec<Instant> = site_state.log.lock().expect("log").iter().map(|l| l.1).collect();
    let min_gap = Duration::from_secs_f64(1.0 / RATE);
    for w in times.windows(2) {
        let gap = w[1].duration_since(w[0]);
        // Small tolerance: arrival times jitter a little relative to send times.
        assert!(gap >= min_gap.mul_f64(0.8), "requests to one host {gap:?} apart");
    }

    // --- WARC files --------------------------------------------------------------------
    assert!(
        summary.warc_files.len() > 1,
        "rotation expected: {:?}",
        summary.warc_files
    );
    let mut on_disk: Vec<String> = std::fs::read_dir(&warc_dir)
        .expect("warc dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed = summary.warc_files.clone();
    listed.sort();
    assert_eq!(on_disk, listed);
    let mut by_id: BTreeMap<String, (BTreeMap<String, String>, Vec<u8>)> = BTreeMap::new();
    let mut record_counts: BTreeMap<String, usize> = BTreeMap::new();
    for name in &summary.warc_files {
        assert!(name.starts_with("test-") && name.ends_with(".warc.gz"), "{name}");
        let recs = read_warc(&warc_dir.join(name));
        record_counts.insert(name.clone(), recs.len());
        assert_eq!(recs[0].0["warc-type"], "warcinfo", "{name} must start with warcinfo");
        let info = String::from_utf8_lossy(&recs[0].1).into_owned();
        assert!(info.contains("isPartOf: case-42") && info.contains("operator: Test Operator"));
        assert!(info.contains(&format!("software: Xiezhi {}", env!("CARGO_PKG_VERSION"))));
        let warcinfo_id = recs[0].0["warc-record-id"].clone();
        for (h, body) in recs {
            assert_eq!(h["content-length"], body.len().to_string());
            let digest = format!("sha256:{}", base32(&Sha256::digest(&body)));
            assert_eq!(h["warc-block-digest"], digest, "block digest");
            if h["warc-type"] != "warcinfo" {
                assert_eq!(h["warc-warcinfo-id"], warcinfo_id);
            }
            by_id.insert(h["warc-record-id"].clone(), (h, body));
        }
    }
    for e in &sink.exchanges {
        let path = warc_dir.join(&e.warc_file);
        let at = record_at(&path, e.warc_offset);
        assert_eq!(at["warc-record-id"], e.response_record_id);
        assert_eq!(at["warc-type"], "response");
        assert_eq!(at["warc-target-uri"], e.url);
        assert_eq!(at["warc-date"], e.fetched_at);
        assert_eq!(at["warc-ip-address"], "127.0.0.1");
        assert_eq!(at["warc-concurrent-to"], e.request_record_id);
        assert_eq!(at["content-type"], "application/http; msgtype=response");
        assert!(
            e.fetched_at.len() == 24 && e.fetched_at.ends_with('Z'),
            "{}",
            e.fetched_at
        );
        let (_, body) = &by_id[&e.response_record_id];
        let split = body.windows(4).position(|w| w == b"\r\n\r\n").expect("http header end") + 4;
        let payload = &body[split..];
        assert_eq!(sha256_hex(payload), e.payload_sha256);
        assert_eq!(payload.len() as u64, e.payload_len);
        assert_eq!(
            at["warc-payload-digest"],
            format!("sha256:{}", base32(&Sha256::digest(payload)))
        );
        let status_line =
            String::from_utf8_lossy(&body[..body.iter().position(|b| *b == b'\r').unwrap_or(0)]).into_owned();
        assert!(
            status_line.starts_with(&format!("HTTP/1.1 {}", e.status)),
            "{status_line}"
        );
        let (rh, rbody) = &by_id[&e.request_record_id];
        assert_eq!(rh["warc-type"], "request");
        assert_eq!(rh["warc-concurrent-to"], e.response_record_id);
        let req = String::from_utf8_lossy(rbody);
        assert!(req.starts_with("GET /"), "{req}");
        assert!(req.contains("accept-encoding: identity\r\n"), "{req}");
        assert!(req.ends_with("\r\n\r\n"));
    }
    assert_eq!(summary.exchanges, sink.exchanges.len());
    // A de-chunked body must not keep a header telling readers to de-chunk it again.
    let (_, streamed) = &by_id[&ex("/stream").response_record_id];
    let streamed = String::from_utf8_lossy(streamed);
    assert!(
        streamed.contains("x-xiezhi-original-transfer-encoding: chunked\r\n"),
        "{streamed}"
    );
    assert!(!streamed.contains("\r\ntransfer-encoding:"), "{streamed}");
    assert!(streamed.ends_with("Streamed page about lanterns</body></html>"));

    // warcio must accept every file.
    for name in &summary.warc_files {
        let p = warc_dir.join(name);
        let p = p.to_str().expect("utf-8 path");
        let out = warcio(&["check", "-v", p]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "warcio check failed for {name}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!stdout.contains("digest failed"), "{stdout}");
        // Every record carries a digest, so warcio must have verified every one.
        assert_eq!(stdout.matches("digest pass").count(), record_counts[name], "{stdout}");
        let out = warcio(&["index", p]);
        assert!(
            out.status.success(),
            "warcio index failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let index_out = String::from_utf8_lossy(&out.stdout);
        assert!(index_out.contains("\"warc-type\": \"warcinfo\""), "{index_out}");
    }

    // --- full-text search ----------------------------------------------------------------
    let hits = search(&index_dir, "dragons", 10).expect("search");
    assert_eq!(hits.first().map(|h| h.url.clone()), Some(page("/")));
    assert!(hits[0].snippet.contains("<b>dragons</b>"), "{}", hits[0].snippet);
    assert_eq!(hits[0].title, "Xiezhi Test Home");
    assert_eq!(hits[0].captured_at, home.exchange.fetched_at);
    let hits = search(&index_dir, "版权保护", 10).expect("search");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].url, page("/zh"));
    assert!(hits[0].snippet.contains("<b>版权保护</b>"), "{}", hits[0].snippet);
    let hits = search(&index_dir, "熊猫", 10).expect("search alt text");
    assert_eq!(hits.first().map(|h| h.url.clone()), Some(page("/zh")));
    assert!(search(&index_dir, "secretScriptWord", 10).expect("search").is_empty());
    assert!(search(&index_dir, "\"unbalanced", 10).is_ok(), "lenient query parsing");
    assert!(sink.progress_calls > 0);
}

#[tokio::test]
async fn unreachable_seed_is_a_reported_failure() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
    let cfg = CrawlConfig::new(vec![seed], "c", &dir.path().join("w"), &dir.path().join("i"));
    let mut sink = TestSink::default();
    let summary = crawl(&cfg, &mut sink).await.expect("crawl completes");
    assert_eq!(sink.failures.len(), 1);
    assert!(sink.failures[0].1.starts_with("connect failed"), "{:?}", sink.failures);
    assert_eq!(summary.errors, 1);
    assert_eq!(summary.pages, 0);
    // The crawl settings are still on record.
    assert_eq!(summary.warc_files.len(), 1);
}

#[tokio::test]
async fn invalid_config_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = CrawlConfig::new(vec![], "c", dir.path(), dir.path());
    let mut sink = TestSink::default();
    assert!(matches!(
        crawl(&cfg, &mut sink).await,
        Err(xiezhi_capture::CaptureError::Config(_))
    ));
    cfg.seeds = vec![url::Url::parse("ftp://x/").expect("url")];
    assert!(crawl(&cfg, &mut sink).await.is_err());
}

#[test]
fn crawl_future_is_send() {
    fn assert_send<T: Send>(_: T) {}
    let dir = std::env::temp_dir();
    let cfg = CrawlConfig::new(vec![], "c", &dir, &dir);
    let mut sink = TestSink::default();
    assert_send(crawl(&cfg, &mut sink));
}
