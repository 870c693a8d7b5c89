//! Media types from the bytes themselves: file names and Content-Type headers lie.

/// The image media type the bytes start like, if any (the capture stage's sniffer: one list
/// of signatures for the crawler, references and scans).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    xiezhi_capture::image_type(bytes)
        .or_else(|| xiezhi_fingerprint::looks_like_svg(bytes).then_some(xiezhi_fingerprint::SVG_MEDIA_TYPE))
}

/// File extension for a media type, for exhibit file names.
pub fn extension(media_type: Option<&str>) -> &'static str {
    match media_type {
        Some("image/png") => "png",
        Some("image/jpeg") => "jpg",
        Some("image/gif") => "gif",
        Some("image/webp") => "webp",
        Some("image/bmp") => "bmp",
        Some("image/tiff") => "tif",
        Some("image/x-icon") => "ico",
        Some("image/avif") => "avif",
        Some("image/svg+xml") => "svg",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_common_formats() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a......"), Some("image/gif"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<html>"), None);
        assert_eq!(extension(Some("image/jpeg")), "jpg");
    }
}
