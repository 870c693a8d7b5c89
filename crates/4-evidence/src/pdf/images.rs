//! Pictures for the report, prepared before layout and in parallel: each distinct image
//! (by SHA-256) becomes one PDF image stream, drawn wherever it is needed (summary
//! thumbnail and exhibit page).
//!
//! A baseline/progressive JPEG in grey or RGB is embedded as it is (`DCTDecode`): no decode,
//! no re-encoding, and the PDF shows exactly the captured bytes. Anything else is decoded
//! (EXIF orientation applied, as the fingerprint stage does), scaled down once to the
//! template's `max_px`, flattened onto white and deflated at a fast level.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use printpdf::{DictItem, ExternalStream, ExternalXObject, PdfDocument, Px, XObjectId};
use rayon::prelude::*;

use crate::model::ExhibitFile;

/// An image embedded once in the document.
#[derive(Clone)]
pub(crate) struct Placed {
    pub id: XObjectId,
    pub w: u32,
    pub h: u32,
}

/// A ready PDF image stream (already compressed).
struct Prepared {
    w: u32,
    h: u32,
    /// `DeviceGray` or `DeviceRGB`.
    color_space: &'static str,
    filter: &'static str,
    data: Vec<u8>,
}

/// JPEGs larger than this are re-encoded smaller instead of embedded whole.
const MAX_PASSTHROUGH_BYTES: usize = 8 << 20;

/// Components of a JPEG's frame (from its SOF marker), when it is one PDF readers draw
/// directly: 1 (grey) or 3 (YCbCr/RGB) components, 8 bits, no orientation tag to honour.
fn jpeg_passthrough(bytes: &[u8], max_px: u32) -> Option<Prepared> {
    use image::ImageDecoder;
    if bytes.len() > MAX_PASSTHROUGH_BYTES || !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    let (mut w, mut h, mut comps) = (0u32, 0u32, 0u8);
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let seg = bytes.get(i + 4..i + 2 + len)?;
            // Only Huffman baseline/extended/progressive: arithmetic coding is rarely supported.
            if ![0xC0, 0xC1, 0xC2].contains(&marker) || seg.len() < 6 || seg[0] != 8 {
                return None;
            }
            h = u16::from_be_bytes([seg[1], seg[2]]) as u32;
            w = u16::from_be_bytes([seg[3], seg[4]]) as u32;
            comps = seg[5];
            break;
        }
        if marker == 0xDA {
            return None;
        }
        i += 2 + len;
    }
    if w == 0 || h == 0 || !(comps == 1 || comps == 3) {
        return None;
    }
    // Large pictures are scaled down instead (the PDF would carry megapixels for a 84 mm box).
    if w > max_px * 2 || h > max_px * 2 {
        return None;
    }
    let mut dec = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(bytes)).ok()?;
    let oriented = dec.orientation().ok()?;
    if oriented != image::metadata::Orientation::NoTransforms {
        return None;
    }
    Some(Prepared {
        w,
        h,
        color_space: if comps == 1 { "DeviceGray" } else { "DeviceRGB" },
        filter: "DCTDecode",
        data: bytes.to_vec(),
    })
}

