//! HTML extraction: title, visible text, links, alt texts, and every image a page refers to
//! (with the element that referred to it — "where it appeared" in the report).

use std::collections::HashSet;

use scraper::{ElementRef, Html, Node, Selector};
use sha2::{Digest, Sha256};
use url::Url;

use crate::scope::resolve;

/// Decoded `data:` images larger than this are not kept (the page record still holds them).
pub const MAX_INLINE_BYTES: usize = 8 * 1024 * 1024;

/// File extensions that make an `<a href>` an image reference.
const IMAGE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "jpe", "gif", "webp", "bmp", "tif", "tiff", "ico", "svg", "avif", "jxl", "heic", "heif",
];

/// Lazy-loading attributes used by common scripts (lazysizes, jQuery Lazy, WordPress…).
const LAZY_ATTRS: &[(&str, &str)] = &[
    ("data-src", "data-src"),
    ("data-srcset", "data-srcset"),
    ("data-original", "data-original"),
    ("data-lazy-src", "data-lazy-src"),
];

/// `<meta>` names/properties whose content is an image shown when the page is shared.
const META_IMAGES: &[&str] = &[
    "og:image",
    "og:image:url",
    "og:image:secure_url",
    "twitter:image",
    "twitter:image:src",
];

/// A URL a page refers to, and the element that referred to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRef {
    pub url: Url,
    /// Short human form of the referring element, e.g. `img[srcset] 2x`,
    /// `div[style] background-image`, `meta og:image`, `link[rel=apple-touch-icon]`.
    pub element: String,
    /// The same without per-instance detail (descriptor, tag of lazy elements), for callers
    /// that need a `&'static str`.
    pub kind: &'static str,
}

/// An image embedded in the page as a `data:` URI, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineAsset {
    /// Media type as declared in the URI (`image/png`).
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
    pub element: String,
}

/// A reference that was seen but not kept, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The reference as written, shortened for display (a `data:` URI can be megabytes).
    pub reference: String,
    pub element: String,
    pub reason: String,
}

/// At most this many characters of a rejected reference are kept to name it.
const REFERENCE_SHOWN: usize = 80;

/// `href` shortened to [`REFERENCE_SHOWN`] characters, saying how long it was.
fn shown(href: &str) -> String {
    if href.chars().count() <= REFERENCE_SHOWN {
        return href.to_string();
    }
    let head: String = href.chars().take(REFERENCE_SHOWN).collect();
    format!("{head}… ({} characters)", href.len())
}

/// Everything a page (or a stylesheet) refers to that capture should fetch or keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// http(s) image URLs in document order; one entry per distinct (URL, element) pair.
    pub images: Vec<AssetRef>,
    /// Stylesheets to fetch and pass to [`crate::css::urls`] (`<link rel=stylesheet>`, `@import`).
    pub stylesheets: Vec<AssetRef>,
    /// Web fonts (`@font-face` `src`): page requisites to fetch and record, kept as assets
    /// only when the bytes are an image (an SVG font is one).
    pub fonts: Vec<AssetRef>,
    /// `data:` images, decoded.
    pub inline: Vec<InlineAsset>,
    /// References that were seen but cannot be captured (unsupported scheme, malformed or
    /// oversized `data:` URI), with the reason.
    pub rejected: Vec<Rejected>,
    /// (URL or SHA-256, element) pairs already listed: linear de-duplication, since a hostile
    /// page may hold hundreds of thousands of references.
    seen: HashSet<(String, String)>,
}

