//! Where the fast path's time goes, and its throughput on all cores.
//!
//! ```text
//! cargo run --release -p xiezhi-fingerprint --example speed -- DIR_OR_FILES... [--limit N]
//! ```
//! Prints, per stage, the mean milliseconds per image measured one image at a time
//! (decode, RGB on grey, PDQ, resize to 224, network), then images/s of
//! [`Fingerprinter::quick`] with the images spread over the rayon pool, and the
//! same for the full [`Fingerprinter::fingerprint`] on a smaller share.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use xiezhi_fingerprint::{decode, pdq, to_rgb_on_grey, Fingerprinter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut limit = 200usize;
    let mut full_limit = 20usize;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--limit" => limit = args.next().ok_or("--limit N")?.parse()?,
            "--full" => full_limit = args.next().ok_or("--full N")?.parse()?,
            _ => {
                let p = PathBuf::from(a);
                if p.is_dir() {
                    let mut v: Vec<PathBuf> = std::fs::read_dir(&p)?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .collect();
                    v.sort();
                    paths.extend(v);
                } else {
                    paths.push(p);
                }
            }
        }
    }
    paths.truncate(limit);
    let files: Vec<Vec<u8>> = paths.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let fp = Fingerprinter::new_default()?;
    let model = fp.embedder();

    let mut t = [Duration::ZERO; 5];
    let mut pixels = 0u64;
    for bytes in &files {
        let s = Instant::now();
        let Ok(d) = decode(bytes, fp.limits()) else { continue };
        t[0] += s.elapsed();
        pixels += u64::from(d.image.width()) * u64::from(d.image.height());
        let s = Instant::now();
        let rgb = to_rgb_on_grey(&d.image);
        t[1] += s.elapsed();
        let s = Instant::now();
        let _ = pdq::pdq(&rgb);
        t[2] += s.elapsed();
        let s = Instant::now();
        let small = xiezhi_fingerprint::resize_for_model(&rgb);
        t[3] += s.elapsed();
        let s = Instant::now();
        model.embed(std::slice::from_ref(&small))?;
        t[4] += s.elapsed();
    }
    let n = files.len().max(1) as f64;
    println!("{} images, mean {:.2} Mpixel", files.len(), pixels as f64 / n / 1e6);
    for (name, d) in ["decode", "rgb on grey", "pdq", "resize 224", "network"].iter().zip(t) {
        println!("  {name:<12} {:7.2} ms/image (one thread)", d.as_secs_f64() * 1e3 / n);
    }
    let s = Instant::now();
    let failed = files.par_iter().filter(|b| fp.quick(b).is_err()).count();
    let secs = s.elapsed().as_secs_f64();
    println!(
        "quick: {:.1} images/s on {} threads ({failed} failed)",
        files.len() as f64 / secs,
        rayon::current_num_threads()
    );
    let full = &files[..files.len().min(full_limit)];
    let s = Instant::now();
    let failed = full.iter().filter(|b| fp.fingerprint(b).is_err()).count();
    let secs = s.elapsed().as_secs_f64();
    println!(
        "full fingerprint: {:.2} images/s, one image at a time ({failed} failed)",
        full.len() as f64 / secs
    );
    Ok(())
}
