//! Tauri commands: each one a thin call into the engine or the case store. Long work
//! goes through [`Jobs`](crate::jobs::Jobs) and answers at once; its result arrives as
//! a `job-done` event.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};
use xiezhi_engine::crawl::CrawlOptions;
use xiezhi_engine::{Progress, Scope};
use xiezhi_store::{Case, CaseCounts, CaseInfo, CrawlRow, Decision, MatchRecord, Reference, Review, Screenshot};

use crate::state::{AppState, Demo, DemoInfo, OpenCase, RecentCase};

type Res<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn open_case(dir: &std::path::Path) -> Res<Case> {
    Case::open(dir).map_err(|e| format!("cannot open case {}: {e}", dir.display()))
}

#[derive(Serialize)]
pub struct AppInfo {
    version: &'static str,
    case: Option<CaseInfo>,
    case_dir: Option<String>,
    job: Option<String>,
    demo: Option<DemoInfo>,
}

#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> Res<AppInfo> {
    let (case, case_dir) = match state.case.lock() {
        Ok(g) => match g.as_ref() {
            Some(o) => (Some(o.case.info().clone()), Some(o.dir.to_string_lossy().into_owned())),
            None => (None, None),
        },
        Err(_) => (None, None),
    };
    let demo = state.demo.lock().await.as_ref().map(|d| d.info.clone());
    Ok(AppInfo {
        version: xiezhi_engine::VERSION,
        case,
        case_dir,
        job: state.jobs.running(),
        demo,
    })
}

#[derive(Serialize)]
pub struct Dashboard {
    dir: String,
    case: CaseInfo,
    counts: CaseCounts,
    last_crawl: Option<CrawlRow>,
    /// Matches above the export floor that nobody reviewed yet.
    open_findings: usize,
}

fn dashboard_of(o: &OpenCase) -> Res<Dashboard> {
    let counts = o.case.counts().map_err(err)?;
    let last_crawl = o.case.crawls().map_err(err)?.into_iter().max_by_key(|c| c.id);
    let open_findings = o
        .case
        .matches(xiezhi_engine::export::EXPORT_FLOOR)
        .map_err(err)?
        .iter()
        .filter(|m| m.review.is_none())
        .count();
    Ok(Dashboard {
        dir: o.dir.to_string_lossy().into_owned(),
        case: o.case.info().clone(),
        counts,
        last_crawl,
        open_findings,
    })
}

fn set_case(state: &AppState, dir: PathBuf, case: Case) -> Res<Dashboard> {
    if let Some(job) = state.jobs.running() {
        return Err(format!(
            "the {job} job is still running; wait for it or cancel it first"
        ));
    }
    state.remember(&dir, &case.info().name);
    let open = OpenCase { dir, case };
    let d = dashboard_of(&open)?;
    *state.case.lock().map_err(err)? = Some(open);
    Ok(d)
}

#[tauri::command]
pub fn cases_recent(state: State<'_, AppState>) -> Vec<RecentCase> {
    state.recent()
}

#[tauri::command]
pub fn case_create(state: State<'_, AppState>, dir: String, name: String) -> Res<Dashboard> {
    let name = name.trim();
    if name.is_empty() {
        return Err("a case needs a name".into());
    }
    let dir = PathBuf::from(dir.trim());
    let case = Case::init(&dir, name).map_err(|e| format!("cannot create a case in {}: {e}", dir.display()))?;
    set_case(&state, dir, case)
}

#[tauri::command]
pub fn case_open(state: State<'_, AppState>, dir: String) -> Res<Dashboard> {
    let dir = PathBuf::from(dir.trim());
    let case = open_case(&dir)?;
    set_case(&state, dir, case)
}

#[tauri::command]
pub fn case_dashboard(state: State<'_, AppState>) -> Res<Dashboard> {
    state.with_case(|o| dashboard_of(o))
}

#[tauri::command]
pub fn refs_list(state: State<'_, AppState>) -> Res<Vec<Reference>> {
    state.with_case(|o| o.case.references().map_err(err))
}

#[tauri::command]
pub fn refs_add(app: AppHandle, state: State<'_, AppState>, paths: Vec<String>) -> Res<()> {
    let dir = state.case_dir()?;
    let paths: Vec<PathBuf> = paths
        .iter()
        .map(|p| PathBuf::from(p.trim()))
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    if paths.is_empty() {
        return Err("give at least one file or folder".into());
    }
    state.jobs.spawn(&app, "references", move |progress| {
        let mut case = open_case(&dir)?;
        xiezhi_engine::refs::add_references(&mut case, &paths, progress).map_err(err)
    })
}

