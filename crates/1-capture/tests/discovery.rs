//! Asset discovery on real fixture files: a page that uses every way of showing an image,
//! and a stylesheet. Expected results are written out in full, in document order.

use url::Url;
use xiezhi_capture::{css, html};

const PAGE: &str = include_str!("fixtures/discovery-page.html");
const SHEET: &str = include_str!("fixtures/discovery-site.css");

fn pairs(refs: &[html::AssetRef]) -> Vec<(String, String)> {
    refs.iter().map(|a| (a.url.to_string(), a.element.clone())).collect()
}

fn p(url: &str, element: &str) -> (String, String) {
    (url.to_string(), element.to_string())
}

#[test]
fn page_fixture_every_reference_with_its_element() {
    let page = Url::parse("http://127.0.0.1:8080/products/item.html").expect("url");
    let ex = html::extract(&page, PAGE);
    let c = "https://cdn.example.test/shop/";
    let u = |rel: &str| format!("{c}{rel}");
    assert_eq!(
        pairs(&ex.assets.images),
        vec![
            p("https://cdn.example.test/share/og.jpg", "meta og:image"),
            p("https://img.example.test/tw.png", "meta twitter:image"),
            p(&u("favicon.ico"), "link[rel=icon]"),
            p(
                "https://cdn.example.test/apple-touch-icon.png",
                "link[rel=apple-touch-icon]"
            ),
            p(&u("img/hero.jpg"), "style background-image"),
            p(&u("icons/note.svg"), "style content"),
            p(&u("img/plain.png"), "img[src]"),
            p(&u("img/one.jpg"), "img[src]"),
            p(&u("img/one-1x.jpg"), "img[srcset] 1x"),
            p(&u("img/one-2x.jpg"), "img[srcset] 2x"),
            p(&u("img/w,comma.jpg?v=1,2"), "img[srcset] 640w"),
            p(&u("img/big.jpg"), "img[srcset] 1280w"),
            p(&u("img/nodesc.jpg"), "img[srcset]"),
            p(&u("img/pic.webp"), "picture source[srcset] 1x"),
            p(&u("img/pic@2x.webp"), "picture source[srcset] 2x"),
            p(&u("img/pic.jpg"), "img[src]"),
            p(&u("media/poster.jpg"), "video[poster]"),
            p(&u("img/placeholder.gif"), "img[src]"),
            p(&u("img/lazy.jpg"), "img[data-src]"),
            p(&u("img/lazy-small.jpg"), "img[data-srcset] 320w"),
            p(&u("img/lazy-large.jpg"), "img[data-srcset] 960w"),
            p(&u("img/orig.jpg"), "div[data-original]"),
            p(&u("img/lazy2.png"), "img[data-lazy-src]"),
            p(&u("img/banner.png"), "div[style] background"),
            p(&u("gallery/full.JPEG"), "a[href]"),
            p(&u("img/plain.png"), "a[href]"),
        ]
    );
    assert_eq!(
        pairs(&ex.assets.stylesheets),
        vec![p(&u("css/site.css"), "link[rel=stylesheet]")]
    );

    // data: images, decoded; the broken one is reported, not dropped silently.
    let inline: Vec<(&str, &str)> = ex
        .assets
        .inline
        .iter()
        .map(|i| (i.media_type.as_str(), i.element.as_str()))
        .collect();
    assert_eq!(
        inline,
        vec![
            ("image/png", "span[style] background-image"),
            ("image/svg+xml", "img[src]")
        ]
    );
    assert_eq!(&ex.assets.inline[0].bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(ex.assets.inline[0].bytes.len(), 73);
    assert_eq!(
        ex.assets.inline[0].sha256,
        "97a3a410c9bca540512251c37ce63982edccbed54c6f2e1d06ec717b9f753e29"
    );
    assert_eq!(
        ex.assets.inline[1].bytes,
        br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#
    );
    assert_eq!(ex.assets.rejected.len(), 1);
    assert_eq!(ex.assets.rejected[0].element, "img[src]");
    assert!(
        ex.assets.rejected[0]
            .reason
            .starts_with("data: URI with invalid base64"),
        "{}",
        ex.assets.rejected[0].reason
    );

    // The one-label-per-URL view keeps working for callers of the original API.
    assert_eq!(ex.images.len(), 25);
    assert_eq!(
        ex.images[0],
        (
            Url::parse("https://cdn.example.test/share/og.jpg").expect("url"),
            "meta og:image"
        )
    );
    assert!(ex
        .images
        .iter()
        .any(|(url, kind)| url.as_str() == u("img/one-2x.jpg") && *kind == "img[srcset]"));
    assert_eq!(
        ex.links.iter().map(Url::as_str).collect::<Vec<_>>(),
        vec![u("gallery/full.JPEG"), u("gallery/index.html"), u("img/plain.png")]
    );
    assert_eq!(ex.alt_texts, vec!["Plain", "One", "Picture", "Inline SVG"]);
}

#[test]
fn stylesheet_fixture_images_and_imports() {
    let sheet = Url::parse("https://cdn.example.test/shop/css/site.css").expect("url");
    let found = css::urls(SHEET, &sheet);
    let c = "https://cdn.example.test/shop/";
    let u = |rel: &str| format!("{c}{rel}");
    assert_eq!(
        pairs(&found.stylesheets),
        vec![
            p(&u("css/theme.css"), "stylesheet @import"),
            p(&u("css/print.css"), "stylesheet @import"),
        ]
    );
    assert_eq!(
        pairs(&found.images),
        vec![
            p(&u("img/paper.png"), "stylesheet background"),
            p(&u("img/logo.png"), "stylesheet background-image"),
            p(&u("img/logo@2x.png"), "stylesheet background-image"),
            p(&u("img/bullet.gif"), "stylesheet list-style-image"),
            p(&u("img/frame.png"), "stylesheet border-image"),
        ]
    );
    assert!(found.inline.is_empty() && found.rejected.is_empty());
}

#[test]
fn srcset_candidates_follow_the_html_standard() {
    let c = |v: &str| -> Vec<(String, Option<String>)> {
        html::parse_srcset(v)
            .into_iter()
            .map(|c| (c.url, c.descriptor))
            .collect()
    };
    let s = |u: &str, d: Option<&str>| (u.to_string(), d.map(str::to_string));
    assert_eq!(
        c("a.jpg 1x,b.jpg 2x"),
        vec![s("a.jpg", Some("1x")), s("b.jpg", Some("2x"))]
    );
    assert_eq!(c("  a.jpg,  b.jpg  "), vec![s("a.jpg", None), s("b.jpg", None)]);
    assert_eq!(c("x.jpg?a=1,2 100w"), vec![s("x.jpg?a=1,2", Some("100w"))]);
    assert_eq!(
        c("data:image/png;base64,AAAA 1x, b.png 2x"),
        vec![s("data:image/png;base64,AAAA", Some("1x")), s("b.png", Some("2x"))]
    );
    assert_eq!(
        c("a.jpg 100w 50h, b.jpg"),
        vec![s("a.jpg", Some("100w 50h")), s("b.jpg", None)]
    );
    assert_eq!(
        c("a.jpg foo(1, 2) 1x, b.jpg"),
        vec![s("a.jpg", Some("foo(1, 2) 1x")), s("b.jpg", None)]
    );
    assert_eq!(c(",,, "), vec![]);
}

#[test]
fn many_references_stay_linear() {
    // A hostile page with 40,000 distinct images (and each repeated): de-duplication must not
    // be quadratic (that would be ~10^9 URL comparisons here).
    let mut page = String::from("<html><body>");
    for i in 0..40_000 {
        page.push_str(&format!("<img src=\"/i/{i}.png\"><a href=\"/i/{i}.png\">x</a>"));
    }
    page.push_str("</body></html>");
    let start = std::time::Instant::now();
    let ex = html::extract(&Url::parse("http://127.0.0.1/").expect("url"), &page);
    assert_eq!(ex.assets.images.len(), 80_000);
    assert_eq!(ex.images.len(), 40_000);
    assert_eq!(ex.links.len(), 40_000);
    assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
}
