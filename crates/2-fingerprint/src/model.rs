//! EfficientNet-Lite0 (ImageNet) as an image embedder, on candle tensors for the
//! 1x1 convolutions (matrix products) and plain Rust for the rest.
//!
//! Why not candle's conv2d for everything: its grouped convolution runs one
//! convolution per group, so the depthwise layers (up to 1152 groups) dominate the
//! run time; an NHWC loop over contiguous channels is both simpler and faster.
//!
//! Preprocessing (documented because it is part of the fingerprint's meaning):
//! the whole image is resized (aspect ratio not kept, nothing cropped) to 224x224
//! with a triangle (bilinear, area-aware when shrinking) filter, then each RGB
//! value x becomes (x - 127) / 128, as in the TensorFlow Lite models.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use image::RgbImage;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::{Embedder, FingerprintError};

/// The converted ImageNet weights, built into the binary so the tool runs offline.
static EMBEDDED_WEIGHTS: &[u8] = include_bytes!("../../../models/efficientnet-lite0.safetensors");

pub const INPUT_SIZE: u32 = 224;
/// Per image: pooled 1280-d features (not normalised) and 1000 ImageNet logits.
pub type FeaturesAndLogits = (Vec<Vec<f32>>, Vec<Vec<f32>>);
pub const EMBEDDING_DIM: usize = 1280;
pub const NUM_CLASSES: usize = 1000;
const BN_EPS: f32 = 1e-3;
/// (kernel, stride, expand ratio, output channels, repeats) per stage.
const STAGES: [(usize, usize, usize, usize, usize); 7] = [
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
];

/// Activations in NHWC order so the channel loop is contiguous.
struct Act {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    data: Vec<f32>,
}

/// 1x1 convolution with BatchNorm folded in: weight laid out [cin, cout].
struct Pointwise {
    w: Tensor,
    b: Vec<f32>,
    cin: usize,
    cout: usize,
}

/// Depthwise k x k convolution with BatchNorm folded in: weight laid out [k*k, c].
struct Depthwise {
    w: Vec<f32>,
    b: Vec<f32>,
    k: usize,
    stride: usize,
}

struct Block {
    expand: Option<Pointwise>,
    dw: Depthwise,
    project: Pointwise,
    skip: bool,
}

/// EfficientNet-Lite0 ImageNet classifier used as a 1280-d embedder (global
/// average pool of the last ReLU6 feature map).
pub struct EfficientNetLite0 {
    stem_w: Tensor,
    stem_b: Vec<f32>,
    blocks: Vec<Block>,
    head: Pointwise,
    fc_w: Tensor,
    fc_b: Vec<f32>,
    weights_sha256: String,
}

struct Weights(HashMap<String, Tensor>);

impl Weights {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, FingerprintError> {
        let t = self
            .0
            .get(name)
            .ok_or_else(|| FingerprintError::Weights(format!("missing tensor {name}")))?;
        if t.dims() != shape {
            return Err(FingerprintError::Weights(format!(
                "{name}: shape {:?}, expected {shape:?}",
                t.dims()
            )));
        }
        Ok(t.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
    }

    /// BatchNorm as a per-channel (scale, shift) to fold into the preceding conv.
    fn bn(&self, prefix: &str, c: usize) -> Result<(Vec<f32>, Vec<f32>), FingerprintError> {
        let g = self.get(&format!("{prefix}.weight"), &[c])?;
        let b = self.get(&format!("{prefix}.bias"), &[c])?;
        let m = self.get(&format!("{prefix}.running_mean"), &[c])?;
        let v = self.get(&format!("{prefix}.running_var"), &[c])?;
        let scale: Vec<f32> = g.iter().zip(&v).map(|(g, v)| g / (v + BN_EPS).sqrt()).collect();
        let shift = b.iter().zip(&m).zip(&scale).map(|((b, m), s)| b - m * s).collect();
        Ok((scale, shift))
    }