/// The sprites of a reference that is a sprite sheet or texture atlas (boxes `[x, y, w, h]`
/// in image pixels), as the fingerprint stage splits it; empty for an ordinary picture.
#[tauri::command]
pub fn reference_sprites(state: State<'_, AppState>, sha256: String) -> Res<Vec<[u32; 4]>> {
    let hash = crate::blob_protocol::parse_hash(&sha256)
        .ok_or("not a SHA-256")?
        .to_string();
    state.with_case(|o| {
        let bytes = o.case.blobs().read(&hash).map_err(err)?;
        let decoded = xiezhi_fingerprint::decode(&bytes, &xiezhi_fingerprint::DecodeLimits::default()).map_err(err)?;
        Ok(xiezhi_fingerprint::sprites::sprite_windows(&decoded.image)
            .iter()
            .map(|w| [w.x, w.y, w.w, w.h])
            .collect())
    })
}

/// The Targets form.
#[derive(Deserialize)]
pub struct CrawlForm {
    urls: Vec<String>,
    max_pages: usize,
    max_depth: u32,
    scope: String,
    rate: f64,
    concurrency: usize,
    max_bytes: u64,
    /// Stop once this many payload bytes were recorded (0 = no limit).
    max_total_bytes: u64,
    ignore_robots: bool,
    include: Vec<String>,
    exclude: Vec<String>,
    operator: Option<String>,
}

