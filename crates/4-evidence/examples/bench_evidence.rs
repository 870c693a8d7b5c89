//! Evidence-stage benchmark (run by bench/evidence/run.sh through `./run bench`):
//! 1. export of N exhibits (real encoded images, a real gzip WARC behind each candidate,
//!    a page screenshot, a local RFC 3161 TSA), then verify of that bundle;
//! 2. verify of a bundle of about G GiB against `sha256sum` over the same file.
//!
//! Usage: bench_evidence <workdir> [exhibits=200] [gib=1.0]; prints one JSON document.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use xiezhi_evidence::*;
use xiezhi_store::custody::next_entry;

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A varied picture, really encoded: gradient, a disc, stripes that depend on `seed`.
fn picture(w: u32, h: u32, seed: u32, fmt: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (cx, cy) = ((seed * 37) % w, (seed * 53) % h);
        let d = (x as i64 - cx as i64).pow(2) + (y as i64 - cy as i64).pow(2);
        if d < (w.min(h) as i64 / 5).pow(2) {
            image::Rgb([200, (seed * 7 % 255) as u8, 40])
        } else if (x + y + seed) % 40 < 6 {
            image::Rgb([20, 20, (seed % 255) as u8])
        } else {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, (seed * 13 % 255) as u8])
        }
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, fmt).expect("encode");
    out.into_inner()
}

fn file(name: &str, media: &str, bytes: Vec<u8>) -> ExhibitFile {
    ExhibitFile {
        original_name: name.into(),
        sha256: sha(&bytes),
        media_type: media.into(),
        bytes,
    }
}

fn member(kind: &str, url: &str, ctype: &str, block: &[u8], payload: Option<&[u8]>) -> Vec<u8> {
    let mut h = format!(
        "WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{}>\r\nWARC-Date: 2026-03-03T10:00:00.000Z\r\nWARC-Target-URI: {url}\r\nContent-Type: {ctype}\r\n",
        uuid::Uuid::new_v4()
    );
    if let Some(p) = payload {
        h.push_str(&format!(
            "WARC-Payload-Digest: sha256:{}\r\n",
            data_encoding::BASE32.encode(&Sha256::digest(p))
        ));
    }
    h.push_str(&format!("Content-Length: {}\r\n\r\n", block.len()));
    let mut b = h.into_bytes();
    b.extend_from_slice(block);
    b.extend_from_slice(b"\r\n\r\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&b).expect("gz");
    gz.finish().expect("gz")
}

fn http(ctype: &str, body: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    b.extend_from_slice(body);
    b
}

/// N exhibits whose candidates (and page screenshots) sit in one real WARC.
fn spec(dir: &Path, n: u32, tsa: Vec<String>, big: Option<usize>) -> BundleSpec {
    let warc = dir.join(format!("capture-{n}.warc.gz"));
    let mut w = Vec::new();
    let mut records = Vec::new();
    let mut pages = Vec::new();
    let mut exhibits = Vec::new();
    let shot_bytes = picture(1280, 1800, 7, image::ImageFormat::Png);
    for i in 1..=n {
        let url = format!("http://127.0.0.1:8080/shop/item-{i}/image.jpg");
        let page = format!("http://127.0.0.1:8080/shop/item-{i}/");
        let candidate = match big {
            // Bulk bytes for the verify-throughput bundle: incompressible, stored as-is.
            Some(size) => {
                let mut v = vec![0u8; size];
                let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ i as u64;
                for c in v.chunks_mut(8) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
                }
                v
            }
            None => picture(1024, 768, i, image::ImageFormat::Jpeg),
        };
        // The bulk bundle's candidates sit in the WARC too, so its capture.wacz is half the
        // bundle (above the 256 MiB verify once held in memory).
        {
            records.push(RecordRef {
                warc_path: warc.clone(),
                offset: w.len() as u64,
            });
            w.extend(member(
                "response",
                &url,
                "application/http; msgtype=response",
                &http("image/jpeg", &candidate),
                Some(&candidate),
            ));
        }
        // Three in four exhibits carry a verified transform (exact overlay), the rest only a
        // region box (approximate overlay), as real matches do.
        let signals = if i % 4 != 0 {
            serde_json::json!({"pdq_distance": 12, "embedding_cosine": 0.97, "local_inliers": 40,
                "local_transform": [1.1, 0.08, 60.0, 40.0], "local_mirrored": i % 3 == 0})
        } else {
            serde_json::json!({"pdq_distance": 40, "embedding_cosine": 0.9, "local_inliers": 3,
                "region_kind": "reference inside candidate", "region_box": [100, 80, 600, 450]})
        };
        let with_shot = big.is_none() && i % 4 == 1;
        if with_shot {
            records.push(RecordRef {
                warc_path: warc.clone(),
                offset: w.len() as u64,
            });
            w.extend(member(
                "resource",
                &format!("urn:screenshot:{page}"),
                "image/png",
                &shot_bytes,
                None,
            ));
        }
        pages.push(WaczPage {
            url: page.clone(),
            title: None,
            ts: "2026-03-03T10:00:00.000Z".into(),
        });
        exhibits.push(Exhibit {
            number: i,
            match_id: i.to_string(),
            score: 0.99,
            explanation: "Local features verified by a geometric transform; PDQ distance 12 (same picture).".into(),
            signals,
            decision: Some("confirmed".into()),
            note: None,
            reference: file("ref.png", "image/png", picture(800, 600, i, image::ImageFormat::Png)),
            candidate: file(
                "image.jpg",
                if big.is_some() { "image/png" } else { "image/jpeg" },
                candidate,
            ),
            provenance: Provenance {
                url: Some(url),
                page_url: Some(page),
                captured_at: Some("2026-03-03T10:00:00.000Z".into()),
                http_status: Some(200),
                server_ip: Some("127.0.0.1".into()),
                warc_file: Some(warc.file_name().unwrap_or_default().to_string_lossy().into()),
                element: Some("img[src]".into()),
                ..Default::default()
            },
            screenshot: with_shot.then(|| file("screenshot.png", "image/png", shot_bytes.clone())),
            overlay: None,
        });
    }
    std::fs::write(&warc, w).expect("warc");
    let mut custody = Vec::new();
    for k in 0..50 {
        let e = next_entry(
            custody.last(),
            format!("2026-03-03T10:00:{:02}.000Z", k),
            "match.reviewed",
            serde_json::json!({"k": k}),
        );
        custody.push(e);
    }
    BundleSpec {
        bundle_id: uuid::Uuid::new_v4(),
        case_id: "bench".into(),
        case_name: "Bench case".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        model_id: "efficientnet-lite0".into(),
        model_weights_sha256: "00".repeat(32),
        method: "bench".into(),
        created_at: chrono::Utc::now(),
        exhibits,
        custody,
        wacz: WaczSpec { records, pages },
        tsa_urls: tsa,
        tsa_is_local_test: true,
        report: ReportOptions {
            lang: "en".into(),
            ..Default::default()
        },
    }
}

