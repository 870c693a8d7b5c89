//! The human-readable report (printpdf op API). Layout, fonts and wording live in
//! templates/ (report.json and labels.<lang>.json); the sections are in their own modules.

mod appendices;
mod cover;
mod exhibits;
mod images;
mod writer;

use printpdf::{Mm, PdfDocument, PdfPage, PdfSaveOptions};

use crate::model::{BundleSpec, ExhibitFile};
use crate::overlay::OverlayOutcome;
use crate::pdf_text::load_fonts;
use crate::template::Template;
use crate::tsa::TimestampInfo;
use crate::EvidenceError;
use writer::Writer;

/// Facts computed during export that the report prints.
pub struct ReportContext<'a> {
    /// (reference path, candidate path, reference sha256, candidate sha256) per exhibit.
    pub exhibit_files: &'a [(String, String, String, String)],
    pub custody_head: Option<&'a str>,
    /// (path, bytes, sha256) of every other bundle file known when the report is written.
    pub files: &'a [(String, u64, String)],
    /// SHA-256 of exhibits-manifest.json, and the RFC 3161 tokens over it (one per TSA).
    pub evidence_manifest_sha256: &'a str,
    pub evidence_timestamps: &'a [TimestampInfo],
    /// Per exhibit: the overlay picture (or why there is none) and its bundle path.
    pub overlays: &'a [OverlayOutcome],
    pub overlay_paths: &'a [Option<String>],
}

/// Bates prefix from the case name when none is given: its letters and digits,
/// upper-cased, at most 10, then a dash (e.g. "Mountain series" → "MOUNTAINSE-").
pub fn default_bates_prefix(case_name: &str, fallback: &str) -> String {
    let p: String = case_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect::<String>()
        .to_ascii_uppercase();
    if p.is_empty() {
        fallback.to_string()
    } else {
        format!("{p}-")
    }
}

/// Render the report PDF.
pub fn render(spec: &BundleSpec, ctx: &ReportContext<'_>) -> Result<Vec<u8>, EvidenceError> {
    let o = &spec.report;
    let t = Template::load(&o.lang)?;
    let mut doc = PdfDocument::new(t.label("title"));
    let fonts = load_fonts(&mut doc, &t)?;
    let mut pictures: Vec<&ExhibitFile> = Vec::new();
    for (e, ov) in spec.exhibits.iter().zip(ctx.overlays) {
        pictures.extend([&e.reference, &e.candidate]);
        pictures.extend(ov.file.iter().chain(e.screenshot.iter()));
    }
    let images = images::embed_all(&mut doc, &pictures, t.image.max_px);
    let mut w = Writer::new(&t, fonts, images);

    cover::write(&mut w, spec, ctx);
    exhibits::summary(&mut w, spec);
    for (i, e) in spec.exhibits.iter().enumerate() {
        exhibits::exhibit(&mut w, e, i, ctx);
    }
    appendices::methodology(&mut w, spec);
    appendices::custody(&mut w, spec, ctx);
    appendices::files(&mut w, ctx);

    let prefix = if o.bates_prefix.is_empty() {
        default_bates_prefix(&spec.case_name, &t.bates.default_prefix)
    } else {
        o.bates_prefix.clone()
    };
    let case_line = format!("{} ({})", spec.case_name, spec.bundle_id);
    let pages = w.finish(&case_line, &prefix);
    let (pw, ph) = (Mm(t.page.width_mm), Mm(t.page.height_mm));
    let pages = pages.into_iter().map(|ops| PdfPage::new(pw, ph, ops)).collect();
    let mut warnings = Vec::new();
    let opts = PdfSaveOptions {
        // Images are prepared (and compressed) by `images`; nothing is re-encoded here.
        image_optimization: None,
        ..Default::default()
    };
    let bytes = doc.with_pages(pages).save(&opts, &mut warnings);
    if bytes.is_empty() {
        return Err(EvidenceError::Pdf("printpdf produced an empty file".into()));
    }
    Ok(bytes)
}
