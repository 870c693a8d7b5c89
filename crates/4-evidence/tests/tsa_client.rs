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

/// OpenSSL-made tokens in the other shapes real TSAs send: ECDSA P-256 keys, the older
/// ESSCertID (SHA-1), fractional-second genTime. The query is made by `openssl ts -query`
/// (not our client), the reply by `openssl ts -reply`; our verifier must accept each, check
/// the chain to the right root only, and `openssl ts -verify` must agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_tokens_ecdsa_ess_v1_and_fractional_time_verify() {
    use xiezhi_evidence::tsa::{check_anchor, verify_token};
    use xiezhi_local_tsa::TsaProfile;
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::write(&data, b"manifest stand-in for interop\n").expect("write");
    let digest: [u8; 32] = Sha256::digest(std::fs::read(&data).expect("read")).into();
    let profiles = [
        (
            "ec-v1-frac",
            TsaProfile {
                ec_p256: true,
                clock_precision_digits: 3,
                ess_cert_id_v1: true,
            },
        ),
        (
            "ec-v2",
            TsaProfile {
                ec_p256: true,
                clock_precision_digits: 0,
                ess_cert_id_v1: false,
            },
        ),
        (
            "rsa-v1-frac",
            TsaProfile {
                ec_p256: false,
                clock_precision_digits: 6,
                ess_cert_id_v1: true,
            },
        ),
    ];
    let mut roots = Vec::new();
    for (name, profile) in &profiles {
        let tsa = xiezhi_local_tsa::LocalTsa::start_with(&tmp.path().join(name), profile)
            .await
            .expect("tsa");
        let tsq = tmp.path().join(format!("{name}.tsq"));
        let tsr = tmp.path().join(format!("{name}.tsr"));
        let run = |args: &[&str]| {
            let o = Command::new("openssl")
                .args(args)
                .current_dir(tsa.workdir())
                .output()
                .expect("openssl");
            assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
            o
        };
        let (q, r, d) = (tsq.to_str().unwrap(), tsr.to_str().unwrap(), data.to_str().unwrap());
        run(&["ts", "-query", "-data", d, "-sha256", "-cert", "-out", q]);
        run(&["ts", "-reply", "-config", "tsa.cnf", "-queryfile", q, "-out", r]);
        let o = run(&["ts", "-verify", "-data", d, "-in", r, "-CAfile", "ca.crt"]);
        assert!(String::from_utf8_lossy(&o.stdout).contains("Verification: OK"));

        let der = std::fs::read(&tsr).expect("tsr");
        let tok = verify_token(&der, &digest, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        // With 6 digits a fraction of exactly zero (printed without one) has odds of 1e-6.
        if profile.clock_precision_digits == 6 {
            assert!(tok.info.gen_time.contains('.'), "{name}: {}", tok.info.gen_time);
        }
        let root =
            x509_cert::Certificate::load_pem_chain(&std::fs::read(tsa.ca_cert_path()).expect("ca")).expect("pem");
        check_anchor(&tok.chain, &root).unwrap_or_else(|e| panic!("{name}: {e}"));
        roots.push((name, tok.chain.clone(), root));

        // A flipped bit in the signature or the certificate is refused for ECDSA as for RSA.
        let mut missed = 0;
        for i in (0..der.len()).step_by(7) {
            let mut d = der.clone();
            d[i] ^= 0x01;
            if verify_token(&d, &digest, None).is_ok() {
                missed += 1;
            }
        }
        assert_eq!(missed, 0, "{name}: undetected flips");
    }
    // Each chain is accepted only by its own root.
    for (i, (name, chain, _)) in roots.iter().enumerate() {
        for (j, (_, _, root)) in roots.iter().enumerate() {
            assert_eq!(check_anchor(chain, root).is_ok(), i == j, "{name} against root {j}");
        }
    }
}