fn sha256sum_secs(p: &Path) -> f64 {
    let t = Instant::now();
    let o = std::process::Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    assert!(o.status.success());
    t.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).expect("usage: bench_evidence <workdir> [exhibits] [gib]"));
    let n: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let gib: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    std::fs::create_dir_all(&dir).expect("workdir");
    let tsa = xiezhi_local_tsa::LocalTsa::start(&dir.join("tsa")).await.expect("tsa");

    // 1. Export of N exhibits.
    let s = spec(&dir, n, vec![tsa.url()], None);
    let out = dir.join("bundle.zip");
    let t = Instant::now();
    let summary = export_bundle(&s, &out).await.expect("export");
    let export_s = t.elapsed().as_secs_f64();
    let overlays = zip::ZipArchive::new(std::fs::File::open(&out).expect("open"))
        .expect("zip")
        .file_names()
        .filter(|n| n.ends_with("/overlay.png"))
        .count();
    let t = Instant::now();
    let r = verify_bundle(&out, None).expect("verify");
    let verify_small_s = t.elapsed().as_secs_f64();
    assert!(r.ok, "{:?}", r.checks.iter().filter(|c| !c.ok).collect::<Vec<_>>());
    let bundle_bytes = std::fs::metadata(&out).expect("size").len();
    drop(s);

    // 2. Verify throughput on a ~G GiB bundle, against sha256sum over the same file.
    let per = 16usize << 20;
    // Each candidate is in the bundle twice: as an exhibit file and inside capture.wacz.
    let count = ((gib * (1u64 << 30) as f64) / (2 * per) as f64).ceil().max(1.0) as u32;
    let big = spec(&dir, count, vec![tsa.url()], Some(per));
    let big_out = dir.join("big.zip");
    export_bundle(&big, &big_out).await.expect("export big");
    drop(big);
    let big_bytes = std::fs::metadata(&big_out).expect("size").len();
    let wacz_bytes = zip::ZipArchive::new(std::fs::File::open(&big_out).expect("open"))
        .expect("zip")
        .by_name(WACZ_PATH)
        .expect("capture.wacz")
        .size();
    let _warm = sha256sum_secs(&big_out);
    let sum_s = sha256sum_secs(&big_out);
    let t = Instant::now();
    let r = verify_bundle(&big_out, None).expect("verify big");
    let verify_big_s = t.elapsed().as_secs_f64();
    assert!(r.ok, "{:?}", r.checks.iter().filter(|c| !c.ok).collect::<Vec<_>>());
    let sum2 = sha256sum_secs(&big_out);
    let sum_best = sum_s.min(sum2);
    println!(
        "{}",
        serde_json::json!({
            "exhibits": n,
            "export_seconds": export_s,
            "overlays": overlays,
            "bundle_bytes": bundle_bytes,
            "bundle_files": summary.files,
            "verify_seconds": verify_small_s,
            "big_bundle_bytes": big_bytes,
            "big_wacz_bytes": wacz_bytes,
            "verify_big_seconds": verify_big_s,
            "sha256sum_big_seconds": sum_best,
            "verify_over_sha256sum_speed": sum_best / verify_big_s,
        })
    );
    let _ = std::fs::remove_file(&big_out);
}
