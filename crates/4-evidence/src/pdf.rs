//! The human-readable report (printpdf op API). Layout constants and labels
//! live in templates/report.json.

use printpdf::{
    Color, Line, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt,
    RawImage, RawImageData, RawImageFormat, Rect, Rgb, TextItem, XObjectTransform,
};

use crate::model::BundleSpec;
use crate::pdf_text::{load_fonts, text_width, wrap, Face, Fonts};
use crate::template::Template;
use crate::EvidenceError;

/// Facts computed during export that the report prints.
pub struct ReportContext<'a> {
    /// (reference path, candidate path, reference sha256, candidate sha256) per exhibit.
    pub exhibit_files: &'a [(String, String, String, String)],
    pub custody_head: Option<&'a str>,
}

const MM: f32 = 72.0 / 25.4;

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
        }
    }

    fn clean(&self, s: &str) -> String {
        s.chars()
            .filter_map(|c| match c {
                '\t' => Some(' '),
                '\n' => Some('\n'),
                c if c.is_control() => None,
                c if !self.fonts.unicode && (c as u32) > 0xFF => Some('?'),
                c => Some(c),
            })
            .collect()
    }

    fn handle(&self, face: Face) -> PdfFontHandle {
        match face {
            Face::Regular => self.fonts.regular.clone(),
            Face::Bold => self.fonts.bold.clone(),
            Face::Mono => self.fonts.mono.clone(),
        }
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

    fn put(&mut self, x: f32, y: f32, face: Face, size: f32, s: &str, color: Option<(f32, f32, f32)>) {
        let (r, g, b) = color.unwrap_or((0.0, 0.0, 0.0));
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFillColor {
                col: Color::Rgb(Rgb::new(r, g, b, None)),
            },
            Op::SetFont {
                font: self.handle(face),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point { x: Pt(x), y: Pt(y) },
            },
            Op::ShowText {
                items: vec![TextItem::Text(s.to_string())],
            },
            Op::EndTextSection,
        ]);
    }

    /// A wrapped paragraph starting at `indent` from the left margin.
    fn para_color(&mut self, face: Face, size: f32, s: &str, indent: f32, color: Option<(f32, f32, f32)>) {
        let s = self.clean(s);
        for line in wrap(&s, face, size, self.width - indent) {
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

    fn rule(&mut self) {
        self.gap(2.0);
        let y = self.y;
        self.line(self.left, y, self.left + self.width, y, 0.5);
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, thick: f32) {
        self.ops.extend([
            Op::SetOutlineColor {
                col: Color::Rgb(Rgb::new(0.4, 0.4, 0.4, None)),
            },
            Op::SetOutlineThickness { pt: Pt(thick) },
            Op::DrawLine {
                line: Line {
                    points: vec![
                        LinePoint {
                            p: Point { x: Pt(x1), y: Pt(y1) },
                            bezier: false,
                        },
                        LinePoint {
                            p: Point { x: Pt(x2), y: Pt(y2) },
                            bezier: false,
                        },
                    ],
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
        let lines = wrap(&value, face, size, self.width - lw);
        let label_lines = wrap(&self.clean(label), Face::Bold, self.t.sizes.small, lw - 4.0);
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

    /// A table row: each cell wrapped in its column; the row is as tall as its tallest cell.
    fn row(&mut self, cols: &[f32], cells: &[(String, Face)], size: f32, header: bool) {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(cols)
            .map(|((s, f), w)| wrap(&self.clean(s), *f, size, w - 4.0))
            .collect();
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let lh = self.lh(size);
        self.ensure(lh * n as f32 + 3.0);
        for i in 0..n {
            self.y -= lh;
            let mut x = self.left;
            for ((col, w), (_, face)) in wrapped.iter().zip(cols).zip(cells) {
                if let Some(s) = col.get(i) {
                    let face = if header { Face::Bold } else { *face };
                    self.put(x, self.y + size * 0.25, face, size, s, None);
                }
                x += w;
            }
        }
        self.gap(3.0);
        let y = self.y + 1.5;
        self.line(self.left, y, self.left + self.width, y, if header { 0.8 } else { 0.25 });
    }

    fn image(&mut self, doc: &mut PdfDocument, bytes: &[u8], x: f32, y_top: f32, box_w: f32) -> f32 {
        let img = match image::load_from_memory(bytes) {
            Ok(i) => i,
            Err(_) => {
                let msg = self.t.label("image_unreadable").to_string();
                let lines = wrap(&msg, Face::Regular, self.t.sizes.small, box_w - 6.0);
                let mut y = y_top;
                for l in lines {
                    y -= self.lh(self.t.sizes.small);
                    self.put(x + 3.0, y, Face::Regular, self.t.sizes.small, &l, Some((0.6, 0.0, 0.0)));
                }
                return y_top - y + 4.0;
            }
        };
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
        let scale = (box_w / w as f32).min(box_w / h as f32);
        let (dw, dh) = (w as f32 * scale, h as f32 * scale);
        let dx = x + (box_w - dw) / 2.0;
        let dy = y_top - dh;
        // dpi 72 makes one image pixel one point before scaling.
        self.ops.push(Op::UseXobject {
            id,
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

    fn finish(mut self, case_line: &str) -> Vec<Vec<Op>> {
        if !self.ops.is_empty() {
            self.new_page();
        }
        let n = self.pages.len();
        let size = self.t.sizes.footer;
        let y = self.t.page.margin_mm * MM * 0.6;
        let mut pages = std::mem::take(&mut self.pages);
        for (i, ops) in pages.iter_mut().enumerate() {
            let bates = format!("{}{:0width$}", self.t.bates.prefix, i + 1, width = self.t.bates.digits);
            let right = self.left + self.width - text_width(&bates, Face::Bold, size);
            let page = format!("{} {} / {}", self.t.label("page"), i + 1, n);
            let max_left = self.width - text_width(&bates, Face::Bold, size) - 20.0;
            let left_text = wrap(&format!("{case_line} · {page}"), Face::Regular, size, max_left)
                .into_iter()
                .next()
                .unwrap_or_default();
            std::mem::swap(&mut self.ops, ops);
            self.line(self.left, y + size * 1.4, self.left + self.width, y + size * 1.4, 0.4);
            self.put(self.left, y, Face::Regular, size, &left_text, Some((0.3, 0.3, 0.3)));
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

/// Render the report PDF.
pub fn render(spec: &BundleSpec, ctx: &ReportContext<'_>) -> Result<Vec<u8>, EvidenceError> {
    let t = Template::load()?;
    let mut doc = PdfDocument::new(t.label("title"));
    let fonts = load_fonts(&mut doc, &t);
    let mut w = Writer::new(&t, fonts);
    let s = &t.sizes;
    let created = spec.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);

    // Cover.
    w.gap(30.0);
    w.para(Face::Bold, s.title, t.label("title"));
    w.para_color(Face::Regular, s.body, t.label("subtitle"), 0.0, Some((0.3, 0.3, 0.3)));
    w.gap(14.0);
    w.kv(t.label("case"), &spec.case_name, Face::Regular);
    w.kv(t.label("case_id"), &spec.case_id, Face::Regular);
    w.kv(t.label("exported"), &created, Face::Regular);
    w.kv(t.label("bundle_id"), &spec.bundle_id.to_string(), Face::Mono);
    w.kv(t.label("tool"), &format!("Xiezhi {}", spec.tool_version), Face::Regular);
    w.kv(
        t.label("exhibits_count"),
        &spec.exhibits.len().to_string(),
        Face::Regular,
    );
    w.heading(t.label("manifest_heading"));
    w.para(Face::Regular, s.body, t.label("manifest_note"));
    w.heading(t.label("timestamp_heading"));
    if spec.tsa_urls.is_empty() {
        w.para(Face::Regular, s.body, t.label("no_timestamp_note"));
    } else {
        w.para(Face::Regular, s.body, t.label("timestamp_note"));
        for u in &spec.tsa_urls {
            w.para_color(Face::Mono, s.mono, &format!("TSA: {u}"), 8.0, None);
        }
        if spec.tsa_is_local_test {
            w.gap(6.0);
            w.para_color(
                Face::Bold,
                s.body,
                t.label("local_tsa_warning"),
                0.0,
                Some((0.75, 0.0, 0.0)),
            );
        }
    }

    // Summary table.
    w.new_page();
    w.heading(t.label("summary_heading"));
    let cols = [12.0 * MM, 16.0 * MM, 28.0 * MM, w.width - 56.0 * MM];
    let sz = s.small;
    w.row(
        &cols,
        &[
            (t.label("col_number").to_string(), Face::Bold),
            (t.label("col_score").to_string(), Face::Bold),
            (t.label("col_decision").to_string(), Face::Bold),
            (t.label("col_url").to_string(), Face::Bold),
        ],
        sz,
        true,
    );
    for e in &spec.exhibits {
        w.row(
            &cols,
            &[
                (format!("{:03}", e.number), Face::Regular),
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
                        .unwrap_or_else(|| t.label("none").to_string()),
                    Face::Regular,
                ),
            ],
            sz,
            false,
        );
    }

    // One exhibit per page.
    for (e, (rpath, cpath, rsha, csha)) in spec.exhibits.iter().zip(ctx.exhibit_files) {
        w.new_page();
        w.heading(&format!("{} {:03}", t.label("exhibit_heading"), e.number));
        let box_w = t.image.box_mm * MM;
        let gap = t.image.gap_mm * MM;
        let lh = w.lh(s.small);
        w.y -= lh;
        let y_cap = w.y;
        w.put(w.left, y_cap, Face::Bold, s.small, t.label("reference"), None);
        w.put(
            w.left + box_w + gap,
            y_cap,
            Face::Bold,
            s.small,
            t.label("candidate"),
            None,
        );
        let y_img = w.y - 4.0;
        let h1 = w.image(&mut doc, &e.reference.bytes, w.left, y_img, box_w);
        let h2 = w.image(&mut doc, &e.candidate.bytes, w.left + box_w + gap, y_img, box_w);
        w.y = y_img - h1.max(h2) - 8.0;

        let none = t.label("none").to_string();
        w.kv(t.label("match_id"), &e.match_id, Face::Regular);
        w.kv(t.label("score"), &format!("{:.4}", e.score), Face::Bold);
        w.kv(t.label("url"), or_none(&t, &e.provenance.url), Face::Mono);
        w.kv(t.label("page_url"), or_none(&t, &e.provenance.page_url), Face::Mono);
        w.kv(t.label("local_path"), or_none(&t, &e.provenance.local_path), Face::Mono);
        w.kv(
            t.label("captured_at"),
            or_none(&t, &e.provenance.captured_at),
            Face::Regular,
        );
        w.kv(
            t.label("http_status"),
            &e.provenance.http_status.map(|c| c.to_string()).unwrap_or(none.clone()),
            Face::Regular,
        );
        w.kv(
            t.label("server_ip"),
            or_none(&t, &e.provenance.server_ip),
            Face::Regular,
        );
        if e.provenance.warc_file.is_some() || e.provenance.warc_record_id.is_some() {
            w.kv(
                t.label("warc"),
                &format!(
                    "{} {}",
                    or_none(&t, &e.provenance.warc_file),
                    or_none(&t, &e.provenance.warc_record_id)
                ),
                Face::Mono,
            );
        }
        w.kv(
            t.label("reference_file"),
            &format!("{rpath} ({}, {})", e.reference.original_name, e.reference.media_type),
            Face::Mono,
        );
        w.kv(t.label("reference_sha256"), rsha, Face::Mono);
        w.kv(
            t.label("candidate_file"),
            &format!("{cpath} ({}, {})", e.candidate.original_name, e.candidate.media_type),
            Face::Mono,
        );
        w.kv(t.label("candidate_sha256"), csha, Face::Mono);
        w.kv(
            t.label("decision"),
            e.decision.as_deref().unwrap_or(t.label("undecided")),
            Face::Bold,
        );
        w.kv(t.label("note"), or_none(&t, &e.note), Face::Regular);
        w.gap(4.0);
        w.para(Face::Bold, s.subheading, t.label("signals"));
        match &e.signals {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    w.kv(k, &signal_text(v), Face::Regular);
                }
            }
            serde_json::Value::Null => w.para(Face::Regular, s.body, &none),
            other => w.para(Face::Mono, s.mono, &other.to_string()),
        }
        w.gap(4.0);
        w.para(Face::Bold, s.subheading, t.label("explanation"));
        w.para(Face::Regular, s.body, &e.explanation);
    }

    // Methodology.
    w.new_page();
    w.heading(t.label("method_heading"));
    w.para(Face::Regular, s.body, &spec.method);
    w.gap(6.0);
    w.kv(t.label("model_id"), &spec.model_id, Face::Regular);
    w.kv(t.label("model_weights"), &spec.model_weights_sha256, Face::Mono);
    w.kv(t.label("tool"), &format!("Xiezhi {}", spec.tool_version), Face::Regular);

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
    w.row(
        &cols,
        &[
            (t.label("col_seq").to_string(), Face::Bold),
            (t.label("col_time").to_string(), Face::Bold),
            (t.label("col_event").to_string(), Face::Bold),
            (t.label("col_hash").to_string(), Face::Bold),
        ],
        sz,
        true,
    );
    for c in &spec.custody {
        w.row(
            &cols,
            &[
                (c.seq.to_string(), Face::Regular),
                (c.at.clone(), Face::Regular),
                (c.event.clone(), Face::Regular),
                (c.hash.chars().take(16).collect(), Face::Mono),
            ],
            sz,
            false,
        );
    }

    let case_line = format!("{} ({})", spec.case_name, spec.bundle_id);
    let pages = w.finish(&case_line);
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
