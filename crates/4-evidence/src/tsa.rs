//! RFC 3161 client and token verification.
//!
//! Parsing uses the RustCrypto ASN.1 types (x509-tsp, cms, x509-cert); the
//! only structure defined here is ESS `SigningCertificateV2` (RFC 5035),
//! which none of those crates provide.

use std::time::Duration;

use cmpv2::status::PkiStatus;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{Int, OctetString};
use der::oid::ObjectIdentifier;
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use crate::tsa_sig::{verify_signature, HashAlg, SigAlg, OID_SHA256};
use crate::tst_info::TstInfo;
use crate::EvidenceError;

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_CERT_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const OID_SIGNING_CERT_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// Largest TimeStampResp we accept over HTTP; real ones are a few KiB.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// ESSCertIDv2 (RFC 5035). `hashAlgorithm` defaults to SHA-256 and is then
/// omitted under DER, hence optional here.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<Any>,
}

/// SigningCertificateV2 (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Vec<Any>>,
}

/// ESSCertID (RFC 2634): SHA-1 of the signing certificate.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV1 {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<Any>,
}

/// SigningCertificate (RFC 2634), still what many TSAs (and OpenSSL by default) send.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV1 {
    certs: Vec<EssCertIdV1>,
    #[asn1(optional = "true")]
    policies: Option<Vec<Any>>,
}

/// What a verified timestamp token says.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TimestampInfo {
    /// genTime, RFC 3339 UTC.
    pub gen_time: String,
    /// The TSA name from the token (`tsa` field), if present.
    pub tsa_name: Option<String>,
    /// Token serial number, hex.
    pub serial: String,
    pub policy_oid: String,
    /// Subject DN of the certificate that signed the token.
    pub signer_subject: String,
}

/// A verified token plus the certificates it carried, signer first, each
/// one signed by the next (last one self-signed or with its issuer absent).
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    pub info: TimestampInfo,
    pub chain: Vec<Certificate>,
}

fn ts_err(msg: impl Into<String>) -> EvidenceError {
    EvidenceError::Timestamp(msg.into())
}

/// Build a DER TimeStampReq for a SHA-256 digest; returns (request, nonce).
pub fn build_request(digest: &[u8; 32]) -> Result<(Vec<u8>, u64), EvidenceError> {
    // Top bit clear and second bit set: a positive 8-byte INTEGER that is
    // already minimally encoded, so the TSA echoes exactly these bytes.
    let nonce = (rand::random::<u64>() >> 2) | (1 << 62);
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: OID_SHA256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(digest.to_vec())?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce.to_be_bytes())?),
        cert_req: true,
        extensions: None,
    };
    Ok((req.to_der()?, nonce))
}

/// Ask the TSA at `url` to timestamp `digest` (SHA-256). The response is
/// checked (status, imprint, nonce, signature) before it is returned, so a
/// bundle never carries a token that does not match what was asked for.
pub async fn request_timestamp(url: &str, digest: &[u8; 32]) -> Result<Vec<u8>, EvidenceError> {
    Ok(request_timestamp_verified(url, digest).await?.0)
}

/// Like [`request_timestamp`], also returning what the token says.
pub async fn request_timestamp_verified(
    url: &str,
    digest: &[u8; 32],
) -> Result<(Vec<u8>, VerifiedToken), EvidenceError> {
    let fail = |reason: String| EvidenceError::TsaRequest {
        url: url.to_string(),
        reason,
    };
    let (req, nonce) = build_request(digest)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let resp = client
        .post(url)
        .header("content-type", "application/timestamp-query")
        .body(req)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status())));
    }
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !ctype.starts_with("application/timestamp-reply") {
        return Err(fail(format!(
            "unexpected content-type {ctype:?} (want application/timestamp-reply)"
        )));
    }
    if resp.content_length().unwrap_or(0) > MAX_RESPONSE_BYTES as u64 {
        return Err(fail("response too large".into()));
    }
    let body = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(fail("response too large".into()));
    }
    let token = verify_token(&body, digest, Some(nonce)).map_err(|e| fail(e.to_string()))?;
    Ok((body.to_vec(), token))
}

/// Verify a DER TimeStampResp over `digest` (SHA-256 imprint). Checks the
/// status, imprint, nonce (if given), the signer certificate and its ESS
/// binding, the signature over the signed attributes, and that every
/// certificate in the token is on the signer's chain.
pub fn verify_timestamp_response(
    der: &[u8],
    digest: &[u8; 32],
    expected_nonce: Option<u64>,
) -> Result<TimestampInfo, EvidenceError> {
    Ok(verify_token(der, digest, expected_nonce)?.info)
}

