//! The page writer: text runs, wrapped paragraphs, label/value rows, tables, images,
//! and the Bates footer. Sections (cover, exhibits, appendices) call it.

use std::collections::HashMap;

use printpdf::{Color, Line, LinePoint, Op, PaintMode, Point, Pt, Rect, Rgb, TextItem, XObjectTransform};

use super::images::Placed;
use crate::model::ExhibitFile;
use crate::pdf_text::{Face, Fonts};
use crate::template::Template;

pub(crate) const MM: f32 = 72.0 / 25.4;
pub(crate) type Rgbf = (f32, f32, f32);
pub(crate) const GREY: Rgbf = (0.3, 0.3, 0.3);
pub(crate) const RED: Rgbf = (0.75, 0.0, 0.0);

pub(crate) struct Writer<'t> {
    pub t: &'t Template,
    pub fonts: Fonts,
    pub pages: Vec<Vec<Op>>,
    pub ops: Vec<Op>,
    pub y: f32,
    pub left: f32,
    pub width: f32,
    pub top: f32,
    pub bottom: f32,
    pub images: HashMap<String, Option<Placed>>,
}

impl<'t> Writer<'t> {
    pub(crate) fn new(t: &'t Template, fonts: Fonts, images: HashMap<String, Option<Placed>>) -> Self {
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
            images,
        }
    }

    pub(crate) fn clean(&self, s: &str) -> String {
        s.chars()
            .filter_map(|c| match c {
                '\t' => Some(' '),
                '\n' => Some('\n'),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect()
    }

    pub(crate) fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(ops);
        self.y = self.top;
    }

    pub(crate) fn ensure(&mut self, h: f32) {
        if self.y - h < self.bottom && self.y < self.top {
            self.new_page();
        }
    }

    pub(crate) fn lh(&self, size: f32) -> f32 {
        size * self.t.line_spacing
    }

    /// One line of text; each run of characters is set in the font that has them.
    pub(crate) fn put(&mut self, x: f32, y: f32, face: Face, size: f32, s: &str, color: Option<Rgbf>) {
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
    pub(crate) fn para_color(&mut self, face: Face, size: f32, s: &str, indent: f32, color: Option<Rgbf>) {
        let s = self.clean(s);
        for line in self.fonts.wrap(&s, face, size, self.width - indent) {
            let lh = self.lh(size);
            self.ensure(lh);
            self.y -= lh;
            self.put(self.left + indent, self.y + size * 0.25, face, size, &line, color);
        }
    }

    pub(crate) fn para(&mut self, face: Face, size: f32, s: &str) {
        self.para_color(face, size, s, 0.0, None);
    }

    pub(crate) fn gap(&mut self, pt: f32) {
        self.y -= pt;
    }

    pub(crate) fn heading(&mut self, s: &str) {
        let size = self.t.sizes.heading;
        self.ensure(self.lh(size) * 3.0);
        self.gap(size * 0.4);
        self.para(Face::Bold, size, s);
        self.rule();
        self.gap(size * 0.3);
    }

    pub(crate) fn subheading(&mut self, s: &str) {
        let size = self.t.sizes.subheading;
        self.ensure(self.lh(size) * 3.0);
        self.gap(4.0);
        self.para(Face::Bold, size, s);
    }

    pub(crate) fn rule(&mut self) {
        self.gap(2.0);
        let y = self.y;
        self.line(self.left, y, self.left + self.width, y, 0.5);
    }

    pub(crate) fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, thick: f32) {
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
    pub(crate) fn kv(&mut self, label: &str, value: &str, face: Face) {
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
    pub(crate) fn row(&mut self, cols: &[f32], cells: &[(String, Face)], size: f32, header: bool, min_h: f32) -> f32 {
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

    /// Draw `f` inside a box of `box_w` × `box_h` with its top-left at (x, y_top);
    /// returns the height used. Images were decoded and embedded before layout.
    pub(crate) fn image(&mut self, f: &ExhibitFile, x: f32, y_top: f32, box_w: f32, box_h: f32) -> f32 {
        let Some(p) = self.images.get(&f.sha256).cloned().flatten() else {
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
    pub(crate) fn finish(mut self, case_line: &str, prefix: &str) -> Vec<Vec<Op>> {
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
