//! `kill -9` the real `xiezhi crawl` at several points, run the same command again, and
//! check that the crawl continued: every page and image captured exactly once (case.db and
//! WARC agree), every WARC file reads fully with warcio, and full-text search finds every
//! page — including those committed just before a kill, which the text index (committed far
//! less often) did not hold yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Uri};
use axum::response::Response;

const PAGES: usize = 40;

fn png(n: usize) -> Vec<u8> {
    // Distinct bytes per image; a PNG signature is enough for the crawler to call it an image.
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(format!("image number {n}").as_bytes());
    b
}

async fn site(uri: Uri) -> Response {
    // A little latency so that the crawl takes long enough to be interrupted.
    tokio::time::sleep(Duration::from_millis(15)).await;
    let path = uri.path();
    if let Some(n) = path.strip_prefix("/p/").and_then(|n| n.parse::<usize>().ok()) {
        let links: String = (n + 1..(n + 4).min(PAGES))
            .map(|m| format!("<a href=\"/p/{m}\">page {m}</a> "))
            .collect();
        return Response::builder()
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from(format!(
                "<html><head><title>Page {n}</title></head><body><p>zq{n}marker</p>{links}<img src=\"/i/{n}.png\"></body></html>"
            )))
            .unwrap_or_default();
    }
    if let Some(n) = path
        .strip_prefix("/i/")
        .and_then(|n| n.strip_suffix(".png"))
        .and_then(|n| n.parse::<usize>().ok())
    {
        return Response::builder()
            .header(header::CONTENT_TYPE, "image/png")
            .body(Body::from(png(n)))
            .unwrap_or_default();
    }
    Response::builder().status(404).body(Body::empty()).unwrap_or_default()
}

fn warcio() -> PathBuf {
    let venv = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/xiezhi/venv/bin/warcio"))
        .filter(|p| p.is_file());
    venv.unwrap_or_else(|| PathBuf::from("warcio"))
}

fn page_urls(db: &Path) -> Vec<String> {
    let Ok(c) = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return Vec::new();
    };
    let Ok(mut stmt) = c.prepare("SELECT url FROM pages") else {
        return Vec::new();
    };
    let urls = stmt.query_map([], |r| r.get(0)).map(|rows| rows.flatten().collect());
    urls.unwrap_or_default()
}

fn count(db: &Path, sql: &str) -> i64 {
    // The crawler holds the database in WAL mode; reading alongside it is safe.
    match rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) {
        Ok(c) => c.query_row(sql, [], |r| r.get(0)).unwrap_or(0),
        Err(_) => 0,
    }
}

