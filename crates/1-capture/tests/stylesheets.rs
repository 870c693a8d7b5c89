//! Images that a page shows only through its stylesheets (linked, `@import`ed, even in an
//! import loop) are captured as assets of that page, and every sheet is recorded.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use xiezhi_capture::{
    crawl, AssetCapture, CaptureSink, CrawlConfig, Exchange, ExchangeKind, PageCapture, Referrer, Scope, SinkError,
};

const TILE_PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake tile drawn by site.css";
const DEEP_PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake picture drawn by an imported sheet";

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

fn reply(ct: &str, body: &'static [u8]) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .expect("response")
}

async fn site(State(log): State<Arc<Log>>, uri: Uri) -> Response {
    let path = uri.path().to_string();
    log.0.lock().expect("log").push(path.clone());
    match path.as_str() {
        "/" => reply(
            "text/html",
            br#"<!doctype html><html><head><title>Styled</title>
            <link rel="stylesheet" href="/s/site.css"></head>
            <body><p>A page whose pictures are all backgrounds.</p></body></html>"#,
        ),
        "/s/site.css" => reply(
            "text/css",
            b"@import \"nested.css\";\nbody { background: #fff url(../img/tile.png) repeat; }\n\
              @font-face { font-family: X; src: url(/fonts/x.woff2); }\n",
        ),
        // Imports the first sheet back: a loop the crawler must not follow forever.
        "/s/nested.css" => reply(
            "text/css",
            b"@import url(\"site.css\");\n.hero { background-image: url('/img/deep.png'); }\n",
        ),
        "/img/tile.png" => reply("image/png", TILE_PNG),
        "/img/deep.png" => reply("image/png", DEEP_PNG),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from("not found"))
            .expect("response"),
    }
}

#[derive(Default)]
struct Sink {
    exchanges: Vec<Exchange>,
    pages: Vec<PageCapture>,
    assets: Vec<AssetCapture>,
    referrers: Vec<(String, Referrer)>,
    failures: Vec<(String, String)>,
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
    fn failure(&mut self, url: &str, reason: &str) -> Result<(), SinkError> {
        self.failures.push((url.to_string(), reason.to_string()));
        Ok(())
    }
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
async fn images_drawn_by_stylesheets_are_assets_of_the_page() {
    let log = Arc::new(Log::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new().fallback(site).with_state(log.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().expect("tempdir");
    let warc_dir = dir.path().join("warc");
    let seed = url::Url::parse(&format!("{base}/")).expect("seed");
    let mut cfg = CrawlConfig::new(vec![seed], "case-css", &warc_dir, &dir.path().join("index"));
    cfg.scope = Scope::Host;
    cfg.rate_per_host = 0.0;
    cfg.request_timeout = Duration::from_secs(10);
    let mut sink = Sink::default();
    crawl(&cfg, &mut sink).await.expect("crawl");

    assert_eq!(sink.pages.len(), 1, "a stylesheet is never a page");
    let home = format!("{base}/");
    for (img, bytes, sheet) in [
        ("/img/tile.png", TILE_PNG, "/s/site.css"),
        ("/img/deep.png", DEEP_PNG, "/s/nested.css"),
    ] {
        let url = format!("{base}{img}");
        let a = sink
            .assets
            .iter()
            .find(|a| a.url == url)
            .unwrap_or_else(|| panic!("{url} not captured: {:?}", sink.assets));
        assert_eq!(a.bytes, bytes);
        let refs: Vec<&Referrer> = a
            .referrers
            .iter()
            .chain(sink.referrers.iter().filter(|(u, _)| *u == url).map(|(_, r)| r))
            .collect();
        assert!(!refs.is_empty(), "{url} has no referrer");
        for r in refs {
            assert_eq!(r.page_url, home, "{url} appeared on the page that linked the sheet");
            assert!(
                r.element.contains("stylesheet") && r.element.contains(&format!("{base}{sheet}")),
                "{url}: element {:?} names the sheet {sheet}",
                r.element
            );
        }
    }
    let requests = log.0.lock().expect("log").clone();
    for sheet in ["/s/site.css", "/s/nested.css"] {
        assert_eq!(
            requests.iter().filter(|p| *p == sheet).count(),
            1,
            "{sheet} fetched once: {requests:?}"
        );
        let ex = sink
            .exchanges
            .iter()
            .find(|e| e.url == format!("{base}{sheet}"))
            .expect("sheet recorded");
        assert_eq!((ex.status, ex.kind), (200, ExchangeKind::Other));
    }
    // A web font is a page requisite: fetched and recorded, but not an image asset.
    assert_eq!(
        requests.iter().filter(|p| *p == "/fonts/x.woff2").count(),
        1,
        "{requests:?}"
    );
    assert!(!sink.assets.iter().any(|a| a.url.ends_with(".woff2")));
    assert!(
        sink.failures
            .iter()
            .all(|(u, _)| u.ends_with("/robots.txt") || u.ends_with("/fonts/x.woff2")),
        "{:?}",
        sink.failures
    );
    warcio_check(&warc_dir);
}
