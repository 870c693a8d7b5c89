//! HTML extraction: title, visible text, links, images, alt texts.

use scraper::{Html, Node, Selector};
use url::Url;

use crate::scope::resolve;

pub struct Extracted {
    pub title: String,
    pub text: String,
    /// Normalised http(s) `<a href>` targets, in document order, de-duplicated.
    pub links: Vec<Url>,
    /// Normalised http(s) `<img src>` targets with the referencing element.
    pub images: Vec<(Url, &'static str)>,
    pub alt_texts: Vec<String>,
}

fn sel(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

/// Elements whose text is not rendered.
const HIDDEN: &[&str] = &["script", "style", "noscript", "template", "head"];

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parsing is synchronous and `Html` is not `Send`, so callers must not hold it across awaits.
pub fn extract(page_url: &Url, body: &str) -> Extracted {
    let doc = Html::parse_document(body);
    // A <base href> changes how relative URLs resolve.
    let base = sel("base[href]")
        .and_then(|s| doc.select(&s).next().and_then(|e| e.attr("href")))
        .and_then(|h| page_url.join(h).ok())
        .unwrap_or_else(|| page_url.clone());

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
    if let Some(s) = sel("a[href]") {
        for e in doc.select(&s) {
            if let Some(u) = e.attr("href").and_then(|h| resolve(&base, h)) {
                if !links.contains(&u) {
                    links.push(u);
                }
            }
        }
    }

    let mut images: Vec<(Url, &'static str)> = Vec::new();
    let mut alt_texts = Vec::new();
    if let Some(s) = sel("img") {
        for e in doc.select(&s) {
            if let Some(u) = e.attr("src").and_then(|h| resolve(&base, h)) {
                if !images.iter().any(|(x, _)| x == &u) {
                    images.push((u, "img[src]"));
                }
            }
            if let Some(alt) = e.attr("alt") {
                let alt = collapse_ws(alt);
                if !alt.is_empty() {
                    alt_texts.push(alt);
                }
            }
        }
    }

    Extracted {
        title,
        text,
        links,
        images,
        alt_texts,
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
}
