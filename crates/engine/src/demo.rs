//! The demo: the main job end to end on the bundled site served on 127.0.0.1 —
//! references in, crawl, scan, ranked matches, review, export with an RFC 3161
//! timestamp from a local test authority, offline verification — and the
//! ground-truth judging of the ranking. The CLI (`xiezhi demo`) prints the outcome;
//! the desktop app starts the same services so a person can try every screen.

use std::path::{Path, PathBuf};

use xiezhi_demo::DemoSite;
use xiezhi_local_tsa::LocalTsa;
use xiezhi_store::{Case, Decision, IntegrityReport, MatchRecord};

use crate::crawl::{CrawlOptions, CrawlReport};
use crate::export::{ExportOptions, ExportReport};
use crate::scan::ScanReport;
use crate::{EngineError, Progress, Scope, VerifyReport};

/// Score from which a demo match counts as "found".
pub const FOUND_AT: f64 = 0.5;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0} already holds a demo case; choose another --out")]
    AlreadyADemo(PathBuf),
    #[error("cannot create {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot start the demo site on 127.0.0.1: {0}")]
    Site(xiezhi_demo::DemoError),
    #[error("cannot write the demo references: {0}")]
    References(xiezhi_demo::DemoError),
    #[error("cannot start the local test timestamp authority (is `openssl` installed?): {0}")]
    Tsa(xiezhi_local_tsa::TsaError),
    #[error("cannot load the embedding model: {0}")]
    Model(xiezhi_fingerprint::FingerprintError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] xiezhi_store::StoreError),
}

/// The demo's servers on 127.0.0.1 and the client's reference files, written to disk.
pub struct DemoServices {
    pub site: DemoSite,
    pub tsa: LocalTsa,
    pub references_dir: PathBuf,
    pub reference_files: Vec<PathBuf>,
}

impl DemoServices {
    /// Start the demo site and the local TSA (its keys under `out/tsa`) and write the
    /// references to `out/references`. They serve until dropped or shut down.
    pub async fn start(out: &Path) -> Result<DemoServices, DemoError> {
        std::fs::create_dir_all(out).map_err(|source| DemoError::Io {
            path: out.to_path_buf(),
            source,
        })?;
        let site = DemoSite::start().await.map_err(DemoError::Site)?;
        let tsa = LocalTsa::start(&out.join("tsa")).await.map_err(DemoError::Tsa)?;
        let references_dir = out.join("references");
        let reference_files = xiezhi_demo::write_references(&references_dir).map_err(DemoError::References)?;
        Ok(DemoServices {
            site,
            tsa,
            references_dir,
            reference_files,
        })
    }
}

/// How the ranking compares with the site's ground truth.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Truth {
    pub planted: usize,
    pub found: usize,
    pub lowest_planted: f64,
    pub highest_unrelated: f64,
    pub ranked_above: bool,
    pub missed: Vec<String>,
}

/// Everything the demo did, for the CLI to print.
pub struct DemoOutcome {
    pub ok: bool,
    pub out: PathBuf,
    pub case_dir: PathBuf,
    pub references_dir: PathBuf,
    pub site: String,
    pub crawl: CrawlReport,
    pub scan: ScanReport,
    pub truth: Truth,
    pub matches: Vec<MatchRecord>,
    pub export: ExportReport,
    pub bundle: PathBuf,
    pub verify: VerifyReport,
    pub custody: IntegrityReport,
    pub tsa_ca: PathBuf,
}

/// The crawl settings the demo uses on its own site.
pub fn crawl_options(site_url: String) -> CrawlOptions {
    CrawlOptions {
        seeds: vec![site_url],
        max_pages: 100,
        max_depth: 5,
        scope: Scope::Host,
        // Our own server on loopback: no politeness delay needed.
        rate: 0.0,
        operator: Some("xiezhi demo".into()),
        ..CrawlOptions::default()
    }
}

