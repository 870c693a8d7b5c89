//! Capture completeness on real loopback servers: `data:` images kept as WARC `resource`
//! records and assets with where they appeared, rejected references reported, full element
//! descriptions, `@font-face` sources fetched as requisites, SVG images kept as assets (even
//! when they open with a comment or the Content-Type lies), and robots.txt redirects
//! followed (RFC 9309: at least five hops; each hop recorded).

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use xiezhi_capture::{
    crawl, AssetCapture, CaptureSink, CrawlConfig, Exchange, InlineResource, PageCapture, Referrer, Scope, SinkError,
};

#[derive(Default)]
struct Sink {
    exchanges: Vec<Exchange>,
    pages: Vec<PageCapture>,
    assets: Vec<AssetCapture>,
    referrers: Vec<(String, Referrer)>,
    failures: Vec<(String, String)>,
    inline: Vec<InlineResource>,
}

impl CaptureSink for Sink {
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
        self.referrers.push((asset_url.to_string(), r.clone()));
        Ok(())
    }
    fn inline_resource(&mut self, r: &InlineResource) -> Result<(), SinkError> {
        self.inline.push(r.clone());
        Ok(())
    }
    fn failure(&mut self, url: &str, reason: &str) -> Result<(), SinkError> {
        self.failures.push((url.to_string(), reason.to_string()));
        Ok(())
    }
}

impl Sink {
    /// Every place `url` was seen: referrers given with the asset and those reported apart.
    fn places(&self, url: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .assets
            .iter()
            .filter(|a| a.url == url)
            .flat_map(|a| a.referrers.iter())
            .chain(self.referrers.iter().filter(|(u, _)| u == url).map(|(_, r)| r))
            .map(|r| (r.page_url.clone(), r.element.clone()))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A real 3×2 RGBA PNG, different per `seed`.
fn png(seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 3, 2);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("png header");
        let px: Vec<u8> = (0..24u8).map(|i| i.wrapping_mul(37).wrapping_add(seed)).collect();
        w.write_image_data(&px).expect("png data");
    }
    out
}

fn data_uri(bytes: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn reply(ct: &str, body: Vec<u8>) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .expect("response")
}

fn not_found() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Body::from("not found"))
        .expect("response")
}

fn redirect(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, to)
        .body(Body::empty())
        .expect("response")
}

const SVG_FONT: &[u8] = br#"<?xml version="1.0" standalone="no"?>
<svg xmlns="http://www.w3.org/2000/svg"><defs><font id="q" horiz-adv-x="500"><font-face font-family="Q"/>
<glyph unicode="a" d="M0 0L500 0L250 500Z"/></font></defs></svg>"#;
const WOFF2: &[u8] = b"wOF2\x00\x01\x00\x00fake woff2 font bytes";
const PHOTO: &[u8] = b"\x89PNG\r\n\x1a\nfake photo fetched over http";

async fn site(State(log): State<Arc<Mutex<Vec<String>>>>, uri: Uri) -> Response {
    let path = uri.path().to_string();
    log.lock().expect("log").push(path.clone());
    let (a, b, c) = (data_uri(&png(1)), data_uri(&png(2)), data_uri(&png(3)));
    match path.as_str() {
        "/" => reply(
            "text/html",
            format!(
                r#"<!doctype html><html><head><title>Inline</title>
                <link rel="stylesheet" href="/s/site.css"></head><body>
                <img src="{a}" alt="logo"><span style="background-image: url('{a}')">x</span>
                <img src="{b}" alt="badge">
                <img src="/img/photo.png" srcset="/img/photo.png 2x">
                <img src="ftp://files.example.test/art.png">
                <img src="data:image/png;base64,@@not-base64@@">
                <a href="/two.html">two</a></body></html>"#
            )
            .into_bytes(),
        ),
        "/two.html" => reply(
            "text/html",
            format!(r#"<html><head><title>Two</title></head><body><img src="{a}"></body></html>"#).into_bytes(),
        ),
        "/s/site.css" => reply(
            "text/css",
            format!(
                ".hero {{ background: url({c}) no-repeat; }}\n\
                 @font-face {{ font-family: Q; src: url(/fonts/q.svg#q) format('svg'), url(/fonts/q.woff2) format('woff2'); }}\n"
            )
            .into_bytes(),
        ),
        "/img/photo.png" => reply("image/png", PHOTO.to_vec()),
        "/fonts/q.svg" => reply("image/svg+xml", SVG_FONT.to_vec()),
        "/fonts/q.woff2" => reply("font/woff2", WOFF2.to_vec()),
        _ => not_found(),
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn config(base: &str, dir: &Path) -> CrawlConfig {
    let seed = url::Url::parse(&format!("{base}/")).expect("seed");
    let mut cfg = CrawlConfig::new(vec![seed], "case-complete", &dir.join("warc"), &dir.join("index"));
    cfg.scope = Scope::Host;
    cfg.rate_per_host = 0.0;
    cfg.request_timeout = Duration::from_secs(10);
    cfg
}

/// (headers by lower-case name, block) of every record in a WARC folder.
type Record = (Vec<(String, String)>, Vec<u8>);

fn records(warc_dir: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(warc_dir)
        .expect("warc dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for f in files {
        let mut plain = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&f).expect("open"))
            .read_to_end(&mut plain)
            .expect("gunzip");
        for rec in warc::WarcReader::new(&plain[..]).iter_raw_records() {
            let (h, body) = rec.expect("record");
            let headers = h
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string().to_ascii_lowercase(),
                        String::from_utf8_lossy(v).into_owned(),
                    )
                })
                .collect();
            out.push((headers, body.to_vec()));
        }
    }
    out
}

