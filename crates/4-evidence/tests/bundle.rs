//! End-to-end: export real bundles against a real local TSA, check them with
//! standard tools and with `verify_bundle`, then tamper with every file.

mod common;

use std::process::Command;

use common::*;
use xiezhi_evidence::{export_bundle, verify_bundle, VerifyReport};
use xiezhi_local_tsa::LocalTsa;

fn failing(r: &VerifyReport) -> String {
    r.checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("[{}] {}", c.name, c.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_verify_and_tamper_every_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tsa = LocalTsa::start(&tmp.path().join("tsa")).await.expect("tsa");
    let spec = spec(tmp.path(), vec![tsa.url()]);
    let out = tmp.path().join("bundle.zip");
    let summary = export_bundle(&spec, &out).await.expect("export");
    assert_eq!(summary.bundle_sha256, sha(&std::fs::read(&out).expect("read")));
    assert_eq!(summary.timestamps.len(), 1);
    assert!(summary.timestamps[0].signer_subject.contains("NOT TRUSTED"));

    // Standard tools on an unzipped copy.
    let dir = unzip_to(&out, &tmp.path().join("unzipped"));
    let o = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dir)
        .output()
        .expect("sha256sum");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-data",
            "manifest.json",
            "-in",
            "timestamp/manifest.tsr",
            "-CAfile",
        ])
        .arg(tsa.ca_cert_path())
        .current_dir(&dir)
        .output()
        .expect("openssl");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Verification: OK"),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        summary.manifest_sha256,
        sha(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
    );
    // The first stage: the evidence manifest, its own token, and its files checked by jq + sha256sum.
    assert_eq!(
        summary.evidence_manifest_sha256,
        sha(&std::fs::read(dir.join("evidence-manifest.json")).expect("evidence manifest"))
    );
    let o = Command::new("openssl")
        .args(["ts", "-verify", "-data", "evidence-manifest.json", "-in"])
        .arg("timestamp/evidence-manifest.tsr")
        .arg("-CAfile")
        .arg(tsa.ca_cert_path())
        .current_dir(&dir)
        .output()
        .expect("openssl");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Verification: OK"),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let jq = r#"jq -r '.files[] | "\(.sha256)  \(.path)"' evidence-manifest.json | sha256sum -c"#;
    let verify_md = std::fs::read_to_string(dir.join("VERIFY.md")).expect("VERIFY.md");
    assert!(verify_md.contains(jq), "VERIFY.md must give the command tested here");
    let o = Command::new("sh")
        .args(["-c", jq])
        .current_dir(&dir)
        .output()
        .expect("jq");
    let listed = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success() && listed.contains("capture.wacz: OK"), "{listed}");
    // Overlays: the supplied one kept, the second drawn from its transform at the candidate's size.
    let ov = image::open(dir.join("exhibits/002/overlay.png")).expect("overlay decodes");
    assert_eq!((ov.width(), ov.height()), (300, 250));
    assert!(dir.join("exhibits/001/overlay.png").is_file());

    // The web captures, with independent readers: warcio on the WARC, py-wacz on the WACZ.
    let wacz_dir = unzip_to(&dir.join("capture.wacz"), &tmp.path().join("wacz"));
    for args in [["check", "-v"].as_slice(), ["index"].as_slice()] {
        let o = Command::new(py_tool("warcio"))
            .args(args)
            .arg(wacz_dir.join("archive/data.warc.gz"))
            .output()
            .expect("warcio (installed by ./run into ~/.cache/xiezhi/venv)");
        assert!(
            o.status.success(),
            "warcio {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        if args == ["index"] {
            let idx = String::from_utf8_lossy(&o.stdout).to_string();
            assert!(idx.contains(CANDIDATE_URL) && idx.contains(PAGE_URL), "{idx}");
        }
    }
    let o = Command::new(py_tool("wacz"))
        .args(["validate", "-f"])
        .arg(dir.join("capture.wacz"))
        .output()
        .expect("wacz (py-wacz, installed by ./run)");
    assert!(
        o.status.success(),
        "wacz validate: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let cdxj = std::fs::read_to_string(wacz_dir.join("indexes/index.cdxj")).expect("cdxj");
    let keys: Vec<&str> = cdxj.lines().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "CDXJ must be sorted");
    assert!(cdxj.contains("example,shop)/images/copy-42.jpg"), "{cdxj}");
    let pages = std::fs::read_to_string(wacz_dir.join("pages/pages.jsonl")).expect("pages");
    assert!(pages.starts_with("{\"format\":\"json-pages-1.0\"") && pages.contains(PAGE_URL));
    // Archives are STORED in the WACZ so a replayer can seek into them.
    let z = zip::ZipArchive::new(std::fs::File::open(dir.join("capture.wacz")).expect("wacz")).expect("zip");
    let mut z = z;
    assert_eq!(
        z.by_name("archive/data.warc.gz").expect("warc").compression(),
        zip::CompressionMethod::Stored
    );

    // Our verifier, with and without the trust anchor.
    let r = verify_bundle(&out, None).expect("verify");
    assert!(r.ok, "{}", failing(&r));
    assert!(r
        .checks
        .iter()
        .any(|c| c.detail.contains("not checked against a trust anchor")));
    let r = verify_bundle(&out, Some(&tsa.ca_cert_path())).expect("verify");
    assert!(r.ok, "{}", failing(&r));
    assert!(r.checks.iter().any(|c| c.detail.contains("chains to trust anchor")));
    assert_eq!(
        r.evidence_manifest_sha256.as_deref(),
        Some(summary.evidence_manifest_sha256.as_str())
    );
    assert_eq!(r.evidence_timestamps, summary.evidence_timestamps);
    let stage1 = r
        .checks
        .iter()
        .find(|c| c.name == "evidence manifest")
        .expect("stage-1 check");
    assert!(
        stage1.ok && stage1.detail.contains("all as in manifest.json"),
        "{}",
        stage1.detail
    );
    assert!(r
        .checks
        .iter()
        .any(|c| c.name == "timestamp timestamp/evidence-manifest.tsr"
            && c.ok
            && c.detail.contains("chains to trust anchor")));
    serde_json::to_string(&r).expect("report serialises");

    // A different root must not be accepted as the anchor.
    let other = LocalTsa::start(&tmp.path().join("other-tsa")).await.expect("tsa2");
    let r = verify_bundle(&out, Some(&other.ca_cert_path())).expect("verify");
    assert!(!r.ok);
    assert!(failing(&r).contains("timestamp/manifest.tsr"));

    // Tamper with every file, one at a time.
    let entries = read_zip(&out);
    assert!(entries.len() >= 10, "{}", entries.len());
    let bad = tmp.path().join("bad.zip");
    for (i, (name, bytes)) in entries.iter().enumerate() {
        // Flip one byte.
        let mut e = entries.clone();
        let pos = bytes.len() / 2;
        e[i].1[pos] ^= 0x01;
        write_zip(&bad, &e);
        let r = verify_bundle(&bad, None).expect("verify");
        assert!(!r.ok, "flip in {name} not detected");
        assert!(failing(&r).contains(name.as_str()), "flip in {name}: {}", failing(&r));

        // Delete it.
        let mut e = entries.clone();
        e.remove(i);
        write_zip(&bad, &e);
        let r = verify_bundle(&bad, None).expect("verify");
        assert!(!r.ok, "deleting {name} not detected");
        assert!(failing(&r).contains(name.as_str()), "delete {name}: {}", failing(&r));
        let _ = bytes;
    }
    // Add extra files, at the top and in every directory used.
    for extra in [
        "extra.txt",
        "exhibits/001/extra.png",
        "timestamp/extra.tsr",
        "capture/more.warc",
    ] {
        let mut e = entries.clone();
        e.push((extra.to_string(), b"sneaky".to_vec()));
        write_zip(&bad, &e);
        let r = verify_bundle(&bad, None).expect("verify");
        assert!(!r.ok && failing(&r).contains(extra), "extra {extra}: {}", failing(&r));
    }
    // Inside the WACZ: a changed payload is caught even when an attacker also fixes the
    // datapackage hashes (the payload digest and the exhibit's sha256 disagree with it).
    let wacz_i = entries
        .iter()
        .position(|(n, _)| n == "capture.wacz")
        .expect("wacz entry");
    let forged = forge_wacz_payload(&entries[wacz_i].1, &spec.exhibits[0].candidate.bytes);
    let mut e = entries.clone();
    e[wacz_i].1 = forged;
    write_zip(&bad, &e);
    let r = verify_bundle(&bad, None).expect("verify");
    let wacz_check = r.checks.iter().find(|c| c.name.contains("WACZ")).expect("wacz check");
    assert!(
        !wacz_check.ok && wacz_check.detail.contains("exhibit 001"),
        "{}",
        wacz_check.detail
    );

    // Unsafe paths are refused before anything is extracted.
    for evil in ["../evil.txt", "/etc/evil", "a/../../evil"] {
        let mut e = entries.clone();
        e.push((evil.to_string(), b"x".to_vec()));
        write_zip(&bad, &e);
        let r = verify_bundle(&bad, None).expect("verify");
        assert!(!r.ok && failing(&r).contains(evil), "{evil}: {}", failing(&r));
    }

    // An OpenSSL-made token over the same manifest is accepted too.
    let tsq = tmp.path().join("q.tsq");
    let tsr = tmp.path().join("r.tsr");
    let st = Command::new("openssl")
        .args(["ts", "-query", "-data"])
        .arg(dir.join("manifest.json"))
        .args(["-sha256", "-cert", "-out"])
        .arg(&tsq)
        .status()
        .expect("openssl");
    assert!(st.success());
    let st = Command::new("openssl")
        .args(["ts", "-reply", "-config", "tsa.cnf", "-queryfile"])
        .arg(&tsq)
        .arg("-out")
        .arg(&tsr)
        .current_dir(tsa.workdir())
        .status()
        .expect("openssl");
    assert!(st.success());
    let mut e = entries.clone();
    let slot = e
        .iter_mut()
        .find(|(n, _)| n == "timestamp/manifest.tsr")
        .expect("token");
    slot.1 = std::fs::read(&tsr).expect("tsr");
    write_zip(&bad, &e);
    let r = verify_bundle(&bad, Some(&tsa.ca_cert_path())).expect("verify");
    assert!(r.ok, "{}", failing(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tsas_and_no_tsa() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = LocalTsa::start(&tmp.path().join("a")).await.expect("tsa a");
    let spec2 = spec(tmp.path(), vec![a.url(), format!("{}tsa", a.url())]);
    let out = tmp.path().join("two.zip");
    let s = export_bundle(&spec2, &out).await.expect("export");
    assert_eq!(s.timestamps.len(), 2);
    let names: Vec<String> = read_zip(&out).into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"timestamp/manifest-2.tsr".to_string()));
    let r = verify_bundle(&out, Some(&a.ca_cert_path())).expect("verify");
    assert!(r.ok, "{}", failing(&r));

    let mut plain = spec(tmp.path(), vec![]);
    plain.tsa_is_local_test = false;
    let out = tmp.path().join("plain.zip");
    let s = export_bundle(&plain, &out).await.expect("export");
    assert!(s.timestamps.is_empty());
    let r = verify_bundle(&out, None).expect("verify");
    assert!(r.ok, "{}", failing(&r));
    assert!(!read_zip(&out).iter().any(|(n, _)| n.starts_with("timestamp/")));

    // A TSA that is not there fails the export and leaves no file behind.
    let bad = spec(tmp.path(), vec!["http://127.0.0.1:9/".into()]);
    let out = tmp.path().join("never.zip");
    assert!(export_bundle(&bad, &out).await.is_err());
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());

    // Exhibit bytes that do not match the case's hash are refused.
    let mut wrong = spec(tmp.path(), vec![]);
    wrong.exhibits[0].candidate.sha256 = "00".repeat(32);
    assert!(export_bundle(&wrong, &tmp.path().join("x.zip")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_pdf_is_valid_and_readable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tsa = LocalTsa::start(&tmp.path().join("tsa")).await.expect("tsa");
    let mut spec = spec(tmp.path(), vec![tsa.url()]);
    spec.report.bates_prefix = "XZ-".into();
    let out = tmp.path().join("bundle.zip");
    let summary = export_bundle(&spec, &out).await.expect("export");
    let dir = unzip_to(&out, &tmp.path().join("u"));
    let pdf = dir.join("report.pdf");

    let o = Command::new("qpdf").arg("--check").arg(&pdf).output().expect("qpdf");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    let o = Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let squashed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for e in &spec.exhibits {
        let url = e.provenance.url.as_deref().expect("url");
        assert!(squashed.contains(url), "URL {url} missing from report");
        assert!(squashed.contains(&e.reference.sha256), "reference sha missing");
        assert!(squashed.contains(&e.candidate.sha256), "candidate sha missing");
    }
    assert!(text.contains("Xiezhi evidence report"));
    assert!(text.contains("«Горы»") && text.contains("Łódź"), "non-ASCII text lost");
    assert!(text.contains("NOT a trusted"));
    assert!(text.contains("--ignore-robots"), "robots note missing");
    assert!(text.contains("山水工作室"), "Chinese client name lost");
    assert!(
        squashed.contains("CN=shop.example") && squashed.contains(&"5a".repeat(32)),
        "TLS facts missing"
    );
    assert!(
        squashed.contains("TLSv1.3TLS13_AES_256_GCM_SHA384"),
        "TLS version and cipher missing"
    );
    // The cover prints the evidence manifest's hash and its timestamp's time and authority.
    assert!(
        squashed.contains(&summary.evidence_manifest_sha256),
        "evidence manifest sha256 missing"
    );
    let ts = &summary.evidence_timestamps[0];
    assert!(
        squashed.contains(&ts.gen_time.replace(' ', "")),
        "timestamp time {} missing",
        ts.gen_time
    );
    let tsa_name: String = ts
        .tsa_name
        .clone()
        .unwrap_or_else(|| ts.signer_subject.clone())
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(squashed.contains(&tsa_name), "TSA name {tsa_name} missing");
    assert!(
        squashed.contains("exhibits/002/overlay.png—exact"),
        "overlay line missing"
    );
    let pages = text.matches('\u{c}').count().max(1);
    for i in 1..=pages {
        assert!(text.contains(&format!("XZ-{i:06}")), "Bates number {i} missing");
    }

    let prefix = tmp.path().join("page");
    let o = Command::new("pdftoppm")
        .args(["-r", "50", "-png"])
        .arg(&pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rendered = std::fs::read_dir(tmp.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("page"))
        .count();
    assert!(rendered >= 6, "only {rendered} pages rendered");
    assert_eq!(rendered, pages);
    if let Ok(keep) = std::env::var("XIEZHI_KEEP_PDF") {
        std::fs::copy(&pdf, &keep).expect("keep");
    }
}

/// `--lang zh` and `en+zh`: Chinese labels come out as text (the CJK font is embedded and
/// mapped), the default Bates prefix comes from the case name, and every page renders.
/// The pages are kept as PNGs under target/tmp/xiezhi-report/ for a human to look at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinese_report_renders_every_page() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keep = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("xiezhi-report");
    let _ = std::fs::remove_dir_all(&keep);
    std::fs::create_dir_all(&keep).expect("mkdir");
    for lang in ["zh", "en+zh"] {
        let mut spec = spec(tmp.path(), vec![]);
        spec.case_name = "Mountain series 山水".into();
        spec.report.lang = lang.into();
        let out = tmp.path().join(format!("{lang}.zip"));
        export_bundle(&spec, &out).await.expect("export");
        let dir = unzip_to(&out, &tmp.path().join(format!("u-{lang}")));
        let pdf = dir.join("report.pdf");
        let o = Command::new("qpdf").arg("--check").arg(&pdf).output().expect("qpdf");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
        let o = Command::new("pdffonts").arg(&pdf).output().expect("pdffonts");
        let fonts = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(fonts.lines().count() >= 6, "four main faces and the CJK face: {fonts}");
        assert!(
            fonts.lines().skip(2).all(|l| l.contains(" yes ")),
            "every font embedded: {fonts}"
        );
        eprintln!("{lang}: {}", fonts);
        let text = String::from_utf8_lossy(
            &Command::new("pdftotext")
                .arg(&pdf)
                .arg("-")
                .output()
                .expect("pdftotext")
                .stdout,
        )
        .to_string();
        assert!(
            text.contains("证据报告") && text.contains("方法说明") && text.contains("证据保管链"),
            "{lang}: Chinese labels missing"
        );
        if lang == "en+zh" {
            assert!(text.contains("Case / 案件"), "bilingual label missing");
        }
        assert!(
            text.contains("MOUNTAINSE-000001"),
            "default Bates prefix from the case name"
        );
        let size = std::fs::metadata(&pdf).expect("pdf").len();
        eprintln!("{lang}: report.pdf is {size} bytes");
        assert!(size < 8 << 20, "report is {size} bytes: the CJK font must be subset");
        let prefix = keep.join(format!("{}-page", lang.replace('+', "-")));
        let o = Command::new("pdftoppm")
            .args(["-r", "60", "-png"])
            .arg(&pdf)
            .arg(&prefix)
            .output()
            .expect("pdftoppm");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let pngs = std::fs::read_dir(&keep).expect("ls").count();
    assert!(pngs >= 12, "{pngs} pages rendered");
}

fn read_zip_bytes(b: &[u8]) -> Vec<(String, Vec<u8>)> {
    let tmp = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(tmp.path(), b).expect("write");
    read_zip(tmp.path())
}

/// Rebuild a WACZ with the candidate's payload altered by one byte in the WARC (re-gzipped)
/// and every datapackage hash recomputed to match, as a careful forger would.
fn forge_wacz_payload(wacz: &[u8], candidate: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    use std::io::{Read, Write};
    let mut files = read_zip_bytes(wacz);
    let warc_i = files.iter().position(|(n, _)| n.ends_with(".warc.gz")).expect("warc");
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(&files[warc_i].1[..])
        .read_to_end(&mut plain)
        .expect("gunzip");
    let at = plain
        .windows(candidate.len())
        .position(|w| w == candidate)
        .expect("candidate bytes in WARC");
    plain[at + candidate.len() / 2] ^= 0x01;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("gzip");
    files[warc_i].1 = gz.finish().expect("gzip");
    let hashes: std::collections::BTreeMap<String, (String, usize)> = files
        .iter()
        .map(|(n, b)| {
            (
                n.clone(),
                (format!("sha256:{}", hex::encode(sha2::Sha256::digest(b))), b.len()),
            )
        })
        .collect();
    let dp_i = files.iter().position(|(n, _)| n == "datapackage.json").expect("dp");
    let mut dp: serde_json::Value = serde_json::from_slice(&files[dp_i].1).expect("dp json");
    for r in dp["resources"].as_array_mut().expect("resources") {
        let (h, n) = hashes[r["path"].as_str().expect("path")].clone();
        r["hash"] = h.into();
        r["bytes"] = n.into();
    }
    files[dp_i].1 = serde_json::to_vec(&dp).expect("dp");
    let digest = serde_json::json!({"path": "datapackage.json", "hash": format!("sha256:{}", hex::encode(sha2::Sha256::digest(&files[dp_i].1)))});
    let dg_i = files
        .iter()
        .position(|(n, _)| n == "datapackage-digest.json")
        .expect("digest");
    files[dg_i].1 = serde_json::to_vec(&digest).expect("digest");
    let tmp = tempfile::NamedTempFile::new().expect("tmp");
    write_zip(tmp.path(), &files);
    std::fs::read(tmp.path()).expect("read")
}

/// Cancel between steps (early, and after the report and the evidence files are written):
/// the export stops with `Cancelled` and leaves no bundle and no temporary file behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_export_leaves_nothing_behind() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = spec(tmp.path(), Vec::new());
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    for stop_at in [0, 5] {
        let checks = AtomicUsize::new(0);
        let cancel = || checks.fetch_add(1, Ordering::SeqCst) >= stop_at;
        let r = xiezhi_evidence::export_bundle_cancellable(&spec, &out_dir.join("b.zip"), &cancel).await;
        assert!(
            matches!(r, Err(xiezhi_evidence::EvidenceError::Cancelled)),
            "stop at check {stop_at}: {r:?}"
        );
        let left: Vec<_> = std::fs::read_dir(&out_dir).expect("ls").collect();
        assert!(left.is_empty(), "stop at check {stop_at}: {left:?} left behind");
    }
}
