//! End-to-end checks of the demo site over real HTTP on 127.0.0.1.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xiezhi_demo::{distractor_paths, page_paths, planted_catalog, reference_names, write_references, DemoSite};

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// Minimal HTTP/1.0 client: one request per connection, the server closes it.
async fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("response within 10 s")
        .expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header terminator");
    let head = std::str::from_utf8(&raw[..split]).expect("ascii head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path).await
}

/// Values of `attr="…"` in `html`, in order.
fn attr_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        let end = rest.find('"').expect("closing quote");
        out.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    out
}

/// Resolves a link on `page` to a same-site path; `None` for other sites and schemes.
fn resolve(base: &str, page: &str, link: &str) -> Option<String> {
    let link = link.split('#').next().unwrap_or("");
    if let Some(rest) = link.strip_prefix(base) {
        return Some(format!("/{rest}"));
    }
    if link.contains(':') {
        return None;
    }
    if link.is_empty() {
        return Some(page.to_string());
    }
    let joined = if link.starts_with('/') {
        link.to_string()
    } else {
        let dir = &page[..=page.rfind('/').expect("page path has a slash")];
        format!("{dir}{link}")
    };
    let trailing = joined.ends_with('/');
    let mut segs: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let mut path = format!("/{}", segs.join("/"));
    if trailing && path != "/" {
        path.push('/');
    }
    Some(path)
}

fn expected_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        other => panic!("unexpected image extension {other:?} in {path}"),
    }
}

/// Every page and every image path the pages show, fetched once.
async fn crawl(site: &DemoSite) -> (BTreeMap<String, String>, BTreeMap<String, Vec<u8>>) {
    let base = site.base_url();
    let addr = site.addr();
    let mut pages = BTreeMap::new();
    let mut images = BTreeMap::new();
    for page in page_paths() {
        let r = get(addr, &page).await;
        assert_eq!(r.status, 200, "{page}");
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("text/html; charset=utf-8"),
            "{page}"
        );
        let html = String::from_utf8(r.body).expect("utf-8 html");
        for src in attr_values(&html, "src") {
            let path = resolve(&base, &page, &src).expect("same-site image");
            if images.contains_key(&path) {
                continue;
            }
            let img = get(addr, &path).await;
            assert_eq!(img.status, 200, "{path} from {page}");
            assert_eq!(
                img.headers.get("content-type").map(String::as_str),
                Some(expected_type(&path)),
                "{path}"
            );
            images.insert(path, img.body);
        }
        pages.insert(page, html);
    }
    (pages, images)
}

#[tokio::test]
async fn pages_and_images_are_served_and_decode() {
    let site = DemoSite::start().await.expect("start");
    let base = site.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with('/'));
    let (pages, images) = crawl(&site).await;
    assert!(pages.len() >= 5);

    for (path, bytes) in &images {
        image::load_from_memory(bytes).unwrap_or_else(|e| panic!("{path} does not decode: {e}"));
    }

    // Every image on the site is either planted or a known distractor.
    let planted: BTreeSet<String> = site.planted().iter().map(|p| p.asset_path.clone()).collect();
    let distractors: BTreeSet<String> = distractor_paths().into_iter().collect();
    assert!(planted.is_disjoint(&distractors));
    let served: BTreeSet<String> = images.keys().cloned().collect();
    let expected: BTreeSet<String> = planted.union(&distractors).cloned().collect();
    assert_eq!(served, expected);

    // Each planted copy is shown by the page the ground truth names, and every
    // page mixes copies with distractors.
    for p in site.planted() {
        let html = &pages[&p.page_path];
        let srcs: Vec<String> = attr_values(html, "src")
            .iter()
            .filter_map(|s| resolve(&base, &p.page_path, s))
            .collect();
        assert!(srcs.contains(&p.asset_path), "{} not on {}", p.asset_path, p.page_path);
    }
    for (page, html) in &pages {
        let srcs: BTreeSet<String> = attr_values(html, "src")
            .iter()
            .filter_map(|s| resolve(&base, page, s))
            .collect();
        assert!(!srcs.is_disjoint(&planted), "{page} has no planted copy");
        assert!(!srcs.is_disjoint(&distractors), "{page} has no distractor");
        assert!(html.contains(" alt=\""), "{page} has no alt text");
    }

    // Links: every page is reachable from the index's link graph, same-site
    // links work except the one deliberately dead link, and one goes off-site.
    let mut reachable = BTreeSet::from(["/".to_string()]);
    let mut dead = BTreeSet::new();
    let mut off_site = BTreeSet::new();
    for (page, html) in &pages {
        for href in attr_values(html, "href") {
            match resolve(&base, page, &href) {
                Some(path) if path.ends_with(".css") => {}
                Some(path) if pages.contains_key(&path) => {
                    reachable.insert(path);
                }
                Some(path) => {
                    dead.insert(path);
                }
                None => {
                    off_site.insert(href);
                }
            }
        }
    }
    assert_eq!(reachable.len(), pages.len());
    assert_eq!(dead, BTreeSet::from(["/gallery-2019.html".to_string()]));
    assert_eq!(get(site.addr(), "/gallery-2019.html").await.status, 404);
    assert!(off_site.contains("http://example.invalid/"));
    // Relative, root-relative and absolute forms are all in use.
    let all_html: String = pages.values().cloned().collect();
    assert!(all_html.contains(&format!("href=\"{base}")));
    assert!(all_html.contains("href=\"/shop/\""));
    assert!(all_html.contains("href=\"../../../\""));
    assert!(all_html.contains("本周我们精选了社区成员上传的"));

    let robots = get(site.addr(), "/robots.txt").await;
    assert_eq!(robots.status, 200);
    assert!(robots.headers["content-type"].starts_with("text/plain"));
    assert_eq!(robots.body, b"User-agent: *\nAllow: /\n");
    let css = get(site.addr(), "/static/site.css").await;
    assert_eq!(css.status, 200);
    assert!(css.headers["content-type"].starts_with("text/css"));

    site.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_writes_are_refused() {
    let site = DemoSite::start().await.expect("start");
    let addr = site.addr();
    for path in ["/nope", "/img/", "/shop", "/index.html", "/img/gallery/missing.jpg"] {
        assert_eq!(get(addr, path).await.status, 404, "{path}");
    }
    assert_eq!(request(addr, "POST", "/").await.status, 405);
    let head = request(addr, "HEAD", "/gallery.html").await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    // A query string does not change what is served.
    assert_eq!(get(addr, "/gallery.html?page=2").await.status, 200);
    site.shutdown().await;
}