impl Discovery {
    /// Records `href` (as written) found in `element`: an http(s) URL, or a `data:` image.
    pub(crate) fn add_image(&mut self, base: &Url, href: &str, element: String, kind: &'static str) {
        let href = href.trim();
        if href.len() > 5 && href[..5].eq_ignore_ascii_case("data:") {
            match decode_data_image(href) {
                Ok(Some((media_type, bytes))) => {
                    let sha256 = hex::encode(Sha256::digest(&bytes));
                    if self.seen.insert((sha256.clone(), element.clone())) {
                        self.inline.push(InlineAsset {
                            media_type,
                            bytes,
                            sha256,
                            element,
                        });
                    }
                }
                Ok(None) => {}
                Err(reason) => self.rejected.push(Rejected {
                    reference: shown(href),
                    element,
                    reason,
                }),
            }
            return;
        }
        match resolve(base, href) {
            Some(url) => {
                if self.seen.insert((url.to_string(), element.clone())) {
                    self.images.push(AssetRef { url, element, kind });
                }
            }
            None => self.reject_unresolvable(base, href, element),
        }
    }

    /// Records a web font to fetch (listed once per URL); `data:` fonts stay in the record
    /// of the page or sheet that holds them.
    pub(crate) fn add_font(&mut self, base: &Url, href: &str, element: String, kind: &'static str) {
        let href = href.trim();
        if href.len() > 5 && href[..5].eq_ignore_ascii_case("data:") {
            return;
        }
        if let Some(url) = resolve(base, href) {
            if self.seen.insert((url.to_string(), "font".into())) {
                self.fonts.push(AssetRef { url, element, kind });
            }
        }
    }

    /// A non-empty reference that does not resolve to an http(s) URL: say why it is not
    /// captured (`javascript:`, `ftp:`, `blob:`, a URL that does not parse…).
    fn reject_unresolvable(&mut self, base: &Url, href: &str, element: String) {
        if href.is_empty() || href.starts_with('#') {
            return;
        }
        let reason = match base.join(href) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => "http(s) URL without a host".to_string(),
            Ok(u) => format!(
                "unsupported scheme {}: (only http, https and data: images are captured)",
                u.scheme()
            ),
            Err(e) => format!("not a valid URL ({e})"),
        };
        if self.seen.insert((href.to_string(), element.clone())) {
            self.rejected.push(Rejected {
                reference: shown(href),
                element,
                reason,
            });
        }
    }

    /// Records a stylesheet to fetch (listed once per URL).
    pub(crate) fn add_stylesheet(&mut self, base: &Url, href: &str, element: String, kind: &'static str) {
        if let Some(url) = resolve(base, href) {
            if self.seen.insert((url.to_string(), "stylesheet".into())) {
                self.stylesheets.push(AssetRef { url, element, kind });
            }
        }
    }

    fn merge(&mut self, other: Discovery) {
        for a in other.images {
            if self.seen.insert((a.url.to_string(), a.element.clone())) {
                self.images.push(a);
            }
        }
        for s in other.stylesheets {
            if self.seen.insert((s.url.to_string(), "stylesheet".into())) {
                self.stylesheets.push(s);
            }
        }
        for f in other.fonts {
            if self.seen.insert((f.url.to_string(), "font".into())) {
                self.fonts.push(f);
            }
        }
        for i in other.inline {
            if self.seen.insert((i.sha256.clone(), i.element.clone())) {
                self.inline.push(i);
            }
        }
        self.rejected.extend(other.rejected);
    }
}

/// Decodes a `data:` URI. `Ok(None)` for non-image media types (fonts, CSS): not evidence.
fn decode_data_image(uri: &str) -> Result<Option<(String, Vec<u8>)>, String> {
    let parsed = data_url::DataUrl::process(uri).map_err(|e| format!("malformed data: URI ({e:?})"))?;
    let mime = parsed.mime_type();
    if !mime.type_.eq_ignore_ascii_case("image") {
        return Ok(None);
    }
    let media_type = format!("{}/{}", mime.type_, mime.subtype).to_ascii_lowercase();
    // Cheap pre-check before decoding: even percent-encoding (3 chars a byte) of an image
    // within the cap stays below this length.
    if uri.len() > MAX_INLINE_BYTES * 3 + 1024 {
        return Err(format!("data: image larger than {MAX_INLINE_BYTES} bytes"));
    }
    let (bytes, _) = parsed
        .decode_to_vec()
        .map_err(|e| format!("data: URI with invalid base64 ({e:?})"))?;
    if bytes.len() > MAX_INLINE_BYTES {
        return Err(format!(
            "data: image of {} bytes, more than {MAX_INLINE_BYTES}",
            bytes.len()
        ));
    }
    Ok(Some((media_type, bytes)))
}

