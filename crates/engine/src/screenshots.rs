//! Full-page screenshots of captured pages: taken with headless Chromium, written to a
//! `screenshots-*.warc.gz` file in the case's WARC folder, kept as blobs, and recorded in the
//! case (with a custody entry). No browser is not an error: the report says how to get one.

use serde::Serialize;
use url::Url;
use xiezhi_capture::screenshot::{self, ScreenshotConfig, ScreenshotWriter, Shooter};
use xiezhi_store::{Case, MatchRecord};

use crate::export::EXPORT_FLOOR;
use crate::{EngineError, Progress, Result};

/// One screenshot taken and recorded.
#[derive(Serialize, Debug, Clone)]
pub struct Shot {
    pub id: i64,
    pub url: String,
    pub taken_at: String,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    /// Page height before the cut at the maximum height, when taller.
    pub page_height: u32,
    /// False when the page had not finished loading at the load timeout.
    pub loaded: bool,
    pub warc_file: String,
    pub warc_offset: u64,
    pub browser: String,
}

#[derive(Serialize, Debug, Default)]
pub struct ScreenshotReport {
    pub taken: Vec<Shot>,
    /// Pages skipped because the case already holds a screenshot of them.
    pub already_taken: Vec<String>,
    /// (URL, reason) for pages that could not be photographed.
    pub failures: Vec<(String, String)>,
    /// Set when no browser was found (then nothing was attempted): how to install one.
    pub browser_missing: Option<String>,
}

fn warcinfo_fields(case: &Case) -> String {
    format!(
        "software: Xiezhi {}\r\nformat: WARC File Format 1.1\r\nisPartOf: {}\r\n\
         description: full-page screenshots by headless Chromium, JavaScript disabled\r\n",
        crate::VERSION,
        case.info().id
    )
}

/// Screenshots `urls` (skipping pages already shot when `skip_existing`).
pub fn screenshot_pages(
    case: &mut Case,
    urls: &[String],
    skip_existing: bool,
    progress: &dyn Progress,
) -> Result<ScreenshotReport> {
    let mut report = ScreenshotReport::default();
    let mut todo = Vec::new();
    for u in urls {
        if skip_existing && case.screenshot_for_page(u)?.is_some() {
            report.already_taken.push(u.clone());
        } else if !todo.contains(u) {
            todo.push(u.clone());
        }
    }
    if todo.is_empty() {
        return Ok(report);
    }
    let Some(browser) = screenshot::find_browser() else {
        report.browser_missing = Some(screenshot::INSTALL_HINT.to_string());
        return Ok(report);
    };
    let mut shooter = Shooter::new(ScreenshotConfig::new(browser));
    let mut writer: Option<ScreenshotWriter> = None;
    progress.phase("taking screenshots", Some(todo.len() as u64));
    for u in &todo {
        // Each page costs a browser run of seconds: honour the operator's Cancel between pages.
        if progress.cancelled() {
            break;
        }
        progress.message(u);
        let outcome = Url::parse(u)
            .map_err(|e| format!("not a URL: {e}"))
            .and_then(|url| shooter.take(&url).map_err(|e| e.to_string()));
        match outcome {
            Ok(shot) => {
                if writer.is_none() {
                    writer = Some(
                        ScreenshotWriter::new(&case.warc_dir(), "screenshots", warcinfo_fields(case))
                            .map_err(|e| EngineError::Invalid(e.to_string()))?,
                    );
                }
                let Some(w) = writer.as_mut() else { continue };
                // WARC first (fsynced), then the blob, then the row: a row never points at
                // bytes that are not on disk.
                let rec = w.write(&shot).map_err(|e| EngineError::Invalid(e.to_string()))?;
                let sha = case.blobs().put(&shot.png)?;
                let id = case.add_screenshot(
                    &shot.url,
                    &shot.taken_at,
                    &sha,
                    shot.width,
                    shot.height,
                    &rec.warc_file,
                    rec.warc_offset,
                )?;
                report.taken.push(Shot {
                    id,
                    url: shot.url,
                    taken_at: shot.taken_at,
                    sha256: sha,
                    width: shot.width,
                    height: shot.height,
                    page_height: shot.full_height,
                    loaded: shot.loaded,
                    warc_file: rec.warc_file,
                    warc_offset: rec.warc_offset,
                    browser: shot.browser_version,
                });
            }
            Err(reason) => report.failures.push((u.clone(), reason)),
        }
        progress.advance(1);
    }
    progress.done();
    Ok(report)
}

/// Pages that show a match scoring at least the export floor (the review threshold),
/// in order of their best match.
pub fn pages_worth_a_screenshot(matches: &[MatchRecord]) -> Vec<String> {
    let mut ranked: Vec<&MatchRecord> = matches.iter().filter(|m| m.score >= EXPORT_FLOOR).collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut pages: Vec<String> = Vec::new();
    for m in ranked {
        for s in &m.sources {
            if !pages.contains(&s.page_url) {
                pages.push(s.page_url.clone());
            }
        }
    }
    pages
}

/// After a scan: screenshot every page holding a match at or above the review threshold
/// that has no screenshot yet.
pub fn screenshot_matched_pages(case: &mut Case, progress: &dyn Progress) -> Result<ScreenshotReport> {
    let pages = pages_worth_a_screenshot(&case.matches(EXPORT_FLOOR)?);
    screenshot_pages(case, &pages, true, progress)
}
