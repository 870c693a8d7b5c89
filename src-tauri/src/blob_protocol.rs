//! `xzblob://localhost/<sha256>`: the only way images reach the webview. It serves blobs
//! of the OPEN case by their SHA-256 — no paths, so nothing outside the case's blob
//! store can be named — and only bytes that sniff as an image, with their sniffed media
//! type; anything else (a captured HTML page, a script) is refused, never served as a page.

use tauri::http::{header, Response, StatusCode};
use xiezhi_store::Case;

/// The scheme name registered with Tauri (and allowed in the CSP's `img-src`).
pub const SCHEME: &str = "xzblob";

/// A 64-character lowercase hex SHA-256, or `None`.
pub fn parse_hash(path: &str) -> Option<&str> {
    let h = path.trim_start_matches('/');
    (h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(h)
}

fn refuse(status: StatusCode, why: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(why.as_bytes().to_vec())
        .unwrap_or_else(|_| Response::new(Vec::new()))
}

/// Answer one request for `uri_path` from the open case's blob store.
pub fn serve(case: Option<&Case>, uri_path: &str) -> Response<Vec<u8>> {
    let Some(case) = case else {
        return refuse(StatusCode::CONFLICT, "no case is open");
    };
    let Some(hash) = parse_hash(uri_path) else {
        return refuse(StatusCode::BAD_REQUEST, "expected /<64 lowercase hex digits>");
    };
    if !case.blobs().contains(hash) {
        return refuse(StatusCode::NOT_FOUND, "no such blob in the open case");
    }
    let bytes = match case.blobs().read(hash) {
        Ok(b) => b,
        Err(_) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, "blob unreadable"),
    };
    let Some(media_type) = xiezhi_engine::media::sniff_image(&bytes) else {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not an image");
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, media_type)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        // Even if a browser tried to treat it as a document, nothing in it may run.
        .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox")
        .header(header::CACHE_CONTROL, "private, max-age=31536000, immutable")
        .body(bytes)
        .unwrap_or_else(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00,
        0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff,
        0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];

    fn case_with(blobs: &[&[u8]]) -> (tempfile::TempDir, Case, Vec<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let case = Case::init(&dir.path().join("case"), "protocol test").expect("case");
        let hashes = blobs.iter().map(|b| case.blobs().put(b).expect("put")).collect();
        (dir, case, hashes)
    }

    #[test]
    fn serves_an_image_of_the_open_case_with_its_sniffed_type() {
        let (_d, case, h) = case_with(&[PNG_1X1]);
        let r = serve(Some(&case), &format!("/{}", h[0]));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(r.body().as_slice(), PNG_1X1);
    }

    #[test]
    fn never_serves_captured_html_or_scripts() {
        let page: &[u8] = b"<html><script>document.title='PWNED'</script><img src=x onerror=alert(1)></html>";
        let (_d, case, h) = case_with(&[page]);
        let r = serve(Some(&case), &format!("/{}", h[0]));
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert!(!String::from_utf8_lossy(r.body()).contains("script"));
    }

    #[test]
    fn refuses_paths_traversal_and_malformed_hashes() {
        let (_d, case, h) = case_with(&[PNG_1X1]);
        let upper = h[0].to_uppercase();
        for bad in [
            "/../case.db",
            "/..%2F..%2Fetc%2Fpasswd",
            "/etc/passwd",
            &format!("/{}/../../case.db", h[0]),
            &format!("/{}x", h[0]),
            &format!("/{}", &h[0][..63]),
            &format!("/{upper}"),
            "/",
        ] {
            let r = serve(Some(&case), bad);
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
            assert!(r.body().len() < 100, "{bad}");
        }
    }

    #[test]
    fn unknown_hash_and_no_open_case_are_refused() {
        let (_d, case, h) = case_with(&[PNG_1X1]);
        let missing = "0".repeat(64);
        assert_eq!(
            serve(Some(&case), &format!("/{missing}")).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(serve(None, &format!("/{}", h[0])).status(), StatusCode::CONFLICT);
    }
}
