//! `xiezhi demo`: prints what `xiezhi_engine::demo` does — the main job end to end on a
//! bundled site served on 127.0.0.1, judged against the site's ground truth.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use xiezhi_engine::demo::{DemoReporter, Truth, FOUND_AT};
use xiezhi_store::MatchRecord;

use crate::output::{match_json, print_json, print_match_table};
use crate::progress::Bars;

/// Prints the steps for people; silent under `--json`.
struct Printer {
    json: bool,
}

impl DemoReporter for Printer {
    fn step(&self, line: &str) {
        if !self.json {
            println!("{line}");
        }
    }

    fn ranked(&self, matches: &[MatchRecord], truth: &Truth) {
        if self.json {
            return;
        }
        println!("\nRanked matches (score ≥ {FOUND_AT}):");
        print_match_table(
            &matches
                .iter()
                .filter(|m| m.score >= FOUND_AT)
                .cloned()
                .collect::<Vec<_>>(),
        );
        println!(
            "\nPlanted copies found: {}/{}; lowest planted score {:.3}; highest unrelated score {:.3}; planted copies ranked above unrelated images: {}",
            truth.found,
            truth.planted,
            truth.lowest_planted,
            truth.highest_unrelated,
            if truth.ranked_above { "yes" } else { "NO" }
        );
        for miss in &truth.missed {
            println!("missed: {miss}");
        }
    }
}

pub fn run(out: Option<PathBuf>, json: bool, bars: &Bars) -> anyhow::Result<ExitCode> {
    let out = match out {
        Some(o) => o,
        None => std::env::temp_dir().join(format!("xiezhi-demo-{}", chrono_stamp())),
    };
    let d = xiezhi_engine::demo::run(&out, bars, &Printer { json })
        .with_context(|| format!("demo in {} failed", out.display()))?;
    if json {
        print_json(&json!({
            "ok": d.ok,
            "out": d.out,
            "case": d.case_dir,
            "references": d.references_dir,
            "site": d.site,
            "crawl": d.crawl,
            "scan": d.scan,
            "planted": d.truth.planted,
            "found": d.truth.found,
            "ranked_above_unrelated": d.truth.ranked_above,
            "missed": d.truth.missed,
            "matches": d.matches.iter().map(match_json).collect::<Vec<_>>(),
            "export": d.export,
            "verify": d.verify,
            "custody_intact": d.custody.ok,
            "tsa_ca": d.tsa_ca,
        }))?;
    } else {
        println!(
            "\nBundle:     {} ({} exhibits, sha256 {})",
            d.export.path, d.export.exhibits, d.export.bundle_sha256
        );
        for c in &d.verify.checks {
            println!("  {}  {:<28} {}", if c.ok { "PASS" } else { "FAIL" }, c.name, c.detail);
        }
        println!(
            "Verify:     {}",
            if d.verify.ok { "VERIFIED" } else { "VERIFICATION FAILED" }
        );
        println!(
            "Custody:    {} entries, chain {}",
            d.custody.entries,
            if d.custody.ok { "intact" } else { "BROKEN" }
        );
        println!("\nEverything is in {}:", d.out.display());
        println!("  case/        the case (case.db, blobs/, warc/, index/)");
        println!("  references/  the client's reference images");
        println!("  bundle.zip   the evidence bundle (report.pdf, manifest.json, SHA256SUMS, timestamp/, custody.jsonl, capture/)");
        println!("  tsa/ca.crt   the local test TSA's root: openssl ts -verify -data manifest.json -in timestamp/manifest.tsr -CAfile {}", d.tsa_ca.display());
        println!(
            "\nTry: xiezhi matches {} | xiezhi search {} 火箭 | xiezhi verify {}",
            d.case_dir.display(),
            d.case_dir.display(),
            d.bundle.display()
        );
        println!("\nDemo {}", if d.ok { "succeeded." } else { "FAILED." });
    }
    Ok(if d.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn chrono_stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{now}")
}