/// One candidate of a `srcset` attribute: the URL as written and its descriptor (`2x`,
/// `640w`), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrcsetCandidate {
    pub url: String,
    pub descriptor: Option<String>,
}

/// Parses a `srcset` value following the HTML standard's algorithm: a URL runs to the next
/// whitespace (so commas inside it, as in `data:` URIs or `?a=1,2`, are kept) except for
/// trailing commas; descriptors run to the next comma outside parentheses.
pub fn parse_srcset(value: &str) -> Vec<SrcsetCandidate> {
    let s = value.as_bytes();
    let is_ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < s.len() && (is_ws(s[i]) || s[i] == b',') {
            i += 1;
        }
        if i >= s.len() {
            return out;
        }
        let start = i;
        while i < s.len() && !is_ws(s[i]) {
            i += 1;
        }
        let mut url = &value[start..i];
        let mut descriptors: Vec<String> = Vec::new();
        if url.ends_with(',') {
            url = url.trim_end_matches(',');
        } else {
            // Descriptor tokenizer: whitespace separates, ',' ends the candidate, '(' … ')'
            // are kept together.
            let mut current = String::new();
            let mut in_parens = false;
            while i < s.len() {
                let c = value[i..].chars().next().unwrap_or(' ');
                i += c.len_utf8();
                if in_parens {
                    current.push(c);
                    if c == ')' {
                        in_parens = false;
                    }
                } else if c == ',' {
                    break;
                } else if c.is_ascii_whitespace() {
                    if !current.is_empty() {
                        descriptors.push(std::mem::take(&mut current));
                    }
                } else {
                    if c == '(' {
                        in_parens = true;
                    }
                    current.push(c);
                }
            }
            if !current.is_empty() {
                descriptors.push(current);
            }
        }
        if !url.is_empty() {
            out.push(SrcsetCandidate {
                url: url.to_string(),
                descriptor: (!descriptors.is_empty()).then(|| descriptors.join(" ")),
            });
        }
    }
}

