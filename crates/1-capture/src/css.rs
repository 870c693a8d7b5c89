//! CSS reference discovery: the URLs a stylesheet, a `<style>` block or a `style` attribute
//! points at. Tokenised with `cssparser` (Servo's CSS tokenizer), so comments, escapes,
//! quoted and unquoted `url()` forms are read the way a browser reads them.

use cssparser::{Parser, Token};
use url::Url;

use crate::html::Discovery;

/// Blocks nested deeper than this are skipped: hostile CSS must not exhaust the stack.
const MAX_NESTING: u32 = 32;

/// What a CSS reference is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefKind {
    /// Anything drawn: `background`, `list-style-image`, `border-image`, `content`, `mask`…
    Image,
    /// `@import`.
    Stylesheet,
    /// `@font-face src`: a web font, fetched as a page requisite (an asset only when the bytes
    /// are an image, e.g. an SVG font).
    Font,
}

/// One `url(...)` (or `@import "…"`, or `image-set("…")`) as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawRef {
    href: String,
    /// The property it was the value of (`background-image`, `@import`…).
    property: String,
    kind: RefKind,
}

/// References in stylesheet text (a fetched `.css` file), resolved against the sheet's URL.
/// Element labels read `stylesheet <property>`.
pub fn urls(css: &str, base: &Url) -> Discovery {
    urls_in(css, base, "stylesheet")
}

/// References in CSS text found in `context` (e.g. `style` for a `<style>` block,
/// `div[style]` for a style attribute); element labels read `<context> <property>`.
pub fn urls_in(css: &str, base: &Url, context: &str) -> Discovery {
    let mut found = Discovery::default();
    for r in raw_refs(css) {
        let element = match r.kind {
            RefKind::Font => format!("{context} @font-face {}", r.property),
            RefKind::Image | RefKind::Stylesheet => format!("{context} {}", r.property),
        };
        match r.kind {
            RefKind::Font => found.add_font(base, &r.href, element, "css @font-face"),
            RefKind::Image => found.add_image(base, &r.href, element, "css url()"),
            RefKind::Stylesheet => found.add_stylesheet(base, &r.href, element, "css @import"),
        }
    }
    found
}

fn raw_refs(css: &str) -> Vec<RawRef> {
    let mut parser = Parser::new(css);
    let mut walker = Walker::default();
    walker.walk(&mut parser, 0, false);
    walker.found
}

#[derive(Default)]
struct Walker {
    found: Vec<RawRef>,
}

impl Walker {
    /// Walks one block (or the whole sheet / declaration list). `in_font_face` marks the
    /// body of an `@font-face` rule, whose `src` URLs are fonts.
    fn walk(&mut self, p: &mut Parser<'_>, depth: u32, in_font_face: bool) {
        let mut last_ident: Option<String> = None;
        let mut property = String::new();
        // The at-rule whose prelude we are in (`import`, `font-face`, `media`…).
        let mut at_rule: Option<String> = None;
        while let Ok(token) = p.next().cloned() {
            let kind = if in_font_face {
                RefKind::Font
            } else if at_rule.as_deref() == Some("import") {
                RefKind::Stylesheet
            } else {
                RefKind::Image
            };
            let label = if at_rule.as_deref() == Some("import") {
                "@import".to_string()
            } else if property.is_empty() {
                "url()".to_string()
            } else {
                property.clone()
            };
            match token {
                Token::Ident(name) => last_ident = Some(name.to_ascii_lowercase()),
                Token::Colon => {
                    if let Some(name) = last_ident.take() {
                        property = name;
                    }
                }
                Token::Semicolon => {
                    property.clear();
                    at_rule = None;
                }
                Token::AtKeyword(name) => at_rule = Some(name.to_ascii_lowercase()),
                Token::UnquotedUrl(href) => self.push(&href, label, kind),
                Token::QuotedString(href) if at_rule.as_deref() == Some("import") => self.push(&href, label, kind),
                Token::Function(name) => {
                    let name = name.to_ascii_lowercase();
                    // Inside url(), image-set() and -webkit-image-set(), quoted strings are URLs.
                    let strings_are_urls = matches!(name.as_str(), "url" | "image-set" | "-webkit-image-set");
                    if depth < MAX_NESTING {
                        self.walk_function(p, depth + 1, strings_are_urls, &label, kind);
                    }
                }
                Token::ParenthesisBlock | Token::SquareBracketBlock if depth < MAX_NESTING => {
                    self.walk_function(p, depth + 1, false, &label, kind);
                }
                Token::CurlyBracketBlock => {
                    let font_face = at_rule.as_deref() == Some("font-face");
                    if depth < MAX_NESTING {
                        let _ = p.parse_nested_block(|inner| -> Result<(), cssparser::ParseError<()>> {
                            self.walk(inner, depth + 1, in_font_face || font_face);
                            Ok(())
                        });
                    }
                    property.clear();
                    at_rule = None;
                    last_ident = None;
                }
                _ => {}
            }
        }
    }

