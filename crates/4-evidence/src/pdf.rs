//! The human-readable report (printpdf op API). Layout, fonts and wording live in
//! templates/ (report.json and labels.<lang>.json).

use std::collections::HashMap;

use printpdf::{
    Color, Line, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfPage, PdfSaveOptions, Point, Pt, RawImage, RawImageData,
    RawImageFormat, Rect, Rgb, TextItem, XObjectId, XObjectTransform,
};

use crate::model::{BundleSpec, ExhibitFile};
use crate::pdf_text::{load_fonts, Face, Fonts};
use crate::template::Template;
use crate::EvidenceError;

/// Facts computed during export that the report prints.
pub struct ReportContext<'a> {
    /// (reference path, candidate path, reference sha256, candidate sha256) per exhibit.
    pub exhibit_files: &'a [(String, String, String, String)],
    pub custody_head: Option<&'a str>,
    /// (path, bytes, sha256) of every other bundle file known when the report is written.
    pub files: &'a [(String, u64, String)],
}

const MM: f32 = 72.0 / 25.4;
type Rgbf = (f32, f32, f32);
const GREY: Rgbf = (0.3, 0.3, 0.3);
const RED: Rgbf = (0.75, 0.0, 0.0);

/// An image placed once in the document and drawn wherever needed (thumbnail and exhibit).
#[derive(Clone)]
struct Placed {
    id: XObjectId,
    w: u32,
    h: u32,
}

struct Writer<'t> {
    t: &'t Template,
    fonts: Fonts,
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    y: f32,
    left: f32,
    width: f32,
    top: f32,
    bottom: f32,
    images: HashMap<String, Option<Placed>>,
}

impl<'t> Writer<'t> {
    fn new(t: &'t Template, fonts: Fonts) -> Self {
        let m = t.page.margin_mm * MM;
        let top = t.page.height_mm * MM - m;
        Writer {
            t,
            fonts,
            pages: Vec::new(),
            ops: Vec::new(),
            y: top,
            left: m,
            width: t.page.width_mm * MM - 2.0 * m,
            top,
            bottom: m + t.page.footer_mm * MM,
            images: HashMap::new(),
        }
    }

