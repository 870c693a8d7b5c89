//! One function per subcommand: parse nothing, decide nothing — call the engine, print.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::json;
use xiezhi_engine::crawl::CrawlOptions;
use xiezhi_engine::export::ExportOptions;
use xiezhi_engine::Scope;
use xiezhi_store::{Case, Decision};

use crate::output::{match_json, print_json, print_match_table, print_scan_warnings, upgraded_note};
use crate::progress::Bars;
use crate::{CaseCmd, Cli, Command, CrawlArgs, ExportArgs, RefsCmd, ReviewArgs, ScopeArg};

pub fn open(dir: &Path) -> anyhow::Result<Case> {
    Case::open(dir).with_context(|| format!("cannot open case {}", dir.display()))
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn fingerprinter() -> anyhow::Result<xiezhi_fingerprint::Fingerprinter> {
    xiezhi_fingerprint::Fingerprinter::new_default().context("cannot load the embedding model")
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let json = cli.json;
    let bars = Bars::new(json);
    match cli.command {
        Command::Case(CaseCmd::Init { dir, name, tsa }) => {
            let mut case =
                Case::init(&dir, &name).with_context(|| format!("cannot create case in {}", dir.display()))?;
            if let Some(url) = &tsa {
                case.set_tsa_url(Some(url))?;
            }
            if json {
                print_json(
                    &json!({"id": case.info().id, "name": case.info().name, "dir": dir, "created_at": case.info().created_at}),
                )?;
            } else {
                println!(
                    "Created case \"{}\" ({}) in {}",
                    case.info().name,
                    case.info().id,
                    dir.display()
                );
            }
        }
        Command::Case(CaseCmd::SetTsa { dir, url }) => {
            let mut case = open(&dir)?;
            case.set_tsa_url(url.as_deref())?;
            if json {
                print_json(&json!({"tsa_url": url}))?;
            } else {
                match &url {
                    Some(u) => println!("refs add will timestamp the reference list at {u}"),
                    None => println!("no timestamp authority: refs add will not timestamp"),
                }
            }
        }
        Command::Case(CaseCmd::Show { dir }) => {
            let case = open(&dir)?;
            let counts = case.counts()?;
            if json {
                print_json(&json!({"case": case.info(), "counts": counts}))?;
            } else {
                println!(
                    "Case \"{}\" ({}), created {}",
                    case.info().name,
                    case.info().id,
                    case.info().created_at
                );
                println!("{}", serde_json::to_string_pretty(&counts)?);
            }
        }
        Command::Refs(RefsCmd::Add { dir, paths }) => {
            let mut case = open(&dir)?;
            let r = xiezhi_engine::refs::add_references(&mut case, &paths, &bars)?;
            // With a TSA configured, new material is timestamped at intake; the references
            // are already recorded, so a TSA failure is reported without losing them.
            let stamp = if r.added.is_empty() {
                None
            } else {
                runtime()?
                    .block_on(xiezhi_engine::refs::timestamp_references(&mut case))
                    .context("references were added, but timestamping the reference list failed")?
            };
            if json {
                let mut v = serde_json::to_value(&r)?;
                v["timestamp"] = stamp
                    .as_ref()
                    .map(
                        |t| json!({"gen_time": t.gen_time, "tsa_url": t.tsa_url, "manifest_sha256": t.manifest_sha256}),
                    )
                    .unwrap_or(serde_json::Value::Null);
                print_json(&v)?;
            } else {
                if let Some(t) = &stamp {
                    println!(
                        "timestamped the reference list (sha256 {}) at {} by {}",
                        t.manifest_sha256, t.gen_time, t.tsa_url
                    );
                }
                for a in &r.added {
                    println!("added     #{:<4} {}  {}", a.id, &a.sha256[..16], a.original_path);
                }
                for (p, id) in &r.duplicates {
                    println!("duplicate of #{id}: {p}");
                }
                for (p, why) in &r.skipped {
                    println!("skipped   {p}: {why}");
                }
                println!(
                    "{} added, {} duplicates, {} skipped",
                    r.added.len(),
                    r.duplicates.len(),
                    r.skipped.len()
                );
            }
        }
        Command::Refs(RefsCmd::List { dir }) => {
            let case = open(&dir)?;
            let refs = case.references()?;
            if json {
                print_json(&refs)?;
            } else {
                for r in refs {
                    println!("#{:<4} {}  {:>9} B  {}", r.id, r.sha256, r.size, r.original_path);
                }
            }
        }
        Command::Crawl(args) => crawl(args, json, &bars)?,
        Command::Scan { dir } => {
            let mut case = open(&dir)?;
            let fp = fingerprinter()?;
            let r = xiezhi_engine::scan::scan(&mut case, &fp, &bars)?;
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "Scanned {} captured images against {} references: {} matches recorded ({} fingerprints computed, {} reused{}).",
                    r.candidates,
                    r.references,
                    r.matches,
                    r.fingerprinted,
                    r.from_cache,
                    upgraded_note(r.upgraded)
                );
                print_scan_warnings(&r, false);
                if let Some(shots) = &r.screenshots {
                    crate::screenshot_cmd::print_text(shots);
                }
                print_match_table(&case.matches(0.5)?);
            }
        }
        Command::Check { dir, paths } => {
            let mut case = open(&dir)?;
            let fp = fingerprinter()?;
            let r = xiezhi_engine::scan::check(&mut case, &fp, &paths, &bars)?;
            print_scan_warnings(&r.scan, json);
            if json {
                print_json(&r.matches.iter().map(match_json).collect::<Vec<_>>())?;
            } else {
                print_match_table(&r.matches);
            }
        }
        Command::Matches { dir, min_score } => {
            let case = open(&dir)?;
            let m = case.matches(min_score)?;
            if json {
                print_json(&m.iter().map(match_json).collect::<Vec<_>>())?;
            } else {
                print_match_table(&m);
            }
        }
        Command::Review(args) => review(args, json)?,
        Command::Export(args) => export(args, json, &bars)?,
        Command::Verify { bundle, tsa_ca } => {
            let report = xiezhi_engine::verify(&bundle, tsa_ca.as_deref())
                .with_context(|| format!("cannot verify {}", bundle.display()))?;
            if json {
                print_json(&report)?;
            } else {
                for c in &report.checks {
                    println!("{}  {:<28} {}", if c.ok { "PASS" } else { "FAIL" }, c.name, c.detail);
                }
                println!(
                    "{}: {}",
                    bundle.display(),
                    if report.ok { "VERIFIED" } else { "VERIFICATION FAILED" }
                );
            }
            if !report.ok {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Screenshot { dir, url } => crate::screenshot_cmd::run(&dir, &url, json, &bars)?,
        Command::Search { dir, query, limit } => {
            let case = open(&dir)?;
            let hits = xiezhi_engine::search(&case, &query, limit)?;
            if json {
                print_json(&hits)?;
            } else if hits.is_empty() {
                println!("No page matches \"{query}\".");
            } else {
                for h in hits {
                    println!(
                        "{:.3}  {}  {}\n       {}",
                        h.score,
                        h.url,
                        h.title,
                        h.snippet.replace('\n', " ")
                    );
                }
            }
        }
        Command::Log { dir, check } => {
            let case = open(&dir)?;
            if check {
                let r = case.check_integrity()?;
                if json {
                    print_json(&r)?;
                } else {
                    for i in &r.issues {
                        println!("BROKEN  {}: {}", i.at, i.problem);
                    }
                    match (&r.head, r.ok) {
                        (Some(h), true) => println!("Custody log intact: {} entries, head {h}", r.entries),
                        (_, true) => println!("Custody log intact: {} entries", r.entries),
                        (_, false) => match r.first_broken {
                            Some(seq) => println!("Custody log BROKEN: first broken entry is #{seq}"),
                            None => println!(
                                "Custody log chain intact, but {} row(s) disagree with it",
                                r.issues.len()
                            ),
                        },
                    }
                }
                if !r.ok {
                    return Ok(ExitCode::from(1));
                }
            } else {
                let entries = case.custody()?;
                if json {
                    print_json(&entries)?;
                } else {
                    for e in entries {
                        println!(
                            "#{:<4} {}  {:<18} {}  {}",
                            e.seq,
                            e.at,
                            e.event,
                            &e.hash[..16],
                            e.details
                        );
                    }
                }
            }
        }
        Command::Demo { out } => return crate::demo::run(out, json, &bars),
    }
    Ok(ExitCode::SUCCESS)
}

fn crawl(args: CrawlArgs, json: bool, bars: &Bars) -> anyhow::Result<()> {
    let mut case = open(&args.dir)?;
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a non-negative number of requests per second");
    }
    let opts = CrawlOptions {
        seeds: args.urls,
        max_pages: args.max_pages,
        max_depth: args.max_depth,
        scope: match args.scope {
            ScopeArg::Host => Scope::Host,
            ScopeArg::Domain => Scope::Domain,
            ScopeArg::Prefix => Scope::Prefix,
        },
        rate: args.rate,
        concurrency: args.concurrency,
        max_response_bytes: args.max_response_bytes,
        max_total_bytes: args.max_bytes,
        include: args.include,
        exclude: args.exclude,
        ignore_robots: args.ignore_robots,
        ca_cert: args.ca_cert,
        connect_timeout_s: args.connect_timeout,
        timeout_s: args.timeout,
        read_timeout_s: args.read_timeout,
        max_redirects: args.max_redirects,
        max_retries: args.retries,
        max_retry_wait_s: args.max_retry_wait,
        operator: args.operator,
    };
    let report = runtime()?.block_on(xiezhi_engine::crawl::crawl(&mut case, &opts, bars))?;
    if json {
        print_json(&report)?;
    } else {
        println!(
            "Crawl #{}{}: {} pages, {} images, {} exchanges, {} bytes, {} failures ({:.1} pages/s this run, \
             {} retries, {} truncated, robots.txt {}); WARC: {}",
            report.crawl_id,
            if report.resumed { " (resumed)" } else { "" },
            report.pages,
            report.assets,
            report.exchanges,
            report.bytes,
            report.failures.len(),
            report.pages_per_s,
            report.retries,
            report.truncated,
            report.robots_txt,
            report.warc_files.join(", ")
        );
        if let Some(why) = &report.stopped_early {
            println!("stopped early: {why}");
        }
        for f in &report.failures {
            println!("failed: {}: {}", f.url, f.reason);
        }
    }
    Ok(())
}

