//! Bounding HTML nesting before parsing. html5ever's tree builder scans the stack of open
//! elements for many start tags, so a hostile page of 100,000 nested `<div>`s takes time
//! quadratic in the depth (minutes). Browsers cap the depth too (Blink: 512). Start tags
//! beyond the cap are dropped (with their end tags) from the copy we parse; text and the
//! elements that carry links and images are always kept. The WARC keeps the page as served.

use std::borrow::Cow;

/// Deepest element nesting handed to the parser (Blink's limit).
pub const MAX_DEPTH: usize = 512;

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
];
/// Never dropped and never counted: they carry what discovery needs.
const KEEP: &[&str] = &[
    "a", "picture", "video", "audio", "style", "title", "head", "body", "html", "svg", "image",
];
/// Their content is text up to the matching end tag.
const RAW: &[&str] = &["script", "style", "textarea", "title", "xmp", "noscript"];

fn tag_name(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Index just past the `>` that ends the tag starting at `from`, honouring quoted attributes.
fn tag_end(s: &str, from: usize) -> usize {
    let b = s.as_bytes();
    let mut quote = 0u8;
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'"' || c == b'\'' {
            quote = c;
        } else if c == b'>' {
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// The document with nesting beyond [`MAX_DEPTH`] removed; borrowed when nothing was dropped.
pub fn bound_nesting(html: &str) -> Cow<'_, str> {
    let b = html.as_bytes();
    let mut out: Option<String> = None;
    let mut depth = 0usize;
    let mut dropped_open = 0usize;
    let mut i = 0usize;
    let mut copied = 0usize; // html[..copied] is already in `out` (when dropping started)
    let drop_span = |out: &mut Option<String>, copied: &mut usize, start: usize, end: usize| {
        let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
        o.push_str(&html[*copied..start]);
        *copied = end;
    };
    while let Some(off) = html[i..].find('<') {
        let start = i + off;
        let rest = &html[start + 1..];
        if rest.starts_with("!--") {
            i = html[start..].find("-->").map_or(b.len(), |e| start + e + 3);
            continue;
        }
        if rest.starts_with('!') || rest.starts_with('?') {
            i = tag_end(html, start);
            continue;
        }
        let (closing, name_at) = match rest.strip_prefix('/') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let name = tag_name(name_at);
        if name.is_empty() || !name_at.starts_with(|c: char| c.is_ascii_alphabetic()) {
            i = start + 1;
            continue;
        }
        let end = tag_end(html, start);
        if closing {
            if KEEP.contains(&name.as_str()) || VOID.contains(&name.as_str()) {
            } else if dropped_open > 0 {
                dropped_open -= 1;
                drop_span(&mut out, &mut copied, start, end);
            } else {
                depth = depth.saturating_sub(1);
            }
            i = end;
            continue;
        }
        let self_closing = html[start..end].ends_with("/>");
        if RAW.contains(&name.as_str()) {
            let close = format!("</{name}");
            let lower_rest = html[end..].to_ascii_lowercase();
            i = lower_rest.find(&close).map_or(b.len(), |e| end + e);
            continue;
        }
        if self_closing || VOID.contains(&name.as_str()) || KEEP.contains(&name.as_str()) {
            i = end;
            continue;
        }
        if depth >= MAX_DEPTH {
            dropped_open += 1;
            drop_span(&mut out, &mut copied, start, end);
        } else {
            depth += 1;
        }
        i = end;
    }
    match out {
        None => Cow::Borrowed(html),
        Some(mut o) => {
            o.push_str(&html[copied..]);
            Cow::Owned(o)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_documents_are_untouched() {
        let doc =
            "<html><body><div><p>Hi <a href=/x>x</a><img src=a.png></div><script>if (a<b) {}</script></body></html>";
        assert!(matches!(bound_nesting(doc), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_nesting_is_cut_but_links_stay() {
        let mut doc = String::from("<html><body>");
        doc.push_str(&"<div class='x>y'>".repeat(10_000));
        doc.push_str("deep text <a href=\"/deep\">deep link</a><img src=\"/deep.png\">");
        doc.push_str(&"</div>".repeat(10_000));
        doc.push_str("<p>after</p></body></html>");
        let t = std::time::Instant::now();
        let out = bound_nesting(&doc);
        assert!(t.elapsed().as_secs() < 2);
        assert_eq!(out.matches("<div").count(), MAX_DEPTH);
        assert_eq!(out.matches("</div>").count(), MAX_DEPTH);
        assert!(out.contains("deep text <a href=\"/deep\">deep link</a><img src=\"/deep.png\">"));
        assert!(out.ends_with("<p>after</p></body></html>"));
    }
}
