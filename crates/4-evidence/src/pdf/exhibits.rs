//! The summary table and one section per exhibit: the pictures side by side (reference,
//! candidate, overlay), where and how the candidate was captured, its TLS certificate,
//! hashes, every signal explained, the reviewer's decision and the page screenshot.

use super::writer::{Writer, GREY, MM};
use super::ReportContext;
use crate::model::{BundleSpec, Exhibit, ExhibitFile};
use crate::pdf_text::Face;
use crate::template::Template;

fn or_none<'a>(t: &'a Template, v: &'a Option<String>) -> &'a str {
    v.as_deref().unwrap_or(t.label("none"))
}

fn signal_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.4}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

pub(super) fn summary(w: &mut Writer<'_>, spec: &BundleSpec) {
    let t = w.t;
    w.new_page();
    w.heading(t.label("summary_heading"));
    let thumb = t.image.thumb_mm * MM;
    let cols = [11.0 * MM, thumb + 3.0 * MM, 14.0 * MM, 22.0 * MM];
    let url_w = w.width - cols.iter().sum::<f32>();
    let cols = [cols[0], cols[1], cols[2], cols[3], url_w];
    let sz = t.sizes.small;
    let header = ["col_number", "col_thumb", "col_score", "col_decision", "col_url"]
        .map(|k| (t.label(k).to_string(), Face::Bold));
    w.row(&cols, &header, sz, true, 0.0);
    for e in &spec.exhibits {
        let p = &e.provenance;
        let cells = [
            (format!("{:03}", e.number), Face::Regular),
            (String::new(), Face::Regular),
            (format!("{:.3}", e.score), Face::Regular),
            (
                e.decision.clone().unwrap_or_else(|| t.label("undecided").to_string()),
                Face::Regular,
            ),
            (
                p.url
                    .clone()
                    .or_else(|| p.local_path.clone())
                    .unwrap_or_else(|| t.label("none").to_string()),
                Face::Regular,
            ),
        ];
        let top = w.row(&cols, &cells, sz, false, thumb + 2.0);
        let x = w.left + cols[0];
        w.image(&e.candidate, x, top - 2.0, thumb, thumb);
    }
}

/// Reference, candidate and overlay side by side, captions above.
fn pictures(w: &mut Writer<'_>, pictures: &[(&str, &ExhibitFile)]) {
    let t = w.t;
    let s = &t.sizes;
    let gap = t.image.gap_mm * MM;
    let n = pictures.len() as f32;
    let box_w = ((w.width - gap * (n - 1.0)) / n).min(t.image.box_mm * MM);
    let captions: Vec<Vec<String>> = pictures
        .iter()
        .map(|(c, _)| w.fonts.wrap(c, Face::Bold, s.small, box_w))
        .collect();
    let cap_lines = captions.iter().map(Vec::len).max().unwrap_or(1);
    let y0 = w.y;
    for (i, lines) in captions.iter().enumerate() {
        for (j, l) in lines.iter().enumerate() {
            let y = y0 - w.lh(s.small) * (j + 1) as f32;
            w.put(w.left + (box_w + gap) * i as f32, y, Face::Bold, s.small, l, None);
        }
    }
    let y_img = y0 - w.lh(s.small) * cap_lines as f32 - 4.0;
    let mut tallest: f32 = 0.0;
    for (i, (_, f)) in pictures.iter().enumerate() {
        let x = w.left + (box_w + gap) * i as f32;
        tallest = tallest.max(w.image(f, x, y_img, box_w, box_w));
    }
    w.y = y_img - tallest - 8.0;
}

