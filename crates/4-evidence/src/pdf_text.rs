//! Fonts and text measurement for the report: which faces are embedded, how wide a
//! string is (from each font's own advance widths), which face draws which character
//! (Latin from the main faces, Chinese from the CJK face), and where lines break.

use printpdf::{BuiltinFont, ParsedFont, PdfDocument, PdfFontHandle};

use crate::template::{FontFileT, Template};
use crate::EvidenceError;

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Face {
    Regular,
    Bold,
    Mono,
}

/// One embedded font: its handle in the document and its parsed metrics.
struct Loaded {
    handle: PdfFontHandle,
    font: ParsedFont,
}

impl Loaded {
    fn has(&self, c: char) -> bool {
        self.font.lookup_glyph_index(c as u32).is_some_and(|g| g != 0)
    }
    /// Advance width in em.
    fn em(&self, c: char) -> Option<f32> {
        let gid = self.font.lookup_glyph_index(c as u32)?;
        let w = self.font.get_glyph_width(gid)?;
        Some(w as f32 / self.font.units_per_em.max(1) as f32)
    }
}

pub(crate) struct Fonts {
    regular: Loaded,
    bold: Loaded,
    mono: Loaded,
    /// Chinese (and anything else the main faces lack) comes from here.
    cjk: Option<Loaded>,
}

fn load(doc: &mut PdfDocument, f: &FontFileT) -> Result<Loaded, EvidenceError> {
    let bytes = std::fs::read(&f.path).map_err(|e| {
        EvidenceError::Pdf(format!(
            "font {} (from templates/report.json): {e}; install the Debian font package named there",
            f.path
        ))
    })?;
    let font = ParsedFont::from_bytes(&bytes, f.index, &mut Vec::new())
        .ok_or_else(|| EvidenceError::Pdf(format!("font {} face {} cannot be parsed", f.path, f.index)))?;
    Ok(Loaded {
        handle: PdfFontHandle::External(doc.add_font(&font)),
        font,
    })
}

/// Embed the template's fonts. A missing main font is an error (the report would
/// otherwise silently lose characters); a missing CJK font only drops Chinese glyphs
/// to the main font's replacement box, which the test for `--lang zh` catches.
pub(crate) fn load_fonts(doc: &mut PdfDocument, t: &Template) -> Result<Fonts, EvidenceError> {
    Ok(Fonts {
        regular: load(doc, &t.fonts.regular)?,
        bold: load(doc, &t.fonts.bold)?,
        mono: load(doc, &t.fonts.mono)?,
        cjk: match &t.fonts.cjk {
            Some(f) => Some(load(doc, f)?),
            None => None,
        },
    })
}

