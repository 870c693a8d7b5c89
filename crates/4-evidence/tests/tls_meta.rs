//! TLS facts read back from WARC metadata records, checked against OpenSSL's own view of
//! the certificate: a response with its own handshake record, one over a kept-alive
//! connection (the earlier handshake with the same host), and one with none.

use std::io::Write;
use std::process::Command;

use xiezhi_evidence::tls_meta::TlsLookup;

fn member(headers: &[(&str, &str)], block: &[u8]) -> Vec<u8> {
    let mut rec = String::from("WARC/1.1\r\n");
    for (k, v) in headers {
        rec.push_str(&format!("{k}: {v}\r\n"));
    }
    rec.push_str(&format!("Content-Length: {}\r\n\r\n", block.len()));
    let mut bytes = rec.into_bytes();
    bytes.extend_from_slice(block);
    bytes.extend_from_slice(b"\r\n\r\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes).expect("gzip");
    gz.finish().expect("gzip")
}

fn response(id: &str, url: &str) -> Vec<u8> {
    member(
        &[
            ("WARC-Type", "response"),
            ("WARC-Record-ID", id),
            ("WARC-Target-URI", url),
            ("WARC-Date", "2026-03-03T10:00:00.000Z"),
            ("Content-Type", "application/http; msgtype=response"),
        ],
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\nxx",
    )
}

#[test]
fn leaf_subject_issuer_and_fingerprint_match_openssl() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cert = tmp.path().join("leaf.pem");
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-subj", "/O=Shop Ltd/CN=shop.example", "-days", "2", "-keyout"])
        .arg(tmp.path().join("leaf.key"))
        .arg("-out")
        .arg(&cert)
        .status()
        .expect("openssl");
    assert!(st.success());
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl");
    let openssl_fp = String::from_utf8_lossy(&o.stdout)
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or("")
        .to_string();
    let pem = std::fs::read_to_string(&cert).expect("pem");
    // The crawler's block; a field this parser does not know must not disturb it.
    let block = format!(
        "server-name: shop.example\r\nip-address: 127.0.0.1\r\ntls-version: TLSv1.3\r\n\
         tls-cipher-suite: TLS13_AES_128_GCM_SHA256\r\ntls-cipher-suite-source: observed on a probe handshake\r\n\
         some-future-field: 42\r\npeer-certificate-chain-length: 1\r\npeer-certificate-chain:\r\n{pem}"
    );
    let (r1, r2, meta_id) = (
        "<urn:uuid:00000000-0000-4000-8000-000000000001>",
        "<urn:uuid:00000000-0000-4000-8000-000000000002>",
        "<urn:uuid:00000000-0000-4000-8000-0000000000aa>",
    );
    let warc = tmp.path().join("x.warc.gz");
    let mut bytes = Vec::new();
    let first = bytes.len() as u64;
    bytes.extend(response(r1, "https://shop.example/a.png"));
    bytes.extend(member(
        &[
            ("WARC-Type", "metadata"),
            ("WARC-Record-ID", meta_id),
            ("WARC-Concurrent-To", r1),
            ("WARC-Target-URI", "https://shop.example/a.png"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        block.as_bytes(),
    ));
    let second = bytes.len() as u64;
    bytes.extend(response(r2, "https://shop.example/b.png"));
    std::fs::write(&warc, &bytes).expect("warc");

    let mut lookup = TlsLookup::default();
    let own = lookup
        .for_response(&warc, first, r1, "shop.example")
        .expect("read")
        .expect("own handshake");
    assert_eq!(own.subject, "CN=shop.example,O=Shop Ltd");
    assert_eq!(own.issuer, own.subject, "self-signed");
    assert_eq!(own.sha256, openssl_fp, "fingerprint as openssl prints it");
    assert_eq!(own.version.as_deref(), Some("TLSv1.3"));
    assert_eq!(
        own.cipher.as_deref(),
        Some("TLS13_AES_128_GCM_SHA256 (observed on a probe handshake)")
    );
    assert_eq!(own.record_id, meta_id);
    assert!(own.tie.contains("WARC-Concurrent-To this response"));

    let reused = lookup
        .for_response(&warc, second, r2, "shop.example")
        .expect("read")
        .expect("earlier handshake");
    assert_eq!(reused.sha256, openssl_fp);
    assert!(
        reused.tie.contains("kept alive") && reused.tie.contains(r1),
        "{}",
        reused.tie
    );

    assert!(lookup
        .for_response(&warc, second, r2, "other.example")
        .expect("read")
        .is_none());
}