#[test]
fn kill_9_and_resume_captures_everything_exactly_once() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move { axum::serve(listener, axum::Router::new().fallback(site)).await });
    let seed = format!("http://{addr}/p/0");

    let dir = tempfile::tempdir().expect("tempdir");
    let case = dir.path().join("case");
    let bin = env!("CARGO_BIN_EXE_xiezhi");
    let init = Command::new(bin)
        .args(["case", "init", case.to_str().expect("utf-8"), "--name", "resume"])
        .output()
        .expect("case init");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let db = case.join("case.db");
    let crawl_args = [
        "crawl",
        case.to_str().expect("utf-8"),
        &seed,
        "--rate",
        "0",
        "--concurrency",
        "3",
        "--max-pages",
        "100",
        "--max-depth",
        "50",
        "--json",
    ];

    // Kill at several points: right away, then after more and more committed exchanges.
    let mut kills = 0;
    // Pages in case.db when a crawl was killed: captured before the kill.
    let mut killed_with: Vec<String> = Vec::new();
    for step in [0i64, 8, 12, 16] {
        let before = count(&db, "SELECT COUNT(*) FROM captures");
        let mut child = Command::new(bin)
            .args(crawl_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn crawl");
        let t = Instant::now();
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            let n = count(&db, "SELECT COUNT(*) FROM captures");
            // step 0: kill early, whatever it is doing (opening the case, writing warcinfo…).
            let due = if step == 0 {
                t.elapsed() > Duration::from_millis(150)
            } else {
                n >= before + step
            };
            if due {
                child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
                kills += 1;
                let _ = child.wait();
                killed_with = page_urls(&db);
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "crawl made no progress");
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.wait();
    }
    assert!(kills >= 3, "the crawl finished before it could be interrupted");
    assert!(!killed_with.is_empty(), "no page was committed before the last kill");

    // The same command once more, to the end.
    let out = Command::new(bin).args(crawl_args).output().expect("final crawl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["resumed"], true, "{report}");
    assert_eq!(report["crawl_id"], 1, "one crawl, continued: {report}");
    assert_eq!(report["pages"], PAGES, "{report}");
    assert_eq!(report["assets"], PAGES, "{report}");
    assert_eq!(report["failures"].as_array().map(Vec::len), Some(0), "{report}");
    // The pages of the killed runs that the index lacked were indexed again from the WARC.
    assert!(report["pages_reindexed"].as_u64().unwrap_or(0) >= 1, "{report}");

    // Full-text search finds every page by its own word, the pages captured just before the
    // last kill among them.
    for n in 0..PAGES {
        let url = format!("http://{addr}/p/{n}");
        let out = Command::new(bin)
            .args([
                "search",
                case.to_str().expect("utf-8"),
                &format!("zq{n}marker"),
                "--json",
            ])
            .output()
            .expect("search");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let hits: serde_json::Value = serde_json::from_slice(&out.stdout).expect("search json");
        let urls: Vec<&str> = hits
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["url"].as_str())
            .collect();
        let note = if killed_with.contains(&url) {
            " (captured before the last kill)"
        } else {
            ""
        };
        assert_eq!(urls, vec![url.as_str()], "search for page {n}{note}");
    }

    // case.db: every page and image exactly once, nothing left queued.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM crawls"), 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM pages"), PAGES as i64);
    assert_eq!(count(&db, "SELECT COUNT(DISTINCT url) FROM pages"), PAGES as i64);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM assets"), PAGES as i64);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM captures WHERE url NOT LIKE '%/robots.txt'"),
        2 * PAGES as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(DISTINCT url) FROM captures WHERE url NOT LIKE '%/robots.txt'"
        ),
        2 * PAGES as i64
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM crawl_frontier WHERE state != 'done'"),
        0
    );
    // Every run after the first continued the crawl, and said so in the custody log.
    let resumed = count(&db, "SELECT COUNT(*) FROM custody WHERE event = 'crawl.resumed'");
    assert!(
        resumed >= kills as i64 - 1 && resumed <= kills as i64,
        "{resumed} resumes, {kills} kills"
    );

    // WARC: every file reads fully; response records match the database one to one.
    let warc_dir = case.join("warc");
    let mut responses: BTreeMap<String, usize> = BTreeMap::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&warc_dir).expect("warc dir") {
        let path = entry.expect("entry").path();
        files += 1;
        let p = path.to_str().expect("utf-8");
        let check = Command::new(warcio())
            .args(["check", "-v", p])
            .output()
            .expect("warcio check (install: ./run test sets up ~/.cache/xiezhi/venv)");
        let stdout = String::from_utf8_lossy(&check.stdout);
        assert!(check.status.success() && !stdout.contains("failed"), "{p}: {stdout}");
        let index = Command::new(warcio())
            .args(["index", p])
            .output()
            .expect("warcio index");
        assert!(
            index.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&index.stderr)
        );
        for line in String::from_utf8_lossy(&index.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("index line");
            if v["warc-type"] == "response" {
                let uri = v["warc-target-uri"].as_str().unwrap_or_default().to_string();
                *responses.entry(uri).or_default() += 1;
            }
        }
    }
    assert!(files >= 2, "each run writes its own file");
    responses.retain(|u, _| !u.ends_with("/robots.txt"));
    assert_eq!(responses.len(), 2 * PAGES, "{responses:?}");
    assert!(
        responses.values().all(|n| *n == 1),
        "a response recorded twice: {responses:?}"
    );
}
