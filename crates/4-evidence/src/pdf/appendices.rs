//! Methodology, the custody log and the list of files with their hashes.

use super::writer::{Writer, MM};
use super::ReportContext;
use crate::model::BundleSpec;
use crate::pdf_text::Face;

pub(super) fn methodology(w: &mut Writer<'_>, spec: &BundleSpec) {
    let t = w.t;
    let s = &t.sizes;
    w.new_page();
    w.heading(t.label("method_heading"));
    w.para(Face::Regular, s.body, &spec.method);
    w.gap(6.0);
    w.kv(t.label("model_id"), &spec.model_id, Face::Regular);
    w.kv(t.label("model_weights"), &spec.model_weights_sha256, Face::Mono);
    w.kv(t.label("tool"), &format!("Xiezhi {}", spec.tool_version), Face::Regular);
    w.subheading(t.label("overlay_heading"));
    w.para(Face::Regular, s.body, t.label("overlay_method_note"));
    w.subheading(t.label("error_rates"));
    match &spec.report.error_rates {
        Some(text) => w.para(Face::Regular, s.body, text),
        None => w.para(Face::Regular, s.body, t.label("no_error_rates")),
    }
}

pub(super) fn custody(w: &mut Writer<'_>, spec: &BundleSpec, ctx: &ReportContext<'_>) {
    let t = w.t;
    let s = &t.sizes;
    w.new_page();
    w.heading(t.label("custody_heading"));
    w.para(Face::Regular, s.body, t.label("custody_note"));
    w.kv(
        t.label("custody_head"),
        ctx.custody_head.unwrap_or(t.label("none")),
        Face::Mono,
    );
    w.gap(6.0);
    let cols = [12.0 * MM, 42.0 * MM, w.width - 90.0 * MM, 36.0 * MM];
    let header = ["col_seq", "col_time", "col_event", "col_hash"].map(|k| (t.label(k).to_string(), Face::Bold));
    w.row(&cols, &header, s.small, true, 0.0);
    for c in &spec.custody {
        let cells = [
            (c.seq.to_string(), Face::Regular),
            (c.at.clone(), Face::Regular),
            (c.event.clone(), Face::Regular),
            (c.hash.chars().take(16).collect(), Face::Mono),
        ];
        w.row(&cols, &cells, s.small, false, 0.0);
    }
}

pub(super) fn files(w: &mut Writer<'_>, ctx: &ReportContext<'_>) {
    let t = w.t;
    let s = &t.sizes;
    w.new_page();
    w.heading(t.label("manifest_appendix"));
    w.para(Face::Regular, s.body, t.label("manifest_appendix_note"));
    w.gap(6.0);
    let cols = [w.width - 122.0 * MM, 20.0 * MM, 102.0 * MM];
    let header = ["col_path", "col_bytes", "col_sha"].map(|k| (t.label(k).to_string(), Face::Bold));
    w.row(&cols, &header, s.small, true, 0.0);
    for (path, bytes, sha) in ctx.files {
        let cells = [
            (path.clone(), Face::Regular),
            (bytes.to_string(), Face::Regular),
            (sha.clone(), Face::Mono),
        ];
        w.row(&cols, &cells, s.mono, false, 0.0);
    }
}
