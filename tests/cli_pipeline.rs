//! End to end through the real `xiezhi` binary: a real HTTP site on 127.0.0.1, a real
//! crawl into WARC, real fingerprints (PDQ + EfficientNet-Lite0), a real RFC 3161
//! timestamp from OpenSSL acting as a local TSA, and tamper checks.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn xiezhi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xiezhi"))
        .args(args)
        .output()
        .expect("run xiezhi")
}

/// Run with `--json`, require success, parse stdout.
fn ok_json(args: &[&str]) -> Value {
    let mut args = args.to_vec();
    if !args.contains(&"--json") {
        args.push("--json");
    }
    let args = args.as_slice();
    let out = xiezhi(args);
    assert!(
        out.status.success(),
        "xiezhi {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "xiezhi {args:?}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Rewrite a ZIP with `edit` applied to its entries (name, bytes) → optional replacement.
fn rewrite_zip(src: &Path, dst: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>, extra: Option<(&str, &[u8])>) {
    let mut zin = zip::ZipArchive::new(std::fs::File::open(src).expect("open")).expect("zip");
    let mut zout = zip::ZipWriter::new(std::fs::File::create(dst).expect("create"));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).expect("entry");
        let name = f.name().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).expect("read");
        if let Some(b) = edit(&name, bytes) {
            zout.start_file(name.as_str(), opts).expect("start");
            zout.write_all(&b).expect("write");
        }
    }
    if let Some((name, b)) = extra {
        zout.start_file(name, opts).expect("start");
        zout.write_all(b).expect("write");
    }
    zout.finish().expect("finish");
}

fn unzip_to(bundle: &Path, dir: &Path) {
    let mut z = zip::ZipArchive::new(std::fs::File::open(bundle).expect("open")).expect("zip");
    z.extract(dir).expect("extract");
}

