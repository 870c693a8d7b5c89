//! Shared fixtures: real images, a real custody chain, a real capture file.
#![allow(dead_code)]

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use xiezhi_evidence::{
    BundleSpec, Exhibit, ExhibitFile, Provenance, RecordRef, ReferenceStamp, ReportOptions, WaczPage, WaczSpec,
};
use xiezhi_store::custody::{next_entry, CustodyEntry};

pub fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A deterministic gradient-and-shapes picture, encoded for real by `image`.
pub fn picture(w: u32, h: u32, seed: u8, fmt: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let cx = (x as i32 - w as i32 / 2).pow(2) + (y as i32 - h as i32 / 2).pow(2);
        if cx < (w.min(h) as i32 / 4).pow(2) {
            image::Rgb([200, 40u8.wrapping_add(seed), 40])
        } else {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, seed])
        }
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, fmt).expect("encode");
    out.into_inner()
}

pub fn file(name: &str, media: &str, bytes: Vec<u8>) -> ExhibitFile {
    ExhibitFile {
        original_name: name.to_string(),
        sha256: sha(&bytes),
        media_type: media.to_string(),
        bytes,
    }
}

pub fn custody() -> Vec<CustodyEntry> {
    let mut v: Vec<CustodyEntry> = Vec::new();
    let events = [
        ("case.created", serde_json::json!({"name": "Mountain series"})),
        ("reference.added", serde_json::json!({"file": "山水-01.png"})),
        (
            "capture.fetched",
            serde_json::json!({"url": "https://shop.example/item/42"}),
        ),
        (
            "match.reviewed",
            serde_json::json!({"match": 7, "decision": "infringing"}),
        ),
        ("export.started", serde_json::json!({})),
    ];
    for (i, (ev, d)) in events.into_iter().enumerate() {
        let at = format!("2026-03-0{}T10:00:00.000Z", i + 1);
        let e = next_entry(v.last(), at, ev, d);
        v.push(e);
    }
    v
}