/// Export options with the scoring method and the model identity the report must state.
pub fn export_options(fp: &xiezhi_fingerprint::Fingerprinter, tsa_urls: Vec<String>) -> ExportOptions {
    ExportOptions {
        tsa_urls,
        method: xiezhi_match::METHOD.to_string(),
        model_id: fp.embedder().model_id().to_string(),
        model_weights_sha256: fp.embedder().weights_sha256().to_string(),
        ..ExportOptions::default()
    }
}

/// What a person watching the demo is told as it goes (the CLI prints it; `--json` drops it).
pub trait DemoReporter {
    /// One step line ("Crawl: 12 pages…").
    fn step(&self, line: &str);
    /// The ranking right after the scan, judged against the ground truth.
    fn ranked(&self, matches: &[MatchRecord], truth: &Truth);
}

/// Run the whole demo into `out` (which must not hold a demo case yet).
pub fn run(out: &Path, progress: &dyn Progress, report: &dyn DemoReporter) -> Result<DemoOutcome, DemoError> {
    let say = |line: &str| report.step(line);
    if out.join("case").exists() {
        return Err(DemoError::AlreadyADemo(out.to_path_buf()));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(DemoError::Runtime)?;
    let services = rt.block_on(DemoServices::start(out))?;
    let DemoServices {
        site,
        tsa,
        references_dir,
        reference_files,
    } = services;
    say(&format!("Demo site:  {}", site.base_url()));
    say(&format!(
        "Local TSA:  {} (a local TEST authority, not a trusted one)",
        tsa.url()
    ));

    let case_dir = out.join("case");
    let mut case = Case::init(&case_dir, "Demo: Xiezhi Studio v. copycat sites")?;
    let added = crate::refs::add_references(&mut case, &reference_files, progress)?;
    say(&format!(
        "References: {} files from {}",
        added.added.len(),
        references_dir.display()
    ));

    let opts = crawl_options(site.base_url());
    let crawl = rt.block_on(crate::crawl::crawl(&mut case, &opts, progress))?;
    say(&format!(
        "Crawl:      {} pages, {} images, {} HTTP exchanges in {}",
        crawl.pages,
        crawl.assets,
        crawl.exchanges,
        case.warc_dir().display()
    ));

    let fp = xiezhi_fingerprint::Fingerprinter::new_default().map_err(DemoError::Model)?;
    let scan = crate::scan::scan(&mut case, &fp, progress)?;
    say(&format!(
        "Scan:       {} captured images against {} references",
        scan.candidates, scan.references
    ));

    let matches = case.matches(0.0)?;
    let truth = judge(&site, &matches);
    report.ranked(&matches, &truth);

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
    let export_opts = export_options(&fp, vec![tsa.url()]);
    let export = rt.block_on(crate::export::export(&mut case, &bundle, &export_opts, progress))?;
    let verify = crate::verify(&bundle, Some(&tsa.ca_cert_path()))?;
    let custody = case.check_integrity()?;
    rt.block_on(site.shutdown());

    let ok = truth.ranked_above && truth.found == truth.planted && verify.ok && custody.ok;
    Ok(DemoOutcome {
        ok,
        out: out.to_path_buf(),
        case_dir,
        references_dir,
        site: opts.seeds[0].clone(),
        crawl,
        scan,
        truth,
        // As ranked by the scan, before the demo's review decision.
        matches,
        export,
        bundle,
        verify,
        custody,
        tsa_ca: tsa.ca_cert_path(),
    })
}

fn file_name(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

/// Compare the matches with the site's ground truth.
pub fn judge(site: &DemoSite, matches: &[MatchRecord]) -> Truth {
    judge_against(&site.base_url(), site.planted(), matches)
}

/// [`judge`] for a site at `base` with the given planted copies.
pub fn judge_against(base: &str, planted: &[xiezhi_demo::Planted], matches: &[MatchRecord]) -> Truth {
    let base = base.trim_end_matches('/');
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