#[test]
fn crawl_scan_review_export_verify_and_tamper() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let site = rt.block_on(xiezhi_demo::DemoSite::start()).expect("site");
    let tsa = rt
        .block_on(xiezhi_local_tsa::LocalTsa::start(&tmp.path().join("tsa")))
        .expect("tsa");
    let case = tmp.path().join("case");
    let refs = xiezhi_demo::write_references(&tmp.path().join("refs")).expect("refs");

    // With a TSA on the case, `refs add` timestamps the reference list at intake.
    let init = ok_json(&[
        "case",
        "init",
        s(&case),
        "--name",
        "Pipeline test",
        "--tsa",
        &tsa.url(),
        "--json",
    ]);
    assert!(init["id"].as_str().is_some_and(|id| id.len() == 36));
    // Usage errors exit 2.
    assert_eq!(xiezhi(&["case", "init"]).status.code(), Some(2));
    assert_eq!(
        xiezhi(&["review", s(&case), "1"]).status.code(),
        Some(2),
        "review needs --confirm or --reject"
    );

    let added = ok_json(&["refs", "add", s(&case), s(&tmp.path().join("refs")), "--json"]);
    assert_eq!(added["added"].as_array().map(Vec::len), Some(refs.len()));
    assert!(
        added["timestamp"]["gen_time"].as_str().is_some(),
        "refs add timestamp: {added}"
    );
    let refs_manifest_sha = added["timestamp"]["manifest_sha256"].as_str().unwrap_or("").to_string();

    let crawl = ok_json(&["crawl", s(&case), &site.base_url(), "--rate", "0", "--json"]);
    assert!(crawl["pages"].as_u64().unwrap_or(0) >= 5, "{crawl}");
    assert!(crawl["assets"].as_u64().unwrap_or(0) >= 10, "{crawl}");
    let warcs: Vec<PathBuf> = std::fs::read_dir(case.join("warc"))
        .expect("warc dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(!warcs.is_empty(), "WARC files written");

    let scan = ok_json(&["scan", s(&case), "--json"]);
    assert!(
        scan["matches"].as_u64().unwrap_or(0) >= site.planted().len() as u64,
        "{scan}"
    );

    let matches = ok_json(&["matches", s(&case), "--json"]);
    let list = matches.as_array().expect("list");
    let scores: Vec<f64> = list.iter().map(|m| m["score"].as_f64().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "sorted best first: {scores:?}");
    for m in list {
        for key in ["id", "score", "reference", "candidate", "signals", "explanation"] {
            assert!(!m[key].is_null(), "match lacks {key}: {m}");
        }
        assert!(m["reference"]["sha256"].as_str().is_some_and(|h| h.len() == 64));
        assert!(m["candidate"]["url"].as_str().is_some());
        assert!(m["candidate"]["page_url"].as_str().is_some());
    }
    // Every planted copy is found with its own reference, above every unrelated image.
    let base = site.base_url();
    let base = base.trim_end_matches('/');
    let planted: Vec<String> = site
        .planted()
        .iter()
        .map(|p| format!("{base}{}", p.asset_path))
        .collect();
    let mut lowest_planted = f64::INFINITY;
    for p in site.planted() {
        let url = format!("{base}{}", p.asset_path);
        let best = list
            .iter()
            .filter(|m| {
                m["candidate"]["url"] == url.as_str()
                    && m["reference"]["path"]
                        .as_str()
                        .is_some_and(|r| r.ends_with(p.reference))
            })
            .filter_map(|m| m["score"].as_f64())
            .fold(0.0, f64::max);
        assert!(best >= 0.5, "planted {} ({}) scored {best}", url, p.edit);
        lowest_planted = lowest_planted.min(best);
    }
    let highest_unrelated = list
        .iter()
        .filter(|m| !planted.iter().any(|u| m["candidate"]["url"] == u.as_str()))
        .filter_map(|m| m["score"].as_f64())
        .fold(0.0, f64::max);
    assert!(
        lowest_planted > highest_unrelated,
        "planted copies ({lowest_planted}) must rank above unrelated images ({highest_unrelated})"
    );
    let min = ok_json(&["matches", s(&case), "--min-score", "0.9", "--json"]);
    assert!(min
        .as_array()
        .expect("list")
        .iter()
        .all(|m| m["score"].as_f64().unwrap_or(0.0) >= 0.9));

    let top = list[0]["id"].as_i64().expect("id").to_string();
    let review = ok_json(&[
        "review",
        s(&case),
        &top,
        "--confirm",
        "--note",
        "same artwork, mirrored",
        "--json",
    ]);
    assert_eq!(review["decision"], "confirmed");
    let last = list.last().expect("some match")["id"].as_i64().expect("id").to_string();
    ok_json(&["review", s(&case), &last, "--reject", "--json"]);
    let bad = xiezhi(&["review", s(&case), "999999", "--confirm"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("999999"),
        "error names the match"
    );

    // Full-text search, including Chinese.
    let hits = ok_json(&["search", s(&case), "gallery", "--json"]);
    assert!(!hits.as_array().expect("hits").is_empty(), "search finds English words");
    let hits = ok_json(&["search", s(&case), "火箭", "--json"]);
    let hits = hits.as_array().expect("hits");
    assert!(
        hits.iter()
            .any(|h| h["snippet"].as_str().is_some_and(|t| t.contains("火箭"))),
        "search finds Chinese words: {hits:?}"
    );

    // Export with a real RFC 3161 timestamp and verify it three ways.
    let bundle = tmp.path().join("bundle.zip");
    let second_tsa = format!("{}tsa", tsa.url());
    let export = ok_json(&[
        "export",
        s(&case),
        s(&bundle),
        "--tsa",
        &tsa.url(),
        "--tsa",
        &second_tsa,
        "--lang",
        "en+zh",
        "--bates-prefix",
        "PIPE-",
        "--client",
        "Demo Studio 演示工作室",
        "--json",
    ]);
    assert_eq!(export["timestamps"].as_array().map(Vec::len), Some(2), "{export}");
    assert!(export["exhibits"].as_u64().unwrap_or(0) >= 1);
    let verify = ok_json(&["verify", s(&bundle), "--tsa-ca", s(&tsa.ca_cert_path()), "--json"]);
    assert_eq!(verify["ok"], true, "{verify}");

    let unz = tmp.path().join("unzipped");
    unzip_to(&bundle, &unz);
    let sums = Command::new("sha256sum")
        .args(["-c", "--strict", "SHA256SUMS"])
        .current_dir(&unz)
        .output()
        .expect("sha256sum");
    assert!(
        sums.status.success(),
        "sha256sum -c: {}",
        String::from_utf8_lossy(&sums.stdout)
    );
    let ts = Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-data",
            "manifest.json",
            "-in",
            "timestamp/manifest.tsr",
            "-CAfile",
            s(&tsa.ca_cert_path()),
        ])
        .current_dir(&unz)
        .output()
        .expect("openssl");
    assert!(
        String::from_utf8_lossy(&ts.stdout).contains("Verification: OK"),
        "openssl ts -verify: {}{}",
        String::from_utf8_lossy(&ts.stdout),
        String::from_utf8_lossy(&ts.stderr)
    );
    let pdf = unz.join("report.pdf");
    bundle_checks_with_standard_tools(&unz, &tsa.ca_cert_path(), &refs_manifest_sha);
    assert!(
        Command::new("qpdf")
            .arg("--check")
            .arg(&pdf)
            .output()
            .expect("qpdf")
            .status
            .success(),
        "qpdf --check report.pdf"
    );

    // One flipped byte in any file fails verification and names the file.
    let names: Vec<String> = {
        let z = zip::ZipArchive::new(std::fs::File::open(&bundle).expect("open")).expect("zip");
        z.file_names().map(str::to_string).collect()
    };
    // Every file of the real bundle: flip one byte, delete it; then add extra files.
    for target in [
        "report.pdf",
        "manifest.json",
        "custody.jsonl",
        "capture.wacz",
        "timestamp/manifest-2.tsr",
    ] {
        assert!(names.iter().any(|n| n == target), "bundle has {target}");
    }
    let bad = tmp.path().join("bad.zip");
    let expect_fail = |what: &str, target: &str| {
        let out = xiezhi(&["verify", s(&bad), "--json"]);
        assert_eq!(out.status.code(), Some(1), "{what} {target} must fail verification");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(target), "{what}: failure names {target}: {text}");
    };
    for target in &names {
        let t = target.clone();
        rewrite_zip(
            &bundle,
            &bad,
            move |name, mut b| {
                if name == t && !b.is_empty() {
                    let i = b.len() / 2;
                    b[i] ^= 0x01;
                }
                Some(b)
            },
            None,
        );
        expect_fail("flipped byte in", target);
        let t = target.clone();
        rewrite_zip(&bundle, &bad, move |name, b| (name != t).then_some(b), None);
        expect_fail("deleted", target);
    }
    for extra in [
        "extra.txt",
        "exhibits/001/extra.png",
        "timestamp/manifest-3.tsr",
        "archive/more.warc.gz",
    ] {
        rewrite_zip(&bundle, &bad, |_, b| Some(b), Some((extra, b"sneaky".as_slice())));
        expect_fail("extra file", extra);
    }

    // The custody log checks out, then fails once a row is altered behind its back.
    let log = ok_json(&["log", s(&case), "--check", "--json"]);
    assert_eq!(log["ok"], true, "{log}");
    {
        let db = rusqlite::Connection::open(case.join("case.db")).expect("db");
        db.execute("UPDATE reviews SET note = 'edited later' WHERE id = 1", [])
            .expect("tamper");
    }
    let out = xiezhi(&["log", s(&case), "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("reviews row 1"), "names the altered row: {text}");

    rt.block_on(site.shutdown());
}

#[test]
fn check_matches_local_files_without_a_crawl() {
    let tmp = tempfile::tempdir().expect("tmp");
    let case = tmp.path().join("case");
    let refs = xiezhi_demo::write_references(&tmp.path().join("refs")).expect("refs");
    ok_json(&["case", "init", s(&case), "--name", "Check test"]);
    ok_json(&["refs", "add", s(&case), s(&refs[0])]);
    // An exact copy under another name, a mirrored copy, and a file that is not an image.
    let suspects = tmp.path().join("suspects");
    std::fs::create_dir_all(&suspects).expect("dir");
    std::fs::copy(&refs[0], suspects.join("copy.bin")).expect("copy");
    let img = image::open(&refs[0]).expect("decode reference");
    img.fliph().save(suspects.join("mirrored.png")).expect("save");
    std::fs::write(suspects.join("notes.txt"), "not an image").expect("write");
    let run = xiezhi(&["check", s(&case), s(&suspects), "--json"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let out: Value = serde_json::from_slice(&run.stdout).expect("stdout is JSON alone");
    let list = out.as_array().expect("list");
    // stdout is the list alone; what could not be read is said on stderr.
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("unreadable: ") && l.contains("notes.txt")),
        "{stderr}"
    );
    assert!(list.len() >= 2, "{out}");
    assert!(
        list[0]["candidate"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("copy.bin")),
        "exact copy first: {out}"
    );
    assert!(list[0]["score"].as_f64().unwrap_or(0.0) >= 0.99);
    assert!(list[0]["candidate"]["page_url"].is_null());
    assert!(
        list.iter().any(|m| m["candidate"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("mirrored.png"))
            && m["score"].as_f64().unwrap_or(0.0) >= 0.5),
        "{out}"
    );
}

#[test]
fn demo_runs_end_to_end() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("demo");
    let v = ok_json(&["demo", "--out", s(&out), "--json"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["found"], v["planted"]);
    assert!(out.join("bundle.zip").is_file());
}

#[test]
fn errors_name_the_thing_at_fault() {
    let tmp = tempfile::tempdir().expect("tmp");
    let missing = tmp.path().join("no-such-case");
    let out = xiezhi(&["matches", s(&missing)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-case"));
    let case = tmp.path().join("case");
    ok_json(&["case", "init", s(&case), "--name", "E"]);
    let out = xiezhi(&["refs", "add", s(&case), s(&tmp.path().join("nope.png"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.png"));
    let out = xiezhi(&["crawl", s(&case), "ftp://example.invalid/"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ftp://example.invalid/"));
    let out = xiezhi(&["verify", s(&tmp.path().join("none.zip"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none.zip"));
}

/// A Python tool `./run` installs into its venv (warcio, wacz), or from PATH.
fn py_tool(name: &str) -> PathBuf {
    let venv = PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
        .join(".cache/xiezhi/venv/bin")
        .join(name);
    if venv.is_file() {
        venv
    } else {
        PathBuf::from(name)
    }
}

/// The unzipped demo bundle, checked with tools that know nothing of Xiezhi.
fn bundle_checks_with_standard_tools(unz: &Path, ca: &Path, refs_manifest_sha: &str) {
    let run = |cmd: &Path, args: &[&str], dir: &Path| {
        let o = Command::new(cmd).args(args).current_dir(dir).output().expect("tool");
        assert!(
            o.status.success(),
            "{} {args:?}: {}{}",
            cmd.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    // Second TSA's token.
    let out = run(
        Path::new("openssl"),
        &[
            "ts",
            "-verify",
            "-data",
            "manifest.json",
            "-in",
            "timestamp/manifest-2.tsr",
            "-CAfile",
            s(ca),
        ],
        unz,
    );
    assert!(out.contains("Verification: OK"));
    // The web captures: py-wacz validates the WACZ, warcio reads its WARC.
    run(&py_tool("wacz"), &["validate", "-f", "capture.wacz"], unz);
    let w = unz.join("wacz");
    std::fs::create_dir_all(&w).expect("mkdir");
    run(Path::new("unzip"), &["-q", "../capture.wacz"], &w);
    run(&py_tool("warcio"), &["check", "archive/data.warc.gz"], &w);
    let index = run(&py_tool("warcio"), &["index", "archive/data.warc.gz"], &w);
    // The report: every exhibit's URL and sha256, Chinese labels, Bates numbers, the intake timestamp.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(unz.join("manifest.json")).expect("manifest")).expect("json");
    let text = run(Path::new("pdftotext"), &["report.pdf", "-"], unz);
    let squashed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for e in manifest["exhibits"].as_array().expect("exhibits") {
        let url = e["url"].as_str().expect("url");
        assert!(squashed.contains(url), "report shows {url}");
        assert!(index.contains(url), "WACZ holds the response for {url}");
        assert!(
            squashed.contains(e["candidate"]["sha256"].as_str().expect("sha")),
            "report shows sha256 of {url}"
        );
    }
    assert!(
        text.contains("Case / 案件") && text.contains("演示工作室"),
        "bilingual labels"
    );
    assert!(text.contains("PIPE-000001"), "Bates prefix");
    assert!(
        squashed.contains(refs_manifest_sha),
        "report shows the intake timestamp"
    );
    let pages = run(Path::new("pdfinfo"), &["report.pdf"], unz);
    let n: usize = pages
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("page count");
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("xiezhi-demo-report");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("mkdir");
    run(
        Path::new("pdftoppm"),
        &["-r", "60", "-png", "report.pdf", s(&shots.join("page"))],
        unz,
    );
    assert_eq!(
        std::fs::read_dir(&shots).expect("ls").count(),
        n,
        "pdftoppm renders every page"
    );
}
