//! Xiezhi fingerprint stage: turns untrusted image bytes into a [`Fingerprint`]
//! (exact hashes, PDQ perceptual hash with its dihedral variants, and
//! EfficientNet-Lite0 embeddings of the image and of fixed windows, ORB-style
//! local features for geometric verification).
//!
//! Pure: no database, no files (except [`EfficientNetLite0::from_file`] on request).

mod decode;
mod descriptor_table;
mod error;
mod frames;
pub mod local;
mod local_ops;
mod model;
pub mod opaque_box;
pub mod pdq;
mod rbrief;
mod regions;
pub mod sprites;
mod stored;
mod svg;
mod thumbnail;

use image::RgbImage;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use decode::{decode, to_rgb_on_grey, DecodeLimits, Decoded};
pub use descriptor_table::DescriptorTable;
pub use error::FingerprintError;
pub use frames::{decode_frames, Frames, MAX_DECODED_FRAMES, MAX_DISTINCT_FRAMES};
pub use local::{
    descriptor_distance, descriptor_words, mirror_descriptor, nearest_two, words_distance, Keypoint, LocalFeatures,
    LOCAL_FEATURES_ID,
};
pub use model::{
    l2_normalise, resize_for_model, EfficientNetLite0, FeaturesAndLogits, EMBEDDING_DIM, INPUT_SIZE, NUM_CLASSES,
};
pub use pdq::{hamming, hamming_hex, Pdq, PdqHash, DIHEDRAL_NAMES};
pub use regions::{windows, RegionEmbedding, Window, MIN_REGION_SIDE};
pub use stored::{
    decode_stored, decode_stored_older_still, encode_stored, OlderStill, StoredFingerprint, STORED_FORMAT_VERSION,
};
pub use svg::{looks_like_svg, MAX_SVG_SIDE, MIN_SVG_SIDE, SVG_MEDIA_TYPE};
pub use thumbnail::{chroma, thumbnail, Chroma, Thumbnail, FLAT_LUMA_STD, THUMBNAIL_SIDE};

/// An image embedding model. Embeddings are L2-normalised, `dim()` long.
pub trait Embedder: Send + Sync {
    /// Stable identifier of model + preprocessing; embeddings with different ids
    /// must not be compared.
    fn model_id(&self) -> &str;
    /// SHA-256 (hex) of the weights actually loaded.
    fn weights_sha256(&self) -> &str;
    fn dim(&self) -> usize;
    fn embed(&self, images: &[RgbImage]) -> Result<Vec<Vec<f32>>, FingerprintError>;
}

/// SHA-256 (hex) of raw bytes.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 (hex) over width (u32 BE), height (u32 BE) and the RGBA8 pixels, so
/// a lossless re-encode (PNG -> WebP lossless, metadata stripped…) still matches.
pub fn pixel_sha256(image: &image::DynamicImage) -> String {
    let rgba = image.to_rgba8();
    let mut h = Sha256::new();
    h.update(rgba.width().to_be_bytes());
    h.update(rgba.height().to_be_bytes());
    h.update(rgba.as_raw());
    hex::encode(h.finalize())
}

