//! TLS for the crawler: rustls with the webpki roots (plus any extra root the operator
//! gives), wrapped so that every certificate chain a server presents is remembered and can
//! be written to WARC. reqwest's `TlsInfo` only exposes the leaf; the chain matters in court
//! because it shows who vouched for the server's identity at capture time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::CaptureError;

/// One verified handshake: the chain the server presented, leaf first, DER.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub server_name: String,
    pub chain: Vec<Vec<u8>>,
}

/// Delegates every decision to rustls' WebPKI verifier and remembers the presented chains
/// of successful verifications, per server name, until [`ChainRecorder::take`] collects them.
#[derive(Debug)]
pub struct ChainRecorder {
    inner: Arc<WebPkiServerVerifier>,
    pending: Mutex<HashMap<String, Vec<Handshake>>>,
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
    let recorder = Arc::new(ChainRecorder {
        inner,
        pending: Mutex::new(HashMap::new()),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CaptureError::Client(format!("TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
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