/// Capture facts: URLs, element, time, status, address, TLS, WARC record.
fn provenance(w: &mut Writer<'_>, e: &Exhibit) {
    let t = w.t;
    let p = &e.provenance;
    let none = t.label("none");
    w.kv(t.label("url"), or_none(t, &p.url), Face::Mono);
    w.kv(t.label("page_url"), or_none(t, &p.page_url), Face::Mono);
    w.kv(t.label("element"), or_none(t, &p.element), Face::Mono);
    if let Some(e) = &p.embedded {
        w.kv(t.label("embedded"), e, Face::Mono);
    }
    if p.local_path.is_some() {
        w.kv(t.label("local_path"), or_none(t, &p.local_path), Face::Mono);
    }
    w.kv(t.label("captured_at"), or_none(t, &p.captured_at), Face::Regular);
    let status = p.http_status.map(|c| c.to_string()).unwrap_or(none.to_string());
    w.kv(t.label("http_status"), &status, Face::Regular);
    w.kv(t.label("server_ip"), or_none(t, &p.server_ip), Face::Regular);
    let https = p.url.as_deref().is_some_and(|u| u.starts_with("https:"));
    if https || p.tls_subject.is_some() || p.tls_sha256.is_some() {
        w.kv(t.label("tls_subject"), or_none(t, &p.tls_subject), Face::Regular);
        w.kv(t.label("tls_issuer"), or_none(t, &p.tls_issuer), Face::Regular);
        w.kv(t.label("tls_sha256"), or_none(t, &p.tls_sha256), Face::Mono);
        if p.tls_version.is_some() || p.tls_cipher.is_some() {
            let v = format!(
                "{} {}",
                or_none(t, &p.tls_version),
                p.tls_cipher.as_deref().unwrap_or("")
            );
            w.kv(t.label("tls_version"), v.trim(), Face::Regular);
        }
        w.kv(t.label("tls_record"), or_none(t, &p.tls_record), Face::Mono);
    }
    if p.warc_file.is_some() || p.warc_record_id.is_some() {
        let warc = format!("{} {}", or_none(t, &p.warc_file), or_none(t, &p.warc_record_id));
        w.kv(t.label("warc"), &warc, Face::Mono);
    }
}

pub(super) fn exhibit(w: &mut Writer<'_>, e: &Exhibit, i: usize, ctx: &ReportContext<'_>) {
    let t = w.t;
    let s = &t.sizes;
    let (rpath, cpath, rsha, csha) = &ctx.exhibit_files[i];
    let overlay = &ctx.overlays[i];
    w.new_page();
    w.heading(&format!("{} {:03}", t.label("exhibit_heading"), e.number));
    let mut pics: Vec<(&str, &ExhibitFile)> = vec![
        (t.label("reference"), &e.reference),
        (t.label("candidate"), &e.candidate),
    ];
    let overlay_caption = if overlay.approximate {
        t.label("overlay_approximate")
    } else {
        t.label("overlay")
    };
    if let Some(ov) = &overlay.file {
        pics.push((overlay_caption, ov));
    }
    pictures(w, &pics);
    let overlay_text = match &overlay.file {
        Some(f) => format!(
            "{} — {}",
            ctx.overlay_paths[i].as_deref().unwrap_or(&f.original_name),
            overlay.note
        ),
        None => format!("{} {}", t.label("overlay_none"), overlay.note),
    };
    w.kv(t.label("overlay_method"), &overlay_text, Face::Regular);

    w.kv(t.label("match_id"), &e.match_id, Face::Regular);
    w.kv(t.label("score"), &format!("{:.4}", e.score), Face::Bold);
    provenance(w, e);
    let rfile = format!("{rpath} ({}, {})", e.reference.original_name, e.reference.media_type);
    w.kv(t.label("reference_file"), &rfile, Face::Mono);
    w.kv(t.label("reference_sha256"), rsha, Face::Mono);
    let cfile = format!("{cpath} ({}, {})", e.candidate.original_name, e.candidate.media_type);
    w.kv(t.label("candidate_file"), &cfile, Face::Mono);
    w.kv(t.label("candidate_sha256"), csha, Face::Mono);
    w.kv(
        t.label("decision"),
        e.decision.as_deref().unwrap_or(t.label("undecided")),
        Face::Bold,
    );
    w.kv(t.label("note"), or_none(t, &e.note), Face::Regular);
    w.subheading(t.label("signals"));
    match &e.signals {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let help_key = format!("sig.{k}");
                let help = t.label(&help_key);
                let text = if help == help_key {
                    signal_text(v)
                } else {
                    format!("{} — {help}", signal_text(v))
                };
                w.kv(k, &text, Face::Regular);
            }
        }
        serde_json::Value::Null => w.para(Face::Regular, s.body, t.label("none")),
        other => w.para(Face::Mono, s.mono, &other.to_string()),
    }
    w.subheading(t.label("explanation"));
    w.para(Face::Regular, s.body, &e.explanation);
    if let Some(shot) = &e.screenshot {
        let sw = (t.image.screenshot_mm * MM).min(w.width);
        let max_h = w.top - w.bottom - w.lh(s.subheading) * 2.0;
        w.ensure(w.lh(s.subheading) * 2.0 + sw.min(max_h) * 0.5);
        w.subheading(t.label("screenshot"));
        w.para_color(
            Face::Mono,
            s.mono,
            &format!("{} — sha256 {}", shot.original_name, shot.sha256),
            0.0,
            Some(GREY),
        );
        let avail = (w.y - w.bottom - 4.0).max(40.0);
        let y_top = w.y - 4.0;
        let h = w.image(shot, w.left, y_top, sw, avail.min(max_h));
        w.y = y_top - h - 6.0;
    }
}
