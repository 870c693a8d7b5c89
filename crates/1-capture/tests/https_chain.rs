//! HTTPS capture: a loopback TLS server with a test PKI made here (root CA → intermediate →
//! leaf for 127.0.0.1/localhost). The crawl trusts the root only through `extra_root_pem`,
//! and the WARC metadata record must hold the chain the server presented, byte for byte.

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use xiezhi_capture::{crawl, AssetCapture, CaptureSink, CrawlConfig, Exchange, PageCapture, SinkError};

struct Pki {
    root_pem: String,
    /// Served chain: leaf, intermediate (DER).
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
    int.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let int_cert = int.signed_by(&int_key, &ca_cert, &ca_key).expect("intermediate");

    let leaf_key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("params");
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf_cert = leaf.signed_by(&leaf_key, &int_cert, &int_key).expect("leaf");

    Pki {
        root_pem: ca_cert.pem(),
        chain: vec![leaf_cert.der().to_vec(), int_cert.der().to_vec()],
        leaf_key: leaf_key.serialize_der(),
    }
}

/// axum over TLS: a listener whose accepted connections have done the TLS handshake. It
/// notes the cipher suite each handshake negotiated (the server's view).
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ciphers: Arc<std::sync::Mutex<Vec<String>>>,
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
                if let Some(cs) = tls.get_ref().1.negotiated_cipher_suite() {
                    self.ciphers.lock().expect("ciphers").push(format!("{:?}", cs.suite()));
                }
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn page(uri: axum::http::Uri) -> Response {
    let body = match uri.path() {
        "/" => "<html><head><title>Secure</title></head><body><a href=\"/two\">two</a></body></html>",
        "/two" => "<html><head><title>Two</title></head><body>second page</body></html>",
        _ => "",
    };
    let status = if body.is_empty() { 404 } else { 200 };
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html")
        .body(Body::from(body))
        .unwrap_or_default()
}

#[derive(Default)]
struct Sink {
    pages: Vec<String>,
    failures: Vec<(String, String)>,
}

impl CaptureSink for Sink {
    fn exchange(&mut self, _: &Exchange) -> Result<(), SinkError> {
        Ok(())
    }
    fn page(&mut self, p: &PageCapture) -> Result<(), SinkError> {
        self.pages.push(p.url.clone());
        Ok(())
    }
    fn asset(&mut self, _: &AssetCapture) -> Result<(), SinkError> {
        Ok(())
    }
    fn failure(&mut self, url: &str, reason: &str) -> Result<(), SinkError> {
        self.failures.push((url.to_string(), reason.to_string()));
        Ok(())
    }
}

fn pem_blocks(text: &str) -> Vec<Vec<u8>> {
    let end = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let stop = rest[start..].find(end).expect("PEM end") + start + end.len();
        let (_, der) = pem_rfc7468::decode_vec(&rest.as_bytes()[start..stop]).expect("PEM decodes");
        out.push(der);
        rest = &rest[stop..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_chain_is_the_served_chain() {
    let pki = make_pki();
    // The server accepts one cipher suite, not the client's first choice (AES-256-GCM), so a
    // recorded cipher that was guessed or defaulted would not match.
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.cipher_suites = vec![rustls::crypto::aws_lc_rs::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            pki.chain.iter().map(|d| CertificateDer::from(d.clone())).collect(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.leaf_key.clone())),
        )
        .expect("server config");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let ciphers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(server)),
        ciphers: ciphers.clone(),
    };
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(page)).await });

    let dir = tempfile::tempdir().expect("tempdir");
    let warc_dir = dir.path().join("warc");
    let seed = url::Url::parse(&format!("https://127.0.0.1:{}/", addr.port())).expect("seed");

    // Without the test root the certificate is refused, and the failure says why.
    let cfg = CrawlConfig::new(
        vec![seed.clone()],
        "tls",
        &dir.path().join("w0"),
        &dir.path().join("i0"),
    );
    let mut sink = Sink::default();
    crawl(&cfg, &mut sink).await.expect("crawl");
    assert!(sink.pages.is_empty());
    assert!(
        sink.failures.iter().any(|f| f.1.to_lowercase().contains("certificate")),
        "{:?}",
        sink.failures
    );

    let mut cfg = CrawlConfig::new(vec![seed], "tls", &warc_dir, &dir.path().join("index"));
    cfg.rate_per_host = 0.0;
    cfg.extra_root_pem = Some(pki.root_pem.clone().into_bytes());
    let mut sink = Sink::default();
    let summary = crawl(&cfg, &mut sink).await.expect("crawl");
    assert_eq!(sink.pages.len(), 2, "{:?}", sink.failures);

    // Every metadata record holds the served chain exactly; at least one was written.
    let mut metadata = 0;
    for name in &summary.warc_files {
        let mut plain = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(warc_dir.join(name)).expect("open"))
            .read_to_end(&mut plain)
            .expect("gunzip");
        for rec in warc::WarcReader::new(&plain[..]).iter_raw_records() {
            let (h, body) = rec.expect("record");
            let get = |k: &str| {
                h.headers
                    .iter()
                    .find(|(n, _)| n.to_string().eq_ignore_ascii_case(k))
                    .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            };
            if get("warc-type").as_deref() != Some("metadata") {
                continue;
            }
            metadata += 1;
            let text = String::from_utf8_lossy(&body).into_owned();
            assert!(text.contains("server-name: 127.0.0.1\r\n"), "{text}");
            assert!(text.contains("tls-version: TLSv1.3\r\n"), "{text}");
            assert!(text.contains("peer-certificate-chain-length: 2\r\n"), "{text}");
            // The cipher suite, observed on a probe handshake and said to be so.
            assert!(
                text.contains("tls-cipher-suite: TLS13_CHACHA20_POLY1305_SHA256 (0x1303)\r\n"),
                "{text}"
            );
            assert!(
                text.contains("tls-cipher-suite-source: observed on a separate probe handshake to 127.0.0.1:"),
                "{text}"
            );
            assert!(text.contains("tls-probe-version: TLSv1.3\r\n"), "{text}");
            assert!(
                text.contains("tls-probe-certificate-chain: identical to the chain below\r\n"),
                "{text}"
            );
            assert_eq!(
                pem_blocks(&text),
                pki.chain,
                "recorded chain differs from the served chain"
            );
            assert_eq!(get("warc-ip-address").as_deref(), Some("127.0.0.1"));
        }
    }
    assert!(metadata >= 1, "no TLS metadata record");
    // The server saw the crawl's connections and exactly one probe per address, all with
    // that suite.
    let seen = ciphers.lock().expect("ciphers").clone();
    assert_eq!(
        seen.len(),
        metadata + 1,
        "connections {seen:?}, metadata records {metadata}"
    );
    assert!(seen.iter().all(|c| c == "TLS13_CHACHA20_POLY1305_SHA256"), "{seen:?}");
}