    fn clean(&self, s: &str) -> String {
        s.chars()
            .filter_map(|c| match c {
                '\t' => Some(' '),
                '\n' => Some('\n'),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect()
    }

    fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(ops);
        self.y = self.top;
    }

    fn ensure(&mut self, h: f32) {
        if self.y - h < self.bottom && self.y < self.top {
            self.new_page();
        }
    }

    fn lh(&self, size: f32) -> f32 {
        size * self.t.line_spacing
    }

    /// One line of text; each run of characters is set in the font that has them.
    fn put(&mut self, x: f32, y: f32, face: Face, size: f32, s: &str, color: Option<Rgbf>) {
        let (r, g, b) = color.unwrap_or((0.0, 0.0, 0.0));
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFillColor {
                col: Color::Rgb(Rgb::new(r, g, b, None)),
            },
            Op::SetTextCursor {
                pos: Point { x: Pt(x), y: Pt(y) },
            },
        ]);
        for (font, text) in self.fonts.runs(s, face) {
            self.ops.push(Op::SetFont { font, size: Pt(size) });
            self.ops.push(Op::ShowText {
                items: vec![TextItem::Text(text)],
            });
        }
        self.ops.push(Op::EndTextSection);
    }

    /// A wrapped paragraph starting at `indent` from the left margin.
    fn para_color(&mut self, face: Face, size: f32, s: &str, indent: f32, color: Option<Rgbf>) {
        let s = self.clean(s);
        for line in self.fonts.wrap(&s, face, size, self.width - indent) {
            let lh = self.lh(size);
            self.ensure(lh);
            self.y -= lh;
            self.put(self.left + indent, self.y + size * 0.25, face, size, &line, color);
        }
    }

    fn para(&mut self, face: Face, size: f32, s: &str) {
        self.para_color(face, size, s, 0.0, None);
    }

    fn gap(&mut self, pt: f32) {
        self.y -= pt;
    }

    fn heading(&mut self, s: &str) {
        let size = self.t.sizes.heading;
        self.ensure(self.lh(size) * 3.0);
        self.gap(size * 0.4);
        self.para(Face::Bold, size, s);
        self.rule();
        self.gap(size * 0.3);
    }

    fn subheading(&mut self, s: &str) {
        let size = self.t.sizes.subheading;
        self.ensure(self.lh(size) * 3.0);
        self.gap(4.0);
        self.para(Face::Bold, size, s);
    }

    fn rule(&mut self) {
        self.gap(2.0);
        let y = self.y;
        self.line(self.left, y, self.left + self.width, y, 0.5);
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, thick: f32) {
        let p = |x, y| LinePoint {
            p: Point { x: Pt(x), y: Pt(y) },
            bezier: false,
        };
        self.ops.extend([
            Op::SetOutlineColor {
                col: Color::Rgb(Rgb::new(0.4, 0.4, 0.4, None)),
            },
            Op::SetOutlineThickness { pt: Pt(thick) },
            Op::DrawLine {
                line: Line {
                    points: vec![p(x1, y1), p(x2, y2)],
                    is_closed: false,
                },
            },
        ]);
    }

    /// Label in a fixed column, value wrapped in the rest of the line.
    fn kv(&mut self, label: &str, value: &str, face: Face) {
        let size = if face == Face::Mono {
            self.t.sizes.mono
        } else {
            self.t.sizes.body
        };
        let lw = self.t.label_width_mm * MM;
        let value = self.clean(value);
        let lines = self.fonts.wrap(&value, face, size, self.width - lw);
        let label_lines = self
            .fonts
            .wrap(&self.clean(label), Face::Bold, self.t.sizes.small, lw - 4.0);
        let lh = self.lh(self.t.sizes.body);
        self.ensure(lh * lines.len().min(3) as f32);
        let rows = lines.len().max(label_lines.len());
        for i in 0..rows {
            self.ensure(lh);
            self.y -= lh;
            if let Some(l) = label_lines.get(i) {
                let (sz, y) = (self.t.sizes.small, self.y + size * 0.25);
                self.put(self.left, y, Face::Bold, sz, l, Some((0.25, 0.25, 0.25)));
            }
            if let Some(v) = lines.get(i) {
                self.put(self.left + lw, self.y + size * 0.25, face, size, v, None);
            }
        }
    }

    /// A table row: each cell wrapped in its column; the row is as tall as its tallest
    /// cell, or `min_h` (room for a thumbnail). Returns the y of the row's top.
    fn row(&mut self, cols: &[f32], cells: &[(String, Face)], size: f32, header: bool, min_h: f32) -> f32 {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(cols)
            .map(|((s, f), w)| self.fonts.wrap(&self.clean(s), *f, size, w - 4.0))
            .collect();
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let lh = self.lh(size);
        let h = (lh * n as f32).max(min_h);
        self.ensure(h + 3.0);
        let top = self.y;
        for i in 0..n {
            let y = top - lh * (i + 1) as f32;
            let mut x = self.left;
            for ((col, w), (_, face)) in wrapped.iter().zip(cols).zip(cells) {
                if let Some(s) = col.get(i) {
                    let face = if header { Face::Bold } else { *face };
                    self.put(x, y + size * 0.25, face, size, s, None);
                }
                x += w;
            }
        }
        self.y = top - h - 3.0;
        let y = self.y + 1.5;
        self.line(self.left, y, self.left + self.width, y, if header { 0.8 } else { 0.25 });
        top
    }

    /// Decode and embed an image once (keyed by its SHA-256); None if it cannot be decoded.
    fn place(&mut self, doc: &mut PdfDocument, f: &ExhibitFile) -> Option<Placed> {
        if let Some(p) = self.images.get(&f.sha256) {
            return p.clone();
        }
        let placed = image::load_from_memory(&f.bytes).ok().map(|img| {
            let max = self.t.image.max_px;
            let img = if img.width() > max || img.height() > max {
                img.thumbnail(max, max)
            } else {
                img
            };
            // Flatten transparency onto white: PDF viewers differ on soft masks.
            let rgba = img.to_rgba8();
            let (w, h) = rgba.dimensions();
            let mut rgb = Vec::with_capacity((w * h * 3) as usize);
            for p in rgba.pixels() {
                let a = p[3] as u32;
                for c in &p.0[..3] {
                    rgb.push(((*c as u32 * a + 255 * (255 - a)) / 255) as u8);
                }
            }
            let id = doc.add_image(&RawImage {
                pixels: RawImageData::U8(rgb),
                width: w as usize,
                height: h as usize,
                data_format: RawImageFormat::RGB8,
                tag: Vec::new(),
            });
            Placed { id, w, h }
        });
        self.images.insert(f.sha256.clone(), placed.clone());
        placed
    }

    /// Draw `f` inside a box of `box_w` × `box_h` with its top-left at (x, y_top);
    /// returns the height used.
    fn image(&mut self, doc: &mut PdfDocument, f: &ExhibitFile, x: f32, y_top: f32, box_w: f32, box_h: f32) -> f32 {
        let Some(p) = self.place(doc, f) else {
            let msg = self.t.label("image_unreadable").to_string();
            let size = self.t.sizes.small;
            let lines = self.fonts.wrap(&msg, Face::Regular, size, box_w - 6.0);
            let mut y = y_top;
            for l in lines {
                y -= self.lh(size);
                self.put(x + 3.0, y, Face::Regular, size, &l, Some(RED));
            }
            return y_top - y + 4.0;
        };
        let scale = (box_w / p.w as f32).min(box_h / p.h as f32);
        let (dw, dh) = (p.w as f32 * scale, p.h as f32 * scale);
        let dx = x + (box_w - dw) / 2.0;
        let dy = y_top - dh;
        // dpi 72 makes one image pixel one point before scaling.
        self.ops.push(Op::UseXobject {
            id: p.id,
            transform: XObjectTransform {
                translate_x: Some(Pt(dx)),
                translate_y: Some(Pt(dy)),
                scale_x: Some(scale),
                scale_y: Some(scale),
                dpi: Some(72.0),
                ..Default::default()
            },
        });
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(dx),
                y: Pt(dy),
                width: Pt(dw),
                height: Pt(dh),
                mode: Some(PaintMode::Stroke),
                winding_order: None,
            },
        });
        dh
    }

    /// Bates number and page footer on every page.
    fn finish(mut self, case_line: &str, prefix: &str) -> Vec<Vec<Op>> {
        if !self.ops.is_empty() {
            self.new_page();
        }
        let n = self.pages.len();
        let size = self.t.sizes.footer;
        let y = self.t.page.margin_mm * MM * 0.6;
        let mut pages = std::mem::take(&mut self.pages);
        for (i, ops) in pages.iter_mut().enumerate() {
            let bates = format!("{prefix}{:0width$}", i + 1, width = self.t.bates.digits);
            let bw = self.fonts.width(&bates, Face::Bold, size);
            let right = self.left + self.width - bw;
            let page = format!("{} {} / {}", self.t.label("page"), i + 1, n);
            let max_left = self.width - bw - 20.0;
            let left_text = self
                .fonts
                .wrap(&format!("{case_line} · {page}"), Face::Regular, size, max_left)
                .into_iter()
                .next()
                .unwrap_or_default();
            std::mem::swap(&mut self.ops, ops);
            self.line(self.left, y + size * 1.4, self.left + self.width, y + size * 1.4, 0.4);
            self.put(self.left, y, Face::Regular, size, &left_text, Some(GREY));
            self.put(right, y, Face::Bold, size, &bates, None);
            std::mem::swap(&mut self.ops, ops);
        }
        pages
    }
}

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
    let mut w = Writer::new(&t, fonts);
    let s = &t.sizes;
    let created = spec.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let none = t.label("none").to_string();

    // Cover.
    w.gap(24.0);
    w.para(Face::Bold, s.title, t.label("title"));
    w.para_color(Face::Regular, s.body, t.label("subtitle"), 0.0, Some(GREY));
    w.gap(12.0);
    w.kv(t.label("case"), &spec.case_name, Face::Regular);
    w.kv(t.label("case_id"), &spec.case_id, Face::Regular);
    w.kv(t.label("client"), or_none(&t, &o.client), Face::Regular);
    w.kv(t.label("investigator"), or_none(&t, &o.investigator), Face::Regular);
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
    w.para(Face::Regular, s.body, t.label("manifest_note"));
    w.heading(t.label("timestamp_heading"));
    if spec.tsa_urls.is_empty() {
        w.para(Face::Regular, s.body, t.label("no_timestamp_note"));
    } else {
        w.para(Face::Regular, s.body, t.label("timestamp_note"));
        for u in &spec.tsa_urls {
            w.kv(t.label("tsa_list"), u, Face::Mono);
        }
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

    // Summary table with thumbnails of the candidates.
    w.new_page();
    w.heading(t.label("summary_heading"));
    let thumb = t.image.thumb_mm * MM;
    let cols = [11.0 * MM, thumb + 3.0 * MM, 14.0 * MM, 22.0 * MM];
    let url_w = w.width - cols.iter().sum::<f32>();
    let cols = [cols[0], cols[1], cols[2], cols[3], url_w];
    let sz = s.small;
    let header = ["col_number", "col_thumb", "col_score", "col_decision", "col_url"]
        .map(|k| (t.label(k).to_string(), Face::Bold));
    w.row(&cols, &header, sz, true, 0.0);
    for e in &spec.exhibits {
        let cells = [
            (format!("{:03}", e.number), Face::Regular),
            (String::new(), Face::Regular),
            (format!("{:.3}", e.score), Face::Regular),
            (
                e.decision.clone().unwrap_or_else(|| t.label("undecided").to_string()),
                Face::Regular,
            ),
            (
                e.provenance
                    .url
                    .clone()
                    .or_else(|| e.provenance.local_path.clone())
                    .unwrap_or_else(|| none.clone()),
                Face::Regular,
            ),
        ];
        let top = w.row(&cols, &cells, sz, false, thumb + 2.0);
        let x = w.left + cols[0];
        w.image(&mut doc, &e.candidate, x, top - 2.0, thumb, thumb);
    }

    // Exhibits, one or more pages each.
    for (e, (rpath, cpath, rsha, csha)) in spec.exhibits.iter().zip(ctx.exhibit_files) {
        w.new_page();
        w.heading(&format!("{} {:03}", t.label("exhibit_heading"), e.number));
        let gap = t.image.gap_mm * MM;
        let mut pictures: Vec<(&str, &ExhibitFile)> = vec![
            (t.label("reference"), &e.reference),
            (t.label("candidate"), &e.candidate),
        ];
        if let Some(ov) = &e.overlay {
            pictures.push((t.label("overlay"), ov));
        }
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
            tallest = tallest.max(w.image(&mut doc, f, x, y_img, box_w, box_w));
        }
        w.y = y_img - tallest - 8.0;

        let p = &e.provenance;
        w.kv(t.label("match_id"), &e.match_id, Face::Regular);
        w.kv(t.label("score"), &format!("{:.4}", e.score), Face::Bold);
        w.kv(t.label("url"), or_none(&t, &p.url), Face::Mono);
        w.kv(t.label("page_url"), or_none(&t, &p.page_url), Face::Mono);
        w.kv(t.label("element"), or_none(&t, &p.element), Face::Mono);
        if p.local_path.is_some() {
            w.kv(t.label("local_path"), or_none(&t, &p.local_path), Face::Mono);
        }
        w.kv(t.label("captured_at"), or_none(&t, &p.captured_at), Face::Regular);
        let status = p.http_status.map(|c| c.to_string()).unwrap_or(none.clone());
        w.kv(t.label("http_status"), &status, Face::Regular);
        w.kv(t.label("server_ip"), or_none(&t, &p.server_ip), Face::Regular);
        if p.tls_subject.is_some() || p.tls_sha256.is_some() {
            w.kv(t.label("tls_subject"), or_none(&t, &p.tls_subject), Face::Regular);
            w.kv(t.label("tls_issuer"), or_none(&t, &p.tls_issuer), Face::Regular);
            w.kv(t.label("tls_sha256"), or_none(&t, &p.tls_sha256), Face::Mono);
        }
        if p.warc_file.is_some() || p.warc_record_id.is_some() {
            let warc = format!("{} {}", or_none(&t, &p.warc_file), or_none(&t, &p.warc_record_id));
            w.kv(t.label("warc"), &warc, Face::Mono);
        }
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
        w.kv(t.label("note"), or_none(&t, &e.note), Face::Regular);
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
            serde_json::Value::Null => w.para(Face::Regular, s.body, &none),
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
            let h = w.image(&mut doc, shot, w.left, y_top, sw, avail.min(max_h));
            w.y = y_top - h - 6.0;
        }
    }

    // Methodology.
    w.new_page();
    w.heading(t.label("method_heading"));
    w.para(Face::Regular, s.body, &spec.method);
    w.gap(6.0);
    w.kv(t.label("model_id"), &spec.model_id, Face::Regular);
    w.kv(t.label("model_weights"), &spec.model_weights_sha256, Face::Mono);
    w.kv(t.label("tool"), &format!("Xiezhi {}", spec.tool_version), Face::Regular);
    w.subheading(t.label("error_rates"));
    match &o.error_rates {
        Some(text) => w.para(Face::Regular, s.body, text),
        None => w.para(Face::Regular, s.body, t.label("no_error_rates")),
    }

    // Custody appendix.
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
    w.row(&cols, &header, sz, true, 0.0);
    for c in &spec.custody {
        let cells = [
            (c.seq.to_string(), Face::Regular),
            (c.at.clone(), Face::Regular),
            (c.event.clone(), Face::Regular),
            (c.hash.chars().take(16).collect(), Face::Mono),
        ];
        w.row(&cols, &cells, sz, false, 0.0);
    }

    // Files appendix.
    w.new_page();
    w.heading(t.label("manifest_appendix"));
    w.para(Face::Regular, s.body, t.label("manifest_appendix_note"));
    w.gap(6.0);
    let cols = [w.width - 122.0 * MM, 20.0 * MM, 102.0 * MM];
    let header = ["col_path", "col_bytes", "col_sha"].map(|k| (t.label(k).to_string(), Face::Bold));
    w.row(&cols, &header, sz, true, 0.0);
    for (path, bytes, sha) in ctx.files {
        let cells = [
            (path.clone(), Face::Regular),
            (bytes.to_string(), Face::Regular),
            (sha.clone(), Face::Mono),
        ];
        w.row(&cols, &cells, s.mono, false, 0.0);
    }

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
        // Keep embedded images lossless: they are evidence, not decoration.
        image_optimization: None,
        ..Default::default()
    };
    let bytes = doc.with_pages(pages).save(&opts, &mut warnings);
    if bytes.is_empty() {
        return Err(EvidenceError::Pdf("printpdf produced an empty file".into()));
    }
    Ok(bytes)
}
