//! The overlay exhibit: the candidate with the reference drawn onto it where the match
//! places it, half transparent, with the reference's outline — so a reader sees at a
//! glance which part of the candidate is the client's picture.
//!
//! Exact when local features verified a similarity transform (`local_transform`, from
//! reference to candidate pixels, applied after mirroring when `local_mirrored`); an
//! approximation (labelled as such, dashed outline) when a search of the thumbnails placed
//! it (`searched_pixels`) or only an embedding region locates the reference; none, with
//! the reason, otherwise.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, Rgba, RgbaImage};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{Exhibit, ExhibitFile};

/// Region kinds as the match stage names them.
const KIND_PASTE: &str = "reference inside candidate";
const KIND_CROP: &str = "candidate is part of the reference";
/// A placement found by search (the match stage's `searched_pixels`) is drawn when its
/// grey levels correlate at least this much (where the match stage's pixel agreement
/// starts to count).
const SEARCHED_MIN_CORRELATION: f64 = 0.6;
/// Canvas size cap (longest side); larger candidates are scaled down first.
const MAX_SIDE: u32 = 2048;
/// Outline colour: saturated magenta stands out on photos and line art alike.
const OUTLINE: [u8; 3] = [230, 0, 160];

/// What the exhibit gets: the picture (if any), whether it is approximate, and one
/// sentence on how it was made or why there is none.
#[derive(Clone, Debug)]
pub struct OverlayOutcome {
    pub file: Option<ExhibitFile>,
    pub approximate: bool,
    pub note: String,
}

/// Where the reference goes in the candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Placement {
    /// candidate = z·(mirrored) reference + t, z = a + ib.
    Similarity {
        a: f32,
        b: f32,
        tx: f32,
        ty: f32,
        mirrored: bool,
    },
    /// The reference's window `src` [x, y, w, h] stretched onto the candidate's `dst`.
    Box { src: [f32; 4], dst: [f32; 4] },
}

fn decode(bytes: &[u8]) -> Option<DynamicImage> {
    let mut dec = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_decoder()
        .ok()?;
    let orientation = dec.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(dec).ok()?;
    // The match stage measured positions on the EXIF-oriented picture.
    img.apply_orientation(orientation);
    Some(img)
}

fn four(v: &Value) -> Option<[f32; 4]> {
    let a = v.as_array()?;
    if a.len() != 4 {
        return None;
    }
    let mut out = [0f32; 4];
    for (o, x) in out.iter_mut().zip(a) {
        *o = x.as_f64()? as f32;
    }
    out.iter().all(|x| x.is_finite()).then_some(out)
}

