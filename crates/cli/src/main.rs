//! `xiezhi`: the command line over the Xiezhi engine.
//!
//! Exit codes: 0 success, 1 failure (including a failed verification or a broken
//! custody chain), 2 usage error.

mod commands;
mod demo;
mod output;
mod progress;
mod screenshot_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "xiezhi",
    version,
    about = "Find copies of your artwork on the web and turn them into court-ready evidence."
)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and inspect cases.
    #[command(subcommand)]
    Case(CaseCmd),
    /// Manage the client's reference material.
    #[command(subcommand)]
    Refs(RefsCmd),
    /// Capture target sites: every exchange recorded in WARC 1.1, pages indexed.
    Crawl(CrawlArgs),
    /// Fingerprint every captured image and match it against the references.
    Scan { dir: PathBuf },
    /// Match local files or folders against the references (no crawl).
    Check {
        dir: PathBuf,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List matches, best first.
    Matches {
        dir: PathBuf,
        /// Only matches with at least this score (0..1).
        #[arg(long, default_value_t = 0.0)]
        min_score: f64,
    },
    /// Record a review decision on a match.
    Review(ReviewArgs),
    /// Export an evidence bundle (ZIP).
    Export(ExportArgs),
    /// Verify an evidence bundle offline.
    Verify {
        bundle: PathBuf,
        /// PEM file with the trust anchor(s) for the timestamp authority.
        #[arg(long)]
        tsa_ca: Option<PathBuf>,
    },
    /// Full-page screenshot of a URL with headless Chromium (JavaScript off), kept in the case.
    Screenshot { dir: PathBuf, url: String },
    /// Full-text search over captured pages.
    Search {
        dir: PathBuf,
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show the custody log; with --check, verify its hash chain and the rows it vouches for.
    Log {
        dir: PathBuf,
        #[arg(long)]
        check: bool,
    },
    /// Run the whole job on a bundled demo site served on 127.0.0.1.
    Demo {
        /// Where to put the demo case, references and bundle (default: a new folder under the system temp dir).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CaseCmd {
    /// Create a case folder.
    Init {
        dir: PathBuf,
        #[arg(long)]
        name: String,
        /// RFC 3161 timestamp authority: `refs add` then timestamps the reference list.
        #[arg(long)]
        tsa: Option<String>,
    },
    /// Summarise a case.
    Show { dir: PathBuf },
    /// Set (or with no URL, clear) the case's timestamp authority for `refs add`.
    SetTsa { dir: PathBuf, url: Option<String> },
}

#[derive(Subcommand)]
enum RefsCmd {
    /// Add files or folders (recursively) as references.
    Add {
        dir: PathBuf,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List the references.
    List { dir: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum ScopeArg {
    /// The seed's host only.
    Host,
    /// The seed's registrable domain and its subdomains.
    Domain,
    /// URLs under the seed's path.
    Prefix,
}

#[derive(Args)]
struct CrawlArgs {
    dir: PathBuf,
    #[arg(required = true)]
    urls: Vec<String>,
    #[arg(long, default_value_t = 200)]
    max_pages: usize,
    #[arg(long, default_value_t = 5)]
    max_depth: u32,
    #[arg(long, value_enum, default_value_t = ScopeArg::Host)]
    scope: ScopeArg,
    /// Requests per second per host (politeness); 0 disables the delay.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Requests in flight at once, all hosts together.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Stop after recording this many payload bytes in total (0 = no limit).
    #[arg(long, default_value_t = 0)]
    max_bytes: u64,
    /// Largest response body kept, in bytes; longer ones are recorded truncated and reported.
    #[arg(long, default_value_t = 50 * 1024 * 1024)]
    max_response_bytes: u64,
    /// Follow only page URLs matching this regular expression (repeatable: any may match).
    #[arg(long)]
    include: Vec<String>,
    /// Do not follow page URLs matching this regular expression (repeatable).
    #[arg(long)]
    exclude: Vec<String>,
    /// Do not fetch or obey robots.txt (recorded in the custody log, WARC and report).
    #[arg(long)]
    ignore_robots: bool,
    /// Extra trusted root certificate (PEM), e.g. a test CA or a corporate TLS proxy's CA.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Seconds allowed for a whole exchange, body included.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Seconds allowed to connect.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
    /// Seconds of silence allowed while reading a response.
    #[arg(long, default_value_t = 30)]
    read_timeout: u64,
    /// Extra attempts after a 429/5xx answer or a network error.
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// Longest wait before a retry in seconds, whatever Retry-After asks.
    #[arg(long, default_value_t = 30)]
    max_retry_wait: u64,
    /// Redirect hops followed from one URL.
    #[arg(long, default_value_t = 10)]
    max_redirects: usize,
    /// Name of the person running the capture (recorded in WARC and custody log).
    #[arg(long)]
    operator: Option<String>,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("decision").required(true).args(["confirm", "reject"])))]
struct ReviewArgs {
    dir: PathBuf,
    match_id: i64,
    #[arg(long)]
    confirm: bool,
    #[arg(long)]
    reject: bool,
    #[arg(long)]
    note: Option<String>,
    #[arg(long)]
    reviewer: Option<String>,
}

#[derive(Args)]
struct ExportArgs {
    dir: PathBuf,
    out: PathBuf,
    /// RFC 3161 timestamp authority URL (may be given twice).
    #[arg(long)]
    tsa: Vec<String>,
    /// Only export matches confirmed by a reviewer.
    #[arg(long)]
    confirmed: bool,
    /// Bates number prefix on every report page (default: from the case name).
    #[arg(long, default_value = "")]
    bates_prefix: String,
    /// Report labels: en, zh or en+zh.
    #[arg(long, default_value = "en", value_parser = ["en", "zh", "en+zh"])]
    lang: String,
    /// Client named on the report's cover.
    #[arg(long)]
    client: Option<String>,
    /// Investigator named on the report's cover.
    #[arg(long)]
    investigator: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
