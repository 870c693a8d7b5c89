//! `xiezhi screenshot` and the screenshot lines of `scan`'s text output.

use std::path::Path;

use anyhow::bail;
use xiezhi_engine::screenshots::{screenshot_pages, ScreenshotReport};

use crate::commands::open;
use crate::output::print_json;
use crate::progress::Bars;

/// Full-page screenshot of one URL into the case. Fails (exit 1) when no browser is found
/// or the page cannot be photographed: here the screenshot is the whole job.
pub fn run(dir: &Path, url: &str, json: bool, bars: &Bars) -> anyhow::Result<()> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        bail!("not an http(s) URL: {url}");
    }
    let mut case = open(dir)?;
    let report = screenshot_pages(&mut case, &[url.to_string()], false, bars)?;
    if let Some(hint) = &report.browser_missing {
        bail!("{hint}");
    }
    if let Some((u, why)) = report.failures.first() {
        bail!("{u}: {why}");
    }
    if json {
        print_json(&report.taken.first())?;
    } else {
        print_text(&report);
    }
    Ok(())
}

/// Human-readable lines for a screenshot report (also used after `scan`).
pub fn print_text(report: &ScreenshotReport) {
    if let Some(hint) = &report.browser_missing {
        println!("screenshots skipped: {hint}");
    }
    for s in &report.taken {
        let cut = if s.page_height > s.height {
            format!(" (page is {} px tall; cut at {})", s.page_height, s.height)
        } else {
            String::new()
        };
        println!(
            "screenshot {} {}×{}{} sha256 {} at {} → {} @{}",
            s.url, s.width, s.height, cut, s.sha256, s.taken_at, s.warc_file, s.warc_offset
        );
    }
    for (u, why) in &report.failures {
        println!("screenshot failed: {u}: {why}");
    }
}
