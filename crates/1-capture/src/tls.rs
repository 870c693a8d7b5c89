//! TLS for the crawler: rustls with the webpki roots (plus any extra root the operator
//! gives), wrapped so that every certificate chain a server presents is remembered and can
//! be written to WARC. reqwest's `TlsInfo` only exposes the leaf; the chain matters in court
//! because it shows who vouched for the server's identity at capture time.
//!
//! The negotiated cipher suite is not exposed by reqwest either (nor by any connection-info
//! hook of it). So after the first exchange with each server address, one *probe handshake*
//! is made with the same rustls settings (versions, cipher suites, roots, ALPN) to the same
//! IP and port; its cipher suite is recorded as such — "observed on a probe handshake at
//! <time>" — never passed off as the cipher of the HTTP connection itself.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::warcfile::warc_date;
use crate::CaptureError;

/// One verified handshake: the chain the server presented, leaf first, DER.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub server_name: String,
    pub chain: Vec<Vec<u8>>,
}

/// What a probe handshake to one server address saw.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `host:port` → `ip` the probe connected to.
    pub target: String,
    /// When the probe handshake started (WARC-Date form).
    pub at: String,
    pub outcome: Result<ProbeSeen, String>,
}

#[derive(Debug, Clone)]
pub struct ProbeSeen {
    /// rustls name and IANA code point, e.g. `TLS13_AES_256_GCM_SHA384 (0x1302)`.
    pub cipher_suite: String,
    pub version: String,
    /// The chain the server presented to the probe, leaf first, DER.
    pub chain: Vec<Vec<u8>>,
}

type ProbeCell = Arc<tokio::sync::OnceCell<Probe>>;

/// Delegates every decision to rustls' WebPKI verifier and remembers the presented chains
/// of successful verifications, per server name, until [`ChainRecorder::take`] collects them.
/// Also runs and keeps the cipher probes (one per host, IP and port).
#[derive(Debug)]
pub struct ChainRecorder {
    inner: Arc<WebPkiServerVerifier>,
    pending: Mutex<HashMap<String, Vec<Handshake>>>,
    /// The crawler's TLS settings with the plain (non-recording) verifier: a probe's chain
    /// must not be mistaken for a connection's.
    probe_config: Arc<rustls::ClientConfig>,
    probes: Mutex<HashMap<String, ProbeCell>>,
}

fn probe_key(host: &str, ip: &str, port: u16) -> String {
    format!("{host}:{port} → {ip}")
}

impl ChainRecorder {
    /// Handshakes verified for `server_name` since the last call.
    pub fn take(&self, server_name: &str) -> Vec<Handshake> {
        match self.pending.lock() {
            Ok(mut p) => p.remove(server_name).unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }
}

impl ChainRecorder {
    /// After an exchange with `url` answered from `ip`: unless done already, a probe handshake
    /// to that address with the crawler's TLS settings, to observe the cipher suite. Waits
    /// for a probe another task started, so the first metadata record of an address has it.
    pub async fn probe(&self, url: &url::Url, ip: Option<&str>, timeout: Duration) {
        let (Some(host), Some(port), Some(ip)) = (url.host_str(), url.port_or_known_default(), ip) else {
            return;
        };
        if url.scheme() != "https" {
            return;
        }
        let key = probe_key(host, ip, port);
        let cell = match self.probes.lock() {
            Ok(mut p) => p.entry(key.clone()).or_default().clone(),
            Err(_) => return,
        };
        let config = self.probe_config.clone();
        cell.get_or_init(|| run_probe(config, key, host.to_string(), ip.to_string(), port, timeout))
            .await;
    }

    /// The probe of the address `url` was answered from, if one ran.
    pub fn probe_of(&self, url: &url::Url, ip: Option<&str>) -> Option<Probe> {
        let key = probe_key(url.host_str()?, ip?, url.port_or_known_default()?);
        let p = self.probes.lock().ok()?;
        p.get(&key).and_then(|c| c.get().cloned())
    }