#[tokio::test]
async fn site_is_deterministic_across_starts() {
    let (a, b) = tokio::join!(DemoSite::start(), DemoSite::start());
    let (a, b) = (a.expect("start a"), b.expect("start b"));
    assert_ne!(a.addr(), b.addr());
    let (pages_a, images_a) = crawl(&a).await;
    let (pages_b, images_b) = crawl(&b).await;
    assert_eq!(images_a, images_b, "image bytes differ between starts");
    // Pages embed their own absolute URL; everything else must match.
    let strip = |pages: BTreeMap<String, String>, base: &str| -> BTreeMap<String, String> {
        pages.into_iter().map(|(k, v)| (k, v.replace(base, "BASE/"))).collect()
    };
    assert_eq!(strip(pages_a, &a.base_url()), strip(pages_b, &b.base_url()));
    assert_eq!(a.planted(), b.planted());
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn planted_copies_match_their_declared_edits() {
    let site = DemoSite::start().await.expect("start");
    let addr = site.addr();
    let dir = std::env::temp_dir().join(format!("xiezhi-demo-refs-{}", std::process::id()));
    let written = write_references(&dir).expect("write references");
    assert_eq!(written.len(), reference_names().len());
    let refs: HashMap<&str, Vec<u8>> = reference_names()
        .into_iter()
        .zip(&written)
        .map(|(name, path)| (name, std::fs::read(path).expect("read back")))
        .collect();
    std::fs::remove_dir_all(&dir).expect("clean up");

    let planted = site.planted();
    assert_eq!(planted, planted_catalog().as_slice());
    assert!(planted.len() >= 10);
    let used: BTreeSet<&str> = planted.iter().map(|p| p.reference).collect();
    assert!(used.len() >= 4);
    assert!(
        reference_names().iter().any(|r| !used.contains(r)),
        "one reference must be a true negative"
    );
    let edits: BTreeSet<&str> = planted.iter().map(|p| p.edit).collect();
    for e in [
        "exact",
        "png-reencode",
        "crop-60",
        "crop-35",
        "mirror",
        "hue-rotate-90",
        "channel-swap",
        "downscale-25",
        "jpeg-q25",
        "paste-30",
        "crop-mirror-recolour",
    ] {
        assert!(edits.contains(e), "missing edit {e}");
    }

    for p in planted {
        let original = &refs[p.reference];
        let copy = get(addr, &p.asset_path).await;
        assert_eq!(copy.status, 200);
        let src = image::load_from_memory(original).expect("reference decodes");
        let img = image::load_from_memory(&copy.body).expect("copy decodes");
        let (sw, sh) = (src.width() as f64, src.height() as f64);
        let (w, h) = (img.width() as f64, img.height() as f64);
        let area = w * h / (sw * sh);
        match p.edit {
            "exact" => assert_eq!(&copy.body, original, "{}", p.asset_path),
            "png-reencode" | "webp-lossless" => {
                assert_ne!(&copy.body, original);
                assert_eq!(img.to_rgb8(), src.to_rgb8(), "{} pixels changed", p.asset_path);
                if p.edit == "png-reencode" {
                    assert_eq!(img.to_rgba8(), src.to_rgba8());
                }
            }
            "crop-60" => assert!((area - 0.60).abs() < 0.02, "{area}"),
            "crop-35" => assert!((area - 0.35).abs() < 0.02, "{area}"),
            "crop-mirror-recolour" => assert!((area - 0.70).abs() < 0.02, "{area}"),
            "downscale-25" => assert!((area - 0.0625).abs() < 0.01, "{area}"),
            "mirror" | "hue-rotate-90" | "channel-swap" | "jpeg-q25" => {
                assert_eq!((w, h), (sw, sh));
                assert_ne!(&copy.body, original);
            }
            // Pasted copies take the host's size; the reference covers ~30 % of it.
            "paste-30" => assert!(w * h > sw * sh * 0.5, "{}", p.asset_path),
            other => panic!("untested edit {other}"),
        }
    }
    site.shutdown().await;
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let site = DemoSite::start().await.expect("start");
    let addr = site.addr();
    assert_eq!(get(addr, "/").await.status, 200);
    site.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());

    let site = DemoSite::start().await.expect("start again");
    let addr = site.addr();
    drop(site);
    // Abort is asynchronous: give the runtime a moment to drop the listener.
    let mut closed = false;
    for _ in 0..50 {
        if TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "server still listening after drop");
}

#[tokio::test]
async fn start_on_a_given_port() {
    // Reserve a free port, release it, then ask the site to use it.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
    let port = probe.local_addr().expect("addr").port();
    drop(probe);
    let site = DemoSite::start_on(port).await.expect("start_on");
    assert_eq!(site.base_url(), format!("http://127.0.0.1:{port}/"));
    // The port is taken now: a second site must report a bind error.
    assert!(DemoSite::start_on(port).await.is_err());
    site.shutdown().await;
}