/// Does `issuer`'s key verify `cert`'s signature?
pub(crate) fn cert_signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), EvidenceError> {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(ts_err(format!(
            "certificate {} is not issued by {}",
            cert.tbs_certificate.subject, issuer.tbs_certificate.subject
        )));
    }
    if cert.signature_algorithm != cert.tbs_certificate.signature {
        return Err(ts_err("certificate signature algorithm fields disagree"));
    }
    let alg = SigAlg::from_oid(&cert.signature_algorithm.oid, None).ok_or_else(|| {
        ts_err(format!(
            "unsupported certificate signature algorithm {}",
            cert.signature_algorithm.oid
        ))
    })?;
    let sig = cert
        .signature
        .as_bytes()
        .ok_or_else(|| ts_err("certificate signature has unused bits"))?;
    let tbs = cert.tbs_certificate.to_der()?;
    verify_signature(issuer, alg, &tbs, sig).map_err(|_| {
        ts_err(format!(
            "signature on certificate {} does not verify",
            cert.tbs_certificate.subject
        ))
    })
}

fn extension<'a>(cert: &'a Certificate, oid: &ObjectIdentifier) -> Option<&'a [u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == *oid)
        .map(|e| e.extn_value.as_bytes())
}

fn subject_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    extension(cert, &OID_SUBJECT_KEY_ID)
        .and_then(|v| OctetString::from_der(v).ok())
        .map(|o| o.as_bytes().to_vec())
}

fn authority_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    extension(cert, &OID_AUTHORITY_KEY_ID)
        .and_then(|v| x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(v).ok())
        .and_then(|a| a.key_identifier)
        .map(|o| o.as_bytes().to_vec())
}

fn single_attr<'a>(
    attrs: &'a x509_cert::attr::Attributes,
    oid: &ObjectIdentifier,
    what: &str,
) -> Result<&'a Any, EvidenceError> {
    let mut found = attrs.iter().filter(|a| a.oid == *oid);
    let attr = found
        .next()
        .ok_or_else(|| ts_err(format!("signed attribute {what} missing")))?;
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(ts_err(format!("signed attribute {what} must occur once")));
    }
    attr.values
        .iter()
        .next()
        .ok_or_else(|| ts_err(format!("signed attribute {what} empty")))
}

