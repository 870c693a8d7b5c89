//! An exhibit that had no URL of its own: a copy of a reference carried inline in a page as
//! a `data:` URI. Through the real `xiezhi` binary: crawl a loopback page, scan, confirm,
//! export, verify. The bundle's WACZ must hold the image's `resource` record
//! (`urn:sha256:<hex>`), the page response that carried it and the crawler's metadata record;
//! the report must say where it appeared; a byte flipped inside that resource record (in the
//! bundle file itself) must make `verify` fail, naming the record.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

use axum::http::header;
use base64::Engine as _;
use serde_json::Value;

fn xiezhi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xiezhi"))
        .args(args)
        .output()
        .expect("run xiezhi")
}

fn ok_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = xiezhi(&all);
    assert!(
        out.status.success(),
        "xiezhi {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// One page whose only image is `png`, inline.
async fn serve(png: Vec<u8>) -> String {
    let html = format!(
        "<html><head><title>Inline shop</title></head><body><p>Sale</p>\
         <img alt=\"art\" src=\"data:image/png;base64,{}\"></body></html>",
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html) }
        }),
    );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = tcp.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(tcp, app).await;
    });
    format!("http://127.0.0.1:{port}/")
}

fn entry(zip: &mut zip::ZipArchive<impl Read + std::io::Seek>, name: &str) -> (Vec<u8>, u64) {
    let mut f = zip.by_name(name).expect(name);
    assert_eq!(f.compression(), zip::CompressionMethod::Stored, "{name} is stored");
    let start = f.data_start();
    let mut b = Vec::new();
    f.read_to_end(&mut b).expect("read");
    (b, start)
}

