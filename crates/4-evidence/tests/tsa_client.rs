//! The RFC 3161 client against a real OpenSSL-backed TSA.

use std::process::Command;

use sha2::{Digest, Sha256};
use xiezhi_evidence::tsa::{request_timestamp, verify_timestamp_response};
use xiezhi_local_tsa::LocalTsa;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_token_verifies_with_openssl_and_rejects_every_flip() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tsa = LocalTsa::start(&tmp.path().join("tsa")).await.expect("tsa");
    let data = b"manifest stand-in\n";
    let path = tmp.path().join("data");
    std::fs::write(&path, data).expect("write");
    let digest: [u8; 32] = Sha256::digest(data).into();

    let der = request_timestamp(&tsa.url(), &digest).await.expect("timestamp");
    let tsr = tmp.path().join("t.tsr");
    std::fs::write(&tsr, &der).expect("write");
    let o = Command::new("openssl")
        .args(["ts", "-verify", "-data"])
        .arg(&path)
        .arg("-in")
        .arg(&tsr)
        .arg("-CAfile")
        .arg(tsa.ca_cert_path())
        .output()
        .expect("openssl");
    assert!(String::from_utf8_lossy(&o.stdout).contains("Verification: OK"));

    let info = verify_timestamp_response(&der, &digest, None).expect("verify");
    assert_eq!(info.policy_oid, xiezhi_local_tsa::TEST_POLICY_OID);
    assert!(info.signer_subject.contains("Xiezhi Local Test TSA"));
    assert!(info.tsa_name.as_deref().unwrap_or("").contains("Xiezhi Local Test TSA"));
    assert!(info.gen_time.ends_with('Z'));

    let mut other = digest;
    other[0] ^= 1;
    assert!(verify_timestamp_response(&der, &other, None).is_err());

    // Every single-bit change anywhere in the response must be rejected.
    let mut missed = Vec::new();
    for i in 0..der.len() {
        let mut d = der.clone();
        d[i] ^= 0x01;
        if verify_timestamp_response(&d, &digest, None).is_ok() {
            missed.push(i);
        }
    }
    assert!(
        missed.is_empty(),
        "undetected flips at offsets {missed:?} of {}",
        der.len()
    );

    // Nothing listening: a clear error, no panic.
    assert!(request_timestamp("http://127.0.0.1:9/", &digest).await.is_err());
}
