//! The cover: who, what and when, and the integrity facts a reader checks first — the
//! SHA-256 of the evidence manifest and the RFC 3161 time over it.

use super::writer::{Writer, GREY, RED};
use super::ReportContext;
use crate::model::BundleSpec;
use crate::pdf_text::Face;
use crate::template::Template;

fn or_none<'a>(t: &'a Template, v: &'a Option<String>) -> &'a str {
    v.as_deref().unwrap_or(t.label("none"))
}

pub(super) fn write(w: &mut Writer<'_>, spec: &BundleSpec, ctx: &ReportContext<'_>) {
    let t = w.t;
    let s = &t.sizes;
    let o = &spec.report;
    let created = spec.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    w.gap(24.0);
    w.para(Face::Bold, s.title, t.label("title"));
    w.para_color(Face::Regular, s.body, t.label("subtitle"), 0.0, Some(GREY));
    w.gap(12.0);
    w.kv(t.label("case"), &spec.case_name, Face::Regular);
    w.kv(t.label("case_id"), &spec.case_id, Face::Regular);
    w.kv(t.label("client"), or_none(t, &o.client), Face::Regular);
    w.kv(t.label("investigator"), or_none(t, &o.investigator), Face::Regular);
    w.kv(t.label("exported"), &created, Face::Regular);
    w.kv(t.label("bundle_id"), &spec.bundle_id.to_string(), Face::Mono);
    w.kv(t.label("tool"), &format!("Xiezhi {}", spec.tool_version), Face::Regular);
    w.kv(
        t.label("exhibits_count"),
        &spec.exhibits.len().to_string(),
        Face::Regular,
    );
    if o.ignore_robots {
        w.gap(6.0);
        w.para_color(Face::Bold, s.body, t.label("robots_note"), 0.0, Some(RED));
    }

    w.heading(t.label("manifest_heading"));
    w.kv(
        t.label("evidence_manifest_sha256"),
        &format!(
            "{}  {}",
            ctx.evidence_manifest_sha256,
            crate::model::EVIDENCE_MANIFEST_PATH
        ),
        Face::Mono,
    );
    w.para(Face::Regular, s.body, t.label("manifest_note"));

    w.heading(t.label("timestamp_heading"));
    if spec.tsa_urls.is_empty() {
        w.para(Face::Regular, s.body, t.label("no_timestamp_note"));
    } else {
        for (i, (url, ts)) in spec.tsa_urls.iter().zip(ctx.evidence_timestamps).enumerate() {
            if i > 0 {
                w.gap(4.0);
            }
            w.kv(t.label("timestamp_time"), &ts.gen_time, Face::Bold);
            let name = ts.tsa_name.clone().unwrap_or_else(|| ts.signer_subject.clone());
            w.kv(t.label("tsa_name"), &name, Face::Regular);
            w.kv(t.label("tsa_list"), url, Face::Mono);
            w.kv(
                t.label("timestamp_token"),
                &format!("{} (serial {})", crate::model::evidence_token_path(i), ts.serial),
                Face::Mono,
            );
        }
        w.gap(4.0);
        w.para(Face::Regular, s.body, t.label("timestamp_note"));
        if spec.tsa_is_local_test {
            w.gap(6.0);
            w.para_color(Face::Bold, s.body, t.label("local_tsa_warning"), 0.0, Some(RED));
        }
    }
    if !o.reference_timestamps.is_empty() {
        w.subheading(t.label("refs_stamp_heading"));
        w.para(Face::Regular, s.body, t.label("refs_stamp_note"));
        for r in &o.reference_timestamps {
            let line = format!(
                "{} — {} {} {} — {}",
                r.gen_time,
                r.references,
                t.label("refs_stamp_line"),
                r.manifest_sha256,
                r.tsa_url
            );
            w.para_color(Face::Mono, s.mono, &line, 8.0, None);
        }
    }
}