/// Everything later stages need to know about one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// SHA-256 (hex) of the bytes as received.
    pub sha256: String,
    /// See [`pixel_sha256`].
    pub pixel_sha256: String,
    /// Size after EXIF orientation.
    pub width: u32,
    pub height: u32,
    /// MIME type of the format guessed from the content.
    pub media_type: String,
    /// PDQ hash, 64 hex digits (reference text form).
    pub pdq: String,
    pub pdq_quality: u32,
    /// PDQ of the 8 dihedral transforms of this image, in [`DIHEDRAL_NAMES`] order.
    pub pdq_variants: Vec<String>,
    pub model_id: String,
    /// L2-normalised embedding of the whole image.
    pub embedding: Vec<f32>,
    /// Embeddings of the fixed [`windows`].
    pub regions: Vec<RegionEmbedding>,
    /// Keypoints and descriptors (see [`local`]); empty in fingerprints
    /// stored before they existed.
    #[serde(default)]
    pub local: LocalFeatures,
    /// Frames of an animation (GIF, APNG, animated WebP) decoded, repeats included;
    /// 0 for a still image. The fields above describe its first frame.
    #[serde(default)]
    pub animation_frames: u32,
    /// True when a cap (see [`decode_frames`]) stopped decoding before the last frame.
    #[serde(default)]
    pub animation_truncated: bool,
    /// The other distinct frames of an animation, each fingerprinted in full, so a
    /// copy shown only in a later frame is found (at most [`MAX_DISTINCT_FRAMES`] - 1).
    #[serde(default)]
    pub frames: Vec<FrameFingerprint>,
    /// Grey-level thumbnail for pixel verification in the match stage; `None` in
    /// fingerprints stored before format 5.
    #[serde(default)]
    pub thumbnail: Option<Thumbnail>,
    /// More keypoints of the extractor of [`Self::local`], continuing its base set to a
    /// higher density ([`local::extract_with_extra`]); used when this image is the
    /// candidate, so that a picture pasted into it at a fraction of its area keeps
    /// enough keypoints. Empty in fingerprints stored before format 7.
    #[serde(default)]
    pub extra_keypoints: Vec<local::Keypoint>,
    /// Colour of the thumbnail for the match stage's colour check; `None` in
    /// fingerprints stored before format 8.
    #[serde(default)]
    pub chroma: Option<Chroma>,
    /// Keypoints of the opaque part of a picture with transparency, extracted at that
    /// part's own working resolution ([`opaque_box::extract_opaque_box`]); matched with
    /// [`Self::local`] when this image is the reference, so a small sprite on a large
    /// transparent canvas is found where it is shown enlarged. Empty for opaque pictures
    /// and in fingerprints stored before format 9. Last field: a blob of format 7 or 8
    /// of a still image is this layout without the fields added since
    /// ([`decode_stored_older_still`]).
    #[serde(default)]
    pub box_keypoints: Vec<local::Keypoint>,
}

/// One more distinct frame of an animation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameFingerprint {
    /// Where these pixels first appear in the animation, 1-based ("frame 7 of 12").
    pub frame: u32,
    /// The frame fingerprinted like a still image (`sha256` is still the file's).
    pub fingerprint: Fingerprint,
}

impl Fingerprint {
    /// Whether the picture shows nothing: every frame is one flat colour on grey (fully
    /// transparent, or a single colour; see [`Thumbnail::is_flat`]). Such a reference
    /// cannot be told from any other blank image. False when no thumbnail was stored.
    pub fn shows_nothing(&self) -> bool {
        let flat = |f: &Fingerprint| f.thumbnail.as_ref().is_some_and(|t| t.is_consistent() && t.is_flat());
        flat(self) && self.frames.iter().all(|f| flat(&f.fingerprint))
    }

    /// Drops the extra keypoints, the frames' too: a reference is matched with its base
    /// set only, so a cache of references need not hold them.
    pub fn drop_extra_keypoints(&mut self) {
        self.extra_keypoints = Vec::new();
        for f in &mut self.frames {
            f.fingerprint.drop_extra_keypoints();
        }
    }

    /// The first frame (the fingerprint itself, `None` for a still image) and then each
    /// other distinct frame with its 1-based position in the animation.
    pub fn frame_views(&self) -> impl Iterator<Item = (Option<u32>, &Fingerprint)> {
        let first = (self.animation_frames > 1).then_some(1);
        std::iter::once((first, self)).chain(self.frames.iter().map(|f| (Some(f.frame), &f.fingerprint)))
    }
}

/// What [`Fingerprinter::quick`] computes: exact hash, PDQ and global embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickFingerprint {
    pub sha256: String,
    pub pdq: String,
    pub pdq_quality: u32,
    pub embedding: Vec<f32>,
}

/// Decodes and fingerprints images with one embedder.
pub struct Fingerprinter {
    embedder: Box<dyn Embedder>,
    limits: DecodeLimits,
}