    /// The block of a connection's `metadata` record: server, TLS version, cipher suite (from
    /// the probe, saying so), verification, and the presented chain in PEM (leaf first).
    pub fn metadata_block(
        &self,
        hs: &Handshake,
        url: &url::Url,
        server_ip: Option<&str>,
        tls_version: Option<&str>,
    ) -> Result<String, CaptureError> {
        let mut block = String::new();
        let _ = write!(block, "server-name: {}\r\n", hs.server_name);
        if let Some(ip) = server_ip {
            let _ = write!(block, "ip-address: {ip}\r\n");
        }
        let _ = write!(block, "tls-version: {}\r\n", tls_version.unwrap_or("not reported"));
        match self.probe_of(url, server_ip) {
            Some(Probe {
                target,
                at,
                outcome: Ok(seen),
            }) => {
                let _ = write!(block, "tls-cipher-suite: {}\r\n", seen.cipher_suite);
                let _ = write!(
                    block,
                    "tls-cipher-suite-source: observed on a separate probe handshake to {target} at {at}, \
                     made with this crawl's TLS settings right after its first exchange with that address \
                     (the HTTP client does not expose the cipher suite of its own connections)\r\n"
                );
                let _ = write!(block, "tls-probe-version: {}\r\n", seen.version);
                let same = if seen.chain == hs.chain {
                    "identical to the chain below"
                } else {
                    "DIFFERENT from the chain below"
                };
                let _ = write!(block, "tls-probe-certificate-chain: {same}\r\n");
            }
            Some(Probe {
                target,
                at,
                outcome: Err(why),
            }) => {
                let _ = write!(
                    block,
                    "tls-cipher-suite: not observed (probe handshake to {target} at {at} failed: {})\r\n",
                    why.replace(['\r', '\n'], " ")
                );
            }
            None => {
                let _ = write!(
                    block,
                    "tls-cipher-suite: not observed (no probe handshake to this address)\r\n"
                );
            }
        }
        let _ = write!(
            block,
            "certificate-verification: passed (webpki roots + configured extra roots)\r\n"
        );
        let _ = write!(block, "peer-certificate-chain-length: {}\r\n", hs.chain.len());
        let _ = write!(block, "peer-certificate-chain:\r\n");
        block.push_str(&to_pem(&hs.chain)?);
        Ok(block)
    }
}

/// One TLS handshake to `ip:port` for `host` (SNI and verification as the crawler does),
/// then close_notify; no HTTP request is sent.
async fn run_probe(
    config: Arc<rustls::ClientConfig>,
    target: String,
    host: String,
    ip: String,
    port: u16,
    timeout: Duration,
) -> Probe {
    let at = warc_date(&chrono::Utc::now());
    let handshake = async {
        let addr: std::net::IpAddr = ip.parse().map_err(|e| format!("address {ip}: {e}"))?;
        let name = ServerName::try_from(host.clone()).map_err(|e| format!("server name {host}: {e}"))?;
        let tcp = tokio::net::TcpStream::connect((addr, port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let mut tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let (_, conn) = tls.get_ref();
        let seen = ProbeSeen {
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|s| {
                    let cs = s.suite();
                    format!("{cs:?} (0x{:04X})", u16::from(cs))
                })
                .unwrap_or_else(|| "none negotiated".into()),
            version: conn
                .protocol_version()
                .map(|v| match v {
                    // Spelled as OpenSSL and the main `tls-version` field spell them.
                    rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
                    rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_else(|| "unknown".into()),
            chain: conn
                .peer_certificates()
                .map(|c| c.iter().map(|d| d.as_ref().to_vec()).collect())
                .unwrap_or_default(),
        };
        use tokio::io::AsyncWriteExt as _;
        let _ = tls.shutdown().await;
        Ok::<_, String>(seen)
    };
    let outcome = match tokio::time::timeout(timeout, handshake).await {
        Ok(r) => r,
        Err(_) => Err(format!("no handshake within {} s", timeout.as_secs_f64())),
    };
    Probe { target, at, outcome }
}

impl ServerCertVerifier for ChainRecorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        let name = server_name_string(server_name);
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.as_ref().to_vec())
            .collect();
        if let Ok(mut p) = self.pending.lock() {
            p.entry(name.clone()).or_default().push(Handshake {
                server_name: name,
                chain,
            });
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The name as the URL host spells it (`127.0.0.1`, `example.com`).
pub fn server_name_string(n: &ServerName<'_>) -> String {
    match n {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// A rustls client config trusting the webpki roots plus `extra_root_pem`, with session
/// resumption off so that every connection runs (and records) a full certificate check.
pub fn client_config(
    extra_root_pem: Option<&[u8]>,
) -> Result<(rustls::ClientConfig, Arc<ChainRecorder>), CaptureError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    if let Some(pem) = extra_root_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| CaptureError::Config(format!("extra root certificate PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| CaptureError::Config(format!("extra root certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(CaptureError::Config(
                "extra root certificate PEM holds no certificate".into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| CaptureError::Client(format!("certificate verifier: {e}")))?;
    // One builder for both configs, so the probe offers exactly what the crawler offers.
    let build = |verifier: Arc<dyn ServerCertVerifier>| -> Result<rustls::ClientConfig, CaptureError> {
        let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| CaptureError::Client(format!("TLS versions: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    };
    let probe_config = Arc::new(build(inner.clone())?);
    let recorder = Arc::new(ChainRecorder {
        inner,
        pending: Mutex::new(HashMap::new()),
        probe_config,
        probes: Mutex::new(HashMap::new()),
    });
    let config = build(recorder.clone())?;
    Ok((config, recorder))
}

/// PEM text of DER certificates, in order (RFC 7468, 64-column base64).
pub fn to_pem(chain: &[Vec<u8>]) -> Result<String, CaptureError> {
    let mut out = String::new();
    for der in chain {
        let pem = pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
            .map_err(|e| CaptureError::Warc(format!("PEM encoding: {e}")))?;
        out.push_str(&pem);
    }
    Ok(out)
}