/// The placement the signals support, whether it is approximate, and how it was found.
fn placement(s: &Value, rw: f32, rh: f32, cw: f32, ch: f32) -> Result<(Placement, bool, &'static str), &'static str> {
    if let Some([a, b, tx, ty]) = four(&s["local_transform"]) {
        if a.hypot(b) > 1e-6 {
            let mirrored = s["local_mirrored"].as_bool().unwrap_or(false);
            let how = "exact: the similarity transform verified by the matched local features";
            return Ok((Placement::Similarity { a, b, tx, ty, mirrored }, false, how));
        }
    }
    let same = s["exact_bytes"].as_bool() == Some(true) || s["exact_pixels"].as_bool() == Some(true);
    if same {
        let how = "exact: identical pixels, the reference covers the whole candidate";
        let p = Placement::Box {
            src: [0.0, 0.0, rw, rh],
            dst: [0.0, 0.0, cw, ch],
        };
        return Ok((p, false, how));
    }
    // Found by a search of scale and shift of the thumbnails: placed to the thumbnail's
    // resolution (a few pixels), and only when the pixels agreed there at all.
    let searched = &s["searched_pixels"];
    let agreed = searched["correlation"]
        .as_f64()
        .is_some_and(|c| c >= SEARCHED_MIN_CORRELATION);
    if let (true, Some([a, b, tx, ty])) = (agreed, four(&searched["transform"])) {
        if a.hypot(b) > 1e-6 {
            let how = "APPROXIMATE (to the thumbnails' resolution): no geometric transform was verified by local features; the reference is placed where a search of scale and shift found its grey levels in the candidate";
            let p = Placement::Similarity {
                a,
                b,
                tx,
                ty,
                mirrored: false,
            };
            return Ok((p, true, how));
        }
    }
    let kind = s["region_kind"].as_str().unwrap_or("");
    if let Some(bx) = four(&s["region_box"]).filter(|b| b[2] > 0.0 && b[3] > 0.0) {
        if kind == KIND_PASTE {
            let how = "APPROXIMATE: no geometric transform was verified; the whole reference is scaled into the candidate window where the region embeddings matched best";
            let p = Placement::Box {
                src: [0.0, 0.0, rw, rh],
                dst: bx,
            };
            return Ok((p, true, how));
        }
        if kind == KIND_CROP {
            let how = "APPROXIMATE: no geometric transform was verified; the reference window that matched the candidate best is stretched over the whole candidate";
            let p = Placement::Box {
                src: bx,
                dst: [0.0, 0.0, cw, ch],
            };
            return Ok((p, true, how));
        }
    }
    Err("no overlay: no geometric transform was verified (too few agreeing local features) and no matched region locates the reference in the candidate")
}

/// Bilinear sample of `img` at continuous (x, y) (pixel i spans [i, i+1)); None outside.
fn sample(img: &RgbaImage, x: f32, y: f32) -> Option<[f32; 4]> {
    let (w, h) = img.dimensions();
    if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
        return None;
    }
    let (fx, fy) = ((x - 0.5).max(0.0), (y - 0.5).max(0.0));
    let (x0, y0) = (fx.floor() as u32, fy.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (dx, dy) = (fx - x0 as f32, fy - y0 as f32);
    let mut out = [0f32; 4];
    for (px, py, wgt) in [
        (x0, y0, (1.0 - dx) * (1.0 - dy)),
        (x1, y0, dx * (1.0 - dy)),
        (x0, y1, (1.0 - dx) * dy),
        (x1, y1, dx * dy),
    ] {
        let p = img.get_pixel(px, py).0;
        for c in 0..4 {
            out[c] += p[c] as f32 * wgt;
        }
    }
    Some(out)
}

impl Placement {
    /// Candidate point → reference point (inverse of the placement).
    fn reference_point(&self, x: f32, y: f32, rw: f32) -> (f32, f32) {
        match *self {
            Placement::Similarity { a, b, tx, ty, mirrored } => {
                let (u, v) = (x - tx, y - ty);
                let n = a * a + b * b;
                let (rx, ry) = ((a * u + b * v) / n, (-b * u + a * v) / n);
                (if mirrored { rw - rx } else { rx }, ry)
            }
            Placement::Box { src, dst } => (
                src[0] + (x - dst[0]) * src[2] / dst[2],
                src[1] + (y - dst[1]) * src[3] / dst[3],
            ),
        }
    }

    /// Reference point → candidate point.
    fn candidate_point(&self, x: f32, y: f32, rw: f32) -> (f32, f32) {
        match *self {
            Placement::Similarity { a, b, tx, ty, mirrored } => {
                let x = if mirrored { rw - x } else { x };
                (a * x - b * y + tx, b * x + a * y + ty)
            }
            Placement::Box { src, dst } => (
                dst[0] + (x - src[0]) * dst[2] / src[2],
                dst[1] + (y - src[1]) * dst[3] / src[3],
            ),
        }
    }

    fn scaled(self, k: f32) -> Placement {
        match self {
            Placement::Similarity { a, b, tx, ty, mirrored } => Placement::Similarity {
                a: a * k,
                b: b * k,
                tx: tx * k,
                ty: ty * k,
                mirrored,
            },
            Placement::Box { src, dst } => Placement::Box {
                src,
                dst: dst.map(|v| v * k),
            },
        }
    }
}

/// A thick line; every `dash` pixels on, `dash` off when dashed.
fn line(img: &mut RgbaImage, (x0, y0): (f32, f32), (x1, y1): (f32, f32), thick: i32, dash: Option<u32>) {
    let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as u32;
    let (w, h) = (img.width() as i32, img.height() as i32);
    for i in 0..=steps {
        if dash.is_some_and(|d| (i / d) % 2 == 1) {
            continue;
        }
        let t = i as f32 / steps as f32;
        let (cx, cy) = ((x0 + (x1 - x0) * t) as i32, (y0 + (y1 - y0) * t) as i32);
        for py in cy - thick / 2..=cy + thick / 2 {
            for px in cx - thick / 2..=cx + thick / 2 {
                if px >= 0 && py >= 0 && px < w && py < h {
                    img.put_pixel(px as u32, py as u32, Rgba([OUTLINE[0], OUTLINE[1], OUTLINE[2], 255]));
                }
            }
        }
    }
}

/// Candidate (flattened on white) with the placed reference blended in at half opacity
/// and its outline drawn.
fn draw(reference: &RgbaImage, candidate: &RgbaImage, p: Placement, approximate: bool) -> RgbaImage {
    let (rw, rh) = (reference.width() as f32, reference.height() as f32);
    let (cw, ch) = candidate.dimensions();
    let mut out = RgbaImage::new(cw, ch);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let c = candidate.get_pixel(x, y).0;
        let a = c[3] as f32 / 255.0;
        let mut rgb = [0f32; 3];
        for k in 0..3 {
            rgb[k] = c[k] as f32 * a + 255.0 * (1.0 - a);
        }
        let (rx, ry) = p.reference_point(x as f32 + 0.5, y as f32 + 0.5, rw);
        if let Some(r) = sample(reference, rx, ry) {
            // Half opacity, scaled by the reference's own alpha (sprites keep their shape).
            let ra = 0.5 * r[3] / 255.0;
            for k in 0..3 {
                rgb[k] = rgb[k] * (1.0 - ra) + r[k] * ra;
            }
        }
        *px = Rgba([rgb[0] as u8, rgb[1] as u8, rgb[2] as u8, 255]);
    }
    let corners = [(0.0, 0.0), (rw, 0.0), (rw, rh), (0.0, rh)];
    let corners = match p {
        Placement::Box { src, .. } => [
            (src[0], src[1]),
            (src[0] + src[2], src[1]),
            (src[0] + src[2], src[1] + src[3]),
            (src[0], src[1] + src[3]),
        ],
        _ => corners,
    };
    let pts: Vec<(f32, f32)> = corners.iter().map(|&(x, y)| p.candidate_point(x, y, rw)).collect();
    let thick = ((cw.max(ch) as f32 / 250.0).round() as i32).clamp(2, 8);
    let dash = approximate.then_some((thick as u32) * 4);
    for i in 0..4 {
        line(&mut out, pts[i], pts[(i + 1) % 4], thick, dash);
    }
    out
}

