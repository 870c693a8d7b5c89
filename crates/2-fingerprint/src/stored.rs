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
pub const STORED_FORMAT_VERSION: u16 = 8;

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

/// Reads a format-7 blob of a still image (no animation frames) as a format-8
/// fingerprint without its chroma, for a caller that computes it from the image bytes
/// ([`crate::Fingerprinter::chroma_of`]) and so spares the embeddings (the benchmark's
/// cache of 30k fingerprints). Format 8 only appended `chroma` to the layout, so the
/// blob followed by `None` (one zero byte in postcard) is a format-8 body; an
/// animation's frames hold fingerprints whose layout changed in the middle, so it gets
/// `None` and must be recomputed.
pub fn decode_stored_v7_still(bytes: &[u8]) -> Option<Fingerprint> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (version, body) = rest.split_first_chunk::<2>()?;
    if u16::from_le_bytes(*version) != 7 {
        return None;
    }
    let mut body = body.to_vec();
    body.push(0);
    let fp: Fingerprint = postcard::from_bytes(&body).ok()?;
    (fp.frames.is_empty() && fp.animation_frames == 0).then_some(fp)
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
