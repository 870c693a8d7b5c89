//! `xiezhi demo`: the main job end to end on a bundled site served on 127.0.0.1 —
//! references in, crawl, scan, ranked matches, review, export with an RFC 3161
//! timestamp from a local test authority, offline verification.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::json;
use xiezhi_engine::crawl::CrawlOptions;
use xiezhi_engine::Scope;
use xiezhi_store::{Case, Decision, MatchRecord};

use crate::commands::{export_options, fingerprinter, runtime};
use crate::output::{match_json, print_json, print_match_table};
use crate::progress::Bars;

/// Score from which a demo match counts as "found".
const FOUND_AT: f64 = 0.5;

fn file_name(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

pub fn run(out: Option<PathBuf>, json: bool, bars: &Bars) -> anyhow::Result<ExitCode> {
    let out = match out {
        Some(o) => o,
        None => std::env::temp_dir().join(format!("xiezhi-demo-{}", chrono_stamp())),
    };
    if out.join("case").exists() {
        bail!("{} already holds a demo case; choose another --out", out.display());
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let say = |s: &str| {
        if !json {
            println!("{s}");
        }
    };
    let rt = runtime()?;
    let site = rt
        .block_on(xiezhi_demo::DemoSite::start())
        .context("cannot start the demo site on 127.0.0.1")?;
    let tsa = rt
        .block_on(xiezhi_local_tsa::LocalTsa::start(&out.join("tsa")))
        .context("cannot start the local test timestamp authority (is `openssl` installed?)")?;
    say(&format!("Demo site:  {}", site.base_url()));
    say(&format!(
        "Local TSA:  {} (a local TEST authority, not a trusted one)",
        tsa.url()
    ));

    let refs_dir = out.join("references");
    let ref_files = xiezhi_demo::write_references(&refs_dir).context("cannot write the demo references")?;
    let case_dir = out.join("case");
    let mut case = Case::init(&case_dir, "Demo: Xiezhi Studio v. copycat sites")?;
    let added = xiezhi_engine::refs::add_references(&mut case, &ref_files, bars)?;
    say(&format!(
        "References: {} files from {}",
        added.added.len(),
        refs_dir.display()
    ));

    let opts = CrawlOptions {
        seeds: vec![site.base_url()],
        max_pages: 100,
        max_depth: 5,
        scope: Scope::Host,
        // Our own server on loopback: no politeness delay needed.
        rate: 0.0,
        operator: Some("xiezhi demo".into()),
        ..CrawlOptions::default()
    };
    let crawl = rt.block_on(xiezhi_engine::crawl::crawl(&mut case, &opts, bars))?;
    say(&format!(
        "Crawl:      {} pages, {} images, {} HTTP exchanges in {}",
        crawl.pages,
        crawl.assets,
        crawl.exchanges,
        case.warc_dir().display()
    ));

    let fp = fingerprinter()?;
    let scan = xiezhi_engine::scan::scan(&mut case, &fp, bars)?;
    say(&format!(
        "Scan:       {} captured images against {} references",
        scan.candidates, scan.references
    ));

    let matches = case.matches(0.0)?;
    let truth = judge(&site, &matches);
    if !json {
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

    // A reviewer confirms the best match; the rest above the floor go in unreviewed.
    if let Some(top) = matches.first() {
        case.review(
            top.id,
            Decision::Confirmed,
            Some("Confirmed during the demo run."),
            Some("xiezhi demo"),
        )?;
    }
    let bundle = out.join("bundle.zip");
    let export_opts = export_options(vec![tsa.url()], false)?;
    let export = rt.block_on(xiezhi_engine::export::export(&mut case, &bundle, &export_opts, bars))?;
    let verify = xiezhi_engine::verify(&bundle, Some(&tsa.ca_cert_path()))?;
    let log = case.check_integrity()?;
    rt.block_on(site.shutdown());

    let ok = truth.ranked_above && truth.found == truth.planted && verify.ok && log.ok;
    if json {
        print_json(&json!({
            "ok": ok,
            "out": out,
            "case": case_dir,
            "references": refs_dir,
            "site": opts.seeds[0],
            "crawl": crawl,
            "scan": scan,
            "planted": truth.planted,
            "found": truth.found,
            "ranked_above_unrelated": truth.ranked_above,
            "missed": truth.missed,
            "matches": matches.iter().map(match_json).collect::<Vec<_>>(),
            "export": export,
            "verify": verify,
            "custody_intact": log.ok,
            "tsa_ca": tsa.ca_cert_path(),
        }))?;
    } else {
        println!(
            "\nBundle:     {} ({} exhibits, sha256 {})",
            export.path, export.exhibits, export.bundle_sha256
        );
        for c in &verify.checks {
            println!("  {}  {:<28} {}", if c.ok { "PASS" } else { "FAIL" }, c.name, c.detail);
        }
        println!(
            "Verify:     {}",
            if verify.ok { "VERIFIED" } else { "VERIFICATION FAILED" }
        );
        println!(
            "Custody:    {} entries, chain {}",
            log.entries,
            if log.ok { "intact" } else { "BROKEN" }
        );
        println!("\nEverything is in {}:", out.display());
        println!("  case/        the case (case.db, blobs/, warc/, index/)");
        println!("  references/  the client's reference images");
        println!("  bundle.zip   the evidence bundle (report.pdf, manifest.json, SHA256SUMS, timestamp/, custody.jsonl, capture/)");
        println!("  tsa/ca.crt   the local test TSA's root: openssl ts -verify -data manifest.json -in timestamp/manifest.tsr -CAfile {}", tsa.ca_cert_path().display());
        println!(
            "\nTry: xiezhi matches {} | xiezhi search {} 火箭 | xiezhi verify {}",
            case_dir.display(),
            case_dir.display(),
            bundle.display()
        );
        println!("\nDemo {}", if ok { "succeeded." } else { "FAILED." });
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

struct Truth {
    planted: usize,
    found: usize,
    lowest_planted: f64,
    highest_unrelated: f64,
    ranked_above: bool,
    missed: Vec<String>,
}

/// Compare the matches with the site's ground truth.
fn judge(site: &xiezhi_demo::DemoSite, matches: &[MatchRecord]) -> Truth {
    let base = site.base_url();
    let base = base.trim_end_matches('/');
    let planted = site.planted();
    let mut found = 0;
    let mut lowest_planted = f64::INFINITY;
    let mut missed = Vec::new();
    for p in planted {
        let url = format!("{base}{}", p.asset_path);
        let best = matches
            .iter()
            .filter(|m| m.asset.locator == url && file_name(&m.reference.original_path) == p.reference)
            .map(|m| m.score)
            .fold(f64::NEG_INFINITY, f64::max);
        if best >= FOUND_AT {
            found += 1;
        } else {
            missed.push(format!(
                "{url} ({} of {}; best score {:.3})",
                p.edit,
                p.reference,
                best.max(0.0)
            ));
        }
        lowest_planted = lowest_planted.min(best.max(0.0));
    }
    let planted_urls: Vec<String> = planted.iter().map(|p| format!("{base}{}", p.asset_path)).collect();
    let highest_unrelated = matches
        .iter()
        .filter(|m| !planted_urls.contains(&m.asset.locator))
        .map(|m| m.score)
        .fold(0.0, f64::max);
    Truth {
        planted: planted.len(),
        found,
        lowest_planted,
        highest_unrelated,
        ranked_above: lowest_planted > highest_unrelated,
        missed,
    }
}

fn chrono_stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{now}")
}
