//! What a response body is (image, HTML, other), decided from the bytes in the fetch task.

use super::*;
use crate::sniff::root_is_svg;

/// What the body turned out to be, decided in the fetch task from the bytes.
pub(super) enum Content {
    /// HTML; parsed when it was fetched as a page.
    Html(Option<Box<Extracted>>),
    Image,
    Other,
    /// The Content-Encoding could not be undone within the cap.
    Undecodable(String),
}

pub(super) fn body_of<'a>(resp: &'a Response, decoded: &'a Option<Vec<u8>>) -> &'a [u8] {
    decoded.as_deref().unwrap_or(&resp.body)
}

/// Undoes the content coding (bounded) and decides what the body is; parses a page's HTML.
/// Runs on a blocking thread.
pub(super) fn inspect(url: &Url, r: &Response, cap: u64, is_page: bool) -> (Option<Vec<u8>>, Content) {
    let decoded = match decode_content(&r.body, r.content_encoding.as_deref(), cap) {
        Ok(std::borrow::Cow::Borrowed(_)) => None,
        Ok(std::borrow::Cow::Owned(v)) => Some(v),
        Err(why) => return (None, Content::Undecodable(why)),
    };
    let body = decoded.as_deref().unwrap_or(&r.body);
    // An SVG is an image to keep (the fingerprint stage rasterises it), whatever the
    // Content-Type says and even when it opens with a comment like HTML may.
    if image_type(body).is_some() || root_is_svg(body) {
        return (decoded, Content::Image);
    }
    let html = looks_like_html(body) || (is_html_type(r.content_type.as_deref()) && !is_binary(body));
    if !html || !is_page {
        return (decoded, if html { Content::Html(None) } else { Content::Other });
    }
    let text = String::from_utf8_lossy(body);
    // A parser panic on hostile HTML must not lose the exchange: it is recorded, and the URL
    // reported as failed.
    let parse = std::panic::AssertUnwindSafe(|| extract(url, &crate::nesting::bound_nesting(&text)));
    match std::panic::catch_unwind(parse) {
        Ok(ex) => (decoded, Content::Html(Some(Box::new(ex)))),
        Err(_) => (
            decoded,
            Content::Undecodable("HTML parsing failed (parser panicked)".into()),
        ),
    }
}

/// NUL bytes in the first KiB: not text whatever the header says.
fn is_binary(body: &[u8]) -> bool {
    body[..body.len().min(1024)].contains(&0)
}