/// One WARC record, gzipped as its own member (as the crawler writes them).
pub fn warc_member(kind: &str, url: &str, content_type: &str, block: &[u8], payload: Option<&[u8]>) -> Vec<u8> {
    let mut rec = format!(
        "WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{}>\r\nWARC-Date: 2026-03-03T10:00:00.000Z\r\nWARC-Target-URI: {url}\r\nContent-Type: {content_type}\r\n",
        uuid::Uuid::new_v4()
    );
    if let Some(p) = payload {
        rec.push_str(&format!(
            "WARC-Payload-Digest: sha256:{}\r\n",
            data_encoding::BASE32.encode(&Sha256::digest(p))
        ));
    }
    rec.push_str(&format!("Content-Length: {}\r\n\r\n", block.len()));
    let mut bytes = rec.into_bytes();
    bytes.extend_from_slice(block);
    bytes.extend_from_slice(b"\r\n\r\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes).expect("gzip");
    gz.finish().expect("gzip")
}

pub fn http_response(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    b.extend_from_slice(body);
    b
}

pub const CANDIDATE_URL: &str = "https://shop.example/images/copy-42.jpg";
pub const PAGE_URL: &str = "https://shop.example/item/42";

/// A real gzip WARC with the candidate's response, its page and a page screenshot;
/// returns the record offsets.
pub fn write_capture(path: &Path, candidate: &[u8], screenshot: &[u8]) -> Vec<u64> {
    let page = "<html><head><title>商品 42</title></head><body><img src=/images/copy-42.jpg></body></html>";
    let members = [
        warc_member("warcinfo", "", "application/warc-fields", b"software: test\r\n", None),
        warc_member(
            "response",
            PAGE_URL,
            "application/http; msgtype=response",
            &http_response("text/html; charset=utf-8", page.as_bytes()),
            Some(page.as_bytes()),
        ),
        warc_member(
            "response",
            CANDIDATE_URL,
            "application/http; msgtype=response",
            &http_response("image/jpeg", candidate),
            Some(candidate),
        ),
        warc_member(
            "resource",
            &format!("urn:screenshot:{PAGE_URL}"),
            "image/png",
            screenshot,
            None,
        ),
    ];
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for m in members {
        offsets.push(out.len() as u64);
        out.extend_from_slice(&m);
    }
    std::fs::write(path, out).expect("warc");
    offsets
}

pub fn spec(dir: &Path, tsa_urls: Vec<String>) -> BundleSpec {
    let capture = dir.join("xiezhi-00001.warc.gz");
    let candidate = picture(1200, 900, 30, image::ImageFormat::Jpeg);
    let screenshot = picture(1280, 2400, 120, image::ImageFormat::Png);
    let offsets = write_capture(&capture, &candidate, &screenshot);
    let long_url = format!(
        "https://cdn.example.net/very/long/path/{}/image-copy.jpg?token={}",
        "segment/".repeat(12),
        "abcdef0123456789".repeat(6)
    );
    BundleSpec {
        bundle_id: uuid::Uuid::new_v4(),
        case_id: "case-2026-0042".into(),
        case_name: "Zoë Łódź — «Горы» mountain series".into(),
        tool_version: "0.1.0".into(),
        model_id: "dinov2-small-int8".into(),
        model_weights_sha256: "9f".repeat(32),
        method: "Each candidate is embedded with the model below and compared with every reference by cosine similarity; perceptual hashes (pHash, dHash) and ORB keypoint matches with RANSAC provide independent signals. The score is a calibrated combination of these. A human reviewer records the decision.".into(),
        created_at: chrono::Utc::now(),
        exhibits: vec![
            Exhibit {
                number: 1,
                match_id: "m-7".into(),
                score: 0.973,
                explanation: "Near-identical composition; colour shifted and re-encoded as JPEG.".into(),
                signals: serde_json::json!({"cosine": 0.981, "phash_distance": 4, "orb_inliers": 212}),
                decision: Some("infringing".into()),
                note: Some("Seller listing still live on 2026-03-03.".into()),
                reference: file("山水-01.png", "image/png", picture(640, 480, 10, image::ImageFormat::Png)),
                candidate: file("copy.jpg", "image/jpeg", candidate),
                provenance: Provenance {
                    url: Some(CANDIDATE_URL.into()),
                    page_url: Some(PAGE_URL.into()),
                    local_path: None,
                    captured_at: Some("2026-03-03T10:00:00.000Z".into()),
                    http_status: Some(200),
                    server_ip: Some("203.0.113.7".into()),
                    warc_file: Some("xiezhi-00001.warc.gz".into()),
                    warc_record_id: Some("<urn:uuid:4b1c0d5e-0000-4000-8000-000000000001>".into()),
                    element: Some("img[src]".into()),
                    embedded: None,
                    tls_subject: Some("CN=shop.example".into()),
                    tls_issuer: Some("CN=Example Issuing CA 2026, O=Example Trust Services".into()),
                    tls_sha256: Some("5a".repeat(32)),
                    tls_version: Some("TLSv1.3".into()),
                    tls_cipher: Some("TLS13_AES_256_GCM_SHA384".into()),
                    tls_record: Some("<urn:uuid:4b1c0d5e-0000-4000-8000-000000000003> in xiezhi-00001.warc.gz".into()),
                },
                screenshot: Some(file("screenshot.png", "image/png", screenshot)),
                overlay: Some(file("overlay.png", "image/png", picture(1200, 900, 200, image::ImageFormat::Png))),
            },
            Exhibit {
                number: 2,
                match_id: "m-9".into(),
                score: 0.61,
                explanation: "Partial crop of the upper half.".into(),
                // A verified similarity (mirrored, scaled, shifted): the overlay is drawn at export.
                signals: serde_json::json!({"cosine": 0.702, "crop": true,
                    "local_transform": [0.5, 0.0, 20.0, 10.0], "local_mirrored": true}),
                decision: None,
                note: None,
                reference: file("mountain-02.png", "image/png", picture(300, 500, 60, image::ImageFormat::Png)),
                candidate: file("crop.png", "image/png", picture(300, 250, 90, image::ImageFormat::Png)),
                provenance: Provenance {
                    url: Some(long_url),
                    page_url: None,
                    local_path: Some("/mnt/evidence/downloads/crop.png".into()),
                    captured_at: None,
                    http_status: None,
                    server_ip: None,
                    warc_file: None,
                    warc_record_id: None,
                    ..Default::default()
                },
                screenshot: None,
                overlay: None,
            },
        ],
        custody: custody(),
        wacz: WaczSpec {
            records: offsets[1..]
                .iter()
                .map(|o| RecordRef {
                    warc_path: capture.clone(),
                    offset: *o,
                })
                .collect(),
            pages: vec![WaczPage {
                url: PAGE_URL.into(),
                title: Some("商品 42".into()),
                ts: "2026-03-03T10:00:00.000Z".into(),
            }],
        },
        tsa_urls,
        tsa_is_local_test: true,
        report: ReportOptions {
            client: Some("Mountain Studio Ltd. 山水工作室".into()),
            investigator: Some("J. Doe".into()),
            bates_prefix: String::new(),
            lang: "en".into(),
            ignore_robots: true,
            reference_timestamps: vec![ReferenceStamp {
                gen_time: "2026-02-01T09:00:00Z".into(),
                tsa_url: "http://127.0.0.1:9/".into(),
                manifest_sha256: "ab".repeat(32),
                references: 2,
            }],
            error_rates: None,
        },
    }
}

pub fn read_zip(p: &Path) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(p).expect("open")).expect("zip");
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).expect("entry");
        let mut b = Vec::new();
        f.read_to_end(&mut b).expect("read");
        out.push((f.name().to_string(), b));
    }
    out
}

pub fn write_zip(p: &Path, entries: &[(String, Vec<u8>)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(p).expect("create"));
    for (n, b) in entries {
        z.start_file(n.as_str(), zip::write::SimpleFileOptions::default())
            .expect("start");
        z.write_all(b).expect("write");
    }
    z.finish().expect("finish");
}

pub fn unzip_to(zip: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let st = std::process::Command::new("unzip")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(dir)
        .status()
        .expect("unzip");
    assert!(st.success());
    dir.to_path_buf()
}

/// A Python test tool (warcio, wacz): on PATH, or in the venv `./run` installs them into.
pub fn py_tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cache/xiezhi/venv/bin")
        .join(name);
    if venv.is_file() {
        return venv;
    }
    PathBuf::from(name)
}