impl Fonts {
    fn face(&self, face: Face) -> &Loaded {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
            Face::Mono => &self.mono,
        }
    }

    /// The font that draws `c` in `face`.
    fn pick(&self, c: char, face: Face) -> &Loaded {
        let main = self.face(face);
        if main.has(c) || c.is_ascii() {
            return main;
        }
        match &self.cjk {
            Some(k) if k.has(c) => k,
            _ => main,
        }
    }

    pub(crate) fn char_width(&self, c: char, face: Face, size: f32) -> f32 {
        let f = self.pick(c, face);
        // A glyph with no advance entry is drawn as .notdef, about a full em.
        f.em(c).unwrap_or(1.0) * size
    }

    pub(crate) fn width(&self, s: &str, face: Face, size: f32) -> f32 {
        s.chars().map(|c| self.char_width(c, face, size)).sum()
    }

    /// Split `s` into runs drawn with one font each.
    pub(crate) fn runs(&self, s: &str, face: Face) -> Vec<(PdfFontHandle, String)> {
        let mut out: Vec<(PdfFontHandle, String)> = Vec::new();
        for c in s.chars() {
            let h = &self.pick(c, face).handle;
            match out.last_mut() {
                Some((last, text)) if last == h => text.push(c),
                _ => out.push((h.clone(), c.to_string())),
            }
        }
        out
    }

    /// Greedy word wrap measured with the real advance widths. Chinese has no spaces,
    /// so a line may break before any CJK character; words wider than a line (URLs,
    /// hashes) break at character boundaries.
    pub(crate) fn wrap(&self, s: &str, face: Face, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in s.split('\n') {
            let mut line = String::new();
            let mut w = 0.0;
            for (word, spaced) in tokens(para) {
                let ww = self.width(&word, face, size);
                let sp = if line.is_empty() || !spaced {
                    0.0
                } else {
                    self.char_width(' ', face, size)
                };
                if w + sp + ww <= max {
                    if sp > 0.0 {
                        line.push(' ');
                    }
                    line.push_str(&word);
                    w += sp + ww;
                    continue;
                }
                if !line.is_empty() && ww <= max {
                    lines.push(std::mem::take(&mut line));
                    line.push_str(&word);
                    w = ww;
                    continue;
                }
                // Break inside the word, continuing the current line.
                if sp > 0.0 {
                    line.push(' ');
                    w += sp;
                }
                for c in word.chars() {
                    let cw = self.char_width(c, face, size);
                    if w + cw > max && !line.trim().is_empty() {
                        lines.push(std::mem::take(&mut line).trim_end().to_string());
                        w = 0.0;
                    }
                    line.push(c);
                    w += cw;
                }
            }
            lines.push(line);
        }
        lines
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FFFF)
}

/// Words to place: (text, preceded by a space). Each CJK character is its own word
/// (joined without a space), so Chinese wraps anywhere, as it is typeset.
fn tokens(para: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for word in para.split(' ').filter(|w| !w.is_empty()) {
        let mut spaced = true;
        let mut cur = String::new();
        for c in word.chars() {
            if is_cjk(c) {
                if !cur.is_empty() {
                    out.push((std::mem::take(&mut cur), spaced));
                    spaced = false;
                }
                out.push((c.to_string(), spaced));
                spaced = false;
            } else {
                cur.push(c);
            }
        }
        if !cur.is_empty() {
            out.push((cur, spaced));
        }
    }
    out
}

/// Builtin fonts are never used now, but keep the name resolvable for old templates.
#[allow(dead_code)]
pub(crate) fn builtin(face: Face) -> PdfFontHandle {
    PdfFontHandle::Builtin(match face {
        Face::Regular => BuiltinFont::Helvetica,
        Face::Bold => BuiltinFont::HelveticaBold,
        Face::Mono => BuiltinFont::Courier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> Fonts {
        let t = Template::load("en+zh").unwrap();
        let mut doc = PdfDocument::new("t");
        load_fonts(&mut doc, &t).unwrap()
    }

    #[test]
    fn widths_come_from_the_fonts_and_wrapping_never_overflows() {
        let f = fonts();
        // DejaVu Sans: 'i' is much narrower than 'W'; a CJK ideograph is a full em.
        assert!(f.width("i", Face::Regular, 10.0) < 0.4 * f.width("W", Face::Regular, 10.0));
        assert!((f.width("证", Face::Regular, 10.0) - 10.0).abs() < 0.5);
        let runs = f.runs("Case 案件 42", Face::Regular);
        assert_eq!(runs.len(), 3, "{:?}", runs.iter().map(|r| &r.1).collect::<Vec<_>>());
        let text = format!(
            "证据报告 https://cdn.example.net/{}/x.png {} 山水画的复制品出现在网店。",
            "abcdefghij".repeat(20),
            "ff".repeat(40)
        );
        for face in [Face::Regular, Face::Bold, Face::Mono] {
            let lines = f.wrap(&text, face, 9.0, 200.0);
            assert!(lines.len() > 3);
            for l in &lines {
                assert!(f.width(l, face, 9.0) <= 200.0 + 0.01, "{l:?} overflows");
            }
            let joined: String = lines.concat().chars().filter(|c| !c.is_whitespace()).collect();
            let orig: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(joined, orig, "wrapping must not lose characters");
        }
    }
}