impl Fingerprinter {
    /// EfficientNet-Lite0 built into the binary, default decode limits.
    pub fn new_default() -> Result<Self, FingerprintError> {
        Ok(Self::new(
            Box::new(EfficientNetLite0::embedded()?),
            DecodeLimits::default(),
        ))
    }

    pub fn new(embedder: Box<dyn Embedder>, limits: DecodeLimits) -> Self {
        Fingerprinter { embedder, limits }
    }

    pub fn embedder(&self) -> &dyn Embedder {
        self.embedder.as_ref()
    }

    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    /// Embeddings of parts of a decoded picture, each box [x, y, w, h] in its pixels
    /// (clipped to it), prepared as the windows of [`Self::fingerprint`] are (composited
    /// on the neutral grey, then resized for the model): comparable with any
    /// fingerprint's embeddings. A box's pixels may be laid over that grey by an opacity
    /// (row-major, one byte per pixel of the box before clipping; `None`: as they are), as
    /// a picture with transparency is for the model. The matcher asks for the place where
    /// keypoints put a reference, seen through the reference's shape
    /// (`xiezhi_match::set_located_cosines`).
    pub fn embed_masked_boxes(
        &self,
        image: &image::DynamicImage,
        boxes: &[([u32; 4], Option<&[u8]>)],
    ) -> Result<Vec<Vec<f32>>, FingerprintError> {
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let rgb = to_rgb_on_grey(image);
        let (width, height) = rgb.dimensions();
        if width == 0 || height == 0 {
            return Err(FingerprintError::Empty);
        }
        let crops: Vec<RgbImage> = boxes
            .iter()
            .map(|&([x0, y0, w0, h0], opacity)| {
                let (x, y) = (x0.min(width.saturating_sub(1)), y0.min(height.saturating_sub(1)));
                let (w, h) = (w0.clamp(1, width - x), h0.clamp(1, height - y));
                let mut crop = image::imageops::crop_imm(&rgb, x, y, w, h).to_image();
                if let Some(o) = opacity.filter(|o| o.len() == w0 as usize * h0 as usize) {
                    for (cx, cy, p) in crop.enumerate_pixels_mut() {
                        let a = u32::from(o[(cy + y - y0) as usize * w0 as usize + (cx + x - x0) as usize]);
                        for c in p.0.iter_mut() {
                            *c = ((u32::from(*c) * a + 128 * (255 - a) + 127) / 255) as u8;
                        }
                    }
                }
                crop
            })
            .collect();
        let embs = self.embedder.embed(&crops)?;
        if embs.len() != crops.len() {
            return Err(FingerprintError::Inference(
                "embedder returned fewer embeddings than images".into(),
            ));
        }
        Ok(embs)
    }

    /// Completes a still image's fingerprint stored in an earlier format
    /// ([`decode_stored_older_still`]) with the fields added since, computed from the
    /// image's bytes as [`Self::fingerprint`] computes them: a decode and keypoints, no
    /// model, so a cache of thousands of fingerprints is brought up to date in minutes.
    pub fn complete_older_still(&self, older: OlderStill, bytes: &[u8]) -> Result<Fingerprint, FingerprintError> {
        let OlderStill {
            version,
            mut fingerprint,
        } = older;
        let decoded = decode_frames(bytes, &self.limits)?;
        let first = decoded.frames.first().ok_or(FingerprintError::Empty)?;
        if version < 8 {
            fingerprint.chroma = Some(thumbnail::chroma(first));
        }
        if version < 9 {
            fingerprint.box_keypoints = opaque_box::extract_opaque_box(first);
        }
        Ok(fingerprint)
    }

