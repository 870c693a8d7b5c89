//! The crawler against the hostile site (in process): it must finish in bounded time, name
//! every bad URL with its reason, and keep every good page and image. The same site is
//! crawled by the real binary, with a memory bound, in `tests/crawl_hostile.rs`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use xiezhi_capture::{crawl, AssetCapture, CaptureSink, CrawlConfig, Exchange, PageCapture, SinkError};
use xiezhi_hostile_site::{BAD, GOOD_PAGES};

#[derive(Default)]
struct Sink {
    pages: Vec<String>,
    assets: BTreeMap<String, Vec<u8>>,
    failures: Vec<(String, String)>,
    exchanges: Vec<Exchange>,
}

impl CaptureSink for Sink {
    fn exchange(&mut self, ex: &Exchange) -> Result<(), SinkError> {
        self.exchanges.push(ex.clone());
        Ok(())
    }
    fn page(&mut self, p: &PageCapture) -> Result<(), SinkError> {
        self.pages.push(p.url.clone());
        Ok(())
    }
    fn asset(&mut self, a: &AssetCapture) -> Result<(), SinkError> {
        self.assets.insert(a.url.clone(), a.bytes.clone());
        Ok(())
    }
    fn failure(&mut self, url: &str, reason: &str) -> Result<(), SinkError> {
        self.failures.push((url.to_string(), reason.to_string()));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_site_is_survived() {
    let addr = xiezhi_hostile_site::serve(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("serve");
    let base = format!("http://{addr}");
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = url::Url::parse(&format!("{base}/")).expect("seed");
    let mut cfg = CrawlConfig::new(
        vec![seed],
        "hostile",
        &dir.path().join("warc"),
        &dir.path().join("index"),
    );
    cfg.max_pages = 40;
    cfg.max_depth = 30;
    cfg.rate_per_host = 0.0;
    cfg.concurrency = 4;
    cfg.max_response_bytes = 4 * 1024 * 1024;
    cfg.request_timeout = Duration::from_secs(3);
    cfg.read_timeout = Duration::from_secs(2);
    cfg.max_retries = 1;
    cfg.max_retry_wait = Duration::from_secs(2);
    let mut sink = Sink::default();
    let t = Instant::now();
    let summary = crawl(&cfg, &mut sink).await.expect("crawl");
    let took = t.elapsed();
    eprintln!("hostile crawl took {took:?}: {summary:?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");

    let reason = |path: &str| {
        let url = format!("{base}{path}");
        sink.failures
            .iter()
            .find(|f| f.0 == url)
            .map(|f| f.1.clone())
            .unwrap_or_else(|| panic!("no failure for {path}: {:#?}", sink.failures))
    };
    for (path, word) in BAD {
        let r = reason(path);
        assert!(r.contains(word), "{path}: {r}");
    }
    for n in 1..=GOOD_PAGES {
        assert!(
            sink.pages.contains(&format!("{base}/good/{n}")),
            "good page {n}: {:?}",
            sink.pages
        );
        let img = format!("{base}/img/good-{n}.png");
        assert_eq!(sink.assets.get(&img), Some(&xiezhi_hostile_site::png(n as u8)), "{img}");
    }
    for p in ["/nested", "/invalid-utf8", "/lie/html-as-png"] {
        assert!(
            sink.pages.contains(&format!("{base}{p}")),
            "{p} parsed as a page: {:?}",
            sink.pages
        );
    }
    assert_eq!(
        sink.assets.get(&format!("{base}/lie/png-as-html")),
        Some(&xiezhi_hostile_site::png(200))
    );
    assert_eq!(
        sink.assets.get(&format!("{base}/img/giant.png")),
        Some(&xiezhi_hostile_site::giant_png())
    );
    // The calendar trap is cut by the page budget, not followed forever.
    assert!(summary.pages <= 40);
    // The 2 GB body was cut at the cap and kept (truncated) as evidence of what was served.
    let huge = sink
        .exchanges
        .iter()
        .find(|e| e.url == format!("{base}/huge"))
        .expect("huge");
    assert_eq!(huge.payload_len, 4 * 1024 * 1024);
}
