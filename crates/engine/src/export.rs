//! Assemble an evidence bundle from a case: the evidence stage gets plain data.

use std::path::Path;

use serde::Serialize;
use serde_json::json;
use xiezhi_evidence::tls_meta::TlsLookup;
use xiezhi_evidence::{
    BundleSpec, Exhibit, ExhibitFile, Provenance, RecordRef, ReferenceStamp, ReportOptions, WaczPage, WaczSpec,
};
use xiezhi_store::{AssetOrigin, Case, Decision, MatchRecord};

use crate::{EngineError, Progress, Result};

/// Matches below this score are not exported unless confirmed by a reviewer.
pub const EXPORT_FLOOR: f64 = 0.5;

#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    pub tsa_urls: Vec<String>,
    /// Only matches a reviewer confirmed.
    pub confirmed_only: bool,
    /// Scoring method text, for the report's methodology page.
    pub method: String,
    pub model_id: String,
    pub model_weights_sha256: String,
    /// Report: client and investigator names for the cover.
    pub client: Option<String>,
    pub investigator: Option<String>,
    /// Bates prefix; empty = derived from the case name.
    pub bates_prefix: String,
    /// Report labels: "en" (default), "zh" or "en+zh".
    pub lang: String,
}

/// Measured error rates for the methodology page: the calibration benchmark's summary in
/// models/, unless it is still the placeholder written before any held-out run.
fn error_rates() -> Option<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/METHOD-error-rates.md");
    let text = std::fs::read_to_string(path).ok()?;
    let first = text.lines().next().unwrap_or("");
    if text.trim().is_empty() || first.to_ascii_lowercase().contains("placeholder") {
        None
    } else {
        Some(format!("{} (models/METHOD-error-rates.md)", text.trim()))
    }
}

/// The screenshot of `page_url`, read back out of its WARC record and checked against its hash.
fn screenshot(case: &Case, page_url: &str) -> Result<Option<(ExhibitFile, RecordRef)>> {
    let Some(s) = case.screenshot_for_page(page_url)? else {
        return Ok(None);
    };
    let at = RecordRef {
        warc_path: case.warc_dir().join(&s.warc_file),
        offset: s.warc_offset,
    };
    // The WARC record is the capture itself; its bytes must be the ones the case recorded.
    let bytes = xiezhi_evidence::read_record_block(&at.warc_path, at.offset)?;
    let actual = xiezhi_store::sha256_hex(&bytes);
    if actual != s.sha256 {
        return Err(EngineError::Invalid(format!(
            "screenshot of {page_url} in warc/{} at offset {} hashes to {actual}, but the case records {}",
            s.warc_file, s.warc_offset, s.sha256
        )));
    }
    Ok(Some((
        ExhibitFile {
            original_name: format!("screenshot of {page_url}"),
            sha256: s.sha256,
            media_type: "image/png".into(),
            bytes,
        },
        at,
    )))
}

/// The host of an `https:` URL (TLS facts are looked up only for those).
fn https_host(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    (u.scheme() == "https").then(|| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()))?
}

/// TLS facts for the provenance, plus the metadata record to copy into the WACZ.
#[derive(Default)]
struct TlsFields {
    subject: Option<String>,
    issuer: Option<String>,
    sha256: Option<String>,
    version: Option<String>,
    cipher: Option<String>,
    /// Which record they come from and how it is tied to the response, or why there are none.
    note: Option<String>,
    record: Option<RecordRef>,
}

/// A missing or unreadable TLS record does not stop the export: the exhibit says so.
fn tls_fields(tls: &mut TlsLookup, warc_path: &Path, c: &xiezhi_store::Capture, host: &str) -> TlsFields {
    match tls.for_response(warc_path, c.warc_offset, &c.response_record_id, host) {
        Ok(Some(f)) => TlsFields {
            subject: Some(f.subject),
            issuer: Some(f.issuer),
            sha256: Some(f.sha256),
            version: f.version,
            cipher: f.cipher,
            note: Some(format!("{} in {} — {}", f.record_id, c.warc_file, f.tie)),
            record: Some(f.record),
        },
        Ok(None) => TlsFields {
            note: Some(format!(
                "no TLS metadata record for {host} before this response in {}",
                c.warc_file
            )),
            ..Default::default()
        },
        Err(e) => TlsFields {
            note: Some(format!("TLS metadata unreadable: {e}")),
            ..Default::default()
        },
    }
}

/// The WARC `resource` record holding a `data:` image decoded from the response `c`, and the
/// `metadata` record after it naming the page and elements. Without the resource record the
/// bundle could not show the bytes were captured, so its absence stops the export.
fn inline_records(case: &Case, sha256: &str, c: &xiezhi_store::Capture) -> Result<(RecordRef, Option<RecordRef>)> {
    let records = case.inline_records(sha256)?;
    let Some(r) = records
        .iter()
        .find(|r| r.source_record_id == c.response_record_id)
        .or(records.first())
    else {
        return Err(EngineError::Invalid(format!(
            "urn:sha256:{sha256} was decoded from a data: URI in {}, but the case has no WARC resource record for it",
            c.url
        )));
    };
    let warc_path = case.warc_dir().join(&r.warc_file);
    let metadata = xiezhi_evidence::metadata_after(&warc_path, r.warc_offset, &r.record_id)?;
    Ok((
        RecordRef {
            warc_path: warc_path.clone(),
            offset: r.warc_offset,
        },
        metadata.map(|offset| RecordRef { warc_path, offset }),
    ))
}