    /// The fast path: decode, PDQ and the global embedding only (no windows, no
    /// keypoints), e.g. to triage a large capture before the full fingerprint.
    pub fn quick(&self, bytes: &[u8]) -> Result<QuickFingerprint, FingerprintError> {
        let decoded = decode(bytes, &self.limits)?;
        let rgb = to_rgb_on_grey(&decoded.image);
        let p = pdq::pdq(&rgb);
        let embedding = self
            .embedder
            .embed(std::slice::from_ref(&rgb))?
            .pop()
            .ok_or_else(|| FingerprintError::Inference("embedder returned nothing".into()))?;
        Ok(QuickFingerprint {
            sha256: sha256(bytes),
            pdq: p.hash.to_hex(),
            pdq_quality: p.quality,
            embedding,
        })
    }

    /// Fingerprints untrusted image bytes: a still image, or every distinct frame
    /// of an animation (see [`Fingerprint::frames`]).
    pub fn fingerprint(&self, bytes: &[u8]) -> Result<Fingerprint, FingerprintError> {
        let file_sha256 = sha256(bytes);
        let decoded = decode_frames(bytes, &self.limits)?;
        let mut frames = decoded.frames.into_iter().zip(decoded.positions);
        let (first, _) = frames.next().ok_or(FingerprintError::Empty)?;
        let mut fp = self.fingerprint_image(&first, &file_sha256, decoded.media_type)?;
        drop(first);
        if decoded.decoded > 1 {
            fp.animation_frames = u32::try_from(decoded.decoded).unwrap_or(u32::MAX);
            fp.animation_truncated = decoded.capped;
        }
        for (image, position) in frames {
            fp.frames.push(FrameFingerprint {
                frame: u32::try_from(position + 1).unwrap_or(u32::MAX),
                fingerprint: self.fingerprint_image(&image, &file_sha256, decoded.media_type)?,
            });
        }
        Ok(fp)
    }

    /// Fingerprints one decoded picture (a still image or one frame).
    fn fingerprint_image(
        &self,
        image: &image::DynamicImage,
        file_sha256: &str,
        media_type: &str,
    ) -> Result<Fingerprint, FingerprintError> {
        let rgb = to_rgb_on_grey(image);
        let p = pdq::pdq(&rgb);
        let (width, height) = rgb.dimensions();
        // Each sprite of a sprite sheet is a region too (see `sprites`): games copy one sprite.
        let mut wins = windows(width, height);
        wins.extend(sprites::sprite_windows(image));
        wins.retain(|w| !regions::is_blank(image, &rgb, w));
        let mut crops = Vec::with_capacity(wins.len() + 1);
        crops.push(rgb.clone());
        for w in &wins {
            crops.push(image::imageops::crop_imm(&rgb, w.x, w.y, w.w, w.h).to_image());
        }
        // Keypoints on one core while the embeddings use the others.
        let (embs, ((local, extra_keypoints), box_keypoints)) = rayon::join(
            || self.embedder.embed(&crops),
            || (local::extract_with_extra(image), opaque_box::extract_opaque_box(image)),
        );
        let mut embs = embs?.into_iter();
        let embedding = embs
            .next()
            .ok_or_else(|| FingerprintError::Inference("embedder returned nothing".into()))?;
        let regions = wins
            .iter()
            .zip(embs)
            .map(|(w, e)| RegionEmbedding {
                x: w.x,
                y: w.y,
                w: w.w,
                h: w.h,
                embedding: e,
            })
            .collect::<Vec<_>>();
        if regions.len() != wins.len() {
            return Err(FingerprintError::Inference(
                "embedder returned fewer embeddings than images".into(),
            ));
        }
        Ok(Fingerprint {
            sha256: file_sha256.to_string(),
            pixel_sha256: pixel_sha256(image),
            width,
            height,
            media_type: media_type.to_string(),
            pdq: p.hash.to_hex(),
            pdq_quality: p.quality,
            pdq_variants: p.variants.iter().map(PdqHash::to_hex).collect(),
            model_id: self.embedder.model_id().to_string(),
            embedding,
            regions,
            local,
            animation_frames: 0,
            animation_truncated: false,
            frames: Vec::new(),
            thumbnail: Some(thumbnail::thumbnail(image)),
            extra_keypoints,
            chroma: Some(thumbnail::chroma(image)),
            box_keypoints,
        })
    }
}