fn gen_time_rfc3339(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Full verification, returning the token's certificate chain as well.
pub fn verify_token(
    der: &[u8],
    digest: &[u8; 32],
    expected_nonce: Option<u64>,
) -> Result<VerifiedToken, EvidenceError> {
    let resp = TimeStampResp::from_der(der)?;
    // Strict DER round trip: a token that re-encodes differently was altered
    // in a way the parser tolerated, so no byte goes unexamined.
    if resp.to_der()? != der {
        return Err(ts_err("response is not in canonical DER"));
    }
    match resp.status.status {
        // grantedWithMods is refused: we ask for nothing a TSA may modify,
        // and the unsigned status must not be able to vary silently.
        PkiStatus::Accepted => {}
        other => return Err(ts_err(format!("TSA refused the request: {other:?}"))),
    }
    let token: &ContentInfo = resp
        .time_stamp_token
        .as_ref()
        .ok_or_else(|| ts_err("granted response carries no token"))?;
    if token.content_type != OID_SIGNED_DATA {
        return Err(ts_err("token is not CMS SignedData"));
    }
    let sd: SignedData = token.content.decode_as()?;
    if sd.version != cms::content_info::CmsVersion::V3 {
        return Err(ts_err("SignedData version must be 3"));
    }
    if sd.encap_content_info.econtent_type != OID_CT_TST_INFO {
        return Err(ts_err("encapsulated content is not TSTInfo"));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| ts_err("TSTInfo content missing"))?;
    if econtent.tag() != Tag::OctetString {
        return Err(ts_err("TSTInfo content is not an OCTET STRING"));
    }
    let tst_der = econtent.value();
    let tst = TstInfo::from_der(tst_der)?;

    // Parameters of hash/RSA algorithms must be NULL or absent; any other
    // value would be an unsigned field that can vary silently.
    let params_ok = |a: &AlgorithmIdentifierOwned| a.parameters.as_ref().is_none_or(|p| p.tag() == Tag::Null);
    let algs_ok = sd.digest_algorithms.iter().all(params_ok)
        && sd
            .signer_infos
            .0
            .iter()
            .all(|si| params_ok(&si.digest_alg) && params_ok(&si.signature_algorithm))
        && params_ok(&tst.message_imprint.hash_algorithm);
    if !algs_ok {
        return Err(ts_err("unexpected algorithm parameters"));
    }
    if tst.message_imprint.hash_algorithm.oid != OID_SHA256 {
        return Err(ts_err("message imprint is not SHA-256"));
    }
    if tst.message_imprint.hashed_message.as_bytes() != digest {
        return Err(ts_err(format!(
            "message imprint {} does not match sha256 {}",
            hex::encode(tst.message_imprint.hashed_message.as_bytes()),
            hex::encode(digest)
        )));
    }
    if let Some(n) = expected_nonce {
        match &tst.nonce {
            Some(got) if got.as_bytes() == n.to_be_bytes() => {}
            _ => return Err(ts_err("nonce in token does not match the request")),
        }
    }

    let certs: Vec<&Certificate> = sd
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();

    if sd.signer_infos.0.len() != 1 {
        return Err(ts_err("token must have exactly one signer"));
    }
    let si = sd
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or_else(|| ts_err("token has no signer"))?;
    let signer = certs
        .iter()
        .copied()
        .find(|c| match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                c.tbs_certificate.issuer == ias.issuer && c.tbs_certificate.serial_number == ias.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                extension(c, &OID_SUBJECT_KEY_ID).and_then(|v| OctetString::from_der(v).ok()) == Some(ski.0.clone())
            }
        })
        .ok_or_else(|| ts_err("signing certificate not included in the token"))?;

    let version_ok = match si.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => si.version == cms::content_info::CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => si.version == cms::content_info::CmsVersion::V3,
    };
    if !version_ok {
        return Err(ts_err("SignerInfo version does not match its signer identifier"));
    }
    let digest_alg = HashAlg::from_digest_oid(&si.digest_alg.oid)
        .ok_or_else(|| ts_err(format!("unsupported digest {}", si.digest_alg.oid)))?;
    if !sd.digest_algorithms.iter().any(|a| a.oid == si.digest_alg.oid) {
        return Err(ts_err("signer digest algorithm not listed in SignedData"));
    }
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| ts_err("signed attributes missing"))?;
    let ct: ObjectIdentifier = single_attr(attrs, &OID_CONTENT_TYPE, "content-type")?.decode_as()?;
    if ct != OID_CT_TST_INFO {
        return Err(ts_err("content-type attribute is not TSTInfo"));
    }
    let md: OctetString = single_attr(attrs, &OID_MESSAGE_DIGEST, "message-digest")?.decode_as()?;
    if md.as_bytes() != digest_alg.hash(tst_der).as_slice() {
        return Err(ts_err("message-digest attribute does not match the TSTInfo"));
    }

    // ESS binding: the signed attributes name the signer certificate by hash,
    // so swapping in another certificate with the same key is detected. RFC 5816
    // allows ESSCertIDv2 (any hash) or the older ESSCertID (SHA-1); every one
    // present must match.
    let signer_der = signer.to_der()?;
    let has_v2 = attrs.iter().any(|a| a.oid == OID_SIGNING_CERT_V2);
    let has_v1 = attrs.iter().any(|a| a.oid == OID_SIGNING_CERT_V1);
    if !has_v1 && !has_v2 {
        return Err(ts_err("neither signingCertificate nor signingCertificateV2 is present"));
    }
    if has_v2 {
        let scv2: SigningCertificateV2 =
            single_attr(attrs, &OID_SIGNING_CERT_V2, "signingCertificateV2")?.decode_as()?;
        let first = scv2
            .certs
            .first()
            .ok_or_else(|| ts_err("signingCertificateV2 is empty"))?;
        let ess_alg = match &first.hash_algorithm {
            None => HashAlg::Sha256,
            Some(a) => HashAlg::from_digest_oid(&a.oid)
                .ok_or_else(|| ts_err(format!("unsupported ESSCertIDv2 hash {}", a.oid)))?,
        };
        if first.cert_hash.as_bytes() != ess_alg.hash(&signer_der).as_slice() {
            return Err(ts_err("ESSCertIDv2 hash does not match the signing certificate"));
        }
    }
    if has_v1 {
        let scv1: SigningCertificateV1 = single_attr(attrs, &OID_SIGNING_CERT_V1, "signingCertificate")?.decode_as()?;
        let first = scv1
            .certs
            .first()
            .ok_or_else(|| ts_err("signingCertificate is empty"))?;
        if first.cert_hash.as_bytes() != Sha1::digest(&signer_der).as_slice() {
            return Err(ts_err("ESSCertID (SHA-1) hash does not match the signing certificate"));
        }
    }

    // Signature over the DER SET OF signed attributes (RFC 5652 5.4).
    let sig_alg = SigAlg::from_oid(&si.signature_algorithm.oid, Some(digest_alg)).ok_or_else(|| {
        ts_err(format!(
            "unsupported signature algorithm {}",
            si.signature_algorithm.oid
        ))
    })?;
    let signed = attrs.to_der()?;
    verify_signature(signer, sig_alg, &signed, si.signature.as_bytes())
        .map_err(|e| ts_err(format!("signature over the signed attributes does not verify ({e})")))?;

    // RFC 3161 2.3: the TSA certificate must be for time stamping only.
    let eku = extension(signer, &OID_EXT_KEY_USAGE)
        .and_then(|v| x509_cert::ext::pkix::ExtendedKeyUsage::from_der(v).ok())
        .ok_or_else(|| ts_err("TSA certificate has no extendedKeyUsage"))?;
    if eku.0 != [OID_KP_TIME_STAMPING] {
        return Err(ts_err("TSA certificate extendedKeyUsage is not timeStamping only"));
    }

    let chain = build_chain(signer, &certs)?;
    let gen_time = tst.gen_time()?;
    let gen = std::time::Duration::from_nanos(gen_time.timestamp_nanos_opt().unwrap_or(0).max(0) as u64);
    for c in &chain {
        let v = &c.tbs_certificate.validity;
        if gen < v.not_before.to_unix_duration() || gen > v.not_after.to_unix_duration() {
            return Err(ts_err(format!(
                "genTime is outside the validity of {}",
                c.tbs_certificate.subject
            )));
        }
    }

    let info = TimestampInfo {
        gen_time: gen_time_rfc3339(&gen_time),
        tsa_name: tst.tsa.as_ref().map(|g| match g {
            x509_cert::ext::pkix::name::GeneralName::DirectoryName(n) => n.to_string(),
            other => format!("{other:?}"),
        }),
        serial: hex::encode(tst.serial_number.as_bytes()),
        policy_oid: tst.policy.to_string(),
        signer_subject: signer.tbs_certificate.subject.to_string(),
    };
    Ok(VerifiedToken { info, chain })
}