#[test]
fn data_uri_exhibit_is_exported_with_its_records_and_verified() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let refs = xiezhi_demo::write_references(&tmp.path().join("refs")).expect("refs");
    let png = std::fs::read(&refs[0]).expect("ref");
    let sha = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&png));
    let urn = format!("urn:sha256:{sha}");
    let base = rt.block_on(serve(png));

    let case = tmp.path().join("case");
    ok_json(&["case", "init", s(&case), "--name", "Inline shop"]);
    ok_json(&["refs", "add", s(&case), s(&refs[0])]);
    let crawl = ok_json(&["crawl", s(&case), &base, "--rate", "0"]);
    assert_eq!(crawl["failures"].as_array().map(Vec::len), Some(0), "{crawl}");
    ok_json(&["scan", s(&case)]);
    let matches = ok_json(&["matches", s(&case)]);
    let m = matches
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["candidate"]["url"] == urn.as_str())
        .unwrap_or_else(|| panic!("no match for {urn}: {matches}"));
    let id = m["id"].as_i64().expect("id").to_string();
    ok_json(&["review", s(&case), &id, "--confirm"]);
    let bundle = tmp.path().join("bundle.zip");
    let export = ok_json(&["export", s(&case), s(&bundle), "--confirmed"]);
    assert_eq!(export["exhibits"], 1, "{export}");
    let verify = ok_json(&["verify", s(&bundle)]);
    assert_eq!(verify["ok"], true, "{verify}");

    // The manifest says where the image appeared.
    let mut z = zip::ZipArchive::new(std::fs::File::open(&bundle).expect("open")).expect("zip");
    let mut manifest = Vec::new();
    z.by_name("manifest.json")
        .expect("manifest")
        .read_to_end(&mut manifest)
        .expect("read");
    let manifest: Value = serde_json::from_slice(&manifest).expect("json");
    let e = &manifest["exhibits"][0];
    assert_eq!(e["url"], urn.as_str(), "{e}");
    assert_eq!(
        e["embedded"],
        format!("embedded in {base} as a data: URI (element img[src])").as_str(),
        "{e}"
    );

    // The WACZ: resource + metadata record for the URN, the page's response, the page listed.
    let (wacz, wacz_start) = entry(&mut z, "capture.wacz");
    let mut wz = zip::ZipArchive::new(std::io::Cursor::new(wacz)).expect("wacz");
    let (warc, warc_start) = entry(&mut wz, "archive/data.warc.gz");
    let mut records = Vec::new();
    flate2::read::MultiGzDecoder::new(&warc[..])
        .read_to_end(&mut records)
        .expect("gunzip");
    let text = String::from_utf8_lossy(&records);
    for (kind, target) in [("resource", &urn), ("metadata", &urn), ("response", &base)] {
        let found = text.split("WARC/1.1\r\n").any(|r| {
            r.contains(&format!("WARC-Type: {kind}\r\n")) && r.contains(&format!("WARC-Target-URI: {target}\r\n"))
        });
        assert!(found, "no {kind} record for {target} in the WACZ");
    }
    let pages = entry_text(&mut wz, "pages/pages.jsonl");
    assert!(pages.contains(&format!("\"url\":\"{base}\"")), "{pages}");
    let index = entry_text(&mut wz, "indexes/index.cdxj");
    let line = index
        .lines()
        .find(|l| l.contains(&format!("\"url\":\"{urn}\"")))
        .unwrap_or_else(|| panic!("{urn} not indexed: {index}"));
    let json = line.find('{').map(|i| &line[i..]).unwrap_or("");
    let cdx: Value = serde_json::from_str(json).expect("cdxj");
    let offset: u64 = cdx["offset"].as_str().and_then(|v| v.parse().ok()).expect("offset");
    let length: u64 = cdx["length"].as_str().and_then(|v| v.parse().ok()).expect("length");

    // The report prints it too.
    let dir = tmp.path().join("unzipped");
    z.extract(&dir).expect("extract");
    let o = Command::new("pdftotext")
        .arg(dir.join("report.pdf"))
        .arg("-")
        .output()
        .expect("pdftotext");
    let report: String = String::from_utf8_lossy(&o.stdout).split_whitespace().collect();
    assert!(
        report.contains("asadata:URI"),
        "the report does not say the image was inline"
    );

    // Flip one byte inside the resource record's gzip member, in the bundle file itself.
    let mut bytes = std::fs::read(&bundle).expect("bundle");
    let at = wacz_start + warc_start + offset + length / 2;
    bytes[at as usize] ^= 0x01;
    let bad = tmp.path().join("bad.zip");
    std::fs::write(&bad, &bytes).expect("write");
    let out = xiezhi(&["verify", s(&bad), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a flipped byte in the resource record must fail"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("capture.wacz"), "{text}");

    // A forger's edit: the image bytes of that record changed and re-compressed, every ZIP
    // CRC valid. The WACZ check itself must catch it, naming the URN.
    let mut member = Vec::new();
    flate2::read::GzDecoder::new(&warc[offset as usize..(offset + length) as usize])
        .read_to_end(&mut member)
        .expect("member");
    let k = member.len() - 20; // inside the block, before the closing CRLF CRLF
    member[k] ^= 0x01;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &member).expect("gzip");
    let mut forged = warc[..offset as usize].to_vec();
    forged.extend(gz.finish().expect("gzip"));
    forged.extend_from_slice(&warc[(offset + length) as usize..]);
    let (wacz, _) = entry(&mut z, "capture.wacz");
    let wacz = rezip(&wacz, "archive/data.warc.gz", forged);
    std::fs::write(
        &bad,
        rezip(&std::fs::read(&bundle).expect("bundle"), "capture.wacz", wacz),
    )
    .expect("write");
    let out = xiezhi(&["verify", s(&bad), "--json"]);
    assert_eq!(out.status.code(), Some(1), "forged resource record must fail");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("block does not hash to its target {urn}")),
        "the WACZ check names the record: {text}"
    );
    assert!(
        text.contains("WARC-Payload-Digest does not match its payload"),
        "{text}"
    );
}

/// `zip_bytes` with entry `name` replaced by `with` (every entry stored, CRCs recomputed).
fn rezip(zip_bytes: &[u8], name: &str, with: Vec<u8>) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("zip");
    let mut zout = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).expect("entry");
        let n = f.name().to_string();
        let mut b = Vec::new();
        f.read_to_end(&mut b).expect("read");
        zout.start_file(n.as_str(), opts).expect("start");
        std::io::Write::write_all(&mut zout, if n == name { &with } else { &b }).expect("write");
    }
    zout.finish().expect("finish").into_inner()
}

fn entry_text(zip: &mut zip::ZipArchive<impl Read + std::io::Seek>, name: &str) -> String {
    let mut s = String::new();
    zip.by_name(name).expect(name).read_to_string(&mut s).expect("read");
    s
}