    fn pointwise(&self, conv: &str, bn: &str, cin: usize, cout: usize) -> Result<Pointwise, FingerprintError> {
        let w = self.get(conv, &[cout, cin, 1, 1])?;
        let (scale, shift) = self.bn(bn, cout)?;
        let mut wt = vec![0f32; cin * cout];
        for co in 0..cout {
            for ci in 0..cin {
                wt[ci * cout + co] = w[co * cin + ci] * scale[co];
            }
        }
        Ok(Pointwise {
            w: Tensor::from_vec(wt, (cin, cout), &Device::Cpu)?,
            b: shift,
            cin,
            cout,
        })
    }
}

impl EfficientNetLite0 {
    /// The model built into the binary.
    pub fn embedded() -> Result<Self, FingerprintError> {
        Self::from_safetensors(EMBEDDED_WEIGHTS)
    }

    /// Loads weights from a safetensors file (same layout as the embedded one).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, FingerprintError> {
        let bytes = std::fs::read(path)?;
        Self::from_safetensors(&bytes)
    }

    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, FingerprintError> {
        let weights_sha256 = hex::encode(Sha256::digest(bytes));
        let map = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| FingerprintError::Weights(e.to_string()))?;
        let w = Weights(map);

        let stem = w.get("_conv_stem.weight", &[32, 3, 3, 3])?;
        let (scale, stem_b) = w.bn("_bn0", 32)?;
        // im2col column order is (ky, kx, ci).
        let mut stem_w = vec![0f32; 27 * 32];
        for co in 0..32 {
            for ci in 0..3 {
                for ky in 0..3 {
                    for kx in 0..3 {
                        stem_w[((ky * 3 + kx) * 3 + ci) * 32 + co] =
                            stem[((co * 3 + ci) * 3 + ky) * 3 + kx] * scale[co];
                    }
                }
            }
        }