/// Order the token's certificates from the signer upwards, verifying every
/// link. Every certificate in the token must be on that chain: an unrelated
/// or altered extra certificate is an error, not something to ignore.
fn build_chain(signer: &Certificate, certs: &[&Certificate]) -> Result<Vec<Certificate>, EvidenceError> {
    let mut chain = vec![signer.clone()];
    loop {
        let cur = chain.last().ok_or_else(|| ts_err("empty chain"))?.clone();
        // A certificate whose authority key id is its own key id claims to be
        // self-signed even if its names were altered; check it as such.
        let aki = authority_key_id(&cur);
        let self_issued =
            cur.tbs_certificate.issuer == cur.tbs_certificate.subject || (aki.is_some() && aki == subject_key_id(&cur));
        if self_issued {
            cert_signed_by(&cur, &cur)?;
            break;
        }
        match certs.iter().find(|c| {
            c.tbs_certificate.subject == cur.tbs_certificate.issuer || (aki.is_some() && subject_key_id(c) == aki)
        }) {
            Some(issuer) => {
                cert_signed_by(&cur, issuer)?;
                if chain.iter().any(|c| c == *issuer) {
                    return Err(ts_err("certificate chain loops"));
                }
                chain.push((*issuer).clone());
            }
            None => break,
        }
    }
    for c in certs {
        if !chain.iter().any(|k| k == *c) {
            return Err(ts_err(format!(
                "certificate {} in the token is not on the signer's chain",
                c.tbs_certificate.subject
            )));
        }
    }
    Ok(chain)
}

/// Check that `chain` (from [`verify_token`]) ends at one of `anchors`:
/// either a chain certificate is an anchor, or one is signed by an anchor.
pub fn check_anchor(chain: &[Certificate], anchors: &[Certificate]) -> Result<String, EvidenceError> {
    for c in chain {
        for a in anchors {
            if c == a {
                return Ok(format!("chains to trust anchor {}", a.tbs_certificate.subject));
            }
            if cert_signed_by(c, a).is_ok() {
                return Ok(format!("chains to trust anchor {}", a.tbs_certificate.subject));
            }
        }
    }
    Err(ts_err(
        "TSA certificate does not chain to the given trust anchor".to_string(),
    ))
}

/// PEM text of the certificates, one after another (for tsa-chain.pem).
pub fn chain_pem(certs: &[Certificate]) -> Result<String, EvidenceError> {
    use der::EncodePem;
    let mut out = String::new();
    for c in certs {
        out.push_str(&c.to_pem(der::pem::LineEnding::LF)?);
    }
    Ok(out)
}