    /// The arguments of a function or a bracketed group inside a value.
    fn walk_function(&mut self, p: &mut Parser<'_>, depth: u32, strings_are_urls: bool, label: &str, kind: RefKind) {
        let _ = p.parse_nested_block(|inner| -> Result<(), cssparser::ParseError<()>> {
            while let Ok(token) = inner.next().cloned() {
                match token {
                    Token::QuotedString(href) if strings_are_urls => self.push(&href, label.to_string(), kind),
                    Token::UnquotedUrl(href) => self.push(&href, label.to_string(), kind),
                    Token::Function(name) if depth < MAX_NESTING => {
                        let name = name.to_ascii_lowercase();
                        let urls = matches!(name.as_str(), "url" | "image-set" | "-webkit-image-set");
                        self.walk_function(inner, depth + 1, urls, label, kind);
                    }
                    Token::ParenthesisBlock | Token::SquareBracketBlock | Token::CurlyBracketBlock
                        if depth < MAX_NESTING =>
                    {
                        self.walk_function(inner, depth + 1, false, label, kind);
                    }
                    _ => {}
                }
            }
            Ok(())
        });
    }

    fn push(&mut self, href: &str, property: String, kind: RefKind) {
        let href = href.trim();
        // `url(#id)` points into the document itself (SVG filters, markers).
        if href.is_empty() || href.starts_with('#') {
            return;
        }
        self.found.push(RawRef {
            href: href.to_string(),
            property,
            kind,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(css: &str) -> Vec<(String, String, RefKind)> {
        raw_refs(css)
            .into_iter()
            .map(|r| (r.href, r.property, r.kind))
            .collect()
    }

    fn t(h: &str, p: &str, k: RefKind) -> (String, String, RefKind) {
        (h.to_string(), p.to_string(), k)
    }

    #[test]
    fn reads_every_url_form() {
        let css = r#"
            @import url("base.css");
            @import 'print.css' print;
            /* url(commented.png) is not a reference */
            .a { background: #fff url(a.png) no-repeat; color: red }
            .b { BACKGROUND-IMAGE: url( "b c.png" ), url('c.png') }
            @media (min-width: 10px) { .d { list-style-image: url(d.png) } }
            .e { background-image: image-set("e1.png" 1x, url(e2.png) 2x); }
            .f { filter: url(#blur); mask-image: url(data:image/png;base64,AAAA) }
            @font-face { font-family: X; src: url(font.woff2) format("woff2") }
            .g { content: url(g\2e png) }
        "#;
        assert_eq!(
            raw(css),
            vec![
                t("base.css", "@import", RefKind::Stylesheet),
                t("print.css", "@import", RefKind::Stylesheet),
                t("a.png", "background", RefKind::Image),
                t("b c.png", "background-image", RefKind::Image),
                t("c.png", "background-image", RefKind::Image),
                t("d.png", "list-style-image", RefKind::Image),
                t("e1.png", "background-image", RefKind::Image),
                t("e2.png", "background-image", RefKind::Image),
                t("data:image/png;base64,AAAA", "mask-image", RefKind::Image),
                t("font.woff2", "src", RefKind::Font),
                t("g.png", "content", RefKind::Image),
            ]
        );
    }

    #[test]
    fn style_attribute_is_a_declaration_list() {
        assert_eq!(
            raw("background-image:url(/x.jpg);border:0"),
            vec![t("/x.jpg", "background-image", RefKind::Image)]
        );
    }

    #[test]
    fn resolves_against_the_sheet_and_labels_the_property() {
        let base = Url::parse("http://h/css/site.css").expect("url");
        let d = urls(
            "@import 'more.css'; .x{background:url(../img/x.png)} @font-face{src:url(f.woff)}",
            &base,
        );
        assert_eq!(d.stylesheets.len(), 1);
        assert_eq!(d.stylesheets[0].url.as_str(), "http://h/css/more.css");
        assert_eq!(d.stylesheets[0].element, "stylesheet @import");
        assert_eq!(d.images.len(), 1);
        assert_eq!(d.images[0].url.as_str(), "http://h/img/x.png");
        assert_eq!(d.images[0].element, "stylesheet background");
        assert_eq!(d.fonts.len(), 1);
        assert_eq!(d.fonts[0].url.as_str(), "http://h/css/f.woff");
        assert_eq!(d.fonts[0].element, "stylesheet @font-face src");
    }

    #[test]
    fn survives_hostile_nesting_and_garbage() {
        let deep = "a{".repeat(10_000) + "background:url(deep.png)" + &"}".repeat(10_000);
        assert!(raw(&deep).is_empty());
        let garbage = "}}}{{{ url( ;;; \"unterminated url(x.png";
        let _ = raw(garbage);
    }
}