fn review(args: ReviewArgs, json: bool) -> anyhow::Result<()> {
    let mut case = open(&args.dir)?;
    let decision = if args.confirm {
        Decision::Confirmed
    } else {
        Decision::Rejected
    };
    let r = case.review(args.match_id, decision, args.note.as_deref(), args.reviewer.as_deref())?;
    if json {
        print_json(&r)?;
    } else {
        println!("Match {} {} at {}", r.match_id, r.decision.as_str(), r.decided_at);
    }
    Ok(())
}

pub fn export_options(tsa: Vec<String>, confirmed: bool) -> anyhow::Result<ExportOptions> {
    let fp = fingerprinter()?;
    Ok(ExportOptions {
        tsa_urls: tsa,
        confirmed_only: confirmed,
        method: xiezhi_match::METHOD.to_string(),
        model_id: fp.embedder().model_id().to_string(),
        model_weights_sha256: fp.embedder().weights_sha256().to_string(),
        ..ExportOptions::default()
    })
}

fn export(args: ExportArgs, json: bool, bars: &Bars) -> anyhow::Result<()> {
    if args.tsa.len() > 2 {
        bail!("--tsa may be given at most twice");
    }
    let mut case = open(&args.dir)?;
    let mut opts = export_options(args.tsa, args.confirmed)?;
    opts.bates_prefix = args.bates_prefix;
    opts.lang = args.lang;
    opts.client = args.client;
    opts.investigator = args.investigator;
    let r = runtime()?.block_on(xiezhi_engine::export::export(&mut case, &args.out, &opts, bars))?;
    if json {
        print_json(&r)?;
    } else {
        println!("Exported {} exhibits to {} ({} files)", r.exhibits, r.path, r.files);
        println!("bundle sha256   {}", r.bundle_sha256);
        println!("manifest sha256 {}", r.manifest_sha256);
        println!(
            "evidence manifest sha256 {} (on the report's cover)",
            r.evidence_manifest_sha256
        );
        for t in &r.timestamps {
            println!("timestamp       {t}");
        }
    }
    Ok(())
}
