//! TSTInfo (RFC 3161 §2.4.2) with a genTime that may carry fractional seconds.
//!
//! `der` 0.7's GeneralizedTime refuses fractions, yet RFC 3161 allows them and
//! OpenSSL emits them (`clock_precision_digits`). We decode genTime as a raw
//! GeneralizedTime and parse the DER profile ourselves: `YYYYMMDDHHMMSS[.f+]Z`,
//! no trailing zeros in the fraction (X.690 §11.7).

use chrono::{DateTime, NaiveDateTime, Utc};
use der::asn1::Int;
use der::{Any, Sequence, Tag, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extensions;
use x509_tsp::{Accuracy, MessageImprint, TsaPolicyId, TspVersion};

use crate::EvidenceError;

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TstInfo {
    pub version: TspVersion,
    pub policy: TsaPolicyId,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: Any,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

impl TstInfo {
    pub(crate) fn gen_time(&self) -> Result<DateTime<Utc>, EvidenceError> {
        if self.gen_time.tag() != Tag::GeneralizedTime {
            return Err(EvidenceError::Timestamp("genTime is not a GeneralizedTime".into()));
        }
        parse_generalized_time(self.gen_time.value())
    }
}

/// Parse a DER GeneralizedTime body, allowing a fraction of a second.
pub(crate) fn parse_generalized_time(body: &[u8]) -> Result<DateTime<Utc>, EvidenceError> {
    let bad = |why: &str| EvidenceError::Timestamp(format!("genTime {:?}: {why}", String::from_utf8_lossy(body)));
    let s = std::str::from_utf8(body).map_err(|_| bad("not ASCII"))?;
    let s = s.strip_suffix('Z').ok_or_else(|| bad("must end in Z (UTC)"))?;
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("must be YYYYMMDDHHMMSS"));
    }
    let mut t = NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S")
        .map_err(|_| bad("not a valid date and time"))?
        .and_utc();
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) || f.ends_with('0') {
            return Err(bad("fraction must be 1-9 digits without trailing zeros"));
        }
        let nanos: i64 = format!("{f:0<9}").parse().map_err(|_| bad("bad fraction"))?;
        t += chrono::Duration::nanoseconds(nanos);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::parse_generalized_time;

    #[test]
    fn fractions_are_accepted_and_malformed_times_refused() {
        let t = parse_generalized_time(b"20260301101112.25Z").unwrap();
        assert_eq!(
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2026-03-01T10:11:12.250Z"
        );
        assert!(parse_generalized_time(b"20260301101112Z").is_ok());
        for bad in [
            "20260301101112.250Z",
            "20260301101112.Z",
            "20260301101112",
            "2026030110111Z",
            "20261301101112Z",
        ] {
            assert!(parse_generalized_time(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