fn lines(v: Vec<String>) -> Vec<String> {
    v.into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

#[tauri::command]
pub fn crawl_start(app: AppHandle, state: State<'_, AppState>, form: CrawlForm) -> Res<()> {
    let dir = state.case_dir()?;
    if !(form.rate >= 0.0 && form.rate.is_finite()) {
        return Err("the rate must be a non-negative number of requests per second".into());
    }
    let scope = match form.scope.as_str() {
        "host" => Scope::Host,
        "domain" => Scope::Domain,
        "prefix" => Scope::Prefix,
        other => return Err(format!("unknown scope {other:?} (host, domain or prefix)")),
    };
    let opts = CrawlOptions {
        seeds: form
            .urls
            .iter()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect(),
        max_pages: form.max_pages,
        max_depth: form.max_depth,
        scope,
        rate: form.rate,
        concurrency: form.concurrency.clamp(1, 16),
        max_response_bytes: form.max_bytes,
        max_total_bytes: form.max_total_bytes,
        ignore_robots: form.ignore_robots,
        include: lines(form.include),
        exclude: lines(form.exclude),
        operator: form.operator.filter(|o| !o.trim().is_empty()),
        ..CrawlOptions::default()
    };
    state.jobs.spawn(&app, "crawl", move |progress| {
        let mut case = open_case(&dir)?;
        tauri::async_runtime::block_on(xiezhi_engine::crawl::crawl(&mut case, &opts, progress)).map_err(err)
    })
}

/// Continue a paused (or interrupted) crawl: the same seeds and settings, read back from
/// its row, make the engine resume it from the frontier kept in case.db.
#[tauri::command]
pub fn crawl_resume(app: AppHandle, state: State<'_, AppState>, crawl_id: i64) -> Res<()> {
    let dir = state.case_dir()?;
    let row = state.with_case(|o| {
        o.case
            .crawls()
            .map_err(err)?
            .into_iter()
            .find(|c| c.id == crawl_id)
            .ok_or_else(|| format!("no crawl #{crawl_id} in this case"))
    })?;
    if row.finished_at.is_some() {
        return Err(format!("crawl #{crawl_id} is finished; start a new crawl instead"));
    }
    let opts: CrawlOptions = serde_json::from_value(row.settings.clone())
        .map_err(|e| format!("crawl #{crawl_id}: its recorded settings cannot be read ({e})"))?;
    // The engine resumes only on identical settings; say so rather than start a new crawl.
    if serde_json::to_value(&opts).ok().as_ref() != Some(&row.settings) {
        return Err(format!(
            "crawl #{crawl_id} was recorded with settings this version cannot reproduce; start it again from the form"
        ));
    }
    state.jobs.spawn(&app, "crawl", move |progress| {
        let mut case = open_case(&dir)?;
        tauri::async_runtime::block_on(xiezhi_engine::crawl::crawl(&mut case, &opts, progress)).map_err(err)
    })
}

/// Every crawl of the case with its failures as (URL, reason), oldest first.
type CrawlHistory = Vec<(CrawlRow, Vec<(String, String)>)>;

#[tauri::command]
pub fn crawl_history(state: State<'_, AppState>) -> Res<CrawlHistory> {
    state.with_case(|o| {
        let mut out = Vec::new();
        for c in o.case.crawls().map_err(err)? {
            let failures = o.case.failures(c.id).map_err(err)?;
            out.push((c, failures));
        }
        Ok(out)
    })
}

#[tauri::command]
pub fn scan_start(app: AppHandle, state: State<'_, AppState>) -> Res<()> {
    let dir = state.case_dir()?;
    state.jobs.spawn(&app, "scan", move |progress| {
        let mut case = open_case(&dir)?;
        progress_phase(progress, "loading the embedding model");
        let fp = xiezhi_fingerprint::Fingerprinter::new_default()
            .map_err(|e| format!("cannot load the embedding model: {e}"))?;
        xiezhi_engine::scan::scan(&mut case, &fp, progress).map_err(err)
    })
}

/// Full-page screenshots (headless Chromium, recorded in WARC) of the pages that hold a
/// finding; the findings view shows them. The captured page never runs in the app's webview.
#[tauri::command]
pub fn screenshots_start(app: AppHandle, state: State<'_, AppState>) -> Res<()> {
    let dir = state.case_dir()?;
    state.jobs.spawn(&app, "screenshots", move |progress| {
        let mut case = open_case(&dir)?;
        xiezhi_engine::screenshots::screenshot_matched_pages(&mut case, progress).map_err(err)
    })
}

fn progress_phase(p: &dyn Progress, name: &str) {
    p.phase(name, None);
}

#[tauri::command]
pub fn findings_list(state: State<'_, AppState>, min_score: Option<f64>) -> Res<Vec<MatchRecord>> {
    state.with_case(|o| o.case.matches(min_score.unwrap_or(0.0)).map_err(err))
}

#[derive(Serialize)]
pub struct FindingDetail {
    record: MatchRecord,
    /// Screenshot of the first page that showed the candidate, when the crawl took one.
    screenshot: Option<Screenshot>,
    /// Whether the screenshot's PNG is in the blob store (so `xzblob://` can show it).
    screenshot_viewable: bool,
}

#[tauri::command]
pub fn finding_detail(state: State<'_, AppState>, id: i64) -> Res<FindingDetail> {
    state.with_case(|o| {
        let record = o.case.match_record(id).map_err(err)?;
        let screenshot = match record.sources.first() {
            Some(s) => o.case.screenshot_for_page(&s.page_url).map_err(err)?,
            None => None,
        };
        let screenshot_viewable = screenshot.as_ref().is_some_and(|s| o.case.blobs().contains(&s.sha256));
        Ok(FindingDetail {
            record,
            screenshot,
            screenshot_viewable,
        })
    })
}

#[tauri::command]
pub fn review(
    state: State<'_, AppState>,
    id: i64,
    decision: String,
    note: Option<String>,
    reviewer: Option<String>,
) -> Res<Review> {
    let decision =
        Decision::parse(&decision).ok_or_else(|| format!("unknown decision {decision:?} (confirmed or rejected)"))?;
    let note = note.filter(|n| !n.trim().is_empty());
    let reviewer = reviewer.filter(|n| !n.trim().is_empty());
    state.with_case(|o| {
        o.case
            .review(id, decision, note.as_deref(), reviewer.as_deref())
            .map_err(err)
    })
}

#[tauri::command]
pub fn search(state: State<'_, AppState>, query: String, limit: Option<usize>) -> Res<Vec<xiezhi_capture::SearchHit>> {
    if query.trim().is_empty() {
        return Ok(Vec::new());
    }
    state.with_case(|o| xiezhi_engine::search(&o.case, &query, limit.unwrap_or(50)).map_err(err))
}

/// The Export form.
#[derive(Deserialize)]
pub struct ExportForm {
    out: Option<String>,
    tsa_urls: Vec<String>,
    confirmed_only: bool,
    /// Report language: "en", "zh" or "en+zh".
    lang: String,
    /// Empty: derived from the case name.
    bates_prefix: String,
    client: Option<String>,
    investigator: Option<String>,
}

#[tauri::command]
pub fn export_start(app: AppHandle, state: State<'_, AppState>, form: ExportForm) -> Res<()> {
    let dir = state.case_dir()?;
    let tsa_urls: Vec<String> = form
        .tsa_urls
        .iter()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect();
    if tsa_urls.len() > 2 {
        return Err("at most two timestamp authorities".into());
    }
    let out = match form.out.map(|o| o.trim().to_string()).filter(|o| !o.is_empty()) {
        Some(o) => PathBuf::from(o),
        None => dir.join("exports").join(format!(
            "bundle-{}.zip",
            xiezhi_store::now_utc().replace([':', '.'], "-")
        )),
    };
    state.jobs.spawn(&app, "export", move |progress| {
        let mut case = open_case(&dir)?;
        progress_phase(progress, "loading the embedding model");
        let fp = xiezhi_fingerprint::Fingerprinter::new_default()
            .map_err(|e| format!("cannot load the embedding model: {e}"))?;
        let mut opts = xiezhi_engine::demo::export_options(&fp, tsa_urls);
        opts.confirmed_only = form.confirmed_only;
        opts.lang = form.lang;
        opts.bates_prefix = form.bates_prefix.trim().to_string();
        opts.client = form.client.filter(|c| !c.trim().is_empty());
        opts.investigator = form.investigator.filter(|c| !c.trim().is_empty());
        tauri::async_runtime::block_on(xiezhi_engine::export::export(&mut case, &out, &opts, progress)).map_err(err)
    })
}

#[tauri::command]
pub fn verify_start(app: AppHandle, state: State<'_, AppState>, bundle: String, tsa_ca: Option<String>) -> Res<()> {
    let bundle = PathBuf::from(bundle.trim());
    let tsa_ca = tsa_ca
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .map(PathBuf::from);
    state.jobs.spawn(&app, "verify", move |progress| {
        progress_phase(progress, "verifying the bundle");
        let report = xiezhi_engine::verify(&bundle, tsa_ca.as_deref())
            .map_err(|e| format!("cannot verify {}: {e}", bundle.display()))?;
        progress.done();
        Ok(report)
    })
}

#[tauri::command]
pub fn job_cancel(state: State<'_, AppState>) -> Option<String> {
    state.jobs.cancel()
}

/// The native file dialog: `what` is "reference-files", "reference-folders" or "bundle".
/// Returns the chosen paths (none when the user closes the dialog). Async so that it runs
/// off the main thread, which the dialog needs.
#[tauri::command]
pub async fn pick_paths(app: AppHandle, what: String) -> Res<Vec<String>> {
    let kind = crate::native::Pick::parse(&what).ok_or_else(|| format!("unknown dialog {what:?}"))?;
    let paths = crate::native::pick(&app, kind)?;
    Ok(paths.into_iter().map(|p| p.to_string_lossy().into_owned()).collect())
}

/// Open the folder holding `bundle` in the file manager — only for a bundle inside the
/// open case's exports folder. Returns the folder opened.
#[tauri::command]
pub fn reveal_bundle(state: State<'_, AppState>, bundle: String) -> Res<String> {
    let dir = state.case_dir()?;
    let folder = crate::native::bundle_folder(&dir, std::path::Path::new(bundle.trim()))?;
    crate::native::open_folder(&folder)?;
    Ok(folder.to_string_lossy().into_owned())
}

/// Start the bundled demo site and the local test TSA (once per app run).
#[tauri::command]
pub async fn demo_start(state: State<'_, AppState>) -> Res<DemoInfo> {
    let mut demo = state.demo.lock().await;
    if let Some(d) = demo.as_ref() {
        return Ok(d.info.clone());
    }
    let out = std::env::temp_dir().join(format!("xiezhi-desktop-demo-{}", std::process::id()));
    let services = xiezhi_engine::demo::DemoServices::start(&out).await.map_err(err)?;
    let info = DemoInfo {
        site_url: services.site.base_url(),
        tsa_url: services.tsa.url(),
        tsa_ca: services.tsa.ca_cert_path().to_string_lossy().into_owned(),
        references_dir: services.references_dir.to_string_lossy().into_owned(),
        suggested_case_dir: out.join("case").to_string_lossy().into_owned(),
    };
    *demo = Some(Demo {
        info: info.clone(),
        _services: services,
    });
    Ok(info)
}
