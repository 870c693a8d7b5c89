//! The candidate embedded again where keypoints placed a reference
//! ([`xiezhi_match::located_box`]): the match stage holds fingerprints, this step has the
//! case's copy of the candidate's bytes.

use xiezhi_fingerprint::{decode_frames, Fingerprint, Fingerprinter};
use xiezhi_match::Signals;
use xiezhi_store::Case;

use crate::ref_index::Shortlister;
use crate::Result;

/// Sets [`Signals::located_cosine`] on each comparison (reference position, signals, frame
/// of the candidate, `None` for its first) whose verified geometry puts the reference in a
/// part of the candidate (read from the case by its SHA-256). The candidate is read and decoded only
/// when some comparison needs it, and its boxes are embedded in one batch per frame.
pub(crate) fn set_located_cosines(
    case: &Case,
    fp: &Fingerprinter,
    candidate: &Fingerprint,
    compared: &mut [(usize, Signals, Option<u32>)],
    shortlist: &mut Shortlister,
) -> Result<()> {
    // Every frame of an animation has the canvas's size, the fingerprint's.
    let dims = (candidate.width, candidate.height);
    if !compared
        .iter()
        .any(|(_, s, _)| xiezhi_match::located_box(s, dims.0, dims.1).is_some())
    {
        return Ok(());
    }
    let bytes = case.blobs().read_verified(&candidate.sha256)?;
    // Its fingerprint was made from these bytes; should they no longer decode (a cached
    // fingerprint of another version's decoder), the matches keep their other signals
    // rather than the scan stopping.
    let Ok(frames) = decode_frames(&bytes, fp.limits()) else {
        return Ok(());
    };
    embed_placed(fp, &frames, compared, shortlist, case)
}

fn embed_placed(
    fp: &Fingerprinter,
    frames: &xiezhi_fingerprint::Frames,
    compared: &mut [(usize, Signals, Option<u32>)],
    shortlist: &mut Shortlister,
    case: &Case,
) -> Result<()> {
    for (j, image) in frames.frames.iter().enumerate() {
        // The first distinct frame is the fingerprint itself, the others are numbered
        // from 1 by their position in the animation (`FrameFingerprint::frame`).
        let frame =
            (j > 0).then(|| u32::try_from(frames.positions.get(j).copied().unwrap_or(0) + 1).unwrap_or(u32::MAX));
        let mut references = Vec::new();
        for (pos, _, f) in compared.iter() {
            if *f == frame {
                references.push(shortlist.fingerprint(case, *pos)?);
            }
        }
        let mut pairs: Vec<_> = references
            .iter()
            .map(|r| &**r)
            .zip(compared.iter_mut().filter(|(_, _, f)| *f == frame).map(|(_, s, _)| s))
            .collect();
        xiezhi_match::set_located_cosines(fp, image, &mut pairs)?;
    }
    Ok(())
}
