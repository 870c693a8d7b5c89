//! The real `xiezhi crawl` against the hostile site (tests/hostile-site): it must finish in
//! bounded time, peak under 500 MB resident, record a failure with its reason for every bad
//! URL, keep every good page and image in case.db, and leave WARC files warcio reads fully.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use xiezhi_hostile_site::{BAD, GOOD_PAGES};

/// Peak resident set size of a running process, from /proc (kB).
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn warcio() -> PathBuf {
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/xiezhi/venv/bin/warcio"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("warcio"))
}

fn rows(db: &Path, sql: &str) -> Vec<(String, String)> {
    let c = rusqlite::Connection::open(db).expect("open case.db");
    let mut stmt = c.prepare(sql).expect("prepare");
    let it = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("query");
    it.collect::<Result<Vec<_>, _>>().expect("rows")
}

#[test]
fn hostile_site_crawl_is_bounded_and_keeps_the_good_parts() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addr = rt
        .block_on(xiezhi_hostile_site::serve(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))
        .expect("serve");
    let base = format!("http://{addr}");
    let dir = tempfile::tempdir().expect("tempdir");
    let case = dir.path().join("case");
    let case_s = case.to_str().expect("utf-8");
    let bin = env!("CARGO_BIN_EXE_xiezhi");
    let init = Command::new(bin)
        .args(["case", "init", case_s, "--name", "hostile"])
        .output()
        .expect("init");
    assert!(init.status.success());

    let seed = format!("{base}/");
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "crawl",
            case_s,
            &seed,
            "--rate",
            "0",
            "--concurrency",
            "4",
            "--max-pages",
            "40",
            "--max-depth",
            "30",
            "--max-response-bytes",
            "8388608",
            "--timeout",
            "4",
            "--read-timeout",
            "3",
            "--retries",
            "1",
            "--max-retry-wait",
            "2",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let mut peak_kb = 0;
    while child.try_wait().expect("wait").is_none() {
        if let Some(kb) = vm_hwm_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "the crawl did not finish in 90 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let took = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("hostile crawl: {took:?}, peak RSS {} MB", peak_kb / 1024);
    assert!(peak_kb > 0, "could not read the crawler's memory use");
    assert!(peak_kb < 500 * 1024, "peak RSS {} MB", peak_kb / 1024);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");

    // Every bad URL has a failure row naming why.
    let db = case.join("case.db");
    let failures = rows(&db, "SELECT url, reason FROM failures");
    for (path, word) in BAD {
        let url = format!("{base}{path}");
        let reason = failures
            .iter()
            .find(|f| f.0 == url)
            .map(|f| f.1.clone())
            .unwrap_or_else(|| panic!("no failure row for {path}: {failures:#?}"));
        assert!(reason.contains(word), "{path}: {reason}");
    }
    assert_eq!(report["failures"].as_array().map(Vec::len), Some(failures.len()));

    // Every good page and image is in the case; the good images' bytes are in the blob store.
    let pages: Vec<String> = rows(&db, "SELECT url, title FROM pages")
        .into_iter()
        .map(|p| p.0)
        .collect();
    let assets = rows(&db, "SELECT locator, sha256 FROM assets");
    for n in 1..=GOOD_PAGES {
        assert!(pages.contains(&format!("{base}/good/{n}")), "good page {n}");
        let img = format!("{base}/img/good-{n}.png");
        let (_, sha) = assets
            .iter()
            .find(|a| a.0 == img)
            .unwrap_or_else(|| panic!("good image {n}: {assets:?}"));
        let blob = std::fs::read(case.join("blobs").join(&sha[..2]).join(sha))
            .or_else(|_| std::fs::read(case.join("blobs").join(sha)));
        if let Ok(b) = blob {
            assert_eq!(b, xiezhi_hostile_site::png(n as u8));
        }
    }
    for p in ["/nested", "/invalid-utf8", "/lie/html-as-png"] {
        assert!(pages.contains(&format!("{base}{p}")), "{p} kept as a page");
    }
    for a in ["/lie/png-as-html", "/img/giant.png"] {
        assert!(
            assets.iter().any(|x| x.0 == format!("{base}{a}")),
            "{a} kept as an image"
        );
    }

    // The WARC files read fully.
    for entry in std::fs::read_dir(case.join("warc")).expect("warc dir") {
        let path = entry.expect("entry").path();
        let check = Command::new(warcio())
            .args(["check", "-v", path.to_str().expect("utf-8")])
            .output()
            .expect("warcio (./run test installs it in ~/.cache/xiezhi/venv)");
        let stdout = String::from_utf8_lossy(&check.stdout);
        assert!(check.status.success() && !stdout.contains("failed"), "{stdout}");
    }
}