fn png(img: &RgbaImage) -> Option<Vec<u8>> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let rgb = DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let mut out = Vec::new();
    let enc = PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive);
    rgb.write_with_encoder(enc).ok()?;
    Some(out)
}

/// The overlay for one exhibit (a supplied one is kept as it is).
pub fn overlay_for(e: &Exhibit) -> OverlayOutcome {
    if let Some(f) = &e.overlay {
        return OverlayOutcome {
            file: Some(f.clone()),
            approximate: false,
            note: "supplied with the case".into(),
        };
    }
    let none = |why: &str| OverlayOutcome {
        file: None,
        approximate: false,
        note: why.to_string(),
    };
    let (Some(r), Some(c)) = (decode(&e.reference.bytes), decode(&e.candidate.bytes)) else {
        return none("no overlay: the reference or the candidate could not be decoded");
    };
    let (rw, rh, cw, ch) = (r.width() as f32, r.height() as f32, c.width() as f32, c.height() as f32);
    let (p, approximate, how) = match placement(&e.signals, rw, rh, cw, ch) {
        Ok(found) => found,
        Err(why) => return none(why),
    };
    // Big candidates are drawn smaller; the placement scales with them.
    let k = (MAX_SIDE as f32 / cw.max(ch)).min(1.0);
    let (c, p) = if k < 1.0 {
        let small = c.thumbnail(MAX_SIDE, MAX_SIDE);
        let ratio = small.width() as f32 / cw;
        (small, p.scaled(ratio))
    } else {
        (c, p)
    };
    let img = draw(&r.to_rgba8(), &c.to_rgba8(), p, approximate);
    let Some(bytes) = png(&img) else {
        return none("no overlay: the picture could not be encoded");
    };
    OverlayOutcome {
        file: Some(ExhibitFile {
            original_name: format!(
                "overlay of {} on {} (drawn at export)",
                e.reference.original_name, e.candidate.original_name
            ),
            sha256: hex::encode(Sha256::digest(&bytes)),
            media_type: "image/png".into(),
            bytes,
        }),
        approximate,
        note: how.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_round_trips_and_mirrors() {
        let p = Placement::Similarity {
            a: 0.8,
            b: 0.3,
            tx: 40.0,
            ty: -7.0,
            mirrored: true,
        };
        for (x, y) in [(0.0, 0.0), (13.5, 2.0), (99.0, 51.0)] {
            let (cx, cy) = p.candidate_point(x, y, 100.0);
            let (rx, ry) = p.reference_point(cx, cy, 100.0);
            assert!((rx - x).abs() < 1e-3 && (ry - y).abs() < 1e-3, "{x},{y} -> {rx},{ry}");
        }
        let s = serde_json::json!({"local_transform": null, "region_kind": "shared part", "region_box": [1, 2, 3, 4]});
        assert!(placement(&s, 10.0, 10.0, 10.0, 10.0).is_err());
    }

    #[test]
    fn a_searched_placement_is_drawn_as_approximate_when_its_pixels_agreed() {
        let mut s = serde_json::json!({
            "local_transform": null, "region_kind": "shared part", "region_box": [1, 2, 3, 4],
            "searched_pixels": {"transform": [0.5, 0.0, 12.0, 3.0], "bbox": [12, 3, 5, 5], "correlation": 0.97,
                                "detail_correlation": null, "compared": 400},
        });
        let (p, approximate, how) = placement(&s, 10.0, 10.0, 40.0, 40.0).expect("placed");
        assert!(approximate && how.contains("search of scale and shift"), "{how}");
        assert_eq!(
            p,
            Placement::Similarity {
                a: 0.5,
                b: 0.0,
                tx: 12.0,
                ty: 3.0,
                mirrored: false
            }
        );
        s["searched_pixels"]["correlation"] = serde_json::json!(0.3);
        assert!(placement(&s, 10.0, 10.0, 40.0, 40.0).is_err());
    }

    #[test]
    fn reference_lands_where_the_transform_says() {
        // Reference: 40×20 solid blue; candidate: 200×100 white. Placed at scale 2 from (50, 30).
        let r = RgbaImage::from_pixel(40, 20, Rgba([0, 0, 255, 255]));
        let c = RgbaImage::from_pixel(200, 100, Rgba([255, 255, 255, 255]));
        let p = Placement::Similarity {
            a: 2.0,
            b: 0.0,
            tx: 50.0,
            ty: 30.0,
            mirrored: false,
        };
        let out = draw(&r, &c, p, false);
        let inside = out.get_pixel(90, 50).0;
        assert!(
            inside[2] > 250 && inside[0] > 120 && inside[0] < 135,
            "half blue: {inside:?}"
        );
        assert_eq!(out.get_pixel(20, 10).0, [255, 255, 255, 255], "outside untouched");
        assert_eq!(out.get_pixel(50, 50).0[..3], OUTLINE, "outline on the left edge");
        assert_eq!(
            out.get_pixel(129, 50).0[..3],
            OUTLINE,
            "outline on the right edge (50 + 2·40)"
        );
    }
}
