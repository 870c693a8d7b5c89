//! Content sniffing (servers lie about Content-Type) and bounded content decoding (a gzip
//! bomb must not expand past the response size cap).

use std::borrow::Cow;
use std::io::Read;

/// Image media type from the first bytes, if they are a known image signature.
pub fn image_type(body: &[u8]) -> Option<&'static str> {
    let b = body;
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else if b.starts_with(b"BM") && b.len() > 14 {
        Some("image/bmp")
    } else if b.starts_with(b"\x00\x00\x01\x00") {
        Some("image/x-icon")
    } else if b.starts_with(b"II*\x00") || b.starts_with(b"MM\x00*") {
        Some("image/tiff")
    } else if b.len() >= 12 && &b[4..8] == b"ftyp" && (&b[8..12] == b"avif" || &b[8..12] == b"avis") {
        Some("image/avif")
    } else {
        None
    }
}

/// True when the body starts like an HTML document (after a BOM, whitespace and comments).
pub fn looks_like_html(body: &[u8]) -> bool {
    let head = &body[..body.len().min(1024)];
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let t = text.trim_start();
    [
        "<!doctype html",
        "<html",
        "<head",
        "<body",
        "<!--",
        "<title",
        "<div",
        "<p>",
        "<meta",
        "<a ",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

/// True when the body is an SVG document: an `<svg` element opens within the first KiB,
/// after any BOM, XML declaration, comments or doctype (an SVG font is one too).
pub fn looks_like_svg(body: &[u8]) -> bool {
    let head = &body[..body.len().min(1024)];
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let t = text.trim_start();
    if !(t.starts_with("<svg") || t.starts_with("<?xml") || t.starts_with("<!--") || t.starts_with("<!doctype svg")) {
        return false;
    }
    t.contains("<svg")
}

/// True when the document's root element is `<svg>`: after any BOM, whitespace, XML
/// declaration, processing instructions, comments and doctype, the first element is `svg`.
/// Stricter than [`looks_like_svg`]: an HTML page that opens with a comment and draws an
/// inline `<svg>` is still HTML.
pub fn root_is_svg(body: &[u8]) -> bool {
    let head = &body[..body.len().min(4096)];
    let mut t = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    loop {
        t = t.trim_ascii_start();
        let rest = if t.starts_with(b"<?") {
            skip_to(t, b"?>")
        } else if t.starts_with(b"<!--") {
            skip_to(t, b"-->")
        } else if t.len() >= 9 && t[..9].eq_ignore_ascii_case(b"<!doctype") {
            // `<!doctype html>` declares an HTML document, whatever element comes first.
            let name = t[9..].trim_ascii_start();
            if name.len() >= 4 && name[..4].eq_ignore_ascii_case(b"html") {
                return false;
            }
            skip_to(t, b">")
        } else {
            let after = t.strip_prefix(b"<svg").or_else(|| t.strip_prefix(b"<SVG"));
            return after.is_some_and(|a| a.first().is_some_and(|c| c.is_ascii_whitespace() || b"/>".contains(c)));
        };
        match rest {
            Some(r) => t = r,
            None => return false,
        }
    }
}

/// What follows the first `end` in `t`.
fn skip_to<'t>(t: &'t [u8], end: &[u8]) -> Option<&'t [u8]> {
    let i = t.windows(end.len()).position(|w| w == end)?;
    Some(&t[i + end.len()..])
}

/// True when a Content-Type header names HTML.
pub fn is_html_type(ct: Option<&str>) -> bool {
    ct.map(|c| c.trim().to_ascii_lowercase())
        .is_some_and(|c| c.starts_with("text/html") || c.starts_with("application/xhtml+xml"))
}

/// Undoes a `Content-Encoding` for parsing, never producing more than `cap` bytes. The WARC
/// record keeps the bytes as sent; this is only what we read.
pub fn decode_content<'a>(body: &'a [u8], encoding: Option<&str>, cap: u64) -> Result<Cow<'a, [u8]>, String> {
    let enc = encoding.map(|e| e.trim().to_ascii_lowercase()).unwrap_or_default();
    let reader: Box<dyn Read + 'a> = match enc.as_str() {
        "" | "identity" => return Ok(Cow::Borrowed(body)),
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(body)),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(body)),
        other => return Err(format!("unsupported Content-Encoding {other:?}")),
    };
    let mut out = Vec::new();
    let read = reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("Content-Encoding {enc} does not decode: {e}"))?;
    if read as u64 > cap {
        return Err(format!(
            "Content-Encoding {enc} expands past {cap} bytes (compression bomb?)"
        ));
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn sniffs_images_and_html() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"<html>"), None);
        assert!(looks_like_html(b"\xef\xbb\xbf  <!DOCTYPE html><p>x"));
        assert!(!looks_like_html(b"{\"json\": true}"));
        assert!(is_html_type(Some("Text/HTML; charset=utf-8")));
    }

    #[test]
    fn root_svg_is_told_from_html_with_inline_svg() {
        assert!(root_is_svg(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"));
        assert!(root_is_svg(
            b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- Generator: Inkscape -->\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x\">\n<svg width=\"10\">"
        ));
        assert!(!root_is_svg(b"<!-- hi -->\n<html><body><svg></svg></body></html>"));
        assert!(!root_is_svg(b"<!doctype html><svg></svg>"));
        assert!(!root_is_svg(b"<svgx/>"));
        assert!(!root_is_svg(b"<!-- never closed <svg>"));
    }

    #[test]
    fn sniffs_svg_documents() {
        assert!(looks_like_svg(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"));
        assert!(looks_like_svg(
            b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- font -->\n<svg><defs><font/></defs></svg>"
        ));
        assert!(!looks_like_svg(b"<?xml version=\"1.0\"?><rss/>"));
        assert!(!looks_like_svg(b"wOF2\x00\x01 <svg"));
    }

    #[test]
    fn decoding_is_bounded() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 1_000_000]).expect("gz");
        let bomb = gz.finish().expect("gz");
        assert!(bomb.len() < 5_000);
        let err = decode_content(&bomb, Some("gzip"), 100_000).expect_err("bounded");
        assert!(err.contains("expands past 100000 bytes"), "{err}");
        let ok = decode_content(&bomb, Some("gzip"), 1_000_000).expect("fits");
        assert_eq!(ok.len(), 1_000_000);
        assert!(decode_content(b"abc", Some("br"), 10).is_err());
        assert_eq!(decode_content(b"abc", None, 1).expect("identity").as_ref(), b"abc");
    }
}