fn header<'a>(r: &'a Record, name: &str) -> Option<&'a str> {
    r.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn warcio_check(dir: &Path) {
    let warcio = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".cache/xiezhi/venv/bin/warcio"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "warcio".into());
    for f in std::fs::read_dir(dir).expect("warc dir") {
        let f = f.expect("entry").path();
        let out = std::process::Command::new(&warcio)
            .arg("check")
            .arg(&f)
            .output()
            .expect("warcio is installed by ./run test");
        assert!(out.status.success(), "warcio check {}: {out:?}", f.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_images_fonts_and_rejected_references_are_kept() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let base = serve(Router::new().fallback(site).with_state(log.clone())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&base, dir.path());
    let mut sink = Sink::default();
    crawl(&cfg, &mut sink).await.expect("crawl");
    let home = format!("{base}/");
    let two = format!("{base}/two.html");
    let sheet = format!("{base}/s/site.css");
    let recs = records(&cfg.warc_dir);

    // Three distinct data: images (one used three times on two pages, one in the sheet).
    let urn = |b: &[u8]| format!("urn:sha256:{}", hex::encode(Sha256::digest(b)));
    let (a, b, c) = (png(1), png(2), png(3));
    for (bytes, source, places) in [
        (
            &a,
            home.clone(),
            vec![
                (home.clone(), "img[src]".to_string()),
                (home.clone(), "span[style] background-image".to_string()),
                (two.clone(), "img[src]".to_string()),
            ],
        ),
        (&b, home.clone(), vec![(home.clone(), "img[src]".to_string())]),
        (
            &c,
            sheet.clone(),
            vec![(home.clone(), format!("stylesheet background in {sheet}"))],
        ),
    ] {
        let locator = urn(bytes);
        let kept: Vec<&AssetCapture> = sink.assets.iter().filter(|x| x.url == locator).collect();
        assert_eq!(kept.len(), 1, "{locator} reported once: {:?}", sink.assets);
        let asset = kept[0];
        assert_eq!(&asset.bytes, bytes);
        assert_eq!(asset.sha256, hex::encode(Sha256::digest(bytes)));
        assert_eq!(asset.content_type.as_deref(), Some("image/png"));
        // The capture behind it is the response whose body carried the data: URI.
        assert_eq!(asset.exchange.url, source);
        assert_eq!(sink.places(&locator), places, "where {locator} appeared");

        // Its WARC resource record: same bytes, same date as that response, linked to it.
        let r = sink
            .inline
            .iter()
            .find(|r| r.locator == locator)
            .expect("inline record");
        assert_eq!(
            (r.source_url.as_str(), r.media_type.as_str()),
            (source.as_str(), "image/png")
        );
        assert_eq!(r.source_record_id, asset.exchange.response_record_id);
        assert_eq!(r.recorded_at, asset.exchange.fetched_at);
        let rec = recs
            .iter()
            .find(|x| header(x, "warc-record-id") == Some(r.record_id.as_str()))
            .expect("resource record in the WARC");
        assert_eq!(header(rec, "warc-type"), Some("resource"));
        assert_eq!(header(rec, "warc-target-uri"), Some(locator.as_str()));
        assert_eq!(header(rec, "content-type"), Some("image/png"));
        assert_eq!(header(rec, "warc-concurrent-to"), Some(r.source_record_id.as_str()));
        assert_eq!(header(rec, "warc-date"), Some(r.recorded_at.as_str()));
        assert_eq!(&rec.1, bytes);
        let about = recs
            .iter()
            .find(|x| header(x, "warc-type") == Some("metadata") && header(x, "warc-refers-to") == Some(&r.record_id))
            .expect("metadata record describing the resource");
        let text = String::from_utf8_lossy(&about.1);
        assert!(text.contains(&format!("via: {home}\r\n")), "{text}");
        assert!(
            text.contains(&format!("source-record: {}\r\n", r.source_record_id)),
            "{text}"
        );
    }
    assert_eq!(sink.inline.len(), 3, "one resource record per distinct image");

    // Full element descriptions for fetched images (not one short label per URL).
    let photo = format!("{base}/img/photo.png");
    assert_eq!(
        sink.places(&photo),
        vec![
            (home.clone(), "img[src]".to_string()),
            (home.clone(), "img[srcset] 2x".to_string())
        ]
    );

    // Fonts are fetched and recorded; only the SVG font (an image) becomes an asset.
    let requests = log.lock().expect("log").clone();
    for font in ["/fonts/q.svg", "/fonts/q.woff2"] {
        assert_eq!(
            requests.iter().filter(|p| *p == font).count(),
            1,
            "{font}: {requests:?}"
        );
        assert!(sink
            .exchanges
            .iter()
            .any(|e| e.url == format!("{base}{font}") && e.status == 200));
    }
    let svg = sink
        .assets
        .iter()
        .find(|x| x.url == format!("{base}/fonts/q.svg"))
        .expect("the SVG font is an asset");
    assert_eq!(svg.bytes, SVG_FONT);
    assert_eq!(
        svg.referrers[0].element,
        format!("stylesheet @font-face src in {sheet}")
    );
    assert!(
        !sink.assets.iter().any(|x| x.url.ends_with(".woff2")),
        "a woff2 font is not an image"
    );

    // Rejected references: a failure naming the reference, the element, the page and why.
    let ftp = sink
        .failures
        .iter()
        .find(|(u, _)| u == "ftp://files.example.test/art.png")
        .unwrap_or_else(|| panic!("no failure for the ftp: image: {:?}", sink.failures));
    assert!(
        ftp.1.contains("unsupported scheme ftp:") && ftp.1.contains(&home),
        "{}",
        ftp.1
    );
    let bad = sink
        .failures
        .iter()
        .find(|(u, _)| u.starts_with("data:image/png;base64,@@"))
        .unwrap_or_else(|| panic!("no failure for the malformed data: URI: {:?}", sink.failures));
    assert!(
        bad.1.contains("invalid base64") && bad.1.contains("img[src]"),
        "{}",
        bad.1
    );
    assert_eq!(
        sink.failures.len(),
        2,
        "only the two rejected references: {:?}",
        sink.failures
    );
    assert_eq!(sink.pages.len(), 2);

    warcio_check(&cfg.warc_dir);
}

/// `/robots.txt` redirects `hops` times (across two paths), then serves rules disallowing
/// `/private/`.
async fn robots_site(State((hops, log)): State<(usize, Arc<Mutex<Vec<String>>>)>, uri: Uri) -> Response {
    let path = uri.path().to_string();
    log.lock().expect("log").push(path.clone());
    if path == "/robots.txt" {
        return if hops == 0 {
            reply("text/plain", b"User-agent: *\nDisallow: /private/\n".to_vec())
        } else {
            redirect("/moved/1")
        };
    }
    if let Some(n) = path.strip_prefix("/moved/").and_then(|n| n.parse::<usize>().ok()) {
        return if n >= hops {
            reply("text/plain", b"User-agent: *\nDisallow: /private/\n".to_vec())
        } else {
            redirect(&format!("/moved/{}", n + 1))
        };
    }
    match path.as_str() {
        "/" => reply(
            "text/html",
            b"<html><body><a href=\"/private/secret.html\">s</a></body></html>".to_vec(),
        ),
        "/private/secret.html" => reply("text/html", b"<html><body>secret</body></html>".to_vec()),
        _ => not_found(),
    }
}

async fn crawl_robots(hops: usize) -> (String, Sink, Vec<String>, xiezhi_capture::CrawlSummary) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let base = serve(Router::new().fallback(robots_site).with_state((hops, log.clone()))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&base, dir.path());
    let mut sink = Sink::default();
    let summary = crawl(&cfg, &mut sink).await.expect("crawl");
    warcio_check(&cfg.warc_dir);
    let requests = log.lock().expect("log").clone();
    (base, sink, requests, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_redirects_are_followed_up_to_five_hops() {
    // Five redirects: followed, every hop recorded, the rules obeyed.
    let (base, sink, requests, summary) = crawl_robots(5).await;
    assert!(
        !requests.iter().any(|p| p.starts_with("/private/")),
        "robots.txt behind 5 redirects was obeyed: {requests:?}"
    );
    assert_eq!(summary.robots_disallowed, 1);
    let mut chain = vec![format!("{base}/robots.txt")];
    chain.extend((1..=5).map(|n| format!("{base}/moved/{n}")));
    for (i, url) in chain.iter().enumerate() {
        let ex = sink
            .exchanges
            .iter()
            .find(|e| &e.url == url)
            .unwrap_or_else(|| panic!("hop {url} not recorded"));
        if i < 5 {
            assert_eq!(ex.status, 302);
            assert_eq!(ex.redirect_to.as_deref(), Some(chain[i + 1].as_str()));
        } else {
            assert_eq!((ex.status, ex.redirect_to.as_deref()), (200, None));
        }
    }

    // Six redirects: RFC 9309 lets the crawler treat robots.txt as unavailable (allow); it
    // stops after the fifth redirect and says so.
    let (base, sink, requests, summary) = crawl_robots(6).await;
    assert_eq!(summary.robots_disallowed, 0);
    assert!(requests.iter().any(|p| p == "/private/secret.html"), "{requests:?}");
    assert!(
        !requests.iter().any(|p| p == "/moved/6"),
        "no sixth redirect: {requests:?}"
    );
    let note = sink
        .failures
        .iter()
        .find(|(u, _)| u == &format!("{base}/moved/5"))
        .unwrap_or_else(|| panic!("no note on the abandoned robots.txt: {:?}", sink.failures));
    assert!(
        note.1.contains("more than 5 times") && note.1.contains("RFC 9309"),
        "{}",
        note.1
    );
}

/// An SVG as drawing tools write it: XML declaration, a generator comment, a doctype.
const SVG_DRAWING: &[u8] = br##"<?xml version="1.0" encoding="UTF-8"?>
<!-- Generator: Inkscape -->
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#c00"/></svg>"##;
/// Starts with a comment too, like HTML may.
const SVG_ICON: &[u8] =
    br#"<!-- icon --><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="3"/></svg>"#;

async fn svg_site(uri: Uri) -> Response {
    match uri.path() {
        "/" => reply(
            "text/html",
            br#"<html><head><title>Art</title></head><body>
            <img src="/art/drawing.svg" alt="drawing">
            <a href="/art/icon.svg">icon</a> <a href="/inline.html">inline</a></body></html>"#
                .to_vec(),
        ),
        "/art/drawing.svg" => reply("image/svg+xml", SVG_DRAWING.to_vec()),
        // The server lies: the body is an SVG whatever the header says.
        "/art/icon.svg" => reply("text/html", SVG_ICON.to_vec()),
        // A page that opens with a comment and draws an inline SVG is still a page.
        "/inline.html" => reply(
            "text/html",
            br#"<!-- page --><html><head><title>Inline SVG page</title></head><body>
            <svg width="4" height="4"><rect width="4" height="4"/></svg><p>words</p></body></html>"#
                .to_vec(),
        ),
        _ => not_found(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn svg_images_are_kept_as_assets() {
    let base = serve(Router::new().fallback(svg_site)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&base, dir.path());
    let mut sink = Sink::default();
    crawl(&cfg, &mut sink).await.expect("crawl");
    let home = format!("{base}/");
    for (path, bytes, element) in [
        ("/art/drawing.svg", SVG_DRAWING, "img[src]"),
        ("/art/icon.svg", SVG_ICON, "a[href]"),
    ] {
        let url = format!("{base}{path}");
        let asset = sink
            .assets
            .iter()
            .find(|a| a.url == url)
            .unwrap_or_else(|| panic!("{url} kept as an asset; failures: {:?}", sink.failures));
        assert_eq!(asset.bytes, bytes);
        assert_eq!(asset.sha256, hex::encode(Sha256::digest(bytes)));
        assert_eq!(asset.exchange.kind, xiezhi_capture::ExchangeKind::Asset);
        assert_eq!(sink.places(&url), vec![(home.clone(), element.to_string())]);
    }
    assert!(
        sink.pages.iter().any(|p| p.url == format!("{base}/inline.html")),
        "the HTML page with an inline SVG stays a page: {:?}",
        sink.pages.iter().map(|p| &p.url).collect::<Vec<_>>()
    );
    assert_eq!(
        sink.assets.len(),
        2,
        "{:?}",
        sink.assets.iter().map(|a| &a.url).collect::<Vec<_>>()
    );
    assert!(sink.failures.is_empty(), "{:?}", sink.failures);
    warcio_check(&cfg.warc_dir);
}
