//! The TLS facts of an exhibit, end to end through the real `xiezhi` binary: a loopback
//! HTTPS site with a test PKI made here (root → intermediate → leaf for 127.0.0.1), crawled
//! with `--ca-cert`, scanned, exported and verified. The report must print the leaf's
//! subject, issuer and SHA-256 fingerprint read back from the WARC metadata record (also
//! for an image fetched over a kept-alive connection, whose handshake was recorded with an
//! earlier response), and that record must travel in the bundle's WACZ.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

fn ok_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_xiezhi"))
        .args(args)
        .arg("--json")
        .output()
        .expect("run xiezhi");
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

struct Pki {
    root_pem: String,
    chain: Vec<Vec<u8>>,
    leaf_key: Vec<u8>,
}

fn make_pki() -> Pki {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Xiezhi Test Root CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).expect("root");
    let int_key = KeyPair::generate().expect("key");
    let mut int = CertificateParams::new(Vec::<String>::new()).expect("params");
    int.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    int.distinguished_name
        .push(DnType::CommonName, "Xiezhi Test Intermediate CA");
    int.distinguished_name.push(DnType::OrganizationName, "Xiezhi Test PKI");
    int.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let int_cert = int.signed_by(&int_key, &ca_cert, &ca_key).expect("intermediate");
    let leaf_key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("params");
    leaf.distinguished_name.push(DnType::CommonName, "shop.test.invalid");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf_cert = leaf.signed_by(&leaf_key, &int_cert, &int_key).expect("leaf");
    Pki {
        root_pem: ca_cert.pem(),
        chain: vec![leaf_cert.der().to_vec(), int_cert.der().to_vec()],
        leaf_key: leaf_key.serialize_der(),
    }
}

/// axum over TLS: accepted connections have done the handshake.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves a shop page showing two of the references, byte for byte.
async fn serve(pki: &Pki, images: Vec<Vec<u8>>) -> String {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = pki.chain.iter().map(|d| CertificateDer::from(d.clone())).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.leaf_key.clone()));
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = tcp.local_addr().expect("addr").port();
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    let images = Arc::new(images);
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let images = images.clone();
        async move {
            let (ctype, body): (&str, Vec<u8>) = match uri.path() {
                "/" => (
                    "text/html",
                    b"<html><head><title>Shop</title></head><body><img src=\"/a.png\"><img src=\"/b.png\"></body></html>"
                        .to_vec(),
                ),
                "/a.png" => ("image/png", images[0].clone()),
                "/b.png" => ("image/png", images[1].clone()),
                _ => ("text/plain", Vec::new()),
            };
            Response::builder()
                .status(if body.is_empty() { 404 } else { 200 })
                .header(header::CONTENT_TYPE, ctype)
                .body(Body::from(body))
                .unwrap_or_default()
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("https://127.0.0.1:{port}/")
}

/// `openssl x509 -fingerprint -sha256` style.
fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn target_tmp() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp for integration tests: kept for a human to look at.
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("xiezhi-https-report")
}

#[test]
fn https_exhibits_carry_their_certificate_into_report_and_wacz() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let pki = make_pki();
    let refs = xiezhi_demo::write_references(&tmp.path().join("refs")).expect("refs");
    let images: Vec<Vec<u8>> = refs[..2].iter().map(|p| std::fs::read(p).expect("ref")).collect();
    let base = rt.block_on(serve(&pki, images));
    let root = tmp.path().join("root.pem");
    std::fs::write(&root, &pki.root_pem).expect("root pem");

    let case = tmp.path().join("case");
    ok_json(&["case", "init", s(&case), "--name", "HTTPS shop"]);
    ok_json(&["refs", "add", s(&case), s(&refs[0]), s(&refs[1])]);
    // One connection: the page's handshake is recorded with the page; the images reuse it.
    let crawl = ok_json(&[
        "crawl",
        s(&case),
        &base,
        "--ca-cert",
        s(&root),
        "--rate",
        "0",
        "--concurrency",
        "1",
    ]);
    assert_eq!(crawl["failures"].as_array().map(Vec::len), Some(0), "{crawl}");
    ok_json(&["scan", s(&case)]);
    let bundle = tmp.path().join("bundle.zip");
    let export = ok_json(&["export", s(&case), s(&bundle)]);
    assert!(export["exhibits"].as_u64().is_some_and(|n| n >= 2), "{export}");
    let verify = ok_json(&["verify", s(&bundle)]);
    assert_eq!(verify["ok"], true, "{verify}");

    let dir = tmp.path().join("unzipped");
    zip::ZipArchive::new(std::fs::File::open(&bundle).expect("open"))
        .expect("zip")
        .extract(&dir)
        .expect("extract");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest")).expect("json");
    let leaf_fp = fingerprint(&pki.chain[0]);
    for e in manifest["exhibits"].as_array().expect("exhibits") {
        assert_eq!(e["tls_subject"], "CN=shop.test.invalid", "{e}");
        let issuer = e["tls_issuer"].as_str().unwrap_or("");
        assert!(
            issuer.contains("CN=Xiezhi Test Intermediate CA") && issuer.contains("O=Xiezhi Test PKI"),
            "{e}"
        );
        assert_eq!(e["tls_sha256"].as_str(), Some(leaf_fp.as_str()), "{e}");
        assert!(
            e["tls_version"]
                .as_str()
                .is_some_and(|v| v == "TLSv1.3" || v == "TLSv1.2"),
            "{e}"
        );
        assert!(e["tls_record"].as_str().is_some_and(|r| r.contains("urn:uuid:")), "{e}");
    }
    // The images came over the page's kept-alive connection: the report says whose handshake it is.
    let notes: Vec<&str> = manifest["exhibits"]
        .as_array()
        .expect("exhibits")
        .iter()
        .filter_map(|e| e["tls_record"].as_str())
        .collect();
    assert!(notes.iter().any(|n| n.contains("kept alive")), "{notes:?}");

    // The metadata record travels in the WACZ (py-wacz's and warcio's view of it).
    let wacz = tmp.path().join("wacz");
    zip::ZipArchive::new(std::fs::File::open(dir.join("capture.wacz")).expect("wacz"))
        .expect("zip")
        .extract(&wacz)
        .expect("extract wacz");
    let o = Command::new("sh")
        .arg("-c")
        .arg("gzip -dc archive/data.warc.gz | grep -c '^WARC-Type: metadata'")
        .current_dir(&wacz)
        .output()
        .expect("gzip");
    let n: u32 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0);
    assert!(n >= 1, "no metadata record in the WACZ");

    // The report prints them; the exhibit page is rendered for a human to look at.
    let pdf = dir.join("report.pdf");
    let o = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    let text: String = String::from_utf8_lossy(&o.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(text.contains("CN=shop.test.invalid"), "subject missing from the report");
    assert!(
        text.contains("CN=XiezhiTestIntermediateCA"),
        "issuer missing from the report"
    );
    // pdftotext interleaves the label column with a value wrapped over two lines: look for both parts.
    let near = text.find("TLScertSHA-256").map(|i| &text[i..(i + 200).min(text.len())]);
    assert!(
        text.contains(&leaf_fp[..60]) && text.contains(&leaf_fp[leaf_fp.len() - 11..]),
        "fingerprint {leaf_fp} missing from the report: {near:?}"
    );
    let out = target_tmp();
    std::fs::create_dir_all(&out).expect("mkdir");
    let o = Command::new("pdftoppm")
        .args(["-r", "70", "-png", "-f", "3", "-l", "3"])
        .arg(&pdf)
        .arg(out.join("exhibit"))
        .output()
        .expect("pdftoppm");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