/// Decode, orient, scale down once, flatten transparency onto white (PDF viewers differ on
/// soft masks), and deflate.
fn decode_and_deflate(bytes: &[u8], max_px: u32) -> Option<Prepared> {
    use image::ImageDecoder;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut dec = reader.into_decoder().ok()?;
    let orientation = dec.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(dec).ok()?;
    img.apply_orientation(orientation);
    let img = if img.width() > max_px || img.height() > max_px {
        img.thumbnail(max_px, max_px)
    } else {
        img
    };
    let rgba = img.to_rgba8();
    let (w, h) = rgba.dimensions();
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for p in rgba.pixels() {
        let a = p[3] as u32;
        for c in &p.0[..3] {
            rgb.push(((*c as u32 * a + 255 * (255 - a)) / 255) as u8);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::with_capacity(rgb.len() / 2), flate2::Compression::fast());
    z.write_all(&rgb).ok()?;
    Some(Prepared {
        w,
        h,
        color_space: "DeviceRGB",
        filter: "FlateDecode",
        data: z.finish().ok()?,
    })
}

fn prepare(bytes: &[u8], max_px: u32) -> Option<Prepared> {
    jpeg_passthrough(bytes, max_px).or_else(|| decode_and_deflate(bytes, max_px))
}

fn name(s: &str) -> DictItem {
    DictItem::Name(s.as_bytes().to_vec())
}

/// Prepare every distinct picture in parallel and embed it; `None` for bytes that do
/// not decode (the report says so where the picture would be).
pub(crate) fn embed_all(doc: &mut PdfDocument, files: &[&ExhibitFile], max_px: u32) -> HashMap<String, Option<Placed>> {
    let mut unique: BTreeMap<&str, &[u8]> = BTreeMap::new();
    for f in files {
        unique.entry(f.sha256.as_str()).or_insert(f.bytes.as_slice());
    }
    let unique: Vec<(&str, &[u8])> = unique.into_iter().collect();
    let prepared: Vec<(&str, Option<Prepared>)> = unique
        .par_iter()
        .map(|(sha, bytes)| (*sha, prepare(bytes, max_px)))
        .collect();
    prepared
        .into_iter()
        .map(|(sha, p)| {
            let placed = p.map(|p| {
                let dict = BTreeMap::from([
                    ("Type".to_string(), name("XObject")),
                    ("Subtype".to_string(), name("Image")),
                    ("Width".to_string(), DictItem::Int(p.w as i64)),
                    ("Height".to_string(), DictItem::Int(p.h as i64)),
                    ("ColorSpace".to_string(), name(p.color_space)),
                    ("BitsPerComponent".to_string(), DictItem::Int(8)),
                    ("Filter".to_string(), name(p.filter)),
                ]);
                let id = doc.add_xobject(&ExternalXObject {
                    stream: ExternalStream {
                        dict,
                        content: p.data,
                        // Already compressed: lopdf must not deflate it again.
                        compress: false,
                    },
                    width: Some(Px(p.w as usize)),
                    height: Some(Px(p.h as usize)),
                    dpi: Some(72.0),
                });
                Placed { id, w: p.w, h: p.h }
            });
            (sha.to_string(), placed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(img: image::DynamicImage, fmt: image::ImageFormat) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, fmt).unwrap();
        out.into_inner()
    }

    #[test]
    fn jpegs_pass_through_and_others_are_scaled_once() {
        let rgb = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 40, |x, y| {
            image::Rgb([x as u8 * 4, y as u8 * 6, 90])
        }));
        let jpeg = encode(rgb.clone(), image::ImageFormat::Jpeg);
        let p = prepare(&jpeg, 900).unwrap();
        assert_eq!((p.w, p.h, p.filter, p.color_space), (64, 40, "DCTDecode", "DeviceRGB"));
        assert_eq!(p.data, jpeg, "a JPEG is embedded byte for byte");
        let grey = encode(
            image::DynamicImage::ImageLuma8(rgb.to_luma8()),
            image::ImageFormat::Jpeg,
        );
        assert_eq!(prepare(&grey, 900).unwrap().color_space, "DeviceGray");
        // Too large for the box: decoded and scaled instead.
        let big = prepare(&jpeg, 16).unwrap();
        assert_eq!((big.w.max(big.h), big.filter), (16, "FlateDecode"));
        let png = encode(rgb, image::ImageFormat::Png);
        let p = prepare(&png, 32).unwrap();
        assert_eq!((p.w, p.h, p.filter), (32, 20, "FlateDecode"));
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&p.data[..]), &mut raw).unwrap();
        assert_eq!(raw.len(), 32 * 20 * 3);
        assert!(prepare(b"not an image", 900).is_none());
    }
}