        let mut blocks = Vec::new();
        let mut cin = 32;
        for &(k, stride, ratio, cout, repeats) in &STAGES {
            for r in 0..repeats {
                let idx = blocks.len();
                let p = format!("_blocks.{idx}");
                let s = if r == 0 { stride } else { 1 };
                let mid = cin * ratio;
                let expand = if ratio != 1 {
                    Some(w.pointwise(&format!("{p}._expand_conv.weight"), &format!("{p}._bn0"), cin, mid)?)
                } else {
                    None
                };
                let dww = w.get(&format!("{p}._depthwise_conv.weight"), &[mid, 1, k, k])?;
                let (scale, shift) = w.bn(&format!("{p}._bn1"), mid)?;
                let mut dw = vec![0f32; k * k * mid];
                for c in 0..mid {
                    for t in 0..k * k {
                        dw[t * mid + c] = dww[c * k * k + t] * scale[c];
                    }
                }
                let project = w.pointwise(&format!("{p}._project_conv.weight"), &format!("{p}._bn2"), mid, cout)?;
                blocks.push(Block {
                    expand,
                    dw: Depthwise {
                        w: dw,
                        b: shift,
                        k,
                        stride: s,
                    },
                    project,
                    skip: s == 1 && cin == cout,
                });
                cin = cout;
            }
        }
        let head = w.pointwise("_conv_head.weight", "_bn1", 320, EMBEDDING_DIM)?;
        let fc = w.get("_fc.weight", &[NUM_CLASSES, EMBEDDING_DIM])?;
        let fc_b = w.get("_fc.bias", &[NUM_CLASSES])?;
        let fc_w = Tensor::from_vec(fc, (NUM_CLASSES, EMBEDDING_DIM), &Device::Cpu)?
            .t()?
            .contiguous()?;
        Ok(EfficientNetLite0 {
            stem_w: Tensor::from_vec(stem_w, (27, 32), &Device::Cpu)?,
            stem_b,
            blocks,
            head,
            fc_w,
            fc_b,
            weights_sha256,
        })
    }

    /// Un-normalised 1280-d pooled features of already-preprocessed NHWC input
    /// (n x 224 x 224 x 3, values (x-127)/128).
    fn features_nhwc(&self, n: usize, input: &[f32]) -> Result<Vec<Vec<f32>>, FingerprintError> {
        let s = INPUT_SIZE as usize;
        if input.len() != n * s * s * 3 {
            return Err(FingerprintError::Inference(format!(
                "input has {} values, expected {}",
                input.len(),
                n * s * s * 3
            )));
        }
        let x = Act {
            n,
            h: s,
            w: s,
            c: 3,
            data: input.to_vec(),
        };
        let mut x = self.stem(&x)?;
        for b in &self.blocks {
            let input = if b.skip { Some(x.data.clone()) } else { None };
            let mut y = match &b.expand {
                Some(e) => pointwise(x, e, true)?,
                None => x,
            };
            y = depthwise(&y, &b.dw);
            y = pointwise(y, &b.project, false)?;
            if let Some(inp) = input {
                for (o, i) in y.data.iter_mut().zip(&inp) {
                    *o += i;
                }
            }
            x = y;
        }
        let x = pointwise(x, &self.head, true)?;
        let hw = x.h * x.w;
        let mut out = Vec::with_capacity(n);
        for img in x.data.chunks_exact(hw * x.c) {
            let mut f = vec![0f32; x.c];
            for px in img.chunks_exact(x.c) {
                for (a, v) in f.iter_mut().zip(px) {
                    *a += v;
                }
            }
            f.iter_mut().for_each(|a| *a /= hw as f32);
            out.push(f);
        }
        Ok(out)
    }

    /// 3x3 stride-2 stem as im2col + one matrix product.
    fn stem(&self, x: &Act) -> Result<Act, FingerprintError> {
        let (oh, pt) = same_pad(x.h, 3, 2);
        let (ow, pl) = same_pad(x.w, 3, 2);
        let mut cols = vec![0f32; x.n * oh * ow * 27];
        for b in 0..x.n {
            for oy in 0..oh {
                for ox in 0..ow {
                    let row = &mut cols[((b * oh + oy) * ow + ox) * 27..][..27];
                    for ky in 0..3 {
                        let iy = (oy * 2 + ky) as isize - pt as isize;
                        if iy < 0 || iy >= x.h as isize {
                            continue;
                        }
                        for kx in 0..3 {
                            let ix = (ox * 2 + kx) as isize - pl as isize;
                            if ix < 0 || ix >= x.w as isize {
                                continue;
                            }
                            let src = ((b * x.h + iy as usize) * x.w + ix as usize) * 3;
                            row[(ky * 3 + kx) * 3..][..3].copy_from_slice(&x.data[src..src + 3]);
                        }
                    }
                }
            }
        }
        let m = x.n * oh * ow;
        let y = Tensor::from_vec(cols, (m, 27), &Device::Cpu)?.matmul(&self.stem_w)?;
        let mut data = y.flatten_all()?.to_vec1::<f32>()?;
        bias_act(&mut data, &self.stem_b, true);
        Ok(Act {
            n: x.n,
            h: oh,
            w: ow,
            c: 32,
            data,
        })
    }

    /// Pooled features and ImageNet logits (1000 classes) for each image.
    pub fn features_and_logits(&self, images: &[RgbImage]) -> Result<FeaturesAndLogits, FingerprintError> {
        let feats = self.features(images)?;
        let n = feats.len();
        if n == 0 {
            return Ok((feats, Vec::new()));
        }
        let flat: Vec<f32> = feats.iter().flatten().copied().collect();
        let l = Tensor::from_vec(flat, (n, EMBEDDING_DIM), &Device::Cpu)?.matmul(&self.fc_w)?;
        let mut logits = l.to_vec2::<f32>()?;
        for row in &mut logits {
            for (v, b) in row.iter_mut().zip(&self.fc_b) {
                *v += b;
            }
        }
        Ok((feats, logits))
    }

    /// Un-normalised pooled features (after preprocessing each image).
    pub fn features(&self, images: &[RgbImage]) -> Result<Vec<Vec<f32>>, FingerprintError> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        // One image per forward pass (measured on the 2-core target, batches of 8
        // were slower per image: their 112x112 activations do not stay in cache),
        // the images spread over the cores: the depthwise layers are plain loops
        // that would otherwise run on one core.
        let per_image: Vec<Vec<Vec<f32>>> = images
            .par_iter()
            .map(|img| {
                let mut input = Vec::with_capacity(224 * 224 * 3);
                preprocess_into(img, &mut input)?;
                self.features_nhwc(1, &input)
            })
            .collect::<Result<_, FingerprintError>>()?;
        Ok(per_image.into_iter().flatten().collect())
    }
}

