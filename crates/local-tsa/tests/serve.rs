//! Start a real local TSA, send it an OpenSSL-made query over HTTP and check
//! the reply with `openssl ts -verify`.

use std::process::Command;

use xiezhi_local_tsa::LocalTsa;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_query_roundtrip_verifies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tsa = LocalTsa::start(&tmp.path().join("tsa")).await.expect("start");
    assert!(tsa.url().starts_with("http://127.0.0.1:"));
    let data = tmp.path().join("data.txt");
    std::fs::write(&data, "Xiezhi test data — 獬豸\n").expect("write");
    let tsq = tmp.path().join("q.tsq");
    let st = Command::new("openssl")
        .args(["ts", "-query", "-data"])
        .arg(&data)
        .args(["-sha256", "-cert", "-out"])
        .arg(&tsq)
        .status()
        .expect("openssl");
    assert!(st.success());

    let client = reqwest::Client::new();
    for round in 0..2 {
        let resp = client
            .post(tsa.url())
            .header("content-type", "application/timestamp-query")
            .body(std::fs::read(&tsq).expect("read"))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/timestamp-reply")
        );
        let tsr = tmp.path().join(format!("r{round}.tsr"));
        std::fs::write(&tsr, resp.bytes().await.expect("body")).expect("write");
        let out = Command::new("openssl")
            .args(["ts", "-verify", "-data"])
            .arg(&data)
            .arg("-in")
            .arg(&tsr)
            .arg("-CAfile")
            .arg(tsa.ca_cert_path())
            .output()
            .expect("openssl");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("Verification: OK"),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(tsa.chain_pem_path().is_file());
    let ca_before = std::fs::read(tsa.ca_cert_path()).expect("ca");
    tsa.shutdown().await;

    // Restarting in the same workdir reuses the PKI instead of minting a new root.
    let again = LocalTsa::start(&tmp.path().join("tsa")).await.expect("restart");
    assert_eq!(std::fs::read(again.ca_cert_path()).expect("ca"), ca_before);
}

#[tokio::test]
async fn garbage_query_is_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tsa = LocalTsa::start(tmp.path()).await.expect("start");
    let resp = reqwest::Client::new()
        .post(tsa.url())
        .body("not a query")
        .send()
        .await
        .expect("post");
    // OpenSSL answers a malformed query with an RFC 3161 rejection (HTTP 200,
    // PKIStatus 2 and no token), which is what RFC 3161 section 3.4 expects.
    let status = resp.status();
    let body = resp.bytes().await.expect("body");
    if status == 200 {
        assert!(body.len() < 256, "no token expected, got {} bytes", body.len());
        let head: Vec<u8> = body.iter().skip(2).take(5).copied().collect();
        assert_eq!(head[..2], [0x30, head[1]]);
        assert_eq!(head[2..], [0x02, 0x01, 0x02], "status must be rejection");
    }
}
