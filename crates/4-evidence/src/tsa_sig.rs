//! Signature checks for timestamp tokens and their certificates: RSA PKCS#1 v1.5
//! and ECDSA over P-256, with SHA-256/384/512 (what real TSAs issue).

use der::oid::ObjectIdentifier;
use der::Encode;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;

use crate::EvidenceError;

pub(crate) const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
pub(crate) const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_SHA384_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_SHA512_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub(crate) fn from_digest_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            OID_SHA256 => Some(HashAlg::Sha256),
            OID_SHA384 => Some(HashAlg::Sha384),
            OID_SHA512 => Some(HashAlg::Sha512),
            _ => None,
        }
    }
    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
    fn pkcs1(self) -> Pkcs1v15Sign {
        match self {
            HashAlg::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
            HashAlg::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
            HashAlg::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
        }
    }
}

/// Signature scheme named by a signature AlgorithmIdentifier.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SigAlg {
    Rsa(HashAlg),
    Ecdsa(HashAlg),
}

impl SigAlg {
    /// `digest` is the SignerInfo digest algorithm, used when the OID names
    /// only the key type (plain rsaEncryption, as many TSAs write).
    pub(crate) fn from_oid(oid: &ObjectIdentifier, digest: Option<HashAlg>) -> Option<Self> {
        match *oid {
            OID_RSA => digest.map(SigAlg::Rsa),
            OID_SHA256_RSA => Some(SigAlg::Rsa(HashAlg::Sha256)),
            OID_SHA384_RSA => Some(SigAlg::Rsa(HashAlg::Sha384)),
            OID_SHA512_RSA => Some(SigAlg::Rsa(HashAlg::Sha512)),
            OID_ECDSA_SHA256 => Some(SigAlg::Ecdsa(HashAlg::Sha256)),
            OID_ECDSA_SHA384 => Some(SigAlg::Ecdsa(HashAlg::Sha384)),
            OID_ECDSA_SHA512 => Some(SigAlg::Ecdsa(HashAlg::Sha512)),
            _ => None,
        }
    }
}

fn err(msg: impl Into<String>) -> EvidenceError {
    EvidenceError::Timestamp(msg.into())
}

/// Verify `sig` over `message` with `cert`'s public key under `alg`.
pub(crate) fn verify_signature(
    cert: &Certificate,
    alg: SigAlg,
    message: &[u8],
    sig: &[u8],
) -> Result<(), EvidenceError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let spki_der = spki.to_der()?;
    match alg {
        SigAlg::Rsa(h) => {
            if spki.algorithm.oid != OID_RSA {
                return Err(err(format!("RSA signature but the key is {}", spki.algorithm.oid)));
            }
            let key =
                RsaPublicKey::from_public_key_der(&spki_der).map_err(|e| err(format!("bad RSA public key: {e}")))?;
            key.verify(h.pkcs1(), &h.hash(message), sig)
                .map_err(|_| err("RSA signature does not verify"))
        }
        SigAlg::Ecdsa(h) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
                return Err(err(format!("ECDSA signature but the key is {}", spki.algorithm.oid)));
            }
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der)
                .map_err(|e| err(format!("unsupported EC key (only P-256): {e}")))?;
            let sig = p256::ecdsa::Signature::from_der(sig).map_err(|e| err(format!("bad ECDSA signature: {e}")))?;
            key.verify_prehash(&h.hash(message), &sig)
                .map_err(|_| err("ECDSA signature does not verify"))
        }
    }
}
