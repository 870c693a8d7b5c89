//! Fonts and text measurement for the report: which faces are embedded, how wide a
//! string is, and where to break lines.

use printpdf::{BuiltinFont, ParsedFont, PdfDocument, PdfFontHandle};

use crate::template::Template;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Face {
    Regular,
    Bold,
    Mono,
}

pub(crate) struct Fonts {
    pub(crate) regular: PdfFontHandle,
    pub(crate) bold: PdfFontHandle,
    pub(crate) mono: PdfFontHandle,
    /// Embedded TrueType fonts handle any Unicode; builtin ones only Latin-1.
    pub(crate) unicode: bool,
}

pub(crate) fn load_fonts(doc: &mut PdfDocument, t: &Template) -> Fonts {
    let load = |doc: &mut PdfDocument, path: &str| -> Option<PdfFontHandle> {
        let bytes = std::fs::read(path).ok()?;
        let font = ParsedFont::from_bytes(&bytes, 0, &mut Vec::new())?;
        Some(PdfFontHandle::External(doc.add_font(&font)))
    };
    match (
        load(doc, &t.fonts.regular),
        load(doc, &t.fonts.bold),
        load(doc, &t.fonts.mono),
    ) {
        (Some(regular), Some(bold), Some(mono)) => Fonts {
            regular,
            bold,
            mono,
            unicode: true,
        },
        _ => Fonts {
            regular: PdfFontHandle::Builtin(BuiltinFont::Helvetica),
            bold: PdfFontHandle::Builtin(BuiltinFont::HelveticaBold),
            mono: PdfFontHandle::Builtin(BuiltinFont::Courier),
            unicode: false,
        },
    }
}

/// Rough advance width in em. Over-estimating a little is fine: it only
/// makes lines wrap slightly early, never run off the page.
pub(crate) fn char_em(c: char, face: Face) -> f32 {
    if face == Face::Mono {
        return 0.61;
    }
    let w = match c {
        ' ' => 0.32,
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 0.3,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '/' | '-' => 0.42,
        'm' | 'w' | 'M' | 'W' | '@' | '%' => 0.95,
        'A'..='Z' => 0.74,
        c if c.is_ascii() => 0.64,
        c if (c as u32) >= 0x2E80 => 1.0,
        _ => 0.72,
    };
    if face == Face::Bold {
        w * 1.1
    } else {
        w
    }
}

pub(crate) fn text_width(s: &str, face: Face, size: f32) -> f32 {
    s.chars().map(|c| char_em(c, face)).sum::<f32>() * size
}

/// Greedy word wrap; words wider than a line (URLs, hashes) are broken
/// at character boundaries.
pub(crate) fn wrap(s: &str, face: Face, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, face, size) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                line.push(c);
                if text_width(&line, face, size) > max {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        lines.push(line);
    }
    lines
}