pub struct Extracted {
    pub title: String,
    pub text: String,
    /// Normalised http(s) `<a href>` targets, in document order, de-duplicated.
    pub links: Vec<Url>,
    /// Every http(s) image URL the page refers to (all sources of [`Extracted::assets`]),
    /// de-duplicated by URL, with the first referring element's kind. Kept for callers that
    /// want one label per URL; [`Extracted::assets`] has the full detail.
    pub images: Vec<(Url, &'static str)>,
    pub alt_texts: Vec<String>,
    /// Images (every referring element), stylesheets to fetch, decoded `data:` images.
    pub assets: Discovery,
}

fn sel(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

/// Elements whose text is not rendered.
const HIDDEN: &[&str] = &["script", "style", "noscript", "template", "head"];

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The URL relative references resolve against: `<base href>` if present.
fn base_url(doc: &Html, page_url: &Url) -> Url {
    sel("base[href]")
        .and_then(|s| doc.select(&s).next().and_then(|e| e.attr("href")))
        .and_then(|h| page_url.join(h.trim()).ok())
        .unwrap_or_else(|| page_url.clone())
}

fn add_srcset(found: &mut Discovery, base: &Url, value: &str, label: &str, kind: &'static str) {
    for c in parse_srcset(value) {
        let element = match &c.descriptor {
            Some(d) => format!("{label} {d}"),
            None => label.to_string(),
        };
        found.add_image(base, &c.url, element, kind);
    }
}

fn has_image_extension(url: &Url) -> bool {
    let path = url.path();
    let last = path.rsplit('/').next().unwrap_or("");
    last.rsplit_once('.')
        .is_some_and(|(_, ext)| IMAGE_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// Every asset reference of one element.
fn element_assets(el: ElementRef<'_>, base: &Url, found: &mut Discovery) {
    let e = el.value();
    let tag = e.name();
    match tag {
        "img" => {
            if let Some(src) = e.attr("src") {
                found.add_image(base, src, "img[src]".into(), "img[src]");
            }
            if let Some(v) = e.attr("srcset") {
                add_srcset(found, base, v, "img[srcset]", "img[srcset]");
            }
        }
        "source" => {
            let in_picture = el
                .parent()
                .and_then(|p| p.value().as_element().map(|pe| pe.name() == "picture"))
                .unwrap_or(false);
            if in_picture {
                if let Some(v) = e.attr("srcset") {
                    add_srcset(found, base, v, "picture source[srcset]", "picture source[srcset]");
                }
            }
        }
        "video" => {
            if let Some(p) = e.attr("poster") {
                found.add_image(base, p, "video[poster]".into(), "video[poster]");
            }
        }
        "input" if e.attr("type").is_some_and(|t| t.eq_ignore_ascii_case("image")) => {
            if let Some(src) = e.attr("src") {
                found.add_image(base, src, "input[type=image]".into(), "input[type=image]");
            }
        }
        "image" => {
            // SVG <image href> / xlink:href.
            let href = e
                .attrs()
                .find(|(k, _)| *k == "href" || k.ends_with(":href") || *k == "xlink:href");
            if let Some((_, h)) = href {
                found.add_image(base, h, "svg image[href]".into(), "svg image[href]");
            }
        }
        "link" => {
            let rel = e.attr("rel").unwrap_or("").to_ascii_lowercase();
            let href = e.attr("href");
            if let Some(h) = href {
                if rel.split_ascii_whitespace().any(|t| t.ends_with("icon")) {
                    let element = format!(
                        "link[rel={}]",
                        rel.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
                    );
                    found.add_image(base, h, element, "link[rel~=icon]");
                }
                if rel.split_ascii_whitespace().any(|t| t == "stylesheet") {
                    found.add_stylesheet(base, h, "link[rel=stylesheet]".into(), "link[rel=stylesheet]");
                }
            }
        }
        "meta" => {
            let name = e
                .attr("property")
                .or_else(|| e.attr("name"))
                .unwrap_or("")
                .to_ascii_lowercase();
            if let Some(&known) = META_IMAGES.iter().find(|m| **m == name) {
                if let Some(c) = e.attr("content") {
                    let kind = if known.starts_with("og:") {
                        "meta og:image"
                    } else {
                        "meta twitter:image"
                    };
                    found.add_image(base, c, format!("meta {known}"), kind);
                }
            }
        }
        "a" => {
            if let Some(url) = e.attr("href").and_then(|h| resolve(base, h)) {
                if has_image_extension(&url) {
                    found.add_image(base, url.as_str(), "a[href]".into(), "a[href] image");
                }
            }
        }
        "style" => {
            let css: String = el.text().collect();
            found.merge(crate::css::urls_in(&css, base, "style"));
        }
        _ => {}
    }
    for (attr, kind) in LAZY_ATTRS {
        if let Some(v) = e.attr(attr) {
            let label = format!("{tag}[{attr}]");
            if *attr == "data-srcset" {
                add_srcset(found, base, v, &label, kind);
            } else {
                found.add_image(base, v, label, kind);
            }
        }
    }
    if let Some(style) = e.attr("style") {
        found.merge(crate::css::urls_in(style, base, &format!("{tag}[style]")));
    }
}

/// Every image, stylesheet and `data:` image a parsed document refers to.
pub fn discover(doc: &Html, page_url: &Url) -> Discovery {
    let base = base_url(doc, page_url);
    let mut found = Discovery::default();
    for node in doc.root_element().descendants() {
        if let Some(el) = ElementRef::wrap(node) {
            element_assets(el, &base, &mut found);
        }
    }
    found
}

/// Parsing is synchronous and `Html` is not `Send`, so callers must not hold it across awaits.
pub fn extract(page_url: &Url, body: &str) -> Extracted {
    let doc = Html::parse_document(body);
    // A <base href> changes how relative URLs resolve.
    let base = base_url(&doc, page_url);

    let title = sel("title")
        .and_then(|s| doc.select(&s).next())
        .map(|e| collapse_ws(&e.text().collect::<String>()))
        .unwrap_or_default();

    let mut text_parts: Vec<&str> = Vec::new();
    for node in doc.root_element().descendants() {
        if let Node::Text(t) = node.value() {
            let hidden = node
                .ancestors()
                .any(|a| a.value().as_element().is_some_and(|e| HIDDEN.contains(&e.name())));
            if !hidden {
                text_parts.push(t);
            }
        }
    }
    let text = collapse_ws(&text_parts.join(" "));

    let mut links: Vec<Url> = Vec::new();
    let mut seen_links = HashSet::new();
    if let Some(s) = sel("a[href]") {
        for e in doc.select(&s) {
            if let Some(u) = e.attr("href").and_then(|h| resolve(&base, h)) {
                if seen_links.insert(u.clone()) {
                    links.push(u);
                }
            }
        }
    }

    let mut alt_texts = Vec::new();
    if let Some(s) = sel("img[alt]") {
        for e in doc.select(&s) {
            let alt = collapse_ws(e.attr("alt").unwrap_or(""));
            if !alt.is_empty() {
                alt_texts.push(alt);
            }
        }
    }

    let assets = discover(&doc, page_url);
    let mut images: Vec<(Url, &'static str)> = Vec::new();
    let mut seen_images = HashSet::new();
    for a in &assets.images {
        if seen_images.insert(&a.url) {
            images.push((a.url.clone(), a.kind));
        }
    }

    Extracted {
        title,
        text,
        links,
        images,
        alt_texts,
        assets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_visible_text_links_images() {
        let url = Url::parse("http://h/dir/page.html").expect("url");
        let html = r#"<html><head><title> My  Art </title><style>.x{}</style></head>
            <body><script>var hidden = 1;</script><p>Hello <b>world</b></p>
            <a href="other.html#top">o</a><a href="mailto:x@y">m</a><a href="other.html">dup</a>
            <img src="/img/a.png" alt="A cat"><img src="data:image/png;base64,AA"></body></html>"#;
        let e = extract(&url, html);
        assert_eq!(e.title, "My Art");
        assert!(e.text.contains("Hello world"));
        assert!(!e.text.contains("hidden"));
        assert!(!e.text.contains(".x{}"));
        assert_eq!(e.links.len(), 1);
        assert_eq!(e.links[0].as_str(), "http://h/dir/other.html");
        assert_eq!(e.images.len(), 1);
        assert_eq!(e.images[0].0.as_str(), "http://h/img/a.png");
        assert_eq!(e.alt_texts, vec!["A cat".to_string()]);
    }

    #[test]
    fn data_images_are_decoded_and_capped() {
        let small = decode_data_image("data:image/gif;base64,R0lGODlhAQABAAAAACw=").expect("valid");
        let (mt, bytes) = small.expect("an image");
        assert_eq!(mt, "image/gif");
        assert_eq!(&bytes[..6], b"GIF89a");
        assert_eq!(decode_data_image("data:text/css,body{}").expect("valid"), None);
        // Just over the cap once decoded: refused with the size in the reason.
        let big = format!("data:image/png;base64,{}", "A".repeat((MAX_INLINE_BYTES / 3 + 1) * 4));
        let err = decode_data_image(&big).expect_err("too large");
        assert!(err.contains("more than"), "{err}");
    }
}
