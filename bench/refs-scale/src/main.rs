//! `refs-scale`: makes a case with 100,000 references whose stored fingerprints are
//! real ones, for measuring `xiezhi scan`/`check` at that scale (bench/refs-scale/README.md).
//!
//! - `seed`: fingerprints real images once (the full pipeline: Lite0 embedding and
//!   windows, PDQ ×8, keypoints) and writes them to a seeds file.
//! - `populate`: adds N references to a case through the store's public API. Each is a
//!   tiny distinct PNG (the blob) whose stored fingerprint is a seed's, with its
//!   embeddings perturbed (seeded Gaussian noise, ReLU, renormalised), its PDQ hashes
//!   moved 64 bits away, and its SHA-256 / pixel SHA-256 its own, so every row is
//!   real-sized and distinct, and the scan reads them through its ordinary code path.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use xiezhi_fingerprint::{decode_stored, encode_stored, Fingerprint, Fingerprinter};
use xiezhi_store::Case;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fingerprint up to --limit images found under the folders into a seeds file.
    Seed {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 400)]
        limit: usize,
        dirs: Vec<PathBuf>,
    },
    /// Add --n synthetic references (fingerprints derived from the seeds) to a case.
    Populate {
        #[arg(long)]
        case: PathBuf,
        #[arg(long)]
        seeds: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        n: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Standard deviation of the noise, relative to 1/sqrt(dimension).
        #[arg(long, default_value_t = 0.5)]
        noise: f32,
        /// Leave out seeds made from the images under these folders (e.g. the demo's
        /// assets, which its crawl holds: copies of them would be found as matches).
        #[arg(long)]
        exclude: Vec<PathBuf>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Seed { out, limit, dirs } => seed(&out, limit, &dirs),
        Cmd::Populate {
            case,
            seeds,
            n,
            seed,
            noise,
            exclude,
        } => populate(&case, &seeds, n, seed, noise, &exclude),
    }
}

fn image_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(d)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| {
                let ext = p
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                matches!(ext.as_str(), "png" | "jpg" | "jpeg" | "webp" | "gif")
            })
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

fn seed(out: &Path, limit: usize, dirs: &[PathBuf]) -> Result<()> {
    let fp = Fingerprinter::new_default()?;
    let mut w = BufWriter::new(std::fs::File::create(out).with_context(|| out.display().to_string())?);
    let started = std::time::Instant::now();
    let mut done = 0;
    for path in image_files(dirs) {
        if done == limit {
            break;
        }
        let bytes = std::fs::read(&path)?;
        // Files the fingerprinter cannot read are skipped, as a scan would report them.
        let Ok(print) = fp.fingerprint(&bytes) else { continue };
        let data = encode_stored(&print)?;
        w.write_all(&(data.len() as u64).to_le_bytes())?;
        w.write_all(&data)?;
        done += 1;
    }
    w.flush()?;
    eprintln!(
        "{done} real fingerprints in {:.0} s -> {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

fn read_seeds(path: &Path) -> Result<Vec<Fingerprint>> {
    let mut r = BufReader::new(std::fs::File::open(path).with_context(|| path.display().to_string())?);
    let mut out = Vec::new();
    let mut len = [0u8; 8];
    while r.read_exact(&mut len).is_ok() {
        let mut data = vec![0u8; u64::from_le_bytes(len) as usize];
        r.read_exact(&mut data)?;
        out.push(decode_stored(&data)?.into_inner());
    }
    if out.is_empty() {
        bail!("no fingerprints in {}", path.display());
    }
    Ok(out)
}

/// Standard normal sample (Box–Muller).
fn gaussian(rng: &mut StdRng) -> f32 {
    let u1: f32 = rng.gen_range(f32::MIN_POSITIVE..1.0);
    let u2: f32 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Noise of `noise / sqrt(d)` per component, negative parts cut (Lite0 embeddings are
/// pooled ReLU outputs), then L2-normalised again.
fn perturb(v: &mut [f32], noise: f32, rng: &mut StdRng) {
    let sigma = noise / (v.len().max(1) as f32).sqrt();
    for x in v.iter_mut() {
        *x = (*x + sigma * gaussian(rng)).max(0.0);
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The PDQ hash with 64 of its 256 bits flipped at random (a different image's hash,
/// out of the shortlist's PDQ distance of the seed and of the other copies).
fn move_pdq(hex_hash: &str, rng: &mut StdRng) -> String {
    let Ok(mut bits) = hex::decode(hex_hash) else {
        return hex_hash.to_string();
    };
    for i in rand::seq::index::sample(rng, bits.len() * 8, 64) {
        bits[i / 8] ^= 1 << (i % 8);
    }
    hex::encode(bits)
}

/// A 4×4 PNG that only reference `i` has (the blob behind the reference).
fn tiny_png(i: usize, seed: u64) -> Result<Vec<u8>> {
    let tag: Vec<u8> = Sha256::digest(format!("refs-scale {seed} {i}")).to_vec();
    let img = image::RgbImage::from_fn(4, 4, |x, y| {
        let k = ((y * 4 + x) as usize * 2) % tag.len();
        image::Rgb([tag[k], tag[k + 1], (i % 251) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

fn populate(case_dir: &Path, seeds: &Path, n: usize, seed: u64, noise: f32, exclude: &[PathBuf]) -> Result<()> {
    let excluded = image_files(exclude)
        .into_iter()
        .map(|p| Ok(hex::encode(Sha256::digest(std::fs::read(p)?))))
        .collect::<Result<std::collections::HashSet<String>>>()?;
    let mut seeds = read_seeds(seeds)?;
    seeds.retain(|s| !excluded.contains(&s.sha256));
    if seeds.is_empty() {
        bail!("every seed is excluded");
    }
    eprintln!("{} seed fingerprints", seeds.len());
    let mut case = if case_dir.join("case.db").is_file() {
        Case::open(case_dir)?
    } else {
        Case::init(case_dir, "refs-scale benchmark")?
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let started = std::time::Instant::now();
    for i in 0..n {
        let base = &seeds[i % seeds.len()];
        let png = tiny_png(i, seed)?;
        let path = format!("/synthetic/refs-scale/{seed}/{i:06}.png");
        let added = case.add_reference(&path, &png, Some("image/png"))?;
        let mut f = base.clone();
        f.sha256 = added.reference.sha256.clone();
        f.pixel_sha256 = hex::encode(Sha256::digest(format!("refs-scale pixels {seed} {i}")));
        f.pdq = move_pdq(&f.pdq, &mut rng);
        f.pdq_variants = f.pdq_variants.iter().map(|h| move_pdq(h, &mut rng)).collect();
        perturb(&mut f.embedding, noise, &mut rng);
        for r in f.regions.iter_mut() {
            perturb(&mut r.embedding, noise, &mut rng);
        }
        case.put_fingerprint(&f.sha256, &f.model_id, Ok(&encode_stored(&f)?))?;
        if (i + 1) % 5000 == 0 {
            eprintln!("{} references, {:.0} s", i + 1, started.elapsed().as_secs_f64());
        }
    }
    eprintln!("{n} references added in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
