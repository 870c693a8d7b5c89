mod common;

use common::{data, fixture};
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

#[test]
fn matches_independent_pytorch_implementation() {
    let model = EfficientNetLite0::embedded().expect("model");
    let fx = fixture("lite0_expected.json");
    for case in fx.as_array().expect("array") {
        let file = case["file"].as_str().expect("file");
        let c: Vec<u32> = case["crop"]
            .as_array()
            .expect("crop")
            .iter()
            .map(|v| v.as_u64().expect("u64") as u32)
            .collect();
        let crop = imageops::crop_imm(&rgb(file), c[0], c[1], c[2], c[3]).to_image();
        let (feats, logits) = model.features_and_logits(&[crop]).expect("forward");
        let want: Vec<f32> = case["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|v| v.as_f64().expect("f64") as f32)
            .collect();
        let cos = cosine(&feats[0], &want);
        let max_abs = feats[0]
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        println!("{file}: cosine {cos:.7}, max |diff| {max_abs:.2e}");
        assert!(cos >= 0.9999, "{file}: cosine {cos}");
        let top1 = case["top5"][0].as_u64().expect("top1") as usize;
        assert_eq!(argmax(&logits[0]), top1, "{file}");
    }
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
