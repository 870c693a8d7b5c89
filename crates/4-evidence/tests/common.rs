//! Shared fixtures: real images, a real custody chain, a real capture file.
#![allow(dead_code)]

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use xiezhi_evidence::{BundleSpec, Exhibit, ExhibitFile, Provenance};
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

pub fn spec(dir: &Path, tsa_urls: Vec<String>) -> BundleSpec {
    let capture = dir.join("xiezhi-00001.warc");
    std::fs::write(
        &capture,
        "WARC/1.1\r\nWARC-Type: warcinfo\r\nContent-Length: 0\r\n\r\n\r\n",
    )
    .expect("capture");
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
                candidate: file("copy.jpg", "image/jpeg", picture(1200, 900, 30, image::ImageFormat::Jpeg)),
                provenance: Provenance {
                    url: Some("https://shop.example/images/copy-42.jpg".into()),
                    page_url: Some("https://shop.example/item/42".into()),
                    local_path: None,
                    captured_at: Some("2026-03-03T10:00:00.000Z".into()),
                    http_status: Some(200),
                    server_ip: Some("203.0.113.7".into()),
                    warc_file: Some("capture/xiezhi-00001.warc".into()),
                    warc_record_id: Some("<urn:uuid:4b1c0d5e-0000-4000-8000-000000000001>".into()),
                },
            },
            Exhibit {
                number: 2,
                match_id: "m-9".into(),
                score: 0.61,
                explanation: "Partial crop of the upper half.".into(),
                signals: serde_json::json!({"cosine": 0.702, "crop": true}),
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
                },
            },
        ],
        custody: custody(),
        capture_files: vec![("capture/xiezhi-00001.warc".into(), capture)],
        tsa_urls,
        tsa_is_local_test: true,
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
