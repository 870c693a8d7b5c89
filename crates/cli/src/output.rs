//! The JSON documents `--json` prints (documented in the README) and text tables.

use serde::Serialize;
use serde_json::{json, Value};
use xiezhi_engine::scan::ScanReport;
use xiezhi_store::{AssetOrigin, MatchRecord};

/// Print one JSON document on stdout.
pub fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A match as the `matches --json` / `check --json` object.
pub fn match_json(m: &MatchRecord) -> Value {
    let (url, path) = match m.asset.origin {
        AssetOrigin::Crawl => (Some(m.asset.locator.clone()), None),
        AssetOrigin::Local => (None, Some(m.asset.locator.clone())),
    };
    json!({
        "id": m.id,
        "score": (m.score * 10000.0).round() / 10000.0,
        "reference": {
            "id": m.reference.id,
            "path": m.reference.original_path,
            "sha256": m.reference.sha256,
        },
        "candidate": {
            "url": url,
            "page_url": m.sources.first().map(|s| s.page_url.clone()),
            "element": m.sources.first().map(|s| s.element.clone()),
            "pages": m.sources.iter().map(|s| json!({"page_url": s.page_url, "element": s.element})).collect::<Vec<_>>(),
            "path": path,
            "sha256": m.asset.sha256,
            "media_type": m.asset.media_type,
            "captured_at": m.capture.as_ref().map(|c| c.fetched_at.clone()),
            "http_status": m.capture.as_ref().map(|c| c.status),
            "server_ip": m.capture.as_ref().and_then(|c| c.server_ip.clone()),
            "warc_file": m.capture.as_ref().map(|c| c.warc_file.clone()),
            "warc_record_id": m.capture.as_ref().map(|c| c.response_record_id.clone()),
        },
        "signals": m.signals,
        "explanation": m.explanation,
        "review": m.review.as_ref().map(|r| json!({"decision": r.decision.as_str(), "note": r.note, "reviewer": r.reviewer, "decided_at": r.decided_at})),
    })
}

fn file_name(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// ", 3 of them brought up to date …" after a scan's count of reused fingerprints
/// (empty for none).
pub fn upgraded_note(n: usize) -> String {
    match n {
        0 => String::new(),
        n => format!(", {n} of them stored by an earlier version and brought up to date without the model"),
    }
}

/// Files that could not be read and references that show nothing (the engine keeps
/// them), one line each; on stderr when stdout carries JSON, so a script reading
/// `check --json` still learns of them.
pub fn print_scan_warnings(report: &ScanReport, to_stderr: bool) {
    let say = |line: String| {
        if to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    for (what, why) in &report.unreadable {
        say(format!("unreadable: {what}: {why}"));
    }
    for p in &report.blank_references {
        say(format!(
            "warning: reference {p} shows nothing (fully transparent, or one flat colour): \
             no copy of it can be told from any other blank image"
        ));
    }
}

/// A fixed-width table of matches for people.
pub fn print_match_table(matches: &[MatchRecord]) {
    if matches.is_empty() {
        println!("No matches.");
        return;
    }
    println!(
        "{:>5}  {:>5}  {:<22}  {:<52}  {:<9}  explanation",
        "id", "score", "reference", "candidate", "decision"
    );
    for m in matches {
        let decision = m.review.as_ref().map(|r| r.decision.as_str()).unwrap_or("-");
        println!(
            "{:>5}  {:>5.3}  {:<22}  {:<52}  {:<9}  {}",
            m.id,
            m.score,
            clip(file_name(&m.reference.original_path), 22),
            clip(&m.asset.locator, 52),
            decision,
            clip(&m.explanation, 120)
        );
    }
}