/// "embedded in <page> as a data: URI (element …)" for an image that had no URL of its own.
fn embedded_note(locator: &str, sources: &[xiezhi_store::AssetSource]) -> Option<String> {
    if !locator.starts_with("urn:sha256:") {
        return None;
    }
    let s = sources.first()?;
    Some(format!(
        "embedded in {} as a data: URI (element {})",
        s.page_url, s.element
    ))
}

#[derive(Serialize, Debug)]
pub struct ExportReport {
    pub path: String,
    pub bundle_id: String,
    pub bundle_sha256: String,
    pub manifest_sha256: String,
    /// SHA-256 of evidence-manifest.json: the value printed on the report's cover.
    pub evidence_manifest_sha256: String,
    pub exhibits: usize,
    pub files: usize,
    pub timestamps: Vec<serde_json::Value>,
}

/// Which matches become exhibits: confirmed ones, plus (unless `confirmed_only`)
/// unreviewed ones above the floor. Rejected matches never do.
pub fn select_exhibits(matches: Vec<MatchRecord>, confirmed_only: bool) -> Vec<MatchRecord> {
    matches
        .into_iter()
        .filter(|m| match m.review.as_ref().map(|r| &r.decision) {
            Some(Decision::Confirmed) => true,
            Some(Decision::Rejected) => false,
            None => !confirmed_only && m.score >= EXPORT_FLOOR,
        })
        .collect()
}

pub(crate) fn is_loopback(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .is_some_and(|h| h == "localhost" || h.starts_with("127.") || h == "[::1]")
}