/// The model's input size: 224x224 (triangle filter), the image itself when it
/// already has that size.
pub fn resize_for_model(img: &RgbImage) -> std::borrow::Cow<'_, RgbImage> {
    if img.dimensions() == (INPUT_SIZE, INPUT_SIZE) {
        std::borrow::Cow::Borrowed(img)
    } else {
        std::borrow::Cow::Owned(image::imageops::resize(
            img,
            INPUT_SIZE,
            INPUT_SIZE,
            image::imageops::FilterType::Triangle,
        ))
    }
}

/// Resizes to 224x224 (see [`resize_for_model`]) and appends (x-127)/128 in HWC order.
pub fn preprocess_into(img: &RgbImage, out: &mut Vec<f32>) -> Result<(), FingerprintError> {
    if img.width() == 0 || img.height() == 0 {
        return Err(FingerprintError::Empty);
    }
    let img = resize_for_model(img);
    out.extend(img.as_raw().iter().map(|&v| (v as f32 - 127.0) / 128.0));
    Ok(())
}

/// TensorFlow "same" padding: output ceil(in/s), extra padding on bottom/right.
fn same_pad(input: usize, k: usize, s: usize) -> (usize, usize) {
    let out = input.div_ceil(s);
    let total = ((out - 1) * s + k).saturating_sub(input);
    (out, total / 2)
}

fn bias_act(data: &mut [f32], bias: &[f32], relu6: bool) {
    for row in data.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
            if relu6 {
                *v = v.clamp(0.0, 6.0);
            }
        }
    }
}

fn pointwise(x: Act, p: &Pointwise, relu6: bool) -> Result<Act, FingerprintError> {
    debug_assert_eq!(x.c, p.cin);
    let m = x.n * x.h * x.w;
    let y = Tensor::from_vec(x.data, (m, p.cin), &Device::Cpu)?.matmul(&p.w)?;
    let mut data = y.flatten_all()?.to_vec1::<f32>()?;
    bias_act(&mut data, &p.b, relu6);
    Ok(Act {
        n: x.n,
        h: x.h,
        w: x.w,
        c: p.cout,
        data,
    })
}

/// Depthwise convolution + folded BN + ReLU6 over NHWC; the inner loop runs over
/// contiguous channels so it vectorises.
fn depthwise(x: &Act, d: &Depthwise) -> Act {
    let (k, s, c) = (d.k, d.stride, x.c);
    let (oh, pt) = same_pad(x.h, k, s);
    let (ow, pl) = same_pad(x.w, k, s);
    let mut out = vec![0f32; x.n * oh * ow * c];
    for b in 0..x.n {
        for oy in 0..oh {
            for ox in 0..ow {
                let o = &mut out[((b * oh + oy) * ow + ox) * c..][..c];
                o.copy_from_slice(&d.b);
                for ky in 0..k {
                    let iy = (oy * s + ky) as isize - pt as isize;
                    if iy < 0 || iy >= x.h as isize {
                        continue;
                    }
                    for kx in 0..k {
                        let ix = (ox * s + kx) as isize - pl as isize;
                        if ix < 0 || ix >= x.w as isize {
                            continue;
                        }
                        let src = ((b * x.h + iy as usize) * x.w + ix as usize) * c;
                        let inp = &x.data[src..src + c];
                        let wk = &d.w[(ky * k + kx) * c..][..c];
                        for ((o, i), w) in o.iter_mut().zip(inp).zip(wk) {
                            *o += i * w;
                        }
                    }
                }
                for v in o.iter_mut() {
                    *v = v.clamp(0.0, 6.0);
                }
            }
        }
    }
    Act {
        n: x.n,
        h: oh,
        w: ow,
        c,
        data: out,
    }
}

impl Embedder for EfficientNetLite0 {
    fn model_id(&self) -> &str {
        "efficientnet-lite0-imagenet/gap1280/tri224/v1"
    }

    fn weights_sha256(&self) -> &str {
        &self.weights_sha256
    }

    fn dim(&self) -> usize {
        EMBEDDING_DIM
    }

    fn embed(&self, images: &[RgbImage]) -> Result<Vec<Vec<f32>>, FingerprintError> {
        let mut out = self.features(images)?;
        for f in &mut out {
            l2_normalise(f);
        }
        Ok(out)
    }
}

/// Scales to unit length (left as is when all zero).
pub fn l2_normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}
