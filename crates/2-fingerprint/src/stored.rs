//! Compact binary form of a [`Fingerprint`] for the case's cache.
//!
//! ```text
//! "XZFP" | format version (u16 LE) | postcard(Fingerprint)
//! ```
//! postcard writes the embeddings as raw little-endian f32 (lossless, so a cached
//! fingerprint scores exactly like a fresh one) and everything else as varints:
//! about 110 KB per photo with 15 embeddings (77 KB of it; 10 since version 3) against ~206 KB for the
//! JSON used before. JSON rows written by earlier versions are still read (they
//! start with `{`) and the engine rewrites them in this format.

use crate::{Fingerprint, FingerprintError};

const MAGIC: &[u8; 4] = b"XZFP";
/// Bump whenever the serialised layout of [`Fingerprint`] (or anything inside
/// it) changes: older blobs then read as "stale" and are recomputed.
/// 2: animation frames (`animation_frames`, `frames`) added.
/// 3: windows are a 3x3 grid at 60 % (was 5 at 60 % + 3x3 at 40 %) and keypoints
///    `orb-fast9-rbrief256-v2`: same layout, but older blobs would compare poorly.
/// 4: blank windows (mostly transparent or one colour) are no longer stored, and
///    keypoints `orb-fast9-rbrief256-v3` (sprites padded, strips enlarged).
/// 5: a grey-level [`crate::Thumbnail`] for pixel verification, last field.
/// 6: keypoints `orb-fast9-rbrief256-v4` (scenes worked at up to 1024 px with a
///    keypoint budget growing with the area); same layout.
/// 7: `extra_keypoints`, a last field (the candidate's denser keypoints).
/// 8: `chroma`, a last field (the thumbnail's colour, for the colour check).
/// 9: `box_keypoints`, a last field (the opaque box's own keypoints, for references).
pub const STORED_FORMAT_VERSION: u16 = 9;

/// Formats that differ from the current one only by fields appended since, and the
/// postcard bytes of those fields left empty: format 7 lacks `chroma` (`None`, one zero
/// byte) and `box_keypoints` (an empty vector, one zero byte); format 8 the latter.
const OLDER_STILL_SUFFIXES: [(u16, &[u8]); 2] = [(7, &[0, 0]), (8, &[0])];

/// What a stored blob turned out to be.
#[derive(Debug)]
pub enum StoredFingerprint {
    /// Current binary format.
    Current(Fingerprint),
    /// Readable, but in the JSON form of earlier versions: re-store it.
    Legacy(Fingerprint),
}

impl StoredFingerprint {
    pub fn into_inner(self) -> Fingerprint {
        match self {
            StoredFingerprint::Current(f) | StoredFingerprint::Legacy(f) => f,
        }
    }
}

/// Serialises a fingerprint into the current binary format.
pub fn encode_stored(fp: &Fingerprint) -> Result<Vec<u8>, FingerprintError> {
    let mut out = Vec::with_capacity(96 * 1024);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&STORED_FORMAT_VERSION.to_le_bytes());
    postcard::to_extend(fp, out).map_err(|e| FingerprintError::Stored(format!("cannot serialise: {e}")))
}

/// A still image's fingerprint read from an earlier format, the fields added since
/// left empty: [`crate::Fingerprinter::complete_older_still`] computes them.
#[derive(Debug, Clone, PartialEq)]
pub struct OlderStill {
    /// The format it was stored in.
    pub version: u16,
    pub fingerprint: Fingerprint,
}

/// Reads a blob of format 7 or 8 of a still image (no animation frames), whose layout
/// is the current one without the last fields ([`OLDER_STILL_SUFFIXES`]), so that a
/// caller can complete it from the image bytes and spare the embeddings (a case's or the
/// benchmark's cache of thousands of fingerprints). An animation's frames hold
/// fingerprints whose layout changed in the middle: `None`, it must be recomputed; also
/// `None` for any other format or a damaged blob.
pub fn decode_stored_older_still(bytes: &[u8]) -> Option<OlderStill> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (version, body) = rest.split_first_chunk::<2>()?;
    let version = u16::from_le_bytes(*version);
    let (_, suffix) = OLDER_STILL_SUFFIXES.iter().find(|(v, _)| *v == version)?;
    let mut body = body.to_vec();
    body.extend_from_slice(suffix);
    let fingerprint: Fingerprint = postcard::from_bytes(&body).ok()?;
    (fingerprint.frames.is_empty() && fingerprint.animation_frames == 0).then_some(OlderStill { version, fingerprint })
}

/// Reads a stored fingerprint (current binary format or legacy JSON). An error
/// means the blob must be recomputed (other format version, corrupt bytes).
pub fn decode_stored(bytes: &[u8]) -> Result<StoredFingerprint, FingerprintError> {
    if let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) {
        let (version, body) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| FingerprintError::Stored("header cut short".into()))?;
        let version = u16::from_le_bytes(*version);
        if version != STORED_FORMAT_VERSION {
            return Err(FingerprintError::Stored(format!(
                "format version {version}, this build reads {STORED_FORMAT_VERSION}"
            )));
        }
        let fp = postcard::from_bytes(body).map_err(|e| FingerprintError::Stored(format!("corrupt: {e}")))?;
        return Ok(StoredFingerprint::Current(fp));
    }
    if bytes.first() == Some(&b'{') {
        let fp = serde_json::from_slice(bytes).map_err(|e| FingerprintError::Stored(format!("legacy JSON: {e}")))?;
        return Ok(StoredFingerprint::Legacy(fp));
    }
    Err(FingerprintError::Stored(
        "unknown format (no XZFP header, not JSON)".into(),
    ))
}