pub async fn export(
    case: &mut Case,
    out: &Path,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<ExportReport> {
    let chosen = select_exhibits(case.matches(0.0)?, opts.confirmed_only);
    if chosen.is_empty() {
        return Err(EngineError::Invalid(if opts.confirmed_only {
            "no confirmed match to export; confirm matches with `xiezhi review <DIR> <MATCH_ID> --confirm`".into()
        } else {
            format!("no match to export (none confirmed, none unreviewed with score ≥ {EXPORT_FLOOR})")
        }));
    }
    progress.phase("collecting exhibits", Some(chosen.len() as u64));
    let mut exhibits = Vec::new();
    let mut wacz = WaczSpec::default();
    let mut tls = TlsLookup::default();
    for (i, m) in chosen.iter().enumerate() {
        if progress.cancelled() {
            progress.done();
            return Err(xiezhi_evidence::EvidenceError::Cancelled.into());
        }
        let reference_bytes = case.blobs().read_verified(&m.reference.sha256)?;
        let candidate_bytes = case.blobs().read_verified(&m.asset.sha256)?;
        let (url, local_path) = match m.asset.origin {
            AssetOrigin::Crawl => (Some(m.asset.locator.clone()), None),
            AssetOrigin::Local => (None, Some(m.asset.locator.clone())),
        };
        let source = m.sources.first();
        let mut shot = None;
        let mut tls_facts = TlsFields::default();
        if let Some(c) = &m.capture {
            let warc_path = case.warc_dir().join(&c.warc_file);
            wacz.records.push(RecordRef {
                warc_path: warc_path.clone(),
                offset: c.warc_offset,
            });
            if m.asset.locator.starts_with("urn:sha256:") {
                let (resource, metadata) = inline_records(case, &m.asset.sha256, c)?;
                wacz.records.push(resource);
                wacz.records.extend(metadata);
            }
            if let Some(host) = https_host(&c.url) {
                tls_facts = tls_fields(&mut tls, &warc_path, c, &host);
                if let Some(r) = tls_facts.record.take() {
                    wacz.records.push(r);
                }
            }
            let page_url = source.map(|s| s.page_url.clone()).unwrap_or_else(|| c.url.clone());
            let page = case.latest_capture_of(&page_url)?;
            if let Some(p) = &page {
                wacz.records.push(RecordRef {
                    warc_path: case.warc_dir().join(&p.warc_file),
                    offset: p.warc_offset,
                });
            }
            wacz.pages.push(WaczPage {
                url: page_url.clone(),
                title: None,
                ts: page
                    .as_ref()
                    .map(|p| p.fetched_at.clone())
                    .unwrap_or_else(|| c.fetched_at.clone()),
            });
            if let Some((file, at)) = screenshot(case, &page_url)? {
                wacz.records.push(at);
                shot = Some(file);
            }
        }
        exhibits.push(Exhibit {
            number: (i + 1) as u32,
            match_id: m.id.to_string(),
            score: m.score,
            explanation: m.explanation.clone(),
            signals: m.signals.clone(),
            decision: m.review.as_ref().map(|r| r.decision.as_str().to_string()),
            note: m.review.as_ref().and_then(|r| r.note.clone()),
            reference: ExhibitFile {
                original_name: m.reference.original_path.clone(),
                sha256: m.reference.sha256.clone(),
                media_type: m.reference.media_type.clone().unwrap_or_default(),
                bytes: reference_bytes,
            },
            candidate: ExhibitFile {
                original_name: m.asset.locator.clone(),
                sha256: m.asset.sha256.clone(),
                media_type: m.asset.media_type.clone().unwrap_or_default(),
                bytes: candidate_bytes,
            },
            provenance: Provenance {
                url,
                page_url: m.sources.first().map(|s| s.page_url.clone()),
                local_path,
                captured_at: m.capture.as_ref().map(|c| c.fetched_at.clone()),
                http_status: m.capture.as_ref().map(|c| c.status),
                server_ip: m.capture.as_ref().and_then(|c| c.server_ip.clone()),
                warc_file: m.capture.as_ref().map(|c| c.warc_file.clone()),
                warc_record_id: m.capture.as_ref().map(|c| c.response_record_id.clone()),
                element: source.map(|s| s.element.clone()),
                embedded: embedded_note(&m.asset.locator, &m.sources),
                tls_subject: tls_facts.subject,
                tls_issuer: tls_facts.issuer,
                tls_sha256: tls_facts.sha256,
                tls_version: tls_facts.version,
                tls_cipher: tls_facts.cipher,
                tls_record: tls_facts.note,
            },
            screenshot: shot,
            overlay: None,
        });
        progress.advance(1);
    }
    progress.done();
    // A crawl that ignored robots.txt is stated on the cover.
    let crawl_ids: Vec<i64> = chosen
        .iter()
        .filter_map(|m| m.capture.as_ref().map(|c| c.crawl_id))
        .collect();
    let ignore_robots = case
        .crawls()?
        .iter()
        .any(|c| c.ignore_robots && crawl_ids.contains(&c.id));
    let reference_timestamps = case
        .reference_timestamps()?
        .into_iter()
        .map(|t| ReferenceStamp {
            references: serde_json::from_str::<serde_json::Value>(&t.manifest)
                .ok()
                .and_then(|v| v["references"].as_array().map(Vec::len))
                .unwrap_or(0),
            gen_time: t.gen_time,
            tsa_url: t.tsa_url,
            manifest_sha256: t.manifest_sha256,
        })
        .collect();

    let bundle_uuid = uuid::Uuid::new_v4();
    let bundle_id = bundle_uuid.to_string();
    case.log_event("export.started", json!({"bundle_id": bundle_id, "exhibits": exhibits.len(), "tsa": opts.tsa_urls, "path": out.to_string_lossy()}))?;
    let spec = BundleSpec {
        bundle_id: bundle_uuid,
        case_id: case.info().id.clone(),
        case_name: case.info().name.clone(),
        tool_version: crate::VERSION.to_string(),
        model_id: opts.model_id.clone(),
        model_weights_sha256: opts.model_weights_sha256.clone(),
        method: opts.method.clone(),
        created_at: chrono::Utc::now(),
        exhibits,
        custody: case.custody()?,
        wacz,
        tsa_urls: opts.tsa_urls.clone(),
        tsa_is_local_test: !opts.tsa_urls.is_empty() && opts.tsa_urls.iter().all(|u| is_loopback(u)),
        report: ReportOptions {
            client: opts.client.clone(),
            investigator: opts.investigator.clone(),
            bates_prefix: opts.bates_prefix.clone(),
            lang: if opts.lang.is_empty() {
                "en".into()
            } else {
                opts.lang.clone()
            },
            ignore_robots,
            reference_timestamps,
            error_rates: error_rates(),
        },
    };
    progress.phase("writing the bundle", None);
    let cancelled = || progress.cancelled();
    let summary = match xiezhi_evidence::export_bundle_cancellable(&spec, out, &cancelled).await {
        Ok(s) => s,
        Err(e) => {
            progress.done();
            // The custody log says the export began; say how it ended.
            let event = if matches!(e, xiezhi_evidence::EvidenceError::Cancelled) {
                "export.cancelled"
            } else {
                "export.failed"
            };
            case.log_event(event, json!({"bundle_id": bundle_id, "reason": e.to_string()}))?;
            return Err(e.into());
        }
    };
    progress.done();
    let timestamps: Vec<serde_json::Value> = summary
        .timestamps
        .iter()
        .map(|t| serde_json::to_value(t).unwrap_or_default())
        .collect();
    let path = out.to_string_lossy().into_owned();
    case.record_export(
        &path,
        &bundle_id,
        &summary.bundle_sha256,
        &summary.manifest_sha256,
        json!({"exhibits": spec.exhibits.len(), "timestamps": timestamps}),
    )?;
    Ok(ExportReport {
        path,
        bundle_id,
        bundle_sha256: summary.bundle_sha256,
        manifest_sha256: summary.manifest_sha256,
        evidence_manifest_sha256: summary.evidence_manifest_sha256,
        exhibits: spec.exhibits.len(),
        files: summary.files,
        timestamps,
    })
}
